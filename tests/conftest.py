"""Session fixtures: the real offline exports of every layer and environment, produced once per test run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared import yamlio
from shared.config import environments
from shared.contract import LAYER_ORDER

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVS = tuple(environments())
LAYERS = tuple(layer.value for layer in LAYER_ORDER if (REPO_ROOT / "stacks" / layer.value / "Pulumi.yaml").exists())


def shared_once(tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], Any]) -> Any:
    """``produce(<dir>)`` run once per test run, its JSON-able result shared by every pytest-xdist worker.

    Under xdist each worker has its own session, so a session fixture alone would repeat slow work per worker; the
    first worker to arrive does it under a file lock and the others read its result (pytest-xdist's documented
    recipe for session data). Without xdist this is a plain once-per-session cache.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    result = root / f"{name}.result.json"
    with FileLock(str(root / f"{name}.lock")):
        if not result.exists():
            result.write_text(json.dumps(produce(root / name)))
    return json.loads(result.read_text())


def _run(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build directory of this test run: every layer of every environment, offline (as make preview runs it).

    :func:`checked` later runs make check's job into the same directory, where it finds these runs cached.
    """

    def preview(out: Path) -> dict[str, Any]:
        done = _run(
            [
                sys.executable,
                "-m",
                "tools.offline",
                "--out",
                str(out),
                "--envs",
                " ".join(ENVS),
                "--layers",
                " ".join(LAYERS),
            ]
        )
        return {**done, "out": str(out)}

    done = shared_once(tmp_path_factory, "build", preview)
    assert done["returncode"] == 0, f"offline preview failed:\n{done['stdout']}\n{done['stderr']}"
    return Path(done["out"])


@pytest.fixture(scope="session")
def offline_exports(build_dir: Path) -> dict[tuple[str, str], Path]:
    """``{(env, layer): export path}`` from the session's offline preview."""
    return {(env, layer): build_dir / env / f"{layer}.json" for env in ENVS for layer in LAYERS}


@dataclass(frozen=True)
class CheckRun:
    """The session's one run of make check's job (``python -m tools.check``) over :func:`build_dir`."""

    out: Path
    """The build directory it wrote its reports to."""
    returncode: int
    """Its exit status."""
    stdout: str
    """What it printed."""

    def copy(self, destination: Path) -> Path:
        """A copy of its build directory (exports, caches, reports) for a test that changes something."""
        shutil.copytree(self.out, destination)
        return destination


@pytest.fixture(scope="session")
def checked(tmp_path_factory: pytest.TempPathFactory, build_dir: Path) -> CheckRun:
    """make check's job, run once per test run; tests that need a failure run the phase that decides it."""
    done = shared_once(
        tmp_path_factory, "check", lambda _: _run([sys.executable, "-m", "tools.check", "--out", str(build_dir)])
    )
    return CheckRun(build_dir, done["returncode"], done["stdout"] + done["stderr"])


class Export:
    """A parsed stack export with lookups by type and logical name; assertion messages quote URNs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.document: dict[str, Any] = json.loads(path.read_text())
        self.resources: list[dict[str, Any]] = self.document["deployment"]["resources"]

    @property
    def outputs(self) -> dict[str, Any]:
        """The root stack's outputs."""
        return next(r for r in self.resources if r["type"] == "pulumi:pulumi:Stack")["outputs"]

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        """Every resource of one type."""
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name_suffix: str = "") -> dict[str, Any]:
        """The single resource of ``type_token`` whose URN ends with ``name_suffix``."""
        found = [r for r in self.of_type(type_token) if r["urn"].endswith(name_suffix)]
        assert len(found) == 1, (
            f"{self.path}: expected one {type_token} ending {name_suffix!r}, got {[r['urn'] for r in found]}"
        )
        return found[0]

    def by_id(self, resource_id: str) -> dict[str, Any]:
        """The resource with this provider id."""
        found = [r for r in self.resources if r.get("id") == resource_id]
        assert found, f"{self.path}: no resource has id {resource_id}"
        return found[0]

    def custom(self) -> Iterator[dict[str, Any]]:
        """Resources managed by a provider (not providers, components or the stack)."""
        return (r for r in self.resources if r.get("custom") and not r["type"].startswith("pulumi:"))


@pytest.fixture(scope="session")
def exports(offline_exports: dict[tuple[str, str], Path]) -> dict[tuple[str, str], Export]:
    """The offline exports, parsed."""
    return {key: Export(path) for key, path in offline_exports.items()}


def run_variant(
    tmp_path: Path,
    offline_exports: dict[tuple[str, str], Path],
    layer: str,
    env: str,
    *,
    set_config: dict[str, Any] | None = None,
    unset_config: tuple[str, ...] = (),
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run one real layer program offline with its stack file edited, against the real upstream exports."""
    import yaml

    stacks, out = tmp_path / "stacks", tmp_path / "out"
    shutil.copytree(REPO_ROOT / "stacks" / layer, stacks / layer)
    stack_file = stacks / layer / f"Pulumi.{env}.yaml"
    document = yamlio.load(stack_file.read_text())
    namespace = f"student-helper-{layer}"
    for key in unset_config:
        document["config"].pop(f"{namespace}:{key}", None)
    for key, value in (set_config or {}).items():
        document["config"][key if ":" in key else f"{namespace}:{key}"] = value
    stack_file.write_text(yaml.safe_dump(document))
    (out / env).mkdir(parents=True)
    for (export_env, export_layer), path in offline_exports.items():
        if export_env == env and export_layer != layer:
            shutil.copy(path, out / env / path.name)
    return run_layer_process(stacks, out, layer, env), out / env / f"{layer}.json"


def run_layer_process(stacks: Path, out: Path, layer: str, env: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """One offline runner process, as make preview starts it."""
    command = [sys.executable, "-m", "tools.offline.runner", "--stacks-dir", str(stacks), "--out", str(out)]
    return subprocess.run(
        [*command, "--layer", layer, "--env", env, *extra], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
