"""``python -m tools.scan [FILE ...] [--all build]``: translate stack exports, run every scanner, report by check."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.checkout import repo_files
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


# checkov's file frameworks for the repository. Every file is given all of them: each framework picks the files it
# recognises (checkov's own patterns: ``api.Dockerfile``, any ``.github/workflows/``), so a file is judged the same
# whether it is scanned alone or with the rest, which the per-file cache (RepositoryCache) relies on.
REPO_FRAMEWORKS = ("secrets", "dockerfile", "github_actions")


def check_supported(export: Export) -> None:
    """Fail loudly on a resource of a provider neither translation covers (never skip it silently)."""
    for res in export.resources:
        if not res.type.startswith(("aws:", "aws-native:")):
            raise UnmappedTypeError(f"unmapped resource type {res.type!r} ({res.urn}) in {export.source}")


@dataclass
class Translated:
    """The scanners' inputs made from a set of exports: translated files, policy documents, and what maps back."""

    exports: list[Export]
    """The parsed exports, in the order given."""
    plan_maps: dict[Path, dict[str, str]]
    """Each Terraform-plan translation and its address -> URN map."""
    cfn_maps: dict[Path, dict[str, str]]
    """Each CloudFormation translation and its logical id -> URN map."""
    sources: dict[Path, str]
    """Each translation -> the export it came from."""
    policies: list[tuple[iam.PolicyDocument, str]]
    """Every IAM policy document, with its export."""
    notes: list[str]
    """Informational lines for the report."""


def translate(export_paths: Sequence[Path], out_dir: Path, venv: Path = SCAN_VENV) -> Translated:
    """Translate each export for checkov and cfn-lint, and collect its IAM documents for parliament."""
    oracle = load_oracle(venv)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = Translated([], {}, {}, {}, [], [])
    taken: set[str] = set()
    for path in export_paths:
        export = load_export(path)
        check_supported(export)
        done.exports.append(export)
        stem = _stem(path, taken)
        plan = translate_plan(export.resources, oracle.tf_types)
        if plan.urns:
            plan_file = out_dir / f"{stem}.tfplan.json"
            plan_file.write_text(json.dumps(plan.plan, indent=1), encoding="utf-8")
            done.plan_maps[plan_file] = plan.urns
            done.sources[plan_file] = str(path)
        cfn = translate_cfn(export.resources, oracle)
        if cfn.urns:
            cfn_file = out_dir / f"{stem}.cfn.json"
            cfn_file.write_text(json.dumps(cfn.template, indent=1), encoding="utf-8")
            done.cfn_maps[cfn_file] = cfn.urns
            done.sources[cfn_file] = str(path)
        docs, unknown = iam.policy_documents(export.resources)
        done.policies += [(d, str(path)) for d in docs]
        done.notes += [f"parliament: policy not analysed, unknown at preview: {urn} {p}" for urn, p in unknown]
    return done


