"""Scan-suite fixtures: the scanners' venv and its reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.scan.oracle import Oracle, load_oracle
from tools.scan.venv import SCAN_VENV, is_current


@pytest.fixture(scope="session")
def scan_venv() -> Path:
    """.venv-scan, as `make scan-setup` left it (`make test` makes it first; a test never builds it)."""
    if not is_current(SCAN_VENV):
        pytest.fail(f"{SCAN_VENV} is missing or does not hold the scan pins of pyproject.toml: run `make scan-setup`")
    return SCAN_VENV


@pytest.fixture(scope="session")
def oracle(scan_venv: Path) -> Oracle:
    """checkov's Terraform types and cfn-lint's CloudFormation schemas."""
    return load_oracle(scan_venv)
