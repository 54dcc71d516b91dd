"""``python -m tools.check``: the main job behind ``make check``.

1. **layers**: every layer of every environment under Pulumi's mocks (tools/offline), environments in parallel,
   each run in a child of one warm process, unchanged runs skipped. checkov starts at the same time, in a worker of
   its own, so its import and the repository scans overlap the layer runs;
2. then side by side: the **policy pack** over every export, the **scans** of the exports (checkov, cfn-lint,
   parliament), the **cost estimate** and the **architecture diagram**;
3. the answer: ``build/<env>/report.md``, ``build/summary.json`` and a short terminal summary.

The layer runs, the policy pack and the scans are the gate. The cost estimate and the diagram are reports: when
one of them cannot be made, the report says so and the check still answers on the gate alone, so a missing price
or drawing tool never blocks a deploy.

Exit status 1 when any environment has a failed layer run, a mandatory violation, an unsuppressed scan finding
or a stale suppression; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shared.config import environments
from shared.contract import LAYER_ORDER
from tools import stack_export
from tools.check import summary
from tools.offline.schedule import Outcome, all_cached, describe, run_all
from tools.progress import Progress

if TYPE_CHECKING:
    from tools.policy_analyze import Violation
    from tools.report.cost import CostEstimate
    from tools.scan.cli import ScanSession

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_CONFIG = REPO_ROOT / "policies" / "config.json"
SUPPRESSIONS = REPO_ROOT / "scan" / "suppressions.yaml"
# The phases whose failure fails the check; the others only report.
GATE_PHASES = ("policies", "scans")
REPORT_PHASES = ("cost", "diagrams")
T = TypeVar("T")


def judge(
    out: Path, envs: Sequence[str], layers: Sequence[str], config: Path | None
) -> tuple[dict[str, list[Violation]], dict[str, str]]:
    """The policy pack over every export: violations per environment, and the level each policy ran at."""
    return judge_exports({env: [out / env / f"{layer}.json" for layer in layers] for env in envs}, config)


def judge_exports(
    exports: Mapping[str, Sequence[Path]], config: Path | None
) -> tuple[dict[str, list[Violation]], dict[str, str]]:
    """The policy pack over each environment's ``exports``: its violations, and the level each policy ran at."""
    from tools.policy_analyze import POLICIES, PolicySettings, analyze, default_level, load_config

    settings = load_config(config)
    levels = {p.name: settings.get(p.name, PolicySettings(default_level(p))).level.value for p in POLICIES}
    found: dict[str, list[Violation]] = {}
    for env, paths in exports.items():
        found[env] = [v for path in paths for v in analyze(stack_export.read(path), settings)]
    return found, levels


def start_scans(
    out: Path, prefetch: bool, *, repo_root: Path | None = REPO_ROOT, scan_dir: Path | None = None
) -> ScanSession:
    """The scan session, started now: checkov imports (and scans ``repo_root``'s files) while the layers run.

    Translations and the findings caches go to ``scan_dir`` (``<out>/scan`` unless given); no repository scan
    without ``repo_root``.
    """
    from tools.scan.cli import ScanSession
    from tools.scan.venv import ensure_scan_venv

    ensure_scan_venv()
    return ScanSession(scan_dir or out / "scan", repo_root, prefetch=prefetch)


def scan(
    session: ScanSession, out: Path, exports: list[Path], suppressions_file: Path, scan_dir: Path | None = None
) -> dict[str, Any]:
    """Every scanner over ``exports`` (under ``out``) and the repository; counts and open findings per environment.

    ``scan_dir`` is the session's directory (``<out>/scan`` unless given).
    """
    from tools.scan.cli import SCANNERS, format_report, translate
    from tools.scan.suppressions import load_suppressions

    scan_dir = scan_dir or out / "scan"
    try:
        suppressions = load_suppressions(suppressions_file)
        translated = translate(exports, scan_dir)
    except BaseException:
        session.close()
        raise
    report = session.finish(translated, suppressions)
    (scan_dir / "report.txt").write_text(format_report(report, check_stale=True) + "\n")
    suppressed = {id(f) for f, _ in report.suppressed}
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for export in report.exports:  # a scanner with nothing to say still gets its row of zeros
        for scanner in SCANNERS:
            counts[Path(export.source).parent.name][scanner].update({})
    open_findings: dict[str, list[dict[str, str]]] = defaultdict(list)
    for finding in report.findings:
        source = Path(finding.source)
        where = source.parent.name if source.resolve().is_relative_to(out.resolve()) else summary.REPOSITORY
        state = "passed" if finding.passed else ("suppressed" if id(finding) in suppressed else "failed")
        counts[where][finding.scanner][state] += 1
        if state == "failed":
            fields = ("scanner", "check_id", "title", "urn", "resource", "source", "detail")
            open_findings[where].append({k: str(getattr(finding, k)) for k in fields})
    as_dicts = {
        where: {scanner: {s: c[s] for s in summary.SCAN_STATES} for scanner, c in sorted(by.items())}
        for where, by in counts.items()
    }
    return {"counts": as_dicts, "open": dict(open_findings), "stale": list(report.stale)}


