"""Scan-suite fixtures: the scanners' venv (created from the pyproject pins when missing) and its reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.scan.oracle import Oracle, load_oracle
from tools.scan.venv import SCAN_VENV, ensure_scan_venv


@pytest.fixture(scope="session")
def scan_venv() -> Path:
    """.venv-scan, installed by the same installer `make scan-setup` runs."""
    return ensure_scan_venv(SCAN_VENV)


@pytest.fixture(scope="session")
def oracle(scan_venv: Path) -> Oracle:
    """checkov's Terraform types and cfn-lint's CloudFormation schemas."""
    return load_oracle(scan_venv)
