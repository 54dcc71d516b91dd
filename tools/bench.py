"""``make bench``: what a first run costs and how fast the main job and the suite answer, against their targets.

Measures, on this machine:

- **a first run**: in a scratch copy of the working tree, ``make setup scan-setup`` with empty package caches
  (downloads included, bytecode compiled), the disk the venvs take, then the first ``make check``;
- **the floor**: a process that imports pulumi and both providers and runs an empty program under mocks, and the
  same program forked from a warm parent, as ``make check`` forks its layer runs;
- **make check** N times cold (``NO_CACHE=1``: every layer, scanner and drawing afresh) and N times warm (inputs
  unchanged), with each run's phase timings from its ``summary.json``;
- **the policy pack**: launched as the Pulumi CLI launches it, the time to its port and of its first Analyze;
- **make test**, once, after the texts below have been rendered from the other figures (the suite checks them).

Every figure is a median. The results go to ``docs/benchmarks.json``; ``docs/benchmarks.md`` and the first-run
paragraph of the README are rendered from it (``tools.bench render``), so nothing quotes a figure by hand, and a test
fails when either text no longer matches the JSON. Speed targets live here, never in timed tests: a slow machine
must not fail the suite. On a machine with more than two CPUs the bench pins itself to two.

    python -m tools.bench [--runs 3] [--skip setup,test]     measure, write the JSON, render the texts
    python -m tools.bench render                              render the texts from the JSON only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.checkout import copy_checkout
from tools.generated import begin_marker, end_marker, replace_section

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "docs" / "benchmarks.json"
REPORT = REPO_ROOT / "docs" / "benchmarks.md"
README = REPO_ROOT / "README.md"
FIRST_RUN_BEGIN = begin_marker("first run", "make bench", "docs/benchmarks.json")
FIRST_RUN_END = end_marker("first run")
FIGURES_BEGIN = begin_marker("figures", "make bench", "docs/benchmarks.json")
FIGURES_END = end_marker("figures")
FLOOR_PROGRAM = """
import pulumi, pulumi_aws, pulumi_aws_native

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "-id", args.inputs]

    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), project="floor", stack="dev", preview=False)

@pulumi.runtime.test
def empty():
    return pulumi.Output.from_input(None)

empty()
"""
# The same empty program, forked from a parent that has already imported everything, as make check forks its layer
# runs: the like-for-like floor of a forked run. It takes FLOOR_PROGRAM as its second argument and prints the median
# seconds of the children.
FORKED_FLOOR_PROGRAM = """
import os, statistics, sys, time
import pulumi, pulumi_aws, pulumi_aws_native
from tools.offline.schedule import warm
from tools.offline.runner import STACKS_DIR
warm(STACKS_DIR)
empty_program = compile(sys.argv[2], "<floor>", "exec")
samples = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        exec(empty_program, {})
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit("the forked empty program failed")
    samples.append(time.perf_counter() - started)
print(statistics.median(samples))
"""
# The targets of the 2-core reference machine, as (figure key, limit, what it says).
TARGETS: tuple[tuple[str, float, str], ...] = (
    ("check_cold", 10.0, "make check, 3 environments, cold (NO_CACHE=1)"),
    ("check_warm", 2.0, "make check, warm (inputs unchanged)"),
    ("test", 60.0, "make test, venvs in place"),
    ("first_analyze", 0.1, "the policy pack's first Analyze, in a fresh pack process"),
)
LAYER_TARGET_RATIO = 2.0
PHASES = ("layers", "policies", "scans", "cost", "diagrams")
SKIPPABLE = ("setup", "test")

# On a bigger machine the benchmark pins itself to two CPUs, so its verdict is about the reference machine.
PIN = ["taskset", "-c", "0,1"] if (os.cpu_count() or 1) > 2 and shutil.which("taskset") else []


def timed(command: Sequence[str], cwd: Path = REPO_ROOT, env: Mapping[str, str] | None = None) -> float:
    """Seconds one command takes; it must succeed (its output is shown only when it fails)."""
    started = time.perf_counter()
    done = subprocess.run([*PIN, *command], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def disk_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (symlinks not followed)."""
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def working_tree_copy(destination: Path) -> Path:
    """The tracked and untracked-but-not-ignored files of this checkout, as a fresh clone plus local edits has."""
    return copy_checkout(REPO_ROOT, destination)


