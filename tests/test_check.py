"""make check's answer: the summary it computes, the reports it writes, and its exit status, on the real stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tools.check.__main__ as check
from tests.conftest import ENVS, LAYERS, REPO_ROOT, CheckRun, Export
from tools import stack_export
from tools.check import summary
from tools.policy_analyze import Violation
from tools.report import cost
from tools.scan.cli import ScanSession

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
        "diagram": "dev/architecture.svg",
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
    assert "![dev architecture](architecture.svg)" in text
    assert "- **mandatory** `no-nat-gateway` `urn:pulumi:dev::p::t::no-nat-gateway`: a NAT gateway" in text
    assert "| checkov | 0 | 1 | 9 |" in text


# --- the real thing ------------------------------------------------------------------------------------------------


def test_check_passes_and_writes_every_report(checked: CheckRun) -> None:
    assert checked.returncode == 0, checked.stdout
    document = json.loads((checked.out / "summary.json").read_text())
    assert document["ok"] is True
    assert list(document["environments"]) == list(ENVS)
    for env in ENVS:
        report = (checked.out / env / "report.md").read_text()
        assert report.startswith(f"# {env}: make check passes")
        assert f"![{env} architecture](architecture.svg)" in report
        assert (checked.out / env / "architecture.svg").read_bytes().startswith(b"<?xml")
        assert document["environments"][env]["warnings"] == []
    assert set(document["timings"]) >= {"layers", "policies", "scans", "cost", "diagrams", "total"}
    assert "check passed in" in checked.stdout


def test_the_summary_matches_the_exports_it_judged(checked: CheckRun, exports: dict[tuple[str, str], Export]) -> None:
    document = json.loads((checked.out / "summary.json").read_text())
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


def test_the_terminal_summary_has_a_column_per_environment(checked: CheckRun) -> None:
    document = json.loads((checked.out / "summary.json").read_text())
    for line in summary.render_terminal(document):
        assert line in checked.stdout
    assert "  policies: mandatory" in checked.stdout
    assert "cost per month" in checked.stdout


# --- failures, decided by the phase that decides them, on a copy of the session's build ---------------------------


def _phases(out: Path, **results: Any) -> check.Phases:
    """The passing run's layer results, with the given phase results."""
    document = json.loads((out / "summary.json").read_text())
    runs = {env: document["environments"][env]["layers"] for env in ENVS}
    return check.Phases(list(ENVS), runs, {env: [] for env in ENVS}, dict(results))


def _judged(out: Path) -> list[Path]:
    return [out / env / f"{layer}.json" for env in ENVS for layer in LAYERS]


def _scans(out: Path, suppressions: Path) -> dict[str, Any]:
    """The scan phase with these suppressions; the copy's findings cache spares the scanners (no checkov runs)."""
    session = ScanSession(out / "scan", REPO_ROOT)
    assert session._worker is None, "the repository scan should come from the copied cache"
    return check.scan(session, out, _judged(out), suppressions)


def test_a_mandatory_violation_fails_check_and_is_named(checked: CheckRun, tmp_path: Path) -> None:
    out = checked.copy(tmp_path / "build")
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"s3-tls-only": "mandatory"}))  # the frontend buckets' exemptions are gone
    policies = check.judge(out, ENVS, LAYERS, strict)
    document = check.assemble(_phases(out, policies=policies, scans=_scans(out, check.SUPPRESSIONS)), out)
    assert document["ok"] is False
    assert check.verdict(document) == "FAILED (dev, staging, prod)"
    lines = check.failures(document)
    assert any(line.startswith("FAIL dev: s3-tls-only urn:pulumi:dev::student-helper-data::") for line in lines)
    assert document["environments"]["prod"]["policies"]["by_policy"]["s3-tls-only"]["violations"] >= 1