class ScanSession:
    """One scan: the repository's checkov scans start with the session, the exports' scans when they are ready.

    checkov runs in one :class:`~tools.scan.runners.CheckovWorker` for both, so its import is paid once and, when the
    session starts before the exports exist (``make check`` starts it before the layer runs), overlaps that work.
    Findings are cached under ``out_dir``, the exports' export by export (:class:`ExportsCache`) and the
    repository's file by file (:class:`RepositoryCache`), so a change rescans only what it touched.
    ``SCAN_CACHE=0`` ignores both.
    ``prefetch`` starts checkov at once even when the repository scan is cached, for a caller that knows the exports
    will need it.
    """

    def __init__(self, out_dir: Path, repo_root: Path | None, venv: Path = SCAN_VENV, prefetch: bool = False) -> None:
        self.out_dir, self.repo_root, self.venv = out_dir, repo_root, venv
        out_dir.mkdir(parents=True, exist_ok=True)
        self.files = repo_files(repo_root) if repo_root is not None else []
        self._repo = RepositoryCache(out_dir / REPO_CACHE, self.root, venv, self.files)
        self._worker: runners.CheckovWorker | None = None
        if self._repo.stale:
            self._checkov().submit(self._repo.stale, REPO_FRAMEWORKS)
        elif prefetch:
            self._checkov()  # the exports will need checkov: start importing it now

    @property
    def root(self) -> Path:
        """The repository root (only meaningful when the session scans the repository)."""
        return self.repo_root or ROOT

    def _checkov(self) -> runners.CheckovWorker:
        if self._worker is None:
            self._worker = runners.CheckovWorker(self.venv)
        return self._worker

    def finish(self, translated: Translated, suppressions: list[Suppression]) -> Report:
        """Scan the translated exports (cfn-lint and parliament side by side with checkov), apply suppressions.

        Only the exports whose translations changed are scanned (:class:`ExportsCache`). Their checkov run is asked
        for before the repository's answer is awaited: the worker runs the two side by side.
        """
        try:
            cache = ExportsCache(self.out_dir / EXPORTS_CACHE, self.venv, translated)
            plans, templates, policies = cache.stale_inputs()
            maps = {**plans, **templates}
            if maps:
                self._checkov().submit(maps, ["terraform_plan", "cloudformation"])
            # cfn-lint and parliament are separate processes: they run while checkov works.
            with ThreadPoolExecutor(max_workers=2) as pool:
                linted = pool.submit(runners.cfn_lint_findings, templates, translated.sources, self.venv)
                analysed = pool.submit(runners.parliament_findings, policies, self.venv)
                if self._repo.stale:  # its answer comes first: it was asked for first
                    self._repo.store(runners.checkov_repo_findings(self._checkov().result(), self.root))
                checked = runners.checkov_findings(self._checkov().result(), maps, translated.sources) if maps else []
                iam_findings, _ = analysed.result()
                if cache.stale:
                    cache.store(checked + linted.result() + iam_findings)
        finally:
            self.close()
        findings = cache.findings() + self._repo.findings()
        notes = [*translated.notes, f"parliament: {cache.analysed()} policy documents analysed"]
        open_, suppressed, stale = apply(findings, suppressions)
        return Report(translated.exports, findings, open_, suppressed, stale, notes)

    def close(self) -> None:
        """Stop the checkov worker, if one was started."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def run_scan(
    export_paths: Sequence[Path],
    out_dir: Path,
    suppressions: list[Suppression],
    repo_root: Path | None = None,
    venv: Path = SCAN_VENV,
) -> Report:
    """Translate the exports, run checkov, cfn-lint and parliament (and the repository scans), apply suppressions."""
    session = ScanSession(out_dir, repo_root, venv)
    try:
        translated = translate(export_paths, out_dir, venv)
    except BaseException:
        session.close()
        raise
    return session.finish(translated, suppressions)


REPO_CACHE = "findings-repository.json"
EXPORTS_CACHE = "findings-exports.json"


def scanners_key(group: str, venv: Path) -> str:
    """A hash of what, besides its inputs, decides a cache group's findings: the scanners (this package's code, the
    pins, the scan venv's stamp), checkov's config files and its ``CKV_*`` options."""
    digest = hashlib.sha256(group.encode())
    tools = [*Path(__file__).parent.glob("*.py"), ROOT / "pyproject.toml", venv / ".installed"]
    for name, path in sorted(("/".join(path.parts[-2:]), path) for path in tools):
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    # checkov looks for a config file in the working directory, then the home directory
    # (checkov/common/util/config_utils.py), and reads CKV_* options from the environment.
    for folder in (Path.cwd(), Path.home()):
        for config in (folder / ".checkov.yaml", folder / ".checkov.yml"):
            if config.is_file():
                digest.update(str(config).encode() + b"\0" + config.read_bytes())
    digest.update(repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("CKV_"))).encode())
    return digest.hexdigest()


def _read_cache(path: Path, tools: str, entries: str) -> dict[str, Any]:
    """The entries of a findings cache written with the same scanners, or none (a missing, foreign, truncated or
    corrupt file, or ``SCAN_CACHE=0``: then everything is scanned)."""
    if os.environ.get("SCAN_CACHE") == "0" or not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    found = document.get(entries) if isinstance(document, dict) and document.get("tools") == tools else None
    return found if isinstance(found, dict) else {}


def _write_cache(path: Path, document: dict[str, Any]) -> None:
    """Replace a findings cache in one step, so an interrupted run never leaves half a file behind."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document))
    os.replace(partial, path)


class RepositoryCache:
    """The repository scans' findings, file by file, keyed by each file's path and content and the scanners' pins.

    checkov's file scans (secrets, workflows, Dockerfiles) judge each file on its own, so a file whose content is
    unchanged keeps its findings (none, for most) and only the others are scanned: an edit to one file rescans that
    file, where the whole repository's secrets scan is the longest task of a cold ``make check``. Every file is
    scanned with every repository framework (:data:`REPO_FRAMEWORKS`; checkov applies each to the files it
    recognises), so a subset is judged exactly as the whole would be.
    """

    def __init__(self, path: Path, root: Path, venv: Path, files: Sequence[Path]) -> None:
        self.path, self.root = path, root.resolve()
        self.tools = scanners_key("repository", venv)
        self.keys = {self._name(f): self._key(f) for f in files}
        self.known: dict[str, list[runners.Finding]] = {}
        for name, entry in _read_cache(path, self.tools, "files").items():
            if self.keys.get(name) == entry.get("key"):
                self.known[name] = [runners.Finding(**f) for f in entry["findings"]]
        self.stale = [f for f in files if self._name(f) not in self.known]

    def _name(self, file: Path) -> str:
        return file.resolve().relative_to(self.root).as_posix()

    def _key(self, file: Path) -> str:
        return hashlib.sha256(self._name(file).encode() + b"\0" + file.read_bytes()).hexdigest()

    def store(self, findings: list[runners.Finding]) -> None:
        """Record the findings of a scan of :attr:`stale` (each names its file as its source) and save them.

        A finding that names none of the scanned files cannot be filed under one: then nothing is saved, and the
        next run scans everything again rather than lose it.
        """
        scanned: dict[str, list[runners.Finding]] = {self._name(f): [] for f in self.stale}
        unfiled = [f for f in findings if f.source not in scanned]
        for finding in findings:
            scanned.setdefault(finding.source, []).append(finding)
        self.known.update(scanned)
        self.stale = []
        if unfiled:
            self.path.unlink(missing_ok=True)
            return
        files = {
            name: {"key": key, "findings": [asdict(f) for f in self.known[name]]} for name, key in self.keys.items()
        }
        _write_cache(self.path, {"tools": self.tools, "files": files})

    def findings(self) -> list[runners.Finding]:
        """Every file's findings, in path order."""
        return [finding for name in sorted(self.known) for finding in self.known[name]]


