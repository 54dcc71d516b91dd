"""``python -m tools.scan [FILE ...] [--all build]``: translate stack exports, run every scanner, report by check."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.scan import iam, runners
from tools.scan.aws_sdk import UnmappedTypeError
from tools.scan.cfn import translate_cfn
from tools.scan.export import Export, load_export
from tools.scan.oracle import load_oracle
from tools.scan.suppressions import DEFAULT_FILE, Suppression, SuppressionError, apply, load_suppressions
from tools.scan.tfplan import translate_plan
from tools.scan.venv import ROOT, SCAN_VENV, ensure_scan_venv

SCANNERS = ("checkov", "cfn-lint", "parliament")


@dataclass
class Report:
    """Everything one scan found, ready to print or assert on."""

    exports: list[Export]
    """The parsed stack exports that were scanned."""
    findings: list[runners.Finding]
    """Every finding of every scanner, passed and failed."""
    open: list[runners.Finding]
    """The failed findings no suppression covers; any of them fails the scan."""
    suppressed: list[tuple[runners.Finding, Suppression]]
    """The failed findings a suppression covers, each with the entry that covers it."""
    stale: list[str]
    """One message per suppression selector that matched no finding."""
    notes: list[str] = field(default_factory=list)
    """Informational lines for the report (policy documents analysed, or skipped as unknown at preview)."""

    def failed(self, check_stale: bool) -> bool:
        """Whether the scan should exit non-zero."""
        return bool(self.open) or (check_stale and bool(self.stale))


def find_exports(build: Path, out_dir: Path) -> list[Path]:
    """The stack exports under a build directory (``<env>/<layer>.json``), not our own scan output."""
    found = []
    for path in sorted(build.glob("*/*.json")):
        if out_dir.resolve() in path.resolve().parents:
            continue
        found.append(path)
    return found


def _stem(path: Path, taken: set[str]) -> str:
    base = f"{path.parent.name}-{path.stem}" if path.parent.name else path.stem
    stem, n = base, 1
    while stem in taken:
        n += 1
        stem = f"{base}-{n}"
    taken.add(stem)
    return stem


def repo_files(root: Path) -> list[Path]:
    """The repository's tracked and untracked-but-not-ignored files (so .venv and build/ stay out)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [root / p for p in sorted(set(out.split("\0"))) if p and (root / p).is_file()]


def repo_frameworks(files: Sequence[Path], root: Path) -> list[str]:
    """checkov's file frameworks worth running here: secrets always, dockerfile and github_actions when present."""
    frameworks = ["secrets"]
    if any(f.name.startswith("Dockerfile") or f.suffix == ".dockerfile" for f in files):
        frameworks.append("dockerfile")
    if any(root / ".github" / "workflows" in f.parents for f in files):
        frameworks.append("github_actions")
    return frameworks


def check_supported(export: Export) -> None:
    """Fail loudly on a resource of a provider neither translation covers (never skip it silently)."""
    for res in export.resources:
        if not res.type.startswith(("aws:", "aws-native:")):
            raise UnmappedTypeError(f"unmapped resource type {res.type!r} ({res.urn}) in {export.source}")


def run_scan(
    export_paths: Sequence[Path],
    out_dir: Path,
    suppressions: list[Suppression],
    repo_root: Path | None = None,
    venv: Path = SCAN_VENV,
) -> Report:
    """Translate the exports, run checkov, cfn-lint and parliament (and the repository scans), apply suppressions."""
    oracle = load_oracle(venv)
    out_dir.mkdir(parents=True, exist_ok=True)
    exports: list[Export] = []
    plan_maps: dict[Path, dict[str, str]] = {}
    cfn_maps: dict[Path, dict[str, str]] = {}
    sources: dict[Path, str] = {}
    policies: list[tuple[iam.PolicyDocument, str]] = []
    notes: list[str] = []
    taken: set[str] = set()
    for path in export_paths:
        export = load_export(path)
        check_supported(export)
        exports.append(export)
        stem = _stem(path, taken)
        plan = translate_plan(export.resources, oracle.tf_types)
        if plan.urns:
            plan_file = out_dir / f"{stem}.tfplan.json"
            plan_file.write_text(json.dumps(plan.plan, indent=1), encoding="utf-8")
            plan_maps[plan_file] = plan.urns
            sources[plan_file] = str(path)
        cfn = translate_cfn(export.resources, oracle)
        if cfn.urns:
            cfn_file = out_dir / f"{stem}.cfn.json"
            cfn_file.write_text(json.dumps(cfn.template, indent=1), encoding="utf-8")
            cfn_maps[cfn_file] = cfn.urns
            sources[cfn_file] = str(path)
        docs, unknown = iam.policy_documents(export.resources)
        policies += [(d, str(path)) for d in docs]
        notes += [f"parliament: policy not analysed, unknown at preview: {urn} {p}" for urn, p in unknown]

    files = repo_files(repo_root) if repo_root is not None else []
    key = _scan_key([*plan_maps, *cfn_maps], policies, files, venv)
    cached = _load_cache(out_dir, key)
    if cached is not None:
        findings, analysed = cached
    else:
        # The scanners are independent processes: run them side by side, checkov once per file set.
        with ThreadPoolExecutor(max_workers=4) as pool:
            exported = pool.submit(
                runners.checkov_raw, [*plan_maps, *cfn_maps], ["terraform_plan", "cloudformation"], venv
            )
            linted = pool.submit(runners.cfn_lint_findings, cfn_maps, sources, venv)
            analysed_iam = pool.submit(runners.parliament_findings, policies, venv)
            repo = (
                pool.submit(runners.checkov_raw, files, repo_frameworks(files, repo_root), venv)
                if files and repo_root is not None
                else None
            )
            findings = runners.checkov_findings(exported.result(), {**plan_maps, **cfn_maps}, sources)
            findings += linted.result()
            iam_findings, analysed = analysed_iam.result()
            findings += iam_findings
            if repo is not None and repo_root is not None:
                findings += runners.checkov_repo_findings(repo.result(), repo_root)
        _store_cache(out_dir, key, findings, analysed)
    notes.append(f"parliament: {analysed} policy documents analysed")
    open_, suppressed, stale = apply(findings, suppressions)
    return Report(exports, findings, open_, suppressed, stale, notes)


