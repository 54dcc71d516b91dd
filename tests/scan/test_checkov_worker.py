"""The checkov worker's protocol (tools/scan/checkov_worker.py), against a stand-in ``checkov`` package.

The stand-in lets a request wait for another, so "side by side" is proven by a run that could not finish otherwise,
never by a clock: were the requests run one after another, the first would wait forever (the guard ends it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tools.scan.runners import WORKER_SCRIPT, CheckovWorker

# checkov.main.Checkov(argv).run() as the worker calls it. argv[0] says what to do: "wait-for <file>" (print once the
# file exists), "create <file>" (create it, print), "pid-then-wait <file>" (write its pid there, then hang), "exit
# <code>" (a run that kills its process), "fail" (argparse's error exit), "raise" (a crash inside checkov).
STAND_IN = {
    "checkov/__init__.py": "",
    "checkov/common/__init__.py": "",
    "checkov/common/util/__init__.py": "",
    "checkov/common/util/secrets.py": (
        "def string_has_secrets(value, *categories):\n    return False\n\n"
        "def get_secrets_from_string(value, *categories):\n    return []\n"
    ),
    "checkov/main.py": """
import os, sys, time

class Checkov:
    def __init__(self, argv):
        self.argv = argv

    def run(self):
        verb, arg = self.argv[0], self.argv[1] if len(self.argv) > 1 else ""
        if verb == "wait-for":
            for _ in range(600):  # the guard: 60 s, far beyond any run that is not stuck
                if os.path.exists(arg):
                    print(f"saw {os.path.basename(arg)}")
                    return 0
                time.sleep(0.1)
            print("gave up waiting")
            return 1
        if verb == "create":
            open(arg, "w").close()
            print(f"created {os.path.basename(arg)}")
            return 0
        if verb == "pid-then-wait":
            with open(arg, "w") as out:
                out.write(str(os.getpid()))
            time.sleep(600)
        if verb == "exit":
            os._exit(int(arg))
        if verb == "fail":
            raise SystemExit(2)
        raise ValueError("checkov broke")
""",
}


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stand-in")
    for name, text in STAND_IN.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def serve(stand_in: Path, *requests: list[str]) -> list[dict[str, Any]]:
    """The worker's answers to ``requests``, all sent at once, stdin then closed."""
    done = subprocess.run(
        [sys.executable, str(WORKER_SCRIPT)],
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(stand_in)},
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_requests_run_side_by_side_and_are_answered_in_the_order_asked(stand_in: Path, tmp_path: Path) -> None:
    signal = tmp_path / "signal"
    first, second = serve(stand_in, ["wait-for", str(signal)], ["create", str(signal)])
    assert first == {"code": 0, "stdout": "saw signal\n", "error": ""}, "the first request never saw the second run"
    assert second == {"code": 0, "stdout": "created signal\n", "error": ""}


def test_a_failing_or_crashing_request_is_answered_and_the_others_still_run(stand_in: Path, tmp_path: Path) -> None:
    made = tmp_path / "made"
    answers = serve(stand_in, ["fail"], ["raise"], ["exit", "3"], ["create", str(made)])
    assert [a["code"] for a in answers] == [2, 2, 2, 0]
    assert answers[0]["error"] == ""
    assert "ValueError: checkov broke" in answers[1]["error"]
    assert answers[2]["error"] == "the checkov run crashed (exit 3)"
    assert answers[3]["stdout"] == "created made\n" and made.exists()


def test_a_last_request_without_its_newline_still_runs(stand_in: Path, tmp_path: Path) -> None:
    made = tmp_path / "made"
    done = subprocess.run(
        [sys.executable, str(WORKER_SCRIPT)],
        input=json.dumps(["create", str(made)]),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(stand_in)},
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == {"code": 0, "stdout": "created made\n", "error": ""}


def test_closing_with_a_request_unanswered_ends_the_worker_and_the_request_together(
    stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(stand_in))
    pid_file = tmp_path / "pid"
    worker = CheckovWorker(venv)
    worker._proc.stdin.write(json.dumps(["pid-then-wait", str(pid_file)]) + "\n")  # type: ignore[union-attr]
    worker._proc.stdin.flush()  # type: ignore[union-attr]
    worker._pending.append("pid-then-wait")
    for _ in range(600):  # the guard: the request child says who it is
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    child = int(pid_file.read_text())
    scratch = Path(worker._scratch.name)
    worker.close()
    for _ in range(600):  # killed at once; the guard allows for init reaping the orphan
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child), f"request child {child} outlived the worker"
    assert not scratch.exists(), "the answers folder is removed"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, killed and not yet reaped, is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
