"""The offline preview's scheduler: forked runs, the input-keyed cache, and no stale export after a failure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared import yamlio
from tests.conftest import REPO_ROOT
from tools.offline.schedule import (
    RUNNER_INPUTS,
    all_cached,
    input_key,
    provider_modules,
    upstream_of,
)


def _preview(out: Path, *extra: str, layers: str = "network data") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.offline", "--out", str(out), "--envs", "dev", "--layers", layers, *extra]
    command += [] if "--stacks-dir" in extra else ["--stacks-dir", str(REPO_ROOT / "stacks")]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def _status(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {
        line.split()[1]: line.split()[0] for line in done.stdout.splitlines() if line.split()[0] in ("ok", "cached")
    }


@pytest.fixture
def out(build_dir: Path, tmp_path: Path) -> Path:
    """A build directory holding the session's dev runs and their cache keys, as a second make preview finds it."""
    seeded = tmp_path / "out"
    shutil.copytree(build_dir / "dev", seeded / "dev")
    (seeded / ".cache").mkdir()
    for key in (build_dir / ".cache").glob("dev-*.sha256"):
        shutil.copy(key, seeded / ".cache" / key.name)
    return seeded


def test_unchanged_runs_are_cached_and_an_edited_export_is_rewritten(out: Path) -> None:
    assert all_cached({"dev": ["network", "data"]}, out)
    assert _status(_preview(out)) == {"network": "cached", "data": "cached"}

    network = out / "dev" / "network.json"
    document = json.loads(network.read_text())
    stack = next(r for r in document["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    stack["outputs"]["unread_extra"] = "changed"
    network.write_text(json.dumps(document))
    # The edited export is not trusted: network runs again and writes its real export back, so data, whose
    # upstream export is then what it was, stays cached.
    assert _status(_preview(out)) == {"network": "ok", "data": "cached"}
    assert _status(_preview(out, "--no-cache")) == {"network": "ok", "data": "ok"}


def test_the_cache_key_covers_the_program_the_shared_library_and_the_upstream_exports(tmp_path: Path) -> None:
    stacks, shared = tmp_path / "stacks", tmp_path / "shared"
    shutil.copytree(REPO_ROOT / "stacks" / "data", stacks / "data")
    shutil.copytree(REPO_ROOT / "shared", shared, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    (out / "dev").mkdir(parents=True)

    def key(preview: bool = False, env: str = "dev") -> str:
        return input_key("data", env, out, stacks, preview, upstream_of("data"), source_root=tmp_path)

    first = key()
    assert key(preview=True) != first, "preview mode"
    assert key(env="staging") != first, "environment"
    (out / "dev" / "network.json").write_text("{}")
    assert key() != first, "upstream export"
    first = key()
    stack_file = stacks / "data" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "\n# edited\n")
    assert key() != first, "stack config"
    first = key()
    library = shared / "naming.py"
    library.write_text(library.read_text() + "\n# edited\n")
    assert key() != first, "shared library"
    first = key()
    matrix_path = shared / "environment_matrix.yaml"
    matrix = yamlio.load(matrix_path.read_text())
    matrix["environments"]["perf"] = {**matrix["environments"]["staging"]}
    matrix["environments"]["staging"]["settings"]["ec2_instance_type"] = "m7i.large"
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    assert key() == first, "another environment's entry is not an input of dev's runs"
    matrix["environments"]["perf"]["settings"]["ec2_instance_typo"] = "t3.large"
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    assert key() != first, "a broken entry fails every run, so no run may be served from the cache"
    del matrix["environments"]["perf"]["settings"]["ec2_instance_typo"]
    matrix["environments"]["dev"]["settings"]["ec2_instance_type"] = "t3.large"
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    assert key() != first, "dev's own entry"
    first = key()
    matrix["classes"]["development"]["description"] = "Edited."
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    assert key() != first, "the classes every entry shares"


def test_every_layer_below_counts_as_upstream_even_when_a_run_names_one_layer() -> None:
    assert upstream_of("edge") == ["network", "data", "compute"]
    assert upstream_of("network") == []


def test_a_layer_run_alone_sees_a_changed_upstream_export(out: Path) -> None:
    network = out / "dev" / "network.json"
    document = json.loads(network.read_text())
    stack = next(r for r in document["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    del stack["outputs"]["subnet_ids"]
    network.write_text(json.dumps(document))
    alone = _preview(out, layers="data")
    assert alone.returncode == 1, "a cached data export must not hide that its upstream lost an output"
    assert "subnet_ids" in alone.stderr


def test_an_edited_export_is_not_a_cache_hit(out: Path, tmp_path: Path) -> None:
    assert not all_cached({"dev": ["network"]}, tmp_path / "fresh"), "a fresh build directory runs everything"
    network = out / "dev" / "network.json"
    network.write_text(network.read_text().replace('"vpc_cidr"', '"vpc_cidr_edited"', 1))
    assert not all_cached({"dev": ["network"]}, out)
    assert _status(_preview(out, layers="network")) == {"network": "ok"}


def test_a_failing_layer_stops_its_environment_and_removes_its_old_export(out: Path) -> None:
    compute = out / "dev" / "compute.json"
    assert compute.exists()
    # A stack file the data layer rejects: the data run fails, compute (below it) must not keep its old export.
    stacks = out / "stacks"
    shutil.copytree(REPO_ROOT / "stacks", stacks)
    broken = stacks / "data" / "Pulumi.dev.yaml"
    broken.write_text(broken.read_text() + "  student-helper-data:rds_allocated_storage: 5\n")
    done = _preview(out, "--stacks-dir", str(stacks), layers="network data compute")
    assert done.returncode == 1
    assert "student-helper-data:rds_allocated_storage" in done.stderr
    assert not (out / "dev" / "data.json").exists()
    assert not compute.exists(), "an export whose upstream failed would be judged stale"


def test_the_warm_parent_loads_the_provider_modules_the_programs_use() -> None:
    modules = provider_modules([REPO_ROOT / "stacks", REPO_ROOT / "shared"])
    assert {"pulumi_aws.ec2", "pulumi_aws.rds", "pulumi_aws.cloudfront", "pulumi_aws.lambda_"} <= set(modules)


def test_the_cache_key_covers_every_file_of_this_checkout_the_runner_imports() -> None:
    # A module the runner imports (or a schema it validates with) that is not an input would let an edit to it be
    # served from the cache; the listed inputs must cover all of them.
    program = (
        "import json, sys; import tools.offline.runner, tools.offline.mocks; "
        "from tools.schemas import deployment_validator; deployment_validator(); "
        "print(json.dumps([m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)]))"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    ours = sorted(
        Path(f).resolve().relative_to(REPO_ROOT).as_posix()
        for f in json.loads(done.stdout)
        if Path(f).resolve().is_relative_to(REPO_ROOT) and ".venv" not in Path(f).parts
    )
    # Hashed from this checkout, since the runner's process keeps these modules whichever checkout's program runs:
    # PROGRAM_INPUTS come from the program's checkout and cannot stand in for them.
    inputs = RUNNER_INPUTS
    uncovered = [f for f in ours if not any(f == i or f.startswith(f"{i}/") for i in inputs)]
    assert ours and not uncovered, f"imported by the runner but not in its cache key: {uncovered}"
    assert "schemas" in RUNNER_INPUTS, "the export is validated against schemas/ on every run"