@dataclass(frozen=True)
class NotMade:
    """A report (cost, drawing) one environment could not have; the other environments still get theirs."""

    detail: str


def each_environment(make: Callable[[str, Any], Any], documents: Mapping[str, Any]) -> dict[str, Any]:
    """``make(env, exports)`` per environment; whatever stops one environment's report is its :class:`NotMade`.

    Reports never block the gate, so any error counts: it is shown as a warning naming the environment.
    """
    found: dict[str, Any] = {}
    for env, exports in documents.items():
        try:
            found[env] = make(env, exports)
        except Exception as err:  # a report's failure is a warning, whatever raised it
            found[env] = NotMade(f"{type(err).__module__}.{type(err).__name__}: {err}")
    return found


def estimate(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The monthly cost of each environment from its exports (a :class:`NotMade` where it could not be made)."""
    return {env: got if isinstance(got, NotMade) else got.to_dict() for env, got in estimates(documents).items()}


def estimates(
    documents: Mapping[str, Mapping[str, Any]], classes: Mapping[str, str] | None = None
) -> dict[str, CostEstimate | NotMade]:
    """Each environment's cost estimate from its exports (``{env: {layer: export}}``), as the estimator returns it,
    or why it could not be made. ``classes`` names each environment's class (default: this checkout's matrix)."""
    from tools.report import cost

    prices = cost.load_prices()
    known = classes or {}
    return each_environment(
        lambda env, exports: cost.estimate(exports, prices, env, environment_class=known.get(env)), documents
    )


def draw(out: Path, documents: dict[str, dict[str, Any]], use_cache: bool = True) -> dict[str, Any]:
    """``build/<env>/architecture.svg`` for each environment; with ``use_cache``, an unchanged one is kept."""
    from tools.report.diagram import render
    from tools.report.graph import architecture_graph

    cache = out / ".cache"  # where the renderer keeps its compiled code between runs

    def drawn(env: str, exports: Any) -> str:
        return str(
            render(architecture_graph(exports), out / env / "architecture.svg", cache=cache, reuse=use_cache).svg
        )

    return each_environment(drawn, documents)


@dataclass
class Phases:
    """What every phase produced, or why it could not: the input of :func:`assemble`."""

    envs: list[str]
    """The environments checked, in order."""
    runs: dict[str, dict[str, dict[str, Any]]]
    """Per environment, per layer: resources, seconds, cached and any error (make check's layer lines)."""
    errors: dict[str, list[str]]
    """Per environment: why its gate failed outside the policies and scans (a layer run, a crashed phase)."""
    results: dict[str, Any] = field(default_factory=dict)
    """Each phase's result by name (policies, scans, cost, diagrams); a phase that failed is absent."""
    failed: dict[str, str] = field(default_factory=dict)
    """Each phase that crashed, and how."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds per phase, and in total."""
    every_environment: bool = True
    """All of the matrix's environments were checked: only then can a suppression be called stale (one that
    matches nothing in dev may match in prod)."""


def assemble(phases: Phases, out: Path) -> dict[str, Any]:
    """summary.json's document from the phases' results: a failed gate phase fails every environment it would
    have judged; a failed report phase (cost, diagrams) is a warning."""
    violations, levels = phases.results.get("policies", ({}, {}))
    scans = phases.results.get("scans", {"counts": {}, "open": {}, "stale": []})
    document: dict[str, Any] = {"environments": {}, "timings": {k: round(v, 3) for k, v in phases.timings.items()}}
    for env in phases.envs:
        errors = list(phases.errors[env])
        errors += [f"{name} failed: {detail}" for name, detail in phases.failed.items() if name in GATE_PHASES]
        warnings = [f"{name} not made: {detail}" for name, detail in phases.failed.items() if name in REPORT_PHASES]
        reports = {name: phases.results.get(name, {}).get(env) for name in REPORT_PHASES}
        warnings += [f"{name} not made: {got.detail}" for name, got in reports.items() if isinstance(got, NotMade)]
        reports = {name: None if isinstance(got, NotMade) else got for name, got in reports.items()}
        if "scans" in phases.results and not phases.errors[env]:
            checked = sum(scans["counts"].get(env, {}).get("checkov", {}).values())
            if checked == 0:  # a scanner that silently skipped every file must not read as a clean result
                errors.append(f"checkov checked nothing in {env}'s exports")
        diagram = reports["diagrams"]
        document["environments"][env] = summary.environment_entry(
            env,
            phases.runs[env],
            violations.get(env, []),
            levels,
            scans["counts"].get(env, {}),
            scans["open"].get(env, []),
            reports["cost"],
            str(Path(diagram).relative_to(out)) if diagram else None,
            errors,
            warnings,
        )
    document[summary.REPOSITORY] = {
        "scans": scans["counts"].get(summary.REPOSITORY, {}),
        "open_findings": scans["open"].get(summary.REPOSITORY, []),
        "stale_suppressions": scans["stale"] if phases.every_environment else [],
    }
    failed_envs = [env for env, entry in document["environments"].items() if not entry["ok"]]
    repository = document[summary.REPOSITORY]
    document["ok"] = not failed_envs and not repository["stale_suppressions"] and not repository["open_findings"]
    return document


def verdict(document: Mapping[str, Any]) -> str:
    """The last line: passed, or which environments failed."""
    if document["ok"]:
        return "passed"
    failed = [env for env, entry in document["environments"].items() if not entry["ok"]]
    return f"FAILED ({', '.join(failed) or 'repository'})"


def main(argv: list[str] | None = None) -> int:
    """Run every phase, write the reports, print the summary; see the module docstring for the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--envs", default=" ".join(environments()), help="default: every environment of the matrix")
    parser.add_argument("--no-cache", action="store_true", help="run every layer and scanner afresh")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS, help="the scans' accepted findings")
    parser.add_argument(
        "--policy-config", default=str(POLICY_CONFIG), help="the pack config (exemptions); empty for none"
    )
    args = parser.parse_args(argv)
    out, envs = args.out.resolve(), args.envs.split()
    layers = [layer.value for layer in LAYER_ORDER]
    progress = Progress()
    started = time.monotonic()
    progress.line(f"check: {len(layers)} layers x {len(envs)} environments -> {out}")
    if args.no_cache:
        os.environ["SCAN_CACHE"] = "0"
    chains = {env: list(layers) for env in envs}
    phases = Phases(envs, {env: {} for env in envs}, {env: [] for env in envs})
    phases.every_environment = set(envs) >= set(environments())

    # Before any fork: the layer runs are forked from this process, which must not hold threads yet.
    session = start_scans(out, prefetch=args.no_cache or not all_cached(chains, out))
    try:
        ready = run_layers(phases, out, layers, progress, use_cache=not args.no_cache)
    except BaseException:
        session.close()
        raise

    policy_config = Path(args.policy_config) if args.policy_config else None
    # Only this run's exports of environments whose every layer ran: never a leftover of an earlier run.
    judged = [out / env / f"{layer}.json" for env in ready for layer in layers]
    documents = {env: stack_export.load_layers(out, env) for env in ready}  # read once, for the cost and the diagram
    work: dict[str, Callable[[], Any]] = {
        "policies": lambda: judge(out, ready, layers, policy_config),
        "scans": lambda: scan(session, out, judged, args.suppressions),
        "cost": lambda: estimate(documents),
        "diagrams": lambda: draw(out, documents, use_cache=not args.no_cache),
    }
    run_side_by_side(work, phases, progress)
    phases.timings["total"] = time.monotonic() - started

    document = assemble(phases, out)
    for env, entry in document["environments"].items():
        (out / env).mkdir(parents=True, exist_ok=True)
        (out / env / "report.md").write_text(summary.render_markdown(entry))
    (out / "summary.json").write_text(json.dumps(document, indent=2) + "\n")

    for line in summary.render_terminal(document):
        progress.line(line)
    for line in warnings(document):
        progress.line(line, "warn")
    for line in failures(document):
        progress.line(line, "FAIL")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in phases.timings.items() if k != "total")
    progress.line(f"check: reports in {out}/<env>/report.md and {out}/summary.json ({timings})")
    progress.line(f"check {verdict(document)} in {phases.timings['total']:.1f}s", "ok" if document["ok"] else "FAIL")
    return 0 if document["ok"] else 1


def run_layers(
    phases: Phases,
    out: Path,
    layers: Sequence[str],
    progress: Progress,
    *,
    use_cache: bool = True,
    source_root: Path = REPO_ROOT,
    reuse: Sequence[Path] = (),
    label: str = "",
) -> list[str]:
    """The layer phase: every layer of ``phases.envs`` into ``out`` (the programs of the checkout at ``source_root``,
    runs found in ``reuse`` copied), one progress line each (``label`` before it); the runs and failures are
    recorded in ``phases``. Returns the environments whose every layer ran."""
    from tools.offline.runner import STACKS_DIR

    def layer_done(outcome: Outcome) -> None:
        text, status = describe(outcome)
        done = sum(len(r) for r in phases.runs.values()) + 1
        progress.line(f"{label}{text}  [{done}/{len(phases.envs) * len(layers)}]", status)
        phases.runs[outcome.env][outcome.layer] = {
            "resources": outcome.resources,
            "seconds": round(outcome.seconds, 3),
            "cached": outcome.cached,
            **({"error": outcome.error} if outcome.error else {}),
        }
        if outcome.error:
            phases.errors[outcome.env].append(outcome.error)

    started = time.monotonic()
    stacks_dir = STACKS_DIR if source_root == REPO_ROOT else source_root / "stacks"
    chains = {env: list(layers) for env in phases.envs}
    run_all(
        chains,
        out,
        stacks_dir=stacks_dir,
        source_root=source_root,
        reuse=reuse,
        use_cache=use_cache,
        on_done=layer_done,
    )
    phases.timings["layers"] = phases.timings.get("layers", 0.0) + time.monotonic() - started
    ready = [env for env in phases.envs if not phases.errors[env] and len(phases.runs[env]) == len(layers)]
    for env in phases.envs:
        if env not in ready and not phases.errors[env]:
            phases.errors[env].append("not every layer ran")
    return ready


def run_side_by_side(work: Mapping[str, Callable[[], Any]], phases: Phases, progress: Progress) -> None:
    """Run the phases in threads (each mostly waits on subprocesses or C code); record results and crashes."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        futures: dict[str, Future[Any]] = {
            name: pool.submit(_timed, phases.timings, name, job) for name, job in work.items()
        }
        pending = set(futures.values())
        while pending:  # on a terminal, one updating line says what is still running
            _, pending = wait(pending, timeout=0.25)
            running = [name for name, future in futures.items() if future in pending]
            if running:
                progress.status(f"check: running {', '.join(running)}  {time.monotonic() - started:.0f}s")
        for name, future in futures.items():
            try:
                phases.results[name] = future.result()
                progress.line(f"ok {name} ({phases.timings[name]:.1f}s)", "ok")
            except Exception as error:
                detail = "".join(traceback.format_exception_only(error)).strip()
                phases.failed[name] = detail
                status = "FAIL" if name in GATE_PHASES else "warn"
                progress.line(f"{status} {name}: {detail}", status)


