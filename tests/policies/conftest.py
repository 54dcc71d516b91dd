"""Fixtures for the policy tests: the project's real exports, applied and previewed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def project_exports(offline_exports: dict[tuple[str, str], Path]) -> dict[tuple[str, str], Path]:
    """``{(env, layer): export}``: the project's real exports, from the offline preview every test run makes."""
    return offline_exports


@pytest.fixture(scope="session")
def preview_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every dev layer run in preview mode, where ids and computed attributes are unknown, as in a real preview."""
    out = tmp_path_factory.mktemp("preview")
    done = subprocess.run(
        [sys.executable, "-m", "tools.offline", "--preview", "--envs", "dev", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {path.stem: path for path in sorted((out / "dev").glob("*.json"))}
