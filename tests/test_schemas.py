"""Every Pulumi.yaml against Pulumi's project schema; every export against Pulumi's deployment schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from shared import yamlio
from tests.conftest import REPO_ROOT, Export
from tools.offline.runner import require_valid_export
from tools.offline.stack_files import OfflineError
from tools.schemas import deployment_checker, deployment_errors, deployment_validator, project_errors

PROJECT_FILES = sorted(REPO_ROOT.glob("stacks/*/Pulumi.yaml"))


def test_every_layer_has_a_project_file() -> None:
    programs = {p.parent.name for p in REPO_ROOT.glob("stacks/*/__main__.py")}
    assert programs == {p.parent.name for p in PROJECT_FILES}
    assert "network" in programs


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: p.parent.name)
def test_project_file_is_valid_and_uses_the_repo_venv(path: Path) -> None:
    project = yamlio.load(path.read_text())
    assert project_errors(project) == [], path
    assert project["name"] == f"student-helper-{path.parent.name}"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "../../.venv"}}
    for env in ("dev", "staging", "prod"):
        assert (path.parent / f"Pulumi.{env}.yaml").exists(), f"{path.parent.name}: no Pulumi.{env}.yaml"


def test_schema_rejects_a_broken_project_file() -> None:
    assert project_errors({"name": "x", "runtime": {"name": "python", "opts": {}}})


def test_every_export_is_a_valid_deployment(exports: dict[tuple[str, str], Export]) -> None:
    for key, export in exports.items():
        assert export.document["version"] == 3
        assert deployment_errors(export.document) == [], key


def test_schema_rejects_a_broken_export(exports: dict[tuple[str, str], Export]) -> None:
    document = next(iter(exports.values())).document
    broken = {"version": 3, "deployment": {**document["deployment"], "resources": [{"urn": "u", "protected": True}]}}
    assert any("protected" in e for e in deployment_errors(broken))
    assert deployment_errors({"version": 3, "deployment": {"resources": []}}) == [
        "deployment: 'manifest' is a required property"
    ]


def test_a_layer_run_refuses_to_write_an_export_the_schema_rejects(exports: dict[tuple[str, str], Export]) -> None:
    document = copy.deepcopy(exports[("dev", "network")].document)
    document["deployment"]["resources"][1]["custom"] = "yes"
    with pytest.raises(OfflineError, match=r"^network \[dev\]: the export breaks Pulumi's deployment schema: "):
        require_valid_export(document, "network", "dev")
    require_valid_export(exports[("dev", "network")].document, "network", "dev")


DELETED = object()


def _broken(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the value at ``path`` replaced (or removed, for ``DELETED``)."""
    broken = copy.deepcopy(document)
    target = broken
    for step in path[:-1]:
        target = target[step]
    if value is DELETED:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


# Ways to break an export, each a place the schema constrains: a type, a required property, an unknown property,
# the version, a nested property value (a secret's signature), an item of a list.
BREAKAGES: dict[str, tuple[tuple[str | int, ...], Any]] = {
    "custom-not-a-boolean": (("deployment", "resources", 1, "custom"), "yes"),
    "urn-not-a-string": (("deployment", "resources", 0, "urn"), 5),
    "unknown-resource-property": (("deployment", "resources", 1, "protectedd"), True),
    "no-manifest": (("deployment", "manifest"), DELETED),
    "version-a-string": (("version",), "3"),
    "dependencies-not-a-list": (("deployment", "resources", 2, "dependencies"), "urn:x"),
    "resources-not-a-list": (("deployment", "resources"), {}),
}


def _agree(document: dict[str, Any]) -> bool:
    """Whether ``document`` is valid, asserting the compiled checker and the Python validator say the same."""
    python_valid = not list(deployment_validator().iter_errors(document))
    assert deployment_checker().is_valid(document) == python_valid
    assert (deployment_errors(document) == []) == python_valid
    return python_valid


@pytest.mark.parametrize("layer", ["network", "data", "compute", "edge"])
def test_the_fast_checker_agrees_with_the_python_validator_on_each_layers_export(
    exports: dict[tuple[str, str], Export], layer: str
) -> None:
    # Layer runs trust the compiled checker's "valid" and ask the Python validator only for the messages; the two
    # must never disagree, or an invalid export would be written without a word.
    assert _agree(exports[("prod", layer)].document), layer


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_fast_checker_agrees_with_the_python_validator_on_a_broken_export(
    exports: dict[tuple[str, str], Export], breakage: str
) -> None:
    path, value = BREAKAGES[breakage]
    assert not _agree(_broken(exports[("dev", "network")].document, path, value)), breakage
