"""Offline preview of every layer of every environment: ``python -m tools.offline --out build``.

Each environment's layers run in order (network -> data -> compute -> edge), each in its own process because
the Pulumi runtime is process-global; environments are independent and run in parallel. One summary line is
printed per run; the first failure of an environment stops that environment's chain and fails the command.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.contract import LAYER_ORDER

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_chain(env: str, layers: list[str], out: Path, preview: bool) -> tuple[list[str], str | None]:
    """Run ``layers`` for ``env`` in order; return summary lines and the first error, if any."""
    lines: list[str] = []
    for layer in layers:
        command = [sys.executable, "-m", "tools.offline.runner", "--layer", layer, "--env", env, "--out", str(out)]
        if preview:
            command.append("--preview")
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            message = done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}"
            return lines, message
        result = json.loads(done.stdout.strip().splitlines()[-1])
        export = (
            Path(result["export"]).relative_to(REPO_ROOT)
            if Path(result["export"]).is_relative_to(REPO_ROOT)
            else result["export"]
        )
        line = f"{layer:<8} {env:<8} {result['resources']:>4} resources  {time.monotonic() - started:5.1f}s  {export}"
        print(line, flush=True)
        lines.append(line)
    return lines, None


def main(argv: list[str] | None = None) -> int:
    """Run the requested layers for the requested environments; exit 1 if any run failed."""
    parser = argparse.ArgumentParser(description="Offline preview of the Student Helper stacks")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--envs", default="dev staging prod", help="space-separated stack names")
    parser.add_argument("--layers", default=" ".join(layer.value for layer in LAYER_ORDER))
    parser.add_argument("--preview", action="store_true", help="leave computed values unknown, as a preview does")
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
    print(f"offline preview: {len(layers)} layer(s) x {len(envs)} environment(s) -> {out}", flush=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(envs) or 1) as pool:
        results = dict(zip(envs, pool.map(lambda env: run_chain(env, layers, out, args.preview), envs), strict=True))
    failures = {env: error for env, (_, error) in results.items() if error}
    for env, error in failures.items():
        print(f"FAILED {env}: {error}", file=sys.stderr)
    runs = sum(len(lines) for lines, _ in results.values())
    print(f"offline preview: {runs} run(s) in {time.monotonic() - started:.1f}s, {len(failures)} environment(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
