"""CODEOWNERS: generated from the owners in the environment matrix, the data that also tags each layer's resources."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from shared.config import owners, parse_owners
from tests.conftest import REPO_ROOT, Export
from tools import codeowners


def reviewers(path: str) -> list[str]:
    """The owners GitHub asks for ``path``: the last CODEOWNERS pattern that matches it (a directory pattern matches
    everything below it; ``*`` matches everything)."""
    found: list[str] = []
    for line in (REPO_ROOT / ".github" / "CODEOWNERS").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, *teams = line.split()
        matches = (
            pattern == "*"
            or (pattern.endswith("/") and f"/{path}".startswith(pattern))
            or fnmatch.fnmatch(f"/{path}", pattern)
        )
        if matches:
            found = teams
    return found


def test_codeowners_is_generated_from_the_matrix() -> None:
    assert codeowners.main(["--check"]) == 0, "stale: run `make docs`"


@pytest.mark.parametrize(
    ("path", "teams"),
    [
        ("stacks/data/Pulumi.prod.yaml", ["data-team"]),
        ("stacks/compute/__main__.py", ["app-team"]),
        ("shared/components/data.py", ["platform-team", "data-team"]),
        ("shared/userdata.py", ["platform-team", "app-team"]),
        ("shared/config.py", ["platform-team", "data-team", "app-team"]),
        ("shared/environment_matrix.yaml", ["platform-team", "data-team", "app-team"]),
        ("tools/check/__main__.py", ["platform-team"]),
        ("policies/iam.py", ["platform-team"]),
        ("policies/taggable_types.json", ["platform-team", "data-team", "app-team"]),  # every program tags with it
    ],
)
def test_a_change_asks_the_teams_that_own_what_it_touches(path: str, teams: list[str]) -> None:
    assert reviewers(path) == [f"@student-helper/{team}" for team in teams]


def test_the_reviewers_of_a_layer_own_its_resources(exports: dict[tuple[str, str], Export]) -> None:
    for (env, layer), export in exports.items():
        tags = [r["inputs"]["tags"] for r in export.custom() if isinstance(r["inputs"].get("tags"), dict)]
        assert tags, f"{layer} [{env}]"
        assert {t["Owner"] for t in tags} == {owners().layers[layer]}, f"{layer} [{env}]"
        assert reviewers(f"stacks/{layer}/Pulumi.{env}.yaml") == [owners().handle(owners().layers[layer])]


@pytest.mark.parametrize(
    "entry",
    [
        None,
        {"github_organization": "acme", "default": "platform", "layers": {"network": "platform"}},
        {
            "github_organization": "acme",
            "default": "Platform Team",
            "layers": dict.fromkeys(("network", "data", "compute", "edge"), "x"),
        },
        {
            "github_organization": "acme",
            "default": "p",
            "layers": dict.fromkeys(("network", "data", "compute", "edge"), "x"),
            "extra": 1,
        },
    ],
)
def test_bad_owners_fail_naming_what_is_needed(entry: Any) -> None:
    with pytest.raises(ValueError, match="owners must have github_organization, default and layers"):
        parse_owners(entry)
