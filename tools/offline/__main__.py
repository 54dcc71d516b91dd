"""Offline preview of every layer of every environment: ``python -m tools.offline --out build``.

Each environment's layers run in order (network -> data -> compute -> edge); environments run in parallel, each
run in a child forked from one warm process (tools/offline/schedule.py). One line is printed per run; the first
failure of an environment stops that environment's chain and fails the command. Unchanged runs are skipped
(``--no-cache`` runs everything).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from shared.config import environments
from shared.contract import LAYER_ORDER
from tools.offline.runner import STACKS_DIR
from tools.offline.schedule import Outcome, describe, run_all
from tools.progress import Progress

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    """Run the requested layers for the requested environments; exit 1 if any run failed."""
    parser = argparse.ArgumentParser(description="Offline preview of the Student Helper stacks")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--envs", default=" ".join(environments()), help="default: every environment of the matrix")
    parser.add_argument("--layers", default=" ".join(layer.value for layer in LAYER_ORDER))
    parser.add_argument("--preview", action="store_true", help="leave computed values unknown, as a preview does")
    parser.add_argument("--no-cache", action="store_true", help="run every layer even if its inputs are unchanged")
    parser.add_argument("--stacks-dir", type=Path, default=STACKS_DIR, help="where the layer folders are")
    args = parser.parse_args(argv)

    known = [layer.value for layer in LAYER_ORDER]
    layers = args.layers.split()
    unknown = [layer for layer in layers if layer not in known]
    if unknown:
        print(f"unknown layer(s) {', '.join(unknown)}: allowed {', '.join(known)}", file=sys.stderr)
        return 2
    layers.sort(key=known.index)  # upstream layers must run first: their exports answer StackReferences
    envs = args.envs.split()
    out = args.out.resolve()
    progress = Progress()
    progress.line(f"offline preview: {len(layers)} layer(s) x {len(envs)} environment(s) -> {out}")
    started = time.monotonic()

    def report(outcome: Outcome) -> None:
        text, status = describe(outcome)
        progress.line(text, status)

    chains = {env: list(layers) for env in envs}
    outcomes = run_all(
        chains,
        out,
        preview=args.preview,
        stacks_dir=args.stacks_dir.resolve(),
        use_cache=not args.no_cache,
        on_done=report,
    )
    failed = sorted({o.env for o in outcomes if o.error})
    for outcome in outcomes:
        if outcome.error:
            print(f"FAILED {outcome.env}: {outcome.error}", file=sys.stderr)
    progress.line(
        f"offline preview: {len(outcomes)} run(s) in {time.monotonic() - started:.1f}s, "
        f"{sum(o.cached for o in outcomes)} cached, {len(failed)} environment(s) failed"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
