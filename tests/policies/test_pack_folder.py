"""The pack folder stands alone, as `pulumi policy publish` ships it and Pulumi Cloud installs it: a copy, with a venv
made from nothing but its own requirements.txt, serves the verdicts `make policy-analyze` gives.

The venv is built once per requirements.txt (and interpreter) by `make policy-venv` into the user's cache directory,
never into the repository; uv's own cache makes a rebuild take about a second.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_engine import Pack, PackError, Verdict
from test_policy_mutations import imdsv1

from policies.registry import PACK_VERSION
from shared import yamlio
from tools.policy_analyze import analyze, parse_config

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"
REQUIREMENTS = PACK / "requirements.txt"
PACK_CONFIG = json.loads((PACK / "config.json").read_text())
# What the pack may import besides the standard library and itself: requirements.txt, and what pulumi-policy's
# own server is built on (grpc and protobuf come with pulumi).
PACK_IMPORTS = {"pulumi", "pulumi_policy", "yaml", "grpc", "google"}


def cache_dir() -> Path:
    """Where built pack venvs are kept between test runs (XDG cache, outside the repository)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "student-helper" / "policy-pack-venv"


@pytest.fixture(scope="module")
def pack_venv() -> Path:
    """A venv with policies/requirements.txt installed, by `make policy-venv`, cached by the file's hash."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:16]
    venv = cache_dir() / key
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test workers may want it at once
        done = subprocess.run(
            ["make", "--no-print-directory", "policy-venv", f"POLICY_VENV={venv}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def copy_pack(destination: Path) -> Path:
    """The pack folder as `pulumi policy publish` packs it: without what its .gitignore lists."""
    shutil.copytree(PACK, destination, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    return destination


def verdicts_offline(export: dict[str, object]) -> list[Verdict]:
    found = analyze(export, parse_config(PACK_CONFIG))
    return sorted(Verdict(v.policy, v.enforcement_level, v.urn, v.message) for v in found)


def test_a_copy_with_its_own_venv_serves_the_same_verdicts(
    tmp_path: Path, pack_venv: Path, project_exports: dict[tuple[str, str], Path]
) -> None:
    copy = copy_pack(tmp_path / "student-helper-published")
    options = yamlio.load((copy / "PulumiPolicy.yaml").read_text())["runtime"]["options"]
    venv = copy / options["virtualenv"]
    venv.symlink_to(pack_venv)  # where the language host looks for it
    python = venv / "bin" / "python"
    probe = "import importlib.util as u; print([m for m in ('policies', 'shared', 'tools') if u.find_spec(m)])"
    assert subprocess.run([python, "-c", probe], cwd=copy, capture_output=True, text=True).stdout.strip() == "[]"
    pack = Pack(python, venv, copy)
    try:
        assert (pack.info.name, pack.info.version) == ("student-helper", PACK_VERSION)
        pack.configure(PACK_CONFIG)
        export = json.loads(project_exports[("prod", "compute")].read_text())
        assert pack.analyze(export) == verdicts_offline(export)
        target = imdsv1(export)
        verdicts = pack.analyze(export)
        assert verdicts == verdicts_offline(export)
        assert [(v.policy, v.level) for v in verdicts if v.urn == target] == [("imdsv2-required", "mandatory")]
    finally:
        status = pack.close()
    assert status == 0, pack.stderr_text()
    assert "Traceback" not in pack.stderr_text()


def test_a_copy_runs_its_own_rules_even_where_the_original_is_installed(tmp_path: Path) -> None:
    # This venv has the repository's policies package (editable install): the copy must not run it.
    copy = copy_pack(tmp_path / "pack")
    policy_yaml = copy / "PulumiPolicy.yaml"
    policy_yaml.write_text(re.sub(r"(?m)^version: .*$", "version: 9.9.9", policy_yaml.read_text()))
    pack = Pack(Path(sys.executable), Path(sys.prefix), copy)
    assert pack.info.version == "9.9.9"
    assert pack.close() == 0


def test_a_copy_without_its_data_file_refuses_to_start(tmp_path: Path) -> None:
    copy = copy_pack(tmp_path / "pack")
    (copy / "taggable_types.json").unlink()
    with pytest.raises(PackError) as failed:
        Pack(Path(sys.executable), Path(sys.prefix), copy)
    assert "taggable_types.json: cannot read the taggable resource types (No such file or directory)" in str(
        failed.value
    )


def test_the_pack_imports_nothing_of_the_project() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(PACK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in stdlib | PACK_IMPORTS, f"{path.name}:{node.lineno} imports {name}"


def test_requirements_pin_what_pyproject_pins() -> None:
    pins = dict(line.split("==") for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pyproject = dict(d.split("==") for d in project["dependencies"])
    assert pins and all("==" not in v for v in pins.values())
    assert {name: pyproject.get(name) for name in pins} == pins


@pytest.mark.parametrize("target", ["preview-network", "up-data", "preview-all", "deploy-all"])
def test_deploy_targets_build_the_pack_venv_before_pulumi_runs(target: str) -> None:
    planned = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", target, "ENV=dev", "GATE="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    build = next(
        i for i, line in enumerate(planned) if "uv pip install" in line and "policies/requirements.txt" in line
    )
    deploy = next(i for i, line in enumerate(planned) if "-m tools.deploy" in line and f"--target {target}" in line)
    assert build < deploy and "policies/venv/bin/python" in planned[build]
