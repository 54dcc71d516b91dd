"""``python -m tools.diff --base <ref>``: what this tree changes against another commit, before review.

``make diff BASE=<ref>`` (``make cost-diff BASE=<ref>``: the cost part alone). For each environment: the monthly
cost change, the resources each layer adds, removes, replaces or updates (a replacement of a resource that holds
data stands out), and the policy violations and scan findings that are new or resolved. Writes ``<out>/diff.md``
and ``<out>/diff.json`` (``cost-diff.md``/``.json`` for the cost part alone) and prints a summary.

The base is a clean, detached git worktree of ``<ref>`` under ``<out>/diff/``, removed afterwards. Its layer programs
run with its own ``stacks/`` and ``shared/``, under this tree's offline runner, SDKs and cache: a base layer whose
inputs equal one this tree already ran (in ``<out>``, from make check) is copied, not run. An environment this tree's
runner cannot run (a branch behind the base, whose programs need a newer mock) is run by the base's own runner.

This tree's policy pack, scanners, suppressions and price file judge both sides, so the diff shows what the
infrastructure change does; a change to those is named in the report, not diffed (docs/diff.md). Only the exports
that differ between the sides are judged and scanned: an identical export has identical findings.

Exit status: 0 when nothing new fails (no new mandatory violation, no new open scan finding); 1 when something does,
or when an environment could not be compared (a layer run failed on either side); 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shared import yamlio
from shared.config import environments
from shared.constants import PROJECT
from shared.contract import LAYER_ORDER
from tools import stack_export
from tools.check import __main__ as check
from tools.check.__main__ import NotMade
from tools.check.summary import PREVIEW_NOTE, REPOSITORY
from tools.diff import compare, render
from tools.diff.replacements import describe_source
from tools.offline.schedule import canonical_export
from tools.progress import Progress
from tools.stack_export import load_layers

if TYPE_CHECKING:
    from tools.scan.cli import ScanSession

REPO_ROOT = check.REPO_ROOT
MATRIX = Path("shared") / "environment_matrix.yaml"
# What judges both sides (this tree's copy): a change here is reported, not diffed.
TOOLING = (
    "policies/",
    "scan/suppressions.yaml",
    "tools/policy_analyze.py",
    "tools/scan/",
    "tools/report/cost.py",
    "tools/report/cost_formulas.py",
    "tools/report/rules.yaml",
    "tools/report/prices.yaml",
    "tools/offline/",
    "tools/stack_export.py",
    "tools/check/",
)
# Queues are not in the pack's list (it is about deletion protection, which a queue does not have), but replacing
# one drops the messages in flight.
QUEUE_TYPES = frozenset({"aws:sqs/queue:Queue", "aws-native:sqs:Queue"})


class DiffError(Exception):
    """A usage error (a ref that is not a commit, git missing): one line on stderr, exit 2."""


@dataclass
class Side:
    """One side of the diff: where its programs come from, where its exports go, and what its phases produced."""

    name: str
    """``base`` or ``head``."""
    label: str
    """How the report names it: the ref and its commit."""
    root: Path
    """The checkout whose stacks/ and shared/ its programs are."""
    out: Path
    """Its build directory (``<env>/<layer>.json``)."""
    phases: check.Phases
    """Its layer runs (the ``runs`` and ``errors`` of make check's phases)."""
    envs: list[str] = field(default_factory=list)
    """The environments this side's matrix has (an environment the change adds or removes is on one side only)."""
    ready: list[str] = field(default_factory=list)
    """The environments whose every layer ran."""
    own_runner: dict[str, str] = field(default_factory=dict)
    """The environments the base's own runner ran, each with why this tree's could not."""


def stateful_types() -> frozenset[str]:
    """Resource types whose replacement loses data: the pack's list of stateful types, and queues."""
    from policies.protection import STATEFUL_TYPES

    return STATEFUL_TYPES | QUEUE_TYPES


# --- git -----------------------------------------------------------------------------------------------------------


def git(*args: str, cwd: Path = REPO_ROOT) -> str:
    """git's stdout; a failure raises :class:`DiffError` with git's own message."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed: make diff needs it to check out the base") from None
    if done.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout.strip()


def resolve(ref: str) -> str:
    """The commit ``ref`` names, or a :class:`DiffError` saying how to get it."""
    if not ref.strip():
        raise DiffError("BASE is required: make diff BASE=<git ref>, for example BASE=origin/main")
    try:
        return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except DiffError:
        raise DiffError(
            f"BASE={ref!r} is not a commit in this repository; fetch it first (git fetch origin main) "
            "or name a branch, tag or commit"
        ) from None


def add_worktree(commit: str, path: Path) -> None:
    """A clean, detached checkout of ``commit`` at ``path`` (a leftover of an interrupted run is replaced)."""
    remove_worktree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git("worktree", "add", "--detach", "--force", "--quiet", str(path), commit)


def remove_worktree(path: Path) -> None:
    """Remove the checkout at ``path`` and git's record of it; nothing happens when there is none."""
    if path.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO_ROOT, capture_output=True)
        shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=REPO_ROOT, capture_output=True)