class ExportsCache:
    """The exports' scan findings, export by export, keyed by what the scanners read of each: its translations (their
    names, contents and address-to-URN maps), its IAM policy documents, and the scanners' pins.

    checkov, cfn-lint and parliament judge each translation and policy document on its own, so an export whose
    translations are unchanged keeps its findings and only the others are scanned: a change to one layer rescans
    that layer's exports. Exports are stored by their last two path parts (``dev/network.json``), so a copied build
    directory keeps its findings, each renamed to the export it now comes from; when two exports of one scan share
    that name (``a/dev/network.json``, ``b/dev/network.json``) the cache is not used and every export is scanned.
    Entries of exports this scan did not include (another ``ENVS``) are kept.
    """

    def __init__(self, path: Path, venv: Path, translated: Translated) -> None:
        self.path, self.translated = path, translated
        self.tools = scanners_key("exports", venv)
        sources = [e.source for e in translated.exports]
        names = {source: _export_name(source) for source in sources}
        self.usable = len(set(names.values())) == len(sources)
        self.keys = {source: self._key(source) for source in sources}
        self.stored = _read_cache(path, self.tools, "exports") if self.usable else {}
        self.known: dict[str, tuple[list[runners.Finding], int]] = {}
        for source in sources:
            entry = self.stored.get(names[source], {})
            if entry.get("key") == self.keys[source]:
                found = [runners.Finding(**{**f, "source": source}) for f in entry["findings"]]
                self.known[source] = (found, entry["analysed"])
        self.stale = [source for source in sources if source not in self.known]

    def _key(self, source: str) -> str:
        digest = hashlib.sha256(_export_name(source).encode())
        translations = {**self.translated.plan_maps, **self.translated.cfn_maps}
        for file in sorted((f for f in translations if self.translated.sources[f] == source), key=lambda f: f.name):
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
            digest.update(json.dumps(translations[file], sort_keys=True).encode())
        digest.update(repr(sorted(repr(doc) for doc, s in self.translated.policies if s == source)).encode())
        return digest.hexdigest()

    def stale_inputs(
        self,
    ) -> tuple[dict[Path, dict[str, str]], dict[Path, dict[str, str]], list[tuple[iam.PolicyDocument, str]]]:
        """The plans, templates and policy documents of the stale exports: what must be scanned."""
        stale, t = set(self.stale), self.translated
        plans = {f: m for f, m in t.plan_maps.items() if t.sources[f] in stale}
        templates = {f: m for f, m in t.cfn_maps.items() if t.sources[f] in stale}
        return plans, templates, [(doc, source) for doc, source in t.policies if source in stale]

    def store(self, findings: list[runners.Finding]) -> None:
        """Record the findings of a scan of the stale exports (each names its export as its source) and save them.

        A finding that names none of them cannot be filed under one: then nothing is saved (the next run scans
        everything again rather than lose it).
        """
        by_export: dict[str, list[runners.Finding]] = {source: [] for source in self.stale}
        unfiled = [f for f in findings if f.source not in by_export]
        for finding in findings:
            by_export.setdefault(finding.source, []).append(finding)
        for source, found in by_export.items():
            self.known[source] = (found, sum(1 for _, s in self.translated.policies if s == source))
        self.stale = []
        if unfiled or not self.usable:
            if unfiled:
                self.path.unlink(missing_ok=True)
            return
        exports = dict(self.stored)
        for source, key in self.keys.items():
            found, analysed = self.known[source]
            exports[_export_name(source)] = {"key": key, "analysed": analysed, "findings": [asdict(f) for f in found]}
        _write_cache(self.path, {"tools": self.tools, "exports": exports})

    def findings(self) -> list[runners.Finding]:
        """Every export's findings, in the order the exports were given (then any that named another source)."""
        order = [*self.keys, *(source for source in self.known if source not in self.keys)]
        return [finding for source in order if source in self.known for finding in self.known[source][0]]

    def analysed(self) -> int:
        """How many policy documents parliament has judged, over every export."""
        return sum(count for _, count in self.known.values())


def _export_name(source: str) -> str:
    return "/".join(Path(source).parts[-2:])


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
