"""``make bench``: how fast the offline answer is. Runs the full offline preview and the policy pack N times.

Speed targets are measured here, never in timed tests: a slow machine must not fail the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("network", "data", "compute", "edge")


def timed(command: list[str]) -> float:
    """Seconds one command takes; it must succeed."""
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Print min / median / max wall time of the offline preview and of the policy pack over its exports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target-seconds", type=float, default=30.0, help="the preview must answer within this")
    args = parser.parse_args(argv)
    preview, policies = [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as out:
            print(f"bench: run {run}/{args.runs}", flush=True)
            preview.append(timed([sys.executable, "-m", "tools.offline", "--out", out]))
            exports = [str(p) for p in sorted(Path(out).glob("*/*.json")) if p.stem in LAYERS]
            policies.append(timed([sys.executable, "-m", "tools.policy_analyze", *exports]))
    for name, samples in (("offline preview, 12 runs", preview), ("policy pack, 12 exports", policies)):
        print(
            f"{name:<26} min {min(samples):6.2f}s  median {statistics.median(samples):6.2f}s  max {max(samples):6.2f}s"
        )
    slow = statistics.median(preview) > args.target_seconds
    print(f"target: offline preview under {args.target_seconds:.0f}s median: {'MISSED' if slow else 'met'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