def warnings(document: Mapping[str, Any]) -> list[str]:
    """One line per report that could not be made (they never fail the check)."""
    seen: dict[str, list[str]] = defaultdict(list)
    for env, entry in document["environments"].items():
        for warning in entry["warnings"]:
            seen[warning].append(env)
    return [f"warn ({', '.join(envs)}): {warning}" for warning, envs in seen.items()]


def failures(document: Mapping[str, Any]) -> list[str]:
    """One line per reason the check fails: mandatory violations, open findings, errors, stale suppressions."""
    lines = []
    for env, entry in document["environments"].items():
        lines += [
            f"FAIL {env}: {v['policy']} {v['urn']}: {v['message']}"
            for v in entry["policies"]["violations"]
            if v["level"] == "mandatory"
        ]
        lines += [f"FAIL {env}: {f['scanner']} {f['check_id']} {f['urn']} {f['title']}" for f in entry["open_findings"]]
        lines += [f"FAIL {env}: {problem}" for problem in entry["errors"]]
    repository = document[summary.REPOSITORY]
    lines += [
        f"FAIL repository: {f['scanner']} {f['check_id']} {f['urn']} {f['title']}" for f in repository["open_findings"]
    ]
    lines += [f"FAIL stale suppression: {stale}" for stale in repository["stale_suppressions"]]
    return lines


def _timed(timings: dict[str, float], name: str, work: Callable[[], T]) -> T:
    started = time.monotonic()
    try:
        return work()
    finally:
        timings[name] = time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
