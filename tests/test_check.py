"""make check's answer: the summary it computes, the reports it writes, and its exit status, on the real stacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENVS, LAYERS, REPO_ROOT, Export
from tools.check import summary
from tools.policy_analyze import Violation
from tools.report import cost

# --- pure parts ----------------------------------------------------------------------------------------------------

LEVELS = {"no-nat-gateway": "mandatory", "required-tags": "advisory", "log-retention": "disabled"}


def _violation(policy: str, level: str, message: str = "bad") -> Violation:
    return Violation(policy, level, f"urn:pulumi:dev::p::t::{policy}", message)


@pytest.mark.parametrize(
    ("violations", "mandatory", "advisory", "notes"),
    [
        ([], 0, 0, 0),
        ([_violation("no-nat-gateway", "mandatory")], 1, 0, 0),
        ([_violation("required-tags", "advisory"), _violation("required-tags", "advisory")], 0, 2, 0),
        ([_violation("no-nat-gateway", "mandatory", "can't run policy: unknown at preview")], 0, 0, 1),
    ],
)
def test_policy_totals_count_violations_not_preview_notes(
    violations: list[Violation], mandatory: int, advisory: int, notes: int
) -> None:
    by_policy = summary.policy_counts(violations, LEVELS)
    assert summary.policy_totals(by_policy) == {"mandatory": mandatory, "advisory": advisory}
    assert sum(int(entry["notes"]) for entry in by_policy.values()) == notes
    assert set(by_policy) == set(LEVELS), "every policy gets a row, violated or not"


def _entry(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "env": "dev",
        "layers": {"network": {"resources": 3, "seconds": 0.2, "cached": False}},
        "violations": [],
        "levels": LEVELS,
        "scans": {"checkov": {"failed": 0, "suppressed": 1, "passed": 9}},
        "open_findings": [],
        "cost": None,
        "diagram": "dev/architecture.png",
        "errors": [],
    }
    arguments.update(overrides)
    return summary.environment_entry(**arguments)


@pytest.mark.parametrize(
    ("overrides", "ok"),
    [
        ({}, True),
        ({"violations": [_violation("required-tags", "advisory")]}, True),
        ({"violations": [_violation("no-nat-gateway", "mandatory")]}, False),
        ({"open_findings": [{"scanner": "checkov", "check_id": "CKV_AWS_1", "urn": "u", "title": "t"}]}, False),
        ({"errors": ["compute [dev]: boom"]}, False),
    ],
)
def test_an_environment_fails_on_mandatory_violations_open_findings_or_errors(
    overrides: dict[str, Any], ok: bool
) -> None:
    assert _entry(**overrides)["ok"] is ok


def test_the_markdown_report_links_the_diagram_and_lists_failures() -> None:
    entry = _entry(violations=[_violation("no-nat-gateway", "mandatory", "a NAT gateway")])
    text = summary.render_markdown(entry)
    assert text.startswith("# dev: make check FAILS")
    assert "![dev architecture](architecture.png)" in text
    assert "- **mandatory** `no-nat-gateway` `urn:pulumi:dev::p::t::no-nat-gateway`: a NAT gateway" in text
    assert "| checkov | 0 | 1 | 9 |" in text


# --- the real thing ------------------------------------------------------------------------------------------------


def _check(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.check", "--out", str(out), *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real `make check` run (as the Makefile runs it) into a scratch build directory."""
    out = tmp_path_factory.mktemp("check")
    return out, _check(out)