def first_run(scratch: Path) -> dict[str, Any]:
    """``make setup scan-setup`` in a copy of the tree with empty package caches, the venvs' size, the first check."""
    tree = working_tree_copy(scratch / "tree")
    caches = scratch / "caches"
    env = {**os.environ, "UV_CACHE_DIR": str(caches / "uv"), "PIP_NO_CACHE_DIR": "1", "CI": "true"}
    print("bench: first run: make setup scan-setup (empty package caches)", flush=True)
    setup = timed(["make", "--no-print-directory", "setup", "scan-setup"], cwd=tree, env=env)
    venvs = {name: disk_bytes(tree / name) for name in (".venv", ".venv-scan")}
    print("bench: first run: make check", flush=True)
    check = timed(["make", "--no-print-directory", "check"], cwd=tree, env=env)
    return {"setup": setup, "venv_bytes": venvs, "first_check": check}


def check_run(build: Path, cold: bool) -> dict[str, float]:
    """One ``make check``: its wall time plus the phase timings and per-layer run times it recorded."""
    wall = timed(["make", "--no-print-directory", "check", f"BUILD={build}", *(["NO_CACHE=1"] if cold else [])])
    document = json.loads((build / "summary.json").read_text())
    layer_runs = [
        layer["seconds"]
        for entry in document["environments"].values()
        for layer in entry["layers"].values()
        if not layer.get("cached")
    ]
    return {"wall": wall, **document["timings"], "layer": statistics.median(layer_runs) if layer_runs else 0.0}


# --- the policy pack: the first Analyze of a fresh pack process ------------------------------------------------------