def head_label() -> str:
    """The working tree, by its commit, and whether it holds uncommitted changes."""
    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return f"working tree ({commit}{', with uncommitted changes' if dirty else ''})"


def tooling_changes(commit: str) -> list[str]:
    """The files that judge both sides and differ between ``commit`` and the working tree."""
    listed = git("diff", "--name-only", commit, "--", *TOOLING)
    return [line for line in listed.splitlines() if line]


# --- settings ------------------------------------------------------------------------------------------------------


def stack_settings(root: Path, env: str, layers: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each layer's settings in ``env`` as its program reads them: the matrix's defaults for the environment, then
    the layer's stack file (``<namespace>:<key>``, namespace dropped; provider keys such as ``aws:region`` kept)."""
    defaults: dict[str, Any] = {}
    try:
        matrix = yamlio.load((root / MATRIX).read_text()) or {}
        defaults = dict(matrix["environments"][env].get("settings") or {})
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        pass  # an older layout of the matrix: the stack files alone still show what changed
    found: dict[str, dict[str, Any]] = {}
    for layer in layers:
        values = dict(defaults)
        try:
            document = yamlio.load((root / "stacks" / layer / f"Pulumi.{env}.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError):
            document = {}
        namespace = f"{PROJECT}-{layer}:"
        for key, value in (document.get("config") or {}).items():
            values[key.removeprefix(namespace)] = value
        found[layer] = values
    return found


# --- the phases, per side ------------------------------------------------------------------------------------------


def comparable_on(env: str, base: Side, head: Side) -> bool:
    """Whether every side that has ``env`` ran all of it (a side without it contributes nothing)."""
    return all(env in side.ready for side in (base, head) if env in side.envs)


def export_of(side: Side, env: str, layer: str) -> Path | None:
    """A side's export of one layer, or None when the side has no such environment (never a leftover file)."""
    return side.out / env / f"{layer}.json" if env in side.envs else None


def changed_exports(base: Side, head: Side, envs: Sequence[str], layers: Sequence[str]) -> dict[str, list[str]]:
    """Per environment, the layers whose exports differ (ignoring what changes on every run)."""

    def canonical(side: Side, env: str, layer: str) -> bytes:
        path = export_of(side, env, layer)
        return canonical_export(path) if path else b"<no such environment>"

    return {
        env: [layer for layer in layers if canonical(base, env, layer) != canonical(head, env, layer)] for env in envs
    }


def matrix_classes(root: Path) -> dict[str, str]:
    """Each environment's class in a checkout's matrix: the usage its cost is estimated with on that side."""
    matrix = yamlio.load((root / MATRIX).read_text()) or {}
    return {str(env): str((entry or {}).get("class", "")) for env, entry in matrix.get("environments", {}).items()}


def seed_scan_cache(source: Path, target: Path) -> None:
    """Start a side's diff scans from make check's findings caches when they are newer than the side's own.

    Both caches keep their findings per repository file and per export, keyed by exactly what was scanned, so a side
    reuses whatever it shares with this tree (the base: every file and layer the change left alone) and scans the
    rest."""
    from tools.scan.cli import EXPORTS_CACHE, REPO_CACHE

    for name in (REPO_CACHE, EXPORTS_CACHE):
        found, wanted = source / name, target / name
        if found.exists() and (not wanted.exists() or found.stat().st_mtime > wanted.stat().st_mtime):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, wanted)


def _violations(found: Any) -> dict[str, list[dict[str, str]]]:
    violations, _ = found
    return {
        env: [
            {"policy": v.policy, "level": v.enforcement_level, "urn": v.urn, "message": v.message}
            for v in listed
            if not v.message.startswith(PREVIEW_NOTE)
        ]
        for env, listed in violations.items()
    }


# --- the document --------------------------------------------------------------------------------------------------


def build_document(
    base: Side,
    head: Side,
    envs: Sequence[str],
    layers: Sequence[str],
    results: Mapping[str, Any],
    failed: Mapping[str, str],
    parts: Sequence[str],
    tooling: Sequence[str],
) -> dict[str, Any]:
    """diff.json: per environment the cost, resource and finding changes, plus what judged them and the verdict."""
    stateful = stateful_types()
    document: dict[str, Any] = {
        "base": base.label,
        "head": head.label,
        "parts": list(parts),
        "tooling_changed": list(tooling),
        "base_own_runner": dict(base.own_runner),
        "environments": {},
        "failed_phases": dict(failed),
    }
    used_sources: set[str] = set()
    for env in envs:
        errors = [f"{side.name}: {e}" for side in (base, head) for e in side.phases.errors.get(env, [])]
        entry: dict[str, Any] = {"errors": errors}
        only = [side.name for side in (base, head) if env in side.envs]
        if len(only) == 1:
            entry["only_in"] = only[0]
        document["environments"][env] = entry
        if errors:
            continue
        settings = compare.settings_changes(
            stack_settings(base.root, env, layers), stack_settings(head.root, env, layers)
        )
        entry["settings"] = [
            {"key": s.key, "layers": list(s.layers), "base": compare.show(s.base), "head": compare.show(s.head)}
            for s in settings
        ]
        by_layer = {
            layer: compare.resource_changes(
                _load(export_of(base, env, layer)), _load(export_of(head, env, layer)), stateful
            )
            for layer in layers
        }
        by_urn = {change["urn"]: change for changes in by_layer.values() for change in changes}
        for change in by_urn.values():
            used_sources.update(p["source"] for p in change["properties"])
        if "cost" in results:
            sides = [results["cost"][name].get(env) for name in ("base", "head")]
            not_made = [
                f"{name}: {got.detail}"
                for name, got in zip(("base", "head"), sides, strict=True)
                if isinstance(got, NotMade)
            ]
            if not_made:
                entry["cost_not_made"] = not_made
            else:
                entry["cost"] = compare.cost_changes(sides[0], sides[1], by_urn, settings)
        if "resources" in parts:
            entry["resources"] = {layer: changes for layer, changes in by_layer.items() if changes}
            entry["counts"] = compare.count_actions(by_urn.values())
            entry["stateful_changes"] = [
                c for c in by_urn.values() if c["stateful"] and c["action"] in (compare.REPLACE, compare.REMOVE)
            ]
        if "findings" in parts:
            entry["findings"] = _finding_changes(env, results)
    if "findings" in parts:
        document[REPOSITORY] = {"findings": _finding_changes(REPOSITORY, results)}
    extra = {compare.URN_SOURCE: compare.URN_FACT, compare.OPTIONS_SOURCE: compare.OPTIONS_FACT}
    document["sources"] = {key: extra.get(key) or describe_source(key) for key in sorted(used_sources)}
    document["summary"] = render.totals(document)
    document["ok"] = render.passes(document)
    return document


def _finding_changes(where: str, results: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "policies:base" in results and "policies:head" in results and where != REPOSITORY:
        new, resolved = compare.violation_changes(
            results["policies:base"].get(where, []), results["policies:head"].get(where, [])
        )
        found["violations"] = {"new": new, "resolved": resolved}
    if "scans:base" in results and "scans:head" in results:
        new, resolved = compare.finding_changes(
            results["scans:base"]["open"].get(where, []), results["scans:head"]["open"].get(where, [])
        )
        found["scans"] = {"new": new, "resolved": resolved}
    return found


def _load(path: Path | None) -> dict[str, Any] | None:
    return stack_export.read(path) if path is not None and path.exists() else None


# --- main ----------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate both sides, compare, write the reports, print the summary; see the module docstring for the status."""
    parser = argparse.ArgumentParser(prog="python -m tools.diff", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", required=True, help="the git ref to compare with, e.g. origin/main")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--envs", default=" ".join(environments()), help="default: every environment of the matrix")
    parser.add_argument("--cost-only", action="store_true", help="the cost part alone (make cost-diff)")
    parser.add_argument("--no-scans", action="store_true", help="judge findings with the policy pack only")
    parser.add_argument("--no-cache", action="store_true", help="run every layer and scanner afresh")
    parser.add_argument("--suppressions", type=Path, default=check.SUPPRESSIONS)
    parser.add_argument("--policy-config", default=str(check.POLICY_CONFIG), help="the pack config; empty for none")
    args = parser.parse_args(argv)
    progress = Progress()
    started = time.monotonic()
    try:
        commit = resolve(args.base)
        document = run(args, commit, progress)
    except DiffError as error:
        print(f"diff: {error}", file=sys.stderr)
        return 2
    name = "cost-diff" if args.cost_only else "diff"
    out = args.out.resolve()
    (out / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / f"{name}.md").write_text(render.markdown(document))
    for line in render.terminal(document):
        progress.line(line)
    for line, status in render.verdict_lines(document):
        progress.line(line, status)
    progress.line(f"diff: reports in {out}/{name}.md and {out}/{name}.json ({time.monotonic() - started:.1f}s)")
    return 0 if document["ok"] else 1


def matrix_environments(root: Path) -> list[str]:
    """The environments a checkout's matrix names, in its order: what its side of the diff has."""
    try:
        matrix = yamlio.load((root / MATRIX).read_text()) or {}
        return [str(env) for env in matrix["environments"]]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        raise DiffError(f"{root / MATRIX}: cannot read its environments ({error})") from None


def run(args: argparse.Namespace, commit: str, progress: Progress) -> dict[str, Any]:
    """Both sides' layers, then their phases side by side, then the comparison."""
    out = args.out.resolve()
    layers = [layer.value for layer in LAYER_ORDER]
    parts = ["cost"] if args.cost_only else ["cost", "resources", "findings"]
    scans = not args.cost_only and not args.no_scans
    base_out, checkout = out / "diff" / "base", out / "diff" / "checkout"
    tooling = tooling_changes(commit)
    add_worktree(commit, checkout)
    try:
        # Every environment of either side (this tree's order, then those the change removes), or those asked for.
        base_envs, head_envs = matrix_environments(checkout), list(environments())
        envs = list(dict.fromkeys([*head_envs, *base_envs]))
        if args.envs:
            envs = [env for env in envs if env in args.envs.split()]
        base_envs, head_envs = [e for e in envs if e in base_envs], [e for e in envs if e in head_envs]
        base = Side("base", f"{args.base} ({commit[:7]})", checkout, base_out, _phases(base_envs), base_envs)
        head = Side("head", head_label(), REPO_ROOT, out, _phases(head_envs), head_envs)
        progress.line(f"diff: {base.label} -> {head.label}, {len(envs)} environment(s)")
        sessions: dict[str, ScanSession] = {}
        if scans:  # before any fork: checkov starts importing (and scans each checkout) while the layers run
            seed_scan_cache(out / "scan", out / "diff" / "head-scan")
            seed_scan_cache(out / "scan", base_out / "scan")
            sessions["base"] = check.start_scans(base_out, False, repo_root=checkout, scan_dir=base_out / "scan")
            sessions["head"] = check.start_scans(out, False, repo_root=REPO_ROOT, scan_dir=out / "diff" / "head-scan")
        try:
            # The base first: after make check, its unchanged layers are copies of this tree's runs.
            base.ready = check.run_layers(
                base.phases,
                base_out,
                layers,
                progress,
                use_cache=not args.no_cache,
                source_root=checkout,
                reuse=[out],
                label="base ",
            )
            stalled = [env for env in base.envs if env not in base.ready]
            if stalled:
                run_with_own_runner(base, stalled, layers, progress)
            head.ready = check.run_layers(
                head.phases,
                out,
                layers,
                progress,
                use_cache=not args.no_cache,
                reuse=[base_out],
                label="head ",
            )
            results, failed = evaluate(args, base, head, envs, layers, sessions, progress)
        finally:
            for session in sessions.values():  # a session the scans finished is already closed
                session.close()
        return build_document(base, head, envs, layers, results, failed, parts, tooling)
    finally:
        remove_worktree(checkout)


def run_with_own_runner(base: Side, envs: Sequence[str], layers: Sequence[str], progress: Progress) -> None:
    """Run ``envs`` of the base again with the base's own offline runner (``python -m tools.offline`` in its
    checkout), for a base whose programs need what only its runner has (a newer mock, when this branch is behind
    the base). An environment it runs is compared as usual, with a note; one it cannot run keeps both errors."""
    progress.line(f"base: this tree's runner could not run {', '.join(envs)}; trying the base's own runner")
    command = [sys.executable, "-m", "tools.offline", "--out", str(base.out), "--envs", " ".join(envs)]
    done = subprocess.run(
        [*command, "--layers", " ".join(layers)], cwd=base.root, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        progress.line(f"base (own runner) {line}")
    failed = {line.split()[1].rstrip(":") for line in done.stderr.splitlines() if line.startswith("FAILED ")}
    for env in envs:
        written = all((base.out / env / f"{layer}.json").exists() for layer in layers)
        if env in failed or done.returncode not in (0, 1) or not written:
            detail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            base.phases.errors[env].append(f"the base's own runner failed too: {detail[0]}")
            continue
        base.own_runner[env] = "; ".join(base.phases.errors[env])
        base.phases.errors[env] = []
        base.ready.append(env)


def _phases(envs: Sequence[str]) -> check.Phases:
    return check.Phases(list(envs), {env: {} for env in envs}, {env: [] for env in envs})


def evaluate(
    args: argparse.Namespace,
    base: Side,
    head: Side,
    envs: Sequence[str],
    layers: Sequence[str],
    sessions: Mapping[str, ScanSession],
    progress: Progress,
) -> tuple[dict[str, Any], dict[str, str]]:
    """make check's phases on both sides, side by side: the cost of every environment both sides could run, and the
    policy pack and scans of the exports that differ."""
    # An environment on one side only is compared with nothing: every resource of it is added (or removed).
    comparable = [env for env in envs if comparable_on(env, base, head)]
    changed = changed_exports(base, head, comparable, layers)
    policy_config = Path(args.policy_config) if args.policy_config else None
    work: dict[str, Callable[[], Any]] = {}
    documents = {
        side.name: {env: load_layers(side.out, env) for env in comparable if env in side.envs} for side in (base, head)
    }
    classes = {"base": matrix_classes(base.root), "head": matrix_classes(head.root)}
    work["cost"] = lambda: {name: check.estimates(docs, classes[name]) for name, docs in documents.items()}
    for side in (base, head) if not args.cost_only else ():
        exports = {
            env: [side.out / env / f"{layer}.json" for layer in changed[env]] for env in comparable if env in side.envs
        }
        work[f"policies:{side.name}"] = _bind(lambda e: _violations(check.judge_exports(e, policy_config)), exports)
        if side.name in sessions:
            session, listed = sessions[side.name], [p for paths in exports.values() for p in paths]
            scan_dir = session.out_dir
            work[f"scans:{side.name}"] = _bind(
                lambda s, o, paths, d: check.scan(s, o, paths, args.suppressions, scan_dir=d),
                session,
                side.out,
                listed,
                scan_dir,
            )
    phases = check.Phases(list(envs), {}, {})
    check.run_side_by_side(work, phases, progress)
    return phases.results, phases.failed


def _bind(function: Callable[..., Any], *bound: Any) -> Callable[[], Any]:
    """``function`` with its arguments fixed now (a lambda in a loop would see the loop's last values)."""
    return lambda: function(*bound)


if __name__ == "__main__":
    sys.exit(main())