def test_check_passes_and_writes_every_report(checked: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, done = checked
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((out / "summary.json").read_text())
    assert document["ok"] is True
    assert list(document["environments"]) == list(ENVS)
    for env in ENVS:
        report = (out / env / "report.md").read_text()
        assert report.startswith(f"# {env}: make check passes")
        assert f"![{env} architecture](architecture.png)" in report
        assert (out / env / "architecture.png").read_bytes().startswith(b"\x89PNG")
    assert set(document["timings"]) >= {"layers", "policies", "scans", "cost", "diagrams", "total"}
    assert "check passed in" in done.stdout


def test_the_summary_matches_the_exports_it_judged(
    checked: tuple[Path, subprocess.CompletedProcess[str]], exports: dict[tuple[str, str], Export]
) -> None:
    out, _ = checked
    document = json.loads((out / "summary.json").read_text())
    prices = cost.load_prices()
    for env in ENVS:
        entry = document["environments"][env]
        for layer in LAYERS:
            expected = sum(1 for _ in exports[(env, layer)].custom())
            assert entry["layers"][layer]["resources"] == expected, f"{env}/{layer}"
        assert entry["policies"]["mandatory"] == 0
        assert set(entry["scans"]) >= {"checkov", "cfn-lint", "parliament"}
        assert all(counts["failed"] == 0 for counts in entry["scans"].values())
        estimate = cost.estimate({layer: exports[(env, layer)].document for layer in LAYERS}, prices, env)
        assert entry["cost"]["total_usd"] == pytest.approx(estimate.total, abs=0.01)
    assert document["repository"]["scans"]["checkov-secrets"]["failed"] == 0


def test_the_terminal_summary_has_a_column_per_environment(
    checked: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, done = checked
    document = json.loads((out / "summary.json").read_text())
    for line in summary.render_terminal(document):
        assert line in done.stdout
    assert "  policies: mandatory" in done.stdout
    assert "cost per month" in done.stdout


def test_a_mandatory_violation_fails_check_and_is_named(
    checked: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy(checked, tmp_path)
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"s3-tls-only": "mandatory"}))  # the frontend buckets' exemptions are gone
    done = _check(out, "--policy-config", str(strict))
    assert done.returncode == 1
    assert "FAIL dev: s3-tls-only urn:pulumi:dev::student-helper-data::" in done.stdout
    assert "check FAILED (dev, staging, prod)" in done.stdout
    # Nothing had changed, so no layer ran again: the second answer came from the cache.
    assert done.stdout.count("cached ") == len(ENVS) * len(LAYERS)
    document = json.loads((out / "summary.json").read_text())
    assert document["environments"]["prod"]["policies"]["by_policy"]["s3-tls-only"]["violations"] >= 1


def _copy(checked: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    out = tmp_path / "build"
    shutil.copytree(checked[0], out)  # the other tests read the passing run's reports; the caches come along
    return out


def test_an_unsuppressed_scan_finding_fails_check_and_is_named(
    checked: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy(checked, tmp_path)
    none = tmp_path / "suppressions.yaml"
    none.write_text("suppressions: []\n")
    done = _check(out, "--suppressions", str(none))
    assert done.returncode == 1
    assert "FAIL dev: checkov CKV" in done.stdout
    assert "FAIL repository: checkov-secrets CKV_SECRET_6" in done.stdout
    document = json.loads((out / "summary.json").read_text())
    assert document["environments"]["prod"]["open_findings"], "the findings are listed in summary.json"
    assert document["environments"]["prod"]["scans"]["checkov"]["failed"] > 0


def test_a_stale_suppression_fails_check(
    checked: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy(checked, tmp_path)
    stale = tmp_path / "suppressions.yaml"
    reason = "An entry that matches nothing, to prove that a stale suppression fails the check."
    real = (REPO_ROOT / "scan" / "suppressions.yaml").read_text()
    stale.write_text(
        real
        + "  - check: CKV_AWS_999\n    resources:\n"
        + "      - name: nothing-by-this-name\n        type: aws:s3/bucket:Bucket\n"
        + f"    reason: {reason}\n"
    )
    done = _check(out, "--suppressions", str(stale))
    assert done.returncode == 1
    assert "FAIL stale suppression: suppression #" in done.stdout
    assert "(CKV_AWS_999) matches no finding" in done.stdout