def first_analyze(runs: int) -> tuple[float, float]:
    """Median seconds, over ``runs`` fresh pack processes, from launch to the port and of the first Analyze call.

    The pack is started as the Pulumi CLI's language host starts it (``python -u -m pulumi.policy <engine> <pack
    dir>`` in the pack dir) and configured with every policy's default; the resource analysed is a taggable VPC, so
    every policy, required-tags' data included, does its first real work inside the timed call.
    """
    import grpc
    from google.protobuf import empty_pb2, json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    pack_dir = REPO_ROOT / "policies"
    resource = struct_pb2.Struct()
    resource.update({"cidrBlock": "10.0.0.0/16", "tags": {"Project": "p", "Owner": "o"}})
    request = analyzer_pb2.AnalyzeRequest(
        urn="urn:pulumi:dev::bench::aws:ec2/vpc:Vpc::vpc", type="aws:ec2/vpc:Vpc", name="vpc", properties=resource
    )
    launches, analyses = [], []
    for _ in range(runs):
        started = time.perf_counter()
        command = [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)]
        process = subprocess.Popen([*PIN, *command], cwd=pack_dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            launches.append(time.perf_counter() - started)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = analyzer_pb2_grpc.AnalyzerStub(channel)
                configure = analyzer_pb2.ConfigureAnalyzerRequest()
                for policy in stub.GetAnalyzerInfo(empty_pb2.Empty()).policies:
                    defaults = struct_pb2.Struct()
                    schema = json_format.MessageToDict(policy.configSchema.properties)
                    defaults.update({k: v["default"] for k, v in schema.items() if "default" in v})
                    configure.policyConfig[policy.name].CopyFrom(
                        analyzer_pb2.PolicyConfig(enforcementLevel=policy.enforcementLevel, properties=defaults)
                    )
                stub.Configure(configure)
                started = time.perf_counter()
                stub.Analyze(request)
                analyses.append(time.perf_counter() - started)
        finally:
            process.kill()
            process.wait()
    return statistics.median(launches), statistics.median(analyses)


def measure(runs: int, skip: Sequence[str]) -> dict[str, Any]:
    """Every figure, as the JSON document ``render`` reads."""
    python = sys.executable
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{'2 CPUs (pinned)' if PIN else f'{os.cpu_count()} CPU(s)'}, {platform.machine()}",
        "python": platform.python_version(),
        "runs": runs,
    }
    with tempfile.TemporaryDirectory() as scratch:
        if "setup" not in skip:
            figures["first_run"] = first_run(Path(scratch))
        print("bench: the floor", flush=True)
        figures["floor"] = statistics.median(timed([python, "-c", FLOOR_PROGRAM]) for _ in range(runs))
        forked = subprocess.run(
            [*PIN, python, "-c", FORKED_FLOOR_PROGRAM, str(max(runs, 5)), FLOOR_PROGRAM],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        figures["forked_floor"] = float(forked.stdout.strip().splitlines()[-1])
        single = Path(scratch) / "single"
        standalone = [python, "-m", "tools.offline.runner", "--layer", "network", "--env", "dev", "--out", str(single)]
        figures["layer_process"] = statistics.median(timed(standalone) for _ in range(runs))
        build = Path(scratch) / "build"
        check_run(build, cold=True)  # one unmeasured run: the compiled drawing engine is kept, as .pyc files are
        cold, warm = [], []
        for run in range(1, runs + 1):
            print(f"bench: make check, cold run {run}/{runs}", flush=True)
            cold.append(check_run(build, cold=True))
        for run in range(1, runs + 1):
            print(f"bench: make check, warm run {run}/{runs}", flush=True)
            warm.append(check_run(build, cold=False))
    print("bench: the policy pack's first Analyze", flush=True)
    figures["pack_launch"], figures["first_analyze"] = first_analyze(max(runs, 5))
    figures["cold"] = {key: statistics.median(s.get(key, 0.0) for s in cold) for key in (*PHASES, "layer", "wall")}
    figures["check_cold"] = figures["cold"]["wall"]
    figures["check_warm"] = statistics.median(s["wall"] for s in warm)
    return figures


def verdicts(figures: Mapping[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(what, measured, limit, met) for every target the figures cover."""
    found = [(text, figures[key], limit, figures[key] <= limit) for key, limit, text in TARGETS if key in figures]
    ratio = figures["cold"]["layer"] / figures["floor"]
    text = f"one layer run, as make check runs it, within {LAYER_TARGET_RATIO:g}x the floor"
    found.append((text, ratio, LAYER_TARGET_RATIO, ratio <= LAYER_TARGET_RATIO))
    return found


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def render_first_run(figures: Mapping[str, Any]) -> str:
    """The README's first-screen paragraph: what a first run costs, and how fast the commands answer after it."""
    lines = []
    first = figures.get("first_run")
    when = f"measured by `make bench` on {figures['date']} ({figures['machine']}, Python {figures['python']})"
    if first:
        total = sum(first["venv_bytes"].values())
        sizes = ", ".join(f"`{name}` {_mb(size)}" for name, size in first["venv_bytes"].items())
        lines.append(
            f"**What a first run costs** ({when}): `make setup` and the scanners' venv take {first['setup']:.0f} s "
            f"with empty package caches, downloads and bytecode compilation included, and {_mb(total)} of disk "
            f"({sizes}); the first `make check` then takes {first['first_check']:.0f} s."
        )
    after = (
        f"After that, `make check` answers in {figures['check_cold']:.1f} s cold and {figures['check_warm']:.1f} s warm"
    )
    lines.append(after + (f", and `make test` in {figures['test']:.0f} s." if "test" in figures else "."))
    lines.append("Details: [docs/benchmarks.md](docs/benchmarks.md).")
    return "\n".join(lines)


def render_report(figures: Mapping[str, Any]) -> str:
    """docs/benchmarks.md's figures: every one, its ratio to the floor, and the verdict on each target."""
    floor = figures["floor"]
    cold = figures["cold"]
    rows = [
        ("floor: empty program under mocks", floor),
        ("empty program, forked from a warm parent", figures["forked_floor"]),
        ("one layer run, as make check runs it", cold["layer"]),
        ("one layer run, in its own process", figures["layer_process"]),
        *((f"make check, cold: {phase}", cold[phase]) for phase in PHASES),
        ("make check, cold: total (wall)", figures["check_cold"]),
        ("make check, warm: total (wall)", figures["check_warm"]),
    ]
    rows += [
        ("policy pack: launch to port", figures["pack_launch"]),
        ("policy pack: first Analyze", figures["first_analyze"]),
    ]
    if "test" in figures:
        rows.append(("make test (wall)", figures["test"]))
    lines = [
        f"Measured on {figures['date']}: {figures['machine']}, Python {figures['python']}, medians of "
        f"{figures['runs']} run(s) unless said otherwise.",
        "",
    ]
    first = figures.get("first_run")
    if first:
        lines += [
            "### A first run",
            "",
            "In a scratch copy of the working tree, with empty package caches (the downloads are included):",
            "",
            "| step | seconds | disk |",
            "|---|---:|---:|",
            f"| `make setup scan-setup` | {first['setup']:.1f} | {_mb(sum(first['venv_bytes'].values()))} |",
            *(f"| &nbsp;&nbsp;`{name}` | | {_mb(size)} |" for name, size in first["venv_bytes"].items()),
            f"| the first `make check` | {first['first_check']:.1f} | |",
            "",
        ]
    lines += [
        "### Every run after it",
        "",
        "The **floor** is a process that imports pulumi and both providers and runs an empty program under mocks.",
        "",
        "| phase | median | x floor |",
        "|---|---:|---:|",
        *(f"| {name} | {seconds:.2f} s | {seconds / floor:.1f}x |" for name, seconds in rows),
        "",
        "Cold runs are `NO_CACHE=1`: every layer run, scanner and drawing is done afresh. They keep what a",
        "compiler keeps: Python's bytecode and the drawing engine's compiled WebAssembly (`build/.cache`). The",
        "phases after the layer runs run side by side, and checkov starts with the layer runs, so the phases do",
        "not add up to the total.",
        "",
        "### Targets",
        "",
        "| target | measured | limit | |",
        "|---|---:|---:|---|",
    ]
    for text, measured, limit, met in verdicts(figures):
        unit = "x" if "floor" in text else " s"
        lines.append(f"| {text} | {measured:.2f}{unit} | {limit:g}{unit} | {'met' if met else '**missed**'} |")
    return "\n".join(lines)


def write_texts(figures: Mapping[str, Any]) -> None:
    """docs/benchmarks.md and the README paragraph, from the figures."""
    REPORT.write_text(replace_section(REPORT.read_text(), FIGURES_BEGIN, FIGURES_END, render_report(figures)))
    README.write_text(replace_section(README.read_text(), FIRST_RUN_BEGIN, FIRST_RUN_END, render_first_run(figures)))


def save(figures: Mapping[str, Any]) -> None:
    """The figures to docs/benchmarks.json, and the texts rendered from them."""
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    write_texts(figures)


def main(argv: list[str] | None = None) -> int:
    """Measure (or only render); print the figures; exit 1 when a measured target is missed."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["measure", "render"], default="measure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", default="", help=f"comma-separated, of {', '.join(SKIPPABLE)}")
    args = parser.parse_args(argv)
    skip = [s for s in args.skip.split(",") if s]
    unknown = [s for s in skip if s not in SKIPPABLE]
    if unknown:
        parser.error(f"--skip {','.join(unknown)}: allowed {', '.join(SKIPPABLE)}")
    if args.command == "render":
        figures = json.loads(RESULTS.read_text())
    else:
        figures = measure(args.runs, skip)
        save(figures)
        if "test" not in skip:
            # After the texts match the new figures: the suite checks exactly that.
            print("bench: make test", flush=True)
            figures["test"] = timed(["make", "--no-print-directory", "test"])
            save(figures)
    write_texts(figures)
    print(render_report(figures))
    print(f"bench: wrote {RESULTS.relative_to(REPO_ROOT)}, {REPORT.relative_to(REPO_ROOT)} and README.md's first run")
    return 0 if all(met for *_, met in verdicts(figures)) else 1


if __name__ == "__main__":
    sys.exit(main())