CACHE_FILE = "findings-cache.json"


def _scan_key(
    translated: Sequence[Path], policies: Sequence[tuple[iam.PolicyDocument, str]], files: Sequence[Path], venv: Path
) -> str:
    """A hash of every scanner input: the translations, the policy documents, the repository files, the tools."""
    digest = hashlib.sha256()
    tools = [*sorted(Path(__file__).parent.glob("*.py")), ROOT / "pyproject.toml", venv / ".installed"]
    for path in [*translated, *files, *tools]:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    digest.update(repr(policies).encode())
    return digest.hexdigest()


def _load_cache(out_dir: Path, key: str) -> tuple[list[runners.Finding], int] | None:
    """The findings of an earlier scan of identical inputs (suppressions are applied afresh every time)."""
    path = out_dir / CACHE_FILE
    if os.environ.get("SCAN_CACHE") == "0" or not path.exists():
        return None
    document = json.loads(path.read_text())
    if document.get("key") != key:
        return None
    return [runners.Finding(**f) for f in document["findings"]], int(document["analysed"])


def _store_cache(out_dir: Path, key: str, findings: list[runners.Finding], analysed: int) -> None:
    document = {"key": key, "analysed": analysed, "findings": [asdict(f) for f in findings]}
    (out_dir / CACHE_FILE).write_text(json.dumps(document))


def format_report(report: Report, check_stale: bool) -> str:
    """The human report: skipped resources, findings grouped by scanner and check, one summary line per scanner."""
    lines: list[str] = []
    translated = sum(len(e.resources) for e in report.exports)
    skipped = [(e.source, s) for e in report.exports for s in e.skipped]
    lines.append(f"scan: {len(report.exports)} exports, {translated} resources translated, {len(skipped)} skipped")
    for source, s in skipped:
        lines.append(f"  skipped ({s.why}): {s.urn}  [{source}]")
    suppressed_by = {id(f): s for f, s in report.suppressed}
    by_scanner: dict[str, dict[str, list[runners.Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        if not f.passed:
            by_scanner[f.scanner][f.check_id].append(f)
    for scanner in sorted(by_scanner):
        lines.append(f"== {scanner} ==")
        for check_id in sorted(by_scanner[scanner]):
            group = by_scanner[scanner][check_id]
            lines.append(f"{check_id}  {group[0].title}")
            for f in sorted(group, key=lambda f: (f.urn, f.resource)):
                entry = suppressed_by.get(id(f))
                status = f"SUPPRESSED (#{entry.index})" if entry else "FAIL"
                detail = f" - {f.detail}" if f.detail else ""
                lines.append(f"  {status} {f.urn}  ({f.resource}; {f.source}){detail}")
    for note in report.notes:
        lines.append(f"note: {note}")
    for stale in report.stale:
        lines.append(f"{'error' if check_stale else 'note'}: stale {stale}")
    scanners = sorted(set(SCANNERS) | {f.scanner for f in report.findings})
    for scanner in scanners:
        mine = [f for f in report.findings if f.scanner == scanner]
        counts = Counter("passed" if f.passed else ("suppressed" if id(f) in suppressed_by else "failed") for f in mine)
        failed, suppressed, passed = counts["failed"], counts["suppressed"], counts["passed"]
        lines.append(f"summary {scanner}: {failed} failed, {suppressed} suppressed, {passed} passed")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit 1 on any unsuppressed failure (or stale suppression with --all), 2 on errors."""
    parser = argparse.ArgumentParser(prog="python -m tools.scan", description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="stack exports (`pulumi stack export` output)")
    parser.add_argument("--all", dest="build", type=Path, help="scan every <env>/<layer>.json under this directory")
    parser.add_argument("--suppressions", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "scan", help="where translations are written")
    parser.add_argument("--no-repo", action="store_true", help="skip checkov's secrets/dockerfile/actions scans")
    args = parser.parse_args(argv)
    paths = list(args.files)
    if args.build is not None:
        paths += find_exports(args.build, args.out)
    if not paths:
        parser.error("no stack exports to scan: give FILE arguments or --all <build dir> (run `make preview` first)")
    try:
        suppressions = load_suppressions(args.suppressions)
        ensure_scan_venv()
        report = run_scan(paths, args.out, suppressions, None if args.no_repo else ROOT)
    except (UnmappedTypeError, SuppressionError, ValueError, FileNotFoundError) as err:
        print(f"scan: error: {err}", file=sys.stderr)
        return 2
    # Staleness is only meaningful when every stack was scanned.
    check_stale = args.build is not None and not args.files
    print(format_report(report, check_stale))
    return 1 if report.failed(check_stale) else 0
