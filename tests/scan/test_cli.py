"""`make scan FILE=...` and the installer behind `make scan-setup`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.scan.exports import ExportBuilder
from tools.checkout import repo_files
from tools.scan import venv as scan_venv_module
from tools.scan.cli import main


def test_scan_file_reports_urns_grouped_by_check_and_exits_non_zero(
    scan_venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = ExportBuilder()
    urn = b.add(
        "aws:ec2/instance:Instance",
        "web",
        {"ami": "ami-1", "instanceType": "t3.micro", "metadataOptions": {"httpTokens": "optional"}},
    )
    export = tmp_path / "stack.json"
    export.write_text(json.dumps(b.document()))
    empty = tmp_path / "none.yaml"
    empty.write_text("suppressions: []\n")
    code = main([str(export), "--out", str(tmp_path / "out"), "--no-repo", "--suppressions", str(empty)])
    out = capsys.readouterr().out
    assert code == 1
    assert "== checkov ==" in out
    block = out.split("CKV_AWS_79", 1)[1]
    assert f"FAIL {urn}" in block.split("\nCKV", 1)[0]
    assert "skipped (provider): urn:pulumi:dev::scan-test::pulumi:providers:aws::default" in out
    for scanner in ("checkov", "cfn-lint", "parliament"):
        assert f"summary {scanner}: " in out


def test_unmapped_type_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = ExportBuilder()
    b.add("random:index/randomPet:RandomPet", "pet", {})
    export = tmp_path / "stack.json"
    export.write_text(json.dumps(b.document()))
    assert main([str(export), "--out", str(tmp_path / "out"), "--no-repo"]) == 2
    assert "random:index/randomPet:RandomPet" in capsys.readouterr().err


def test_scan_setup_is_idempotent(scan_venv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_install(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the scan venv was reinstalled: {args}")

    monkeypatch.setattr(subprocess, "run", no_install)
    assert scan_venv_module.ensure_scan_venv(scan_venv) == scan_venv
    stamp = (scan_venv / scan_venv_module.STAMP_NAME).read_text()
    assert stamp.splitlines() == [*scan_venv_module.scan_pins(), scan_venv_module.INSTALL_MARK]
    assert all("==" in pin for pin in scan_venv_module.scan_pins())


def test_outside_a_git_checkout_the_repository_scan_skips_what_gitignore_names(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("# generated\n.venv/\nbuild/\n*.egg-info/\n")
    names = ("Makefile", "stacks/data/__main__.py", ".venv/bin/python", "build/dev/data.json", "x.egg-info/PKG")
    # A nested .gitignore rules its own folder alone: policies/venv is ignored, a venv folder elsewhere is not.
    names += ("policies/.gitignore", "policies/venv/bin/activate.sh", "policies/base.py", "docs/venv/notes.md")
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("venv/\n" if name == "policies/.gitignore" else "")
    found = [str(path.relative_to(tmp_path)) for path in repo_files(tmp_path)]
    assert found == [
        ".gitignore",
        "Makefile",
        "docs/venv/notes.md",
        "policies/.gitignore",
        "policies/base.py",
        "stacks/data/__main__.py",
    ]
