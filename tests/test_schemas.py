"""Every Pulumi.yaml against Pulumi's project schema; every export against Pulumi's deployment schema."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, Export
from tools.offline.runner import require_valid_export
from tools.offline.stack_files import OfflineError
from tools.schemas import deployment_errors, project_errors

PROJECT_FILES = sorted(REPO_ROOT.glob("stacks/*/Pulumi.yaml"))


def test_every_layer_has_a_project_file() -> None:
    programs = {p.parent.name for p in REPO_ROOT.glob("stacks/*/__main__.py")}
    assert programs == {p.parent.name for p in PROJECT_FILES}
    assert "network" in programs


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: p.parent.name)
def test_project_file_is_valid_and_uses_the_repo_venv(path: Path) -> None:
    project = yaml.safe_load(path.read_text())
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