def test_the_command_exits_1_on_a_failure_and_reuses_every_cache(checked: CheckRun, tmp_path: Path) -> None:
    out = checked.copy(tmp_path / "build")
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"s3-tls-only": "mandatory"}))
    done = subprocess.run(
        [sys.executable, "-m", "tools.check", "--out", str(out), "--policy-config", str(strict)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL dev: s3-tls-only urn:pulumi:dev::student-helper-data::" in done.stdout
    assert "check FAILED (dev, staging, prod)" in done.stdout
    # Nothing had changed, so no layer ran again: the second answer came from the cache.
    assert done.stdout.count("cached ") == len(ENVS) * len(LAYERS)
    document = json.loads((out / "summary.json").read_text())
    assert document["environments"]["prod"]["policies"]["by_policy"]["s3-tls-only"]["violations"] >= 1


def test_an_unsuppressed_scan_finding_fails_check_and_is_named(checked: CheckRun, tmp_path: Path) -> None:
    out = checked.copy(tmp_path / "build")
    none = tmp_path / "suppressions.yaml"
    none.write_text("suppressions: []\n")
    document = check.assemble(_phases(out, scans=_scans(out, none)), out)
    assert document["ok"] is False
    lines = check.failures(document)
    assert any(line.startswith("FAIL dev: checkov CKV") for line in lines)
    assert any(line.startswith("FAIL repository: checkov-secrets CKV_SECRET_6") for line in lines)
    assert document["environments"]["prod"]["open_findings"], "the findings are listed in summary.json"
    assert document["environments"]["prod"]["scans"]["checkov"]["failed"] > 0


def test_a_stale_suppression_fails_check(checked: CheckRun, tmp_path: Path) -> None:
    out = checked.copy(tmp_path / "build")
    stale = tmp_path / "suppressions.yaml"
    reason = "An entry that matches nothing, to prove that a stale suppression fails the check."
    real = (REPO_ROOT / "scan" / "suppressions.yaml").read_text()
    stale.write_text(
        real
        + "  - check: CKV_AWS_999\n    resources:\n"
        + "      - name: nothing-by-this-name\n        type: aws:s3/bucket:Bucket\n"
        + f"    reason: {reason}\n"
    )
    document = check.assemble(_phases(out, scans=_scans(out, stale)), out)
    assert document["ok"] is False
    stale_lines = [line for line in check.failures(document) if line.startswith("FAIL stale suppression: ")]
    assert any("suppression #" in line and "(CKV_AWS_999) matches no finding" in line for line in stale_lines)
    # Checking some environments only (make check ENVS=dev) cannot tell a stale entry from one for another one.
    partial = _phases(out, scans=_scans(out, stale))
    partial.every_environment = False
    assert check.assemble(partial, out)["ok"] is True


@pytest.mark.parametrize("phase", check.REPORT_PHASES)
def test_a_report_that_cannot_be_made_is_a_warning_not_a_failure(checked: CheckRun, phase: str) -> None:
    phases = _phases(checked.out)
    phases.failed[phase] = "RuntimeError: the tool is missing"
    document = check.assemble(phases, checked.out)
    assert document["ok"] is True, "a deploy is never blocked by a reporting tool"
    assert document["environments"]["dev"]["warnings"] == [f"{phase} not made: RuntimeError: the tool is missing"]
    assert check.warnings(document) == [
        f"warn (dev, staging, prod): {phase} not made: RuntimeError: the tool is missing"
    ]
    report = summary.render_markdown(document["environments"]["dev"])
    assert f"- **warning** (does not fail the check): {phase} not made" in report


def test_an_environment_whose_cost_cannot_be_made_leaves_the_others_theirs(checked: CheckRun) -> None:
    documents = {env: stack_export.load_layers(checked.out, env) for env in ("dev", "prod")}
    # prod's exports lose their aws provider: nothing says which Region's prices apply.
    for document in documents["prod"].values():
        states = document["deployment"]["resources"]
        states[:] = [r for r in states if r["type"] != "pulumi:providers:aws"]
    costs = check.estimate(documents)
    assert costs["dev"]["total_usd"] > 0
    assert costs["prod"] == check.NotMade(
        "tools.report.cost.CostError: the exports must name exactly one aws provider region (aws:region); found none"
    )
    document = check.assemble(_phases(checked.out, cost=costs), checked.out)
    assert document["ok"] is True
    assert document["environments"]["dev"]["warnings"] == [] and document["environments"]["dev"]["cost"]
    assert check.warnings(document) == [f"warn (prod): cost not made: {costs['prod'].detail}"]


@pytest.mark.parametrize("phase", check.GATE_PHASES)
def test_a_gate_phase_that_crashes_fails_every_environment(checked: CheckRun, phase: str) -> None:
    phases = _phases(checked.out)
    phases.failed[phase] = "RuntimeError: boom"
    document = check.assemble(phases, checked.out)
    assert document["ok"] is False
    assert all(f"{phase} failed: RuntimeError: boom" in e["errors"] for e in document["environments"].values())
