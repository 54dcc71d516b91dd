"""Makefile recipes that call pulumi, run against a stand-in executable that records its arguments."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["PULUMI_RECORD"], "a") as record:
    record.write(json.dumps(sys.argv[1:]) + "\\n")
cwd = sys.argv[sys.argv.index("--cwd") + 1] if "--cwd" in sys.argv else ""
sys.exit(3 if cwd.endswith(os.environ.get("PULUMI_FAIL_IN", "<none>")) else 0)
"""


POLICY_FLAGS = [
    "--policy-pack",
    str(REPO_ROOT / "policies"),
    "--policy-pack-config",
    str(REPO_ROOT / "policies/config.json"),
]


@pytest.fixture
def pulumi_stand_in(tmp_path: Path) -> tuple[Path, Path]:
    executable = tmp_path / "pulumi"
    executable.write_text(STAND_IN)
    executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
    return executable, tmp_path / "calls.jsonl"


def make(
    stand_in: tuple[Path, Path], *args: str, fail_in: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    executable, record = stand_in
    env = {**os.environ, "PULUMI_RECORD": str(record), "PULUMI_FAIL_IN": fail_in or "<none>"}
    done = subprocess.run(
        ["make", "--no-print-directory", *args, f"PULUMI={executable}", "GATE="],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return done, calls


def test_deploy_all_runs_every_layer_in_order_with_the_policy_pack(pulumi_stand_in: tuple[Path, Path]) -> None:
    done, calls = make(pulumi_stand_in, "deploy-all", "ENV=prod")
    assert done.returncode == 0, done.stderr
    assert calls == [
        ["up", "--cwd", f"stacks/{layer}", "--stack", "prod", *POLICY_FLAGS, "--yes"]
        for layer in ("network", "data", "compute", "edge")
    ]
    assert "deploy-all: pulumi up network [prod]" in done.stdout


def test_deploy_all_stops_at_the_first_failing_layer(pulumi_stand_in: tuple[Path, Path]) -> None:
    done, calls = make(pulumi_stand_in, "deploy-all", "ENV=staging", fail_in="data")
    assert done.returncode != 0
    assert [call[2] for call in calls] == ["stacks/network", "stacks/data"]


def test_deploy_one_layer(pulumi_stand_in: tuple[Path, Path]) -> None:
    done, calls = make(pulumi_stand_in, "deploy", "LAYER=compute", "ENV=dev")
    assert done.returncode == 0, done.stderr
    assert calls == [["up", "--cwd", "stacks/compute", "--stack", "dev", *POLICY_FLAGS]]


def test_preview_live_previews_every_layer(pulumi_stand_in: tuple[Path, Path]) -> None:
    done, calls = make(pulumi_stand_in, "preview-live", "ENV=dev")
    assert done.returncode == 0, done.stderr
    assert [call[:5] for call in calls] == [
        ["preview", "--cwd", f"stacks/{layer}", "--stack", "dev"] for layer in ("network", "data", "compute", "edge")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy-all", "ENV=qa"), "ENV='qa' is not a stack of this repo: allowed dev staging prod"),
        (("deploy-all",), "ENV='' is not a stack of this repo: allowed dev staging prod"),
        (("deploy", "ENV=dev", "LAYER=database"), "LAYER='database' is not a layer: allowed network data compute edge"),
    ],
)
def test_bad_arguments_fail_before_pulumi_runs(
    pulumi_stand_in: tuple[Path, Path], args: tuple[str, ...], message: str
) -> None:
    done, calls = make(pulumi_stand_in, *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert calls == []
