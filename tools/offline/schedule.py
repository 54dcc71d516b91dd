"""Run many layer programs fast: one warm parent, one forked child per run, and a cache keyed on the inputs.

The Pulumi runtime is process-global, so each layer run needs its own process. Starting a fresh interpreter per
run would pay for importing pulumi and the provider SDKs (most of a run's time) twelve times; instead the parent
imports them once and forks a child per run, which inherits them. The parent never starts the Pulumi runtime or
a thread, so forking is safe. Environments are independent and run in parallel; within one, layers run in order
because a layer's StackReferences are answered from the exports its upstream layers just wrote.

A run whose inputs are unchanged since the last run into the same output directory is skipped: the key is a hash
of the layer's project folder, the shared library, this runner, the pinned dependencies and the installed versions
of the packages a run executes, the Python version, and the exports of every layer below it (so a changed upstream
output re-runs every layer that reads it). The stored key also covers the files the run wrote, so an export that
was edited or cut short since is run again rather than judged.

A run reads its own stack's ``Pulumi.<env>.yaml``, not the other stacks' files, so only its own is in its key.
Files enter the key under their path relative to the checkout they come from, never where that checkout lives, so
the same layer in another checkout of the same commit (``make diff`` evaluates the base branch in a worktree of its
own) has the same key, and a run can be copied from another output directory (``reuse``) instead of run again. The
programs may come from another checkout (``source_root``): the runner itself, its pins and the installed SDKs are
always this checkout's.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import importlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from shared import yamlio
from shared.contract import LAYER_ORDER
from tools.offline.runner import REPO_ROOT, STACKS_DIR, _describe, run_layer

CACHE_DIR = ".cache"
# What a layer program reads besides its own project folder and its upstream exports, relative to the checkout the
# program comes from: the shared library and, through its tagging transform, the pack's taggable-types data.
PROGRAM_INPUTS = ("shared", "policies/__init__.py", "policies/taggable.py", "policies/taggable_types.json")
MATRIX = "shared/environment_matrix.yaml"
# The runner and what it runs with, relative to this checkout (it runs every program, whichever checkout that is).
RUNNER_INPUTS = (
    # The library modules the runner's own process imports (its mocks, clock and SDK adapter): a base program run
    # in make diff answers through this checkout's copies of them.
    "shared/__init__.py",
    "shared/clock.py",
    "shared/constants.py",
    "shared/contract.py",
    "shared/sdk_internals.py",
    "shared/yamlio.py",
    "tools/__init__.py",
    "tools/offline",
    "tools/scan/__init__.py",
    "tools/scan/aws_sdk.py",  # which outputs a preview leaves unknown
    "tools/stack_export.py",
    "tools/schemas.py",
    "schemas",
    "pyproject.toml",
)
# The top-level packages a program imports from its own checkout: a run of another checkout's program must not see
# this checkout's copies, which the runner's parent has already imported.
PROGRAM_PACKAGES = ("shared", "policies")
# The installed packages a program run executes: an upgrade in place (same pyproject text) must miss the cache.
PACKAGES = ("pulumi", "pulumi-aws", "pulumi-aws-native", "PyYAML", "protobuf", "grpcio", "jsonschema", "jsonschema-rs")
_PROVIDER_MODULE = re.compile(r"\b(aws|aws_native)\.([a-z][a-z0-9_]*)\.")
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^.]+)\.ya?ml")


@dataclass(frozen=True)
class Outcome:
    """The result of one (environment, layer) run."""

    env: str
    """The stack."""
    layer: str
    resources: int
    """Provider-managed resources in the export (0 on failure)."""
    seconds: float
    """Wall time of the run, as the parent saw it (0 for a cache hit)."""
    cached: bool
    """True when the inputs were unchanged and the previous export was kept."""
    error: str = ""
    """Why the run failed; empty on success."""


def describe(outcome: Outcome) -> tuple[str, str]:
    """The progress line of one run and its status word."""
    where = f"{outcome.layer:<8} {outcome.env:<8}"
    if outcome.error:
        return f"FAIL {where} {outcome.error}", "FAIL"
    if outcome.cached:
        return f"cached {where} {outcome.resources:>4} resources  (inputs unchanged)", "cached"
    return f"ok {where} {outcome.resources:>4} resources  {outcome.seconds:5.2f}s", "ok"


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for found in sorted(path.rglob("*")):
            if found.is_file() and "__pycache__" not in found.parts and found.suffix not in (".pyc",):
                yield found


@functools.cache  # a process's packages do not change under it; every cache key asks
def _installed() -> str:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}: not installed")
    return ";".join(versions)


def upstream_of(layer: str) -> list[str]:
    """Every layer below ``layer`` in the fixed order, whether or not this run includes it."""
    order = [known.value for known in LAYER_ORDER]
    return order[: order.index(layer)] if layer in order else []


def _read_by(path: Path, env: str) -> bool:
    """Whether a run for stack ``env`` reads this file of the project folder: every file but the other stacks'
    ``Pulumi.<stack>.yaml`` (so editing prod's stack file re-runs prod alone)."""
    match = _STACK_FILE.fullmatch(path.name)
    return match is None or match["stack"] == env


# The modules that parse the matrix: when another checkout's copies equal these, this process can judge its matrix.
MATRIX_PARSER = ("shared/config.py", "shared/settings.py", "shared/constants.py", "shared/yamlio.py")


def _same_parser(source_root: Path) -> bool:
    try:
        return all((source_root / part).read_bytes() == (REPO_ROOT / part).read_bytes() for part in MATRIX_PARSER)
    except OSError:
        return False


def _content(name: str, path: Path, env: str, source_root: Path) -> bytes:
    """What a run for ``env`` reads of a file: all of it, but of the environment matrix only ``env``'s entry, what
    every entry shares (classes, owners) and whether the whole matrix is valid, so adding or editing another
    environment re-runs that one alone while a broken entry anywhere (which fails every run) re-runs them all.

    Whether it is valid is judged with this checkout's parser, so the matrix is narrowed only when the program's
    checkout has the same parser; otherwise all of it is an input."""
    if name != MATRIX or not _same_parser(source_root):
        return path.read_bytes()
    import yaml

    from shared.config import parse_matrix

    try:
        document = yamlio.load(path.read_text())
        mine = {**document, "environments": {env: document["environments"].get(env)}}
    except (yaml.YAMLError, TypeError, KeyError, AttributeError):
        return path.read_bytes()  # not a matrix this projection understands: all of it is an input
    try:
        parse_matrix(document)
        mine["problems"] = ""
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        mine["problems"] = str(err)
    return json.dumps(mine, sort_keys=True, default=str).encode()


def _named_files(root: Path, inputs: Iterable[str], prefix: str = "") -> Iterable[tuple[str, Path]]:
    """Each file under ``root``'s ``inputs``, named by its path relative to ``root`` (with ``prefix``)."""
    for relative in inputs:
        for path in _files(root / relative):
            yield prefix + path.relative_to(root).as_posix(), path


def input_key(
    layer: str,
    env: str,
    out: Path,
    stacks_dir: Path,
    preview: bool,
    upstream: Sequence[str],
    source_root: Path = REPO_ROOT,
) -> str:
    """A hash of everything a layer run reads; equal keys mean an identical export, wherever the checkout is.

    The program is ``stacks_dir/<layer>`` with the library under ``source_root``; the runner is this checkout's.
    """
    digest = hashlib.sha256(f"{sys.version}|{_installed()}|{layer}|{env}|preview={preview}".encode())
    files = [
        *((name, path) for name, path in _named_files(stacks_dir, [layer], prefix="stacks/") if _read_by(path, env)),
        *_named_files(source_root, PROGRAM_INPUTS),
        *_named_files(REPO_ROOT, RUNNER_INPUTS, prefix="runner:"),
    ]
    for name, path in files:
        digest.update(name.encode())
        digest.update(_content(name, path, env, source_root))
    for name in upstream:
        digest.update(canonical_export(out / env / f"{name}.json"))
    return digest.hexdigest()


def canonical_export(path: Path) -> bytes:
    """An export's content without what changes on every run: the manifest's time, and the order in which
    resources and their dependencies happened to register (sets, in effect)."""
    if not path.exists():
        return b"<missing>"
    try:
        document = json.loads(path.read_text())
        deployment = document["deployment"]
        deployment.get("manifest", {}).pop("time", None)
        deployment["resources"] = sorted(deployment.get("resources", []), key=lambda r: str(r.get("urn")))
        for resource in deployment["resources"]:
            resource["dependencies"] = sorted(resource.get("dependencies", []))
            resource["propertyDependencies"] = {
                name: sorted(urns) for name, urns in (resource.get("propertyDependencies") or {}).items()
            }
    except (ValueError, KeyError, TypeError, AttributeError):
        return path.read_bytes()  # not an export we can read: hash it as it is, a downstream run will fail on it
    return json.dumps(document, sort_keys=True).encode()


def provider_modules(roots: Sequence[Path]) -> list[str]:
    """The provider submodules the programs use (``aws.ec2.Vpc`` -> ``pulumi_aws.ec2``), found in their source."""
    found: set[str] = set()
    for root in roots:
        for path in _files(root):
            if path.suffix == ".py":
                for package, module in _PROVIDER_MODULE.findall(path.read_text()):
                    found.add(f"pulumi_{package}.{module}")
    return sorted(found)


def warm(stacks_dir: Path, source_root: Path = REPO_ROOT) -> None:
    """Import what every child needs, once: the provider SDKs load submodules lazily, on first use; and build the
    export schema's checker, which every child uses on what it writes."""
    from tools.schemas import deployment_checker

    deployment_checker()
    for module in provider_modules([stacks_dir, source_root / "shared"]):
        try:
            # The SDKs hand out lazy modules that load on first attribute access: touch one to load it now.
            getattr(importlib.import_module(module), "_utilities", None)
        except ImportError:
            continue  # a name the regex caught that is not a submodule (a child imports what it really uses)
    # The SDKs are hundreds of thousands of objects. Left in the collector's generations, every full collection in
    # every child walks them all again (and touches their pages, undoing fork's sharing); frozen, the children's
    # collections see only what their own program made. Measured here: a third off each layer run.
    gc.freeze()


def import_programs_from(source_root: Path) -> None:
    """Make the packages a program imports (``shared``, ``policies``) come from ``source_root``: forget the copies
    already imported (this checkout's) and look there first. Only for a forked child, which runs one program."""
    for name in [name for name in sys.modules if name.split(".", 1)[0] in PROGRAM_PACKAGES]:
        del sys.modules[name]
    sys.path.insert(0, str(source_root))
    importlib.invalidate_caches()


def _child(
    layer: str, env: str, out: Path, preview: bool, stacks_dir: Path, source_root: Path, result_file: Path
) -> None:
    """Runs in the forked child: one layer, its result as JSON in ``result_file``; never returns."""
    code = 0
    try:
        log = os.open(result_file.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        if source_root.resolve() != REPO_ROOT:
            import_programs_from(source_root)
        result = run_layer(layer, env, out, preview=preview, stacks_dir=stacks_dir)
        result_file.write_text(json.dumps({"resources": result.resource_count}))
    except BaseException as error:  # everything must reach the parent as a message, never as a traceback
        code = 1
        result_file.write_text(json.dumps({"error": f"{layer} [{env}]: {_describe(error)}"}))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_all(
    chains: dict[str, list[str]],
    out: Path,
    *,
    preview: bool = False,
    stacks_dir: Path = STACKS_DIR,
    source_root: Path = REPO_ROOT,
    reuse: Sequence[Path] = (),
    workers: int = 0,
    use_cache: bool = True,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Run each environment's layers in order, environments in parallel; a failure stops only its environment.

    The programs are ``stacks_dir``'s, importing the library under ``source_root``. With ``use_cache``, a run whose
    key matches a finished run in ``out`` is skipped, and one that matches a run in one of the ``reuse`` output
    directories (another checkout's, with the same inputs) is copied from there and counts as cached.
    """
    workers = workers or os.cpu_count() or 2
    warmed = False
    queues = {env: deque(layers) for env, layers in chains.items()}
    running: dict[int, tuple[str, str, float, Path, str]] = {}
    outcomes: list[Outcome] = []
    scratch = Path(tempfile.mkdtemp(prefix="offline-"))
    busy: set[str] = set()

    def finish(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_done(outcome)
        if outcome.error:
            # No stale answer may outlive a failure: the failed layer's export and those below it go.
            for layer in [outcome.layer, *queues[outcome.env]]:
                _forget(out, outcome.env, layer)
            queues[outcome.env].clear()

    while any(queues.values()) or running:
        for env, queue in queues.items():
            while queue and env not in busy and len(running) < workers:
                layer = queue.popleft()
                key = input_key(layer, env, out, stacks_dir, preview, upstream_of(layer), source_root)
                if use_cache and (_cached(out, env, layer, key) or _copied(reuse, out, env, layer, key)):
                    finish(Outcome(env, layer, _resources(out / env / f"{layer}.json"), 0.0, True))
                    continue
                _key_file(out, env, layer).unlink(missing_ok=True)  # an interrupted run must not look cached
                result_file = scratch / f"{env}-{layer}.json"
                if not warmed:  # only when something must run: a fully cached check imports nothing
                    warm(stacks_dir, source_root)
                    warmed = True
                pid = os.fork()
                if pid == 0:
                    _child(layer, env, out, preview, stacks_dir, source_root, result_file)
                running[pid] = (env, layer, time.monotonic(), result_file, key)
                busy.add(env)
        if not running:
            continue
        pid, _ = os.wait()
        env, layer, started, result_file, key = running.pop(pid)
        busy.discard(env)
        seconds = time.monotonic() - started
        answer = json.loads(result_file.read_text()) if result_file.exists() else {}
        if "resources" in answer:
            _store(out, env, layer, key)
            finish(Outcome(env, layer, answer["resources"], seconds, False))
        else:
            log = result_file.with_suffix(".log")
            detail = answer.get("error") or (log.read_text().strip() if log.exists() else "") or "the run crashed"
            finish(Outcome(env, layer, 0, seconds, False, detail))
    shutil.rmtree(scratch, ignore_errors=True)
    return outcomes


def all_cached(
    chains: dict[str, list[str]],
    out: Path,
    *,
    preview: bool = False,
    stacks_dir: Path = STACKS_DIR,
    source_root: Path = REPO_ROOT,
) -> bool:
    """Whether :func:`run_all` would find every run cached: then nothing below it needs to start early."""
    return all(
        _cached(out, env, layer, input_key(layer, env, out, stacks_dir, preview, upstream_of(layer), source_root))
        for env, layers in chains.items()
        for layer in layers
    )


def _key_file(out: Path, env: str, layer: str) -> Path:
    return out / CACHE_DIR / f"{env}-{layer}.sha256"


def _outputs(out: Path, env: str, layer: str) -> tuple[Path, Path]:
    return out / env / f"{layer}.json", out / env / "options" / f"{layer}.json"


def _fingerprint(key: str, out: Path, env: str, layer: str) -> str:
    """The input key plus the hash of the files the run wrote: an edited or truncated export is not a hit."""
    digest = hashlib.sha256(key.encode())
    for path in _outputs(out, env, layer):
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def _cached(out: Path, env: str, layer: str, key: str) -> bool:
    stored = _key_file(out, env, layer)
    present = all(path.exists() for path in _outputs(out, env, layer))
    return present and stored.exists() and stored.read_text() == _fingerprint(key, out, env, layer)


def _copied(reuse: Sequence[Path], out: Path, env: str, layer: str, key: str) -> bool:
    """Copy the outputs of an identical run (same key) from one of the ``reuse`` directories into ``out``."""
    for other in reuse:
        if other.resolve() != out.resolve() and _cached(other, env, layer, key):
            for source, target in zip(_outputs(other, env, layer), _outputs(out, env, layer), strict=True):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            _store(out, env, layer, key)
            return True
    return False


def _store(out: Path, env: str, layer: str, key: str) -> None:
    path = _key_file(out, env, layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_fingerprint(key, out, env, layer))


def _forget(out: Path, env: str, layer: str) -> None:
    for path in (_key_file(out, env, layer), *_outputs(out, env, layer)):
        path.unlink(missing_ok=True)


def _resources(export: Path) -> int:
    from tools import stack_export

    return len(stack_export.managed(stack_export.read(export)))
