"""The scanners, run as subprocesses from .venv-scan, and their results as :class:`Finding` records."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.scan.iam import PolicyDocument
from tools.scan.venv import SCAN_VENV, scan_bin

# Offline checkov: --skip-download skips the policy/guideline download, BC_SKIP_MAPPING the guideline mapping call
# (checkov docs, "CLI Command Reference" and "Environment variables").
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
WORKER_SCRIPT = Path(__file__).with_name("checkov_worker.py")


@dataclass(frozen=True)
class Finding:
    """One check result on one resource (or one file for the repository scans)."""

    scanner: str
    """checkov, checkov-secrets, cfn-lint or parliament."""
    check_id: str
    """The scanner's id for the check (CKV_AWS_79, E3002, UNKNOWN_ACTION)."""
    title: str
    """The check's one-line title."""
    passed: bool
    """Whether the resource passed the check."""
    urn: str
    """The Pulumi URN; for repository scans, the file path."""
    resource: str
    """The translated address (aws_s3_bucket.documents, AWS::SQS::Queue.Jobs) or file:line."""
    source: str
    """The export (or repository file) it came from."""
    detail: str = ""
    """Scanner-specific detail, matched by a suppression's ``detail`` glob."""


def _run(cmd: list[str], env: Mapping[str, str] | None = None, stdin: str | None = None) -> str:
    """stdout of a scanner; its exit code only says whether it found something, so only empty output is an error."""
    proc = subprocess.run(
        cmd, capture_output=True, text=True, input=stdin, env={**os.environ, **(env or {})}, check=False
    )
    if proc.returncode != 0 and not proc.stdout.strip():
        raise RuntimeError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def checkov_argv(files: Iterable[Path], frameworks: Iterable[str]) -> list[str]:
    """checkov's arguments for a JSON report on ``files`` with ``frameworks`` (offline: --skip-download)."""
    argv = ["--skip-download", "--output", "json", "--framework", *frameworks]
    for f in files:
        argv += ["--file", str(f)]
    return argv


def parse_checkov(out: str) -> list[dict[str, Any]]:
    """checkov's JSON output as a list of reports (one per framework); none when nothing was scanned."""
    if not out.strip():
        return []
    reports = json.loads(out)
    if isinstance(reports, dict) and "results" not in reports:
        return []  # checkov prints a summary dict when nothing was scanned
    return reports if isinstance(reports, list) else [reports]


class CheckovWorker:
    """One checkov process (tools/scan/checkov_worker.py) that runs the requests it is given side by side, each in a
    child of its own, and answers them in the order they were given.

    Start it early: its seconds of import overlap whatever the caller does next. ``submit`` queues a run and
    returns at once; ``result`` waits for the oldest unread one.
    """

    def __init__(self, venv: Path = SCAN_VENV) -> None:
        # A file, not a pipe: a chatty checkov can never block. Closed in close().
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        # Where the request children leave their answers; removed in close(), whatever became of the worker.
        self._scratch = tempfile.TemporaryDirectory(prefix="checkov-worker-")
        self._proc = subprocess.Popen(
            [str(scan_bin("python", venv)), str(WORKER_SCRIPT), self._scratch.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, **CHECKOV_ENV},
            # Its own process group: close() can end the worker and every request child it forked, together.
            start_new_session=True,
        )
        self._pending: list[str] = []

    def submit(self, files: Iterable[Path], frameworks: Iterable[str]) -> None:
        """Queue one checkov run."""
        argv = checkov_argv(files, frameworks)
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(argv) + "\n")
        self._proc.stdin.flush()
        self._pending.append(" ".join(argv[:5]))

    def result(self) -> list[dict[str, Any]]:
        """The reports of the oldest run not read yet; raises with checkov's stderr when it failed."""
        what = self._pending.pop(0)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        answer: dict[str, Any] = (
            json.loads(line) if line else {"code": self._proc.wait(), "stdout": "", "error": "the worker died"}
        )
        if answer["error"] or (answer["code"] != 0 and not answer["stdout"].strip()):
            self._log.seek(0)
            raise RuntimeError(
                f"checkov {what} failed (exit {answer['code']}):\n{answer['error']}{self._log.read()[-4000:]}"
            )
        return parse_checkov(answer["stdout"])

    def close(self) -> None:
        """End the process (after any queued runs) and release its log."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        if self._pending:  # abandoned: stop the requests still running too, not only the worker
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        self._log.close()
        self._scratch.cleanup()

    def __enter__(self) -> CheckovWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checkov_raw(files: Iterable[Path], frameworks: Iterable[str], venv: Path = SCAN_VENV) -> list[dict[str, Any]]:
    """checkov's JSON reports for ``files``, from a worker of its own (one run, then it exits)."""
    files = list(files)
    if not files:
        return []
    with CheckovWorker(venv) as worker:
        worker.submit(files, frameworks)
        return worker.result()


def checkov_findings(
    reports: list[dict[str, Any]], urn_maps: Mapping[Path, Mapping[str, str]], sources: Mapping[Path, str]
) -> list[Finding]:
    """Findings from checkov reports on translated files; ``urn_maps`` maps each file's addresses to URNs."""
    findings: list[Finding] = []
    resolved = {p.resolve(): m for p, m in urn_maps.items()}
    resolved_sources = {p.resolve(): s for p, s in sources.items()}
    for report in reports:
        results = report.get("results", {})
        for passed, key in ((False, "failed_checks"), (True, "passed_checks")):
            for check in results.get(key, []):
                path = Path(check.get("file_abs_path") or check["file_path"]).resolve()
                address = check["resource"]
                # checkov names a CloudFormation resource "<Type>.<LogicalId>" and a plan resource by its address.
                is_cfn = report.get("check_type") == "cloudformation"
                address_key = address.rsplit(".", 1)[-1] if is_cfn else address
                urn = resolved.get(path, {}).get(address_key)
                if urn is None:
                    raise RuntimeError(f"checkov reported {address} in {path}, which maps to no Pulumi resource")
                findings.append(
                    Finding(
                        scanner="checkov",
                        check_id=check["check_id"],
                        title=check.get("check_name") or "",
                        passed=passed,
                        urn=urn,
                        resource=address,
                        source=resolved_sources.get(path, str(path)),
                    )
                )
    return findings


def checkov_repo_findings(reports: list[dict[str, Any]], root: Path) -> list[Finding]:
    """Findings from checkov's file scans (secrets, dockerfile, github_actions): the 'URN' is the file."""
    findings: list[Finding] = []
    for report in reports:
        for passed, key in ((False, "failed_checks"), (True, "passed_checks")):
            for check in report.get("results", {}).get(key, []):
                path = Path(check.get("file_abs_path") or check["file_path"]).resolve()
                try:
                    rel = str(path.relative_to(root.resolve()))
                except ValueError:
                    rel = str(path)
                line = (check.get("file_line_range") or [0])[0]
                findings.append(
                    Finding(
                        scanner=f"checkov-{report.get('check_type', 'repo')}",
                        check_id=check["check_id"],
                        title=check.get("check_name") or "",
                        passed=passed,
                        urn=rel,
                        resource=f"{rel}:{line} {check.get('resource', '')}".strip(),
                        source=rel,
                    )
                )
    return findings


def cfn_lint_findings(
    templates: Mapping[Path, Mapping[str, str]], sources: Mapping[Path, str], venv: Path = SCAN_VENV
) -> list[Finding]:
    """cfn-lint errors and warnings on the translated templates, each mapped to the resource's URN."""
    if not templates:
        return []
    out = _run([str(scan_bin("cfn-lint", venv)), "--format", "json", *[str(p) for p in templates]])
    matches: list[dict[str, Any]] = json.loads(out) if out.strip() else []
    resolved = {p.resolve(): m for p, m in templates.items()}
    resolved_sources = {p.resolve(): s for p, s in sources.items()}
    findings: list[Finding] = []
    for match in matches:
        if match.get("Level") == "Informational":
            continue
        path = Path(match["Filename"]).resolve()
        loc = match.get("Location", {}).get("Path") or []
        logical = loc[1] if len(loc) > 1 and loc[0] == "Resources" else ""
        urn = resolved.get(path, {}).get(logical, f"{sources.get(path, path)}:template")
        findings.append(
            Finding(
                scanner="cfn-lint",
                check_id=match["Rule"]["Id"],
                title=match["Rule"].get("ShortDescription", ""),
                passed=False,
                urn=urn,
                resource="/".join(str(p) for p in loc),
                source=resolved_sources.get(path, str(path)),
                detail=match.get("Message", ""),
            )
        )
    return findings


# Runs inside .venv-scan: parliament, with its community auditors for identity policies.
_PARLIAMENT_SCRIPT = """
import json, sys
from parliament import analyze_policy_string, enhance_finding
out = []
for item in json.load(sys.stdin):
    policy = analyze_policy_string(item["text"], include_community_auditors=item["community"])
    for f in policy.findings:
        try:
            enhance_finding(f)
        except Exception:
            pass
        out.append({"index": item["index"], "issue": f.issue, "title": getattr(f, "title", ""),
                    "severity": getattr(f, "severity", ""), "detail": str(f.detail), "location": str(f.location)})
json.dump(out, sys.stdout)
"""


def parliament_findings(
    documents: Iterable[tuple[PolicyDocument, str]], venv: Path = SCAN_VENV
) -> tuple[list[Finding], int]:
    """parliament's findings on every (policy document, source) pair, and how many documents it analysed."""
    docs = list(documents)
    if not docs:
        return [], 0
    # The community auditors (privilege escalation, credentials exposure) read identity policies; on a trust
    # policy they would flag the sts:AssumeRole that a trust policy exists to grant.
    payload = json.dumps(
        [{"index": i, "text": d.text, "community": not d.resource_policy} for i, (d, _) in enumerate(docs)]
    )
    out = _run([str(scan_bin("python", venv)), "-c", _PARLIAMENT_SCRIPT], stdin=payload)
    findings: list[Finding] = []
    for item in json.loads(out):
        doc, source = docs[item["index"]]
        findings.append(
            Finding(
                scanner="parliament",
                check_id=item["issue"],
                title=f"{item['severity']}: {item['title']}".strip(": "),
                passed=False,
                urn=doc.urn,
                resource=doc.path,
                source=source,
                detail=f"{item['detail']} {item['location']}".strip(),
            )
        )
    return findings, len(docs)
