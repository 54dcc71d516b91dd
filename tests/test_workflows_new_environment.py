"""Adding an environment gives it its workflow jobs with no hand-written YAML: docs/configuration.md's "Add an
environment", walked in a copy of the repository.

The copy gets ``perf`` after staging (the section's matrix entry on staging's settings, its own account and CI role,
us-west-2 in its four stack files) and a production-class ``prod-eu`` after prod (eu-west-1); then ``python -m
tools.workflows``, what ``make workflows`` runs. The generated workflows must give each its up jobs in its place in
the order, pass perf's role, stay clean under zizmor, and find each environment's region in its stack files.
``make check`` is not run there: tests/test_check.py covers it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config import environments
from tests.conftest import ENVS, LAYERS, REPO_ROOT
from tests.test_workflows import PULUMI_LAYER, check_inputs, jobs, lint_command, run_region_step, up_job_id

DOCS = REPO_ROOT / "docs" / "configuration.md"
SECTION = "## Add an environment"
BEFORE_PERF = "staging"
# The scenario's second environment: production class, after every other one, in another region.
PROD_EU = {"name": "prod-eu", "copies": "prod", "region": "eu-west-1"}


def section() -> str:
    """docs/configuration.md's "Add an environment" section."""
    text = DOCS.read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def yaml_blocks() -> list[str]:
    """The section's ```yaml examples, unindented."""
    return [
        "\n".join(line.removeprefix("   ") for line in block.splitlines())
        for block in re.findall(r"```yaml\n(.*?)```", section(), flags=re.S)
    ]


def documented_entry() -> tuple[str, dict[str, Any]]:
    """The section's matrix entry: its name and its fields, its settings on top of staging's as the section says."""
    ((name, entry),) = yaml.safe_load(yaml_blocks()[0]).items()
    staging = yaml.safe_load((REPO_ROOT / "shared" / "environment_matrix.yaml").read_text())["environments"]
    return name, {**entry, "settings": {**staging[BEFORE_PERF]["settings"], **entry["settings"]}}


def documented_stack_file() -> dict[str, Any]:
    """The section's network stack file."""
    found: dict[str, Any] = yaml.safe_load(yaml_blocks()[1])
    return found


def tracked_files() -> list[str]:
    """The repository's files as a clone has them (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return [name for name in listed if name and (REPO_ROOT / name).is_file()]


def insert_after(entries: dict[str, Any], after: str, name: str, entry: Any) -> dict[str, Any]:
    """``entries`` with ``name`` right after ``after``, in order."""
    result: dict[str, Any] = {}
    for key, value in entries.items():
        result[key] = value
        if key == after:
            result[name] = entry
    return result


def add_stack_files(root: Path, env: str, copies: str, region: str) -> None:
    """Each layer's stack file of ``env``: ``copies``'s, with ``env`` as its environment and ``region``."""
    for layer in LAYERS:
        document = yaml.safe_load((root / "stacks" / layer / f"Pulumi.{copies}.yaml").read_text())
        config = document["config"]
        config["aws:region"] = region
        config[f"student-helper-{layer}:environment"] = env
        (root / "stacks" / layer / f"Pulumi.{env}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def generate(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m tools.workflows`` run in the copy (its own tools, shared and matrix come first on sys.path)."""
    return subprocess.run(
        [sys.executable, "-m", "tools.workflows", *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with perf and prod-eu added as the section says, workflows regenerated."""
    root = tmp_path_factory.mktemp("new-environment") / "repo"
    for name in tracked_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")

    name, entry = documented_entry()
    matrix_path = root / "shared" / "environment_matrix.yaml"
    matrix = yaml.safe_load(matrix_path.read_text())
    prod_eu = {"class": "production", "settings": matrix["environments"][PROD_EU["copies"]]["settings"]}
    matrix["environments"] = insert_after(matrix["environments"], BEFORE_PERF, name, entry) | {PROD_EU["name"]: prod_eu}
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))

    add_stack_files(root, name, BEFORE_PERF, documented_stack_file()["config"]["aws:region"])
    network_file = root / "stacks" / LAYERS[0] / f"Pulumi.{name}.yaml"
    assert yaml.safe_load(network_file.read_text()) == documented_stack_file(), "the section's network stack file"
    add_stack_files(root, PROD_EU["name"], PROD_EU["copies"], PROD_EU["region"])

    stale = generate(root, "--check")
    assert stale.returncode == 1, stale.stderr
    assert "a generated section is stale: run `make workflows`" in stale.stderr
    done = generate(root)
    assert done.returncode == 0, done.stderr
    return root


def promotion_order() -> list[str]:
    """The copy's environments in promotion order: perf right after staging, prod-eu last."""
    after = ENVS.index(BEFORE_PERF) + 1
    return [*ENVS[:after], "perf", *ENVS[after:], PROD_EU["name"]]


def workflow(repo: Path, name: str) -> Path:
    return repo / ".github" / "workflows" / name


def deploy_jobs(repo: Path) -> dict[str, dict[str, Any]]:
    return jobs(workflow(repo, "deploy.yml"))


def test_the_section_is_the_perf_of_the_issue() -> None:
    name, entry = documented_entry()
    assert name == "perf"
    assert entry["class"] == environments()[BEFORE_PERF].environment_class.name
    assert documented_stack_file()["config"]["aws:region"] == "us-west-2"
    assert entry["account_id"] != environments()[BEFORE_PERF].account_id
    assert entry["ci_role_arn"].startswith(f"arn:aws:iam::{entry['account_id']}:role/")
    assert "`make workflows`" in section() and "**`make docs`**" in section()


def test_make_workflows_runs_the_generator() -> None:
    done = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "workflows"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.stdout.splitlines()[-1] == ".venv/bin/python -m tools.workflows", done.stdout
    # make docs regenerates everything generated, the workflows among it.
    docs = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "docs"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert ".venv/bin/python -m tools.workflows" in docs.stdout.splitlines()


def test_each_new_environment_has_its_up_jobs_in_its_place_in_the_order(repo: Path) -> None:
    expected = [up_job_id(env, layer) for env in promotion_order() for layer in LAYERS]
    found = deploy_jobs(repo)
    assert [job_id for job_id in found if job_id.startswith("up-")] == expected
    for index, job_id in enumerate(expected):
        assert found[job_id]["needs"] == ["test", "changes", *expected[:index]], job_id
        assert found[job_id]["concurrency"]["group"] == f"deploy-{found[job_id]['with']['environment']}"


def test_perf_passes_its_role_from_the_matrix_and_the_others_their_environments(repo: Path) -> None:
    _, entry = documented_entry()
    for job_id, job in deploy_jobs(repo).items():
        if job_id.startswith("up-"):
            role = job["with"].get("ci_role_arn")
            assert role == (entry["ci_role_arn"] if job["with"]["environment"] == "perf" else None), job_id


def test_prod_eu_deploys_into_its_own_github_environment_which_must_be_protected(repo: Path) -> None:
    text = workflow(repo, "deploy.yml").read_text()
    for layer in LAYERS:
        assert deploy_jobs(repo)[up_job_id(PROD_EU["name"], layer)]["with"]["environment"] == PROD_EU["name"]
    # The called job deploys into the GitHub environment its caller names (unchanged by the new environments).
    assert jobs(workflow(repo, "pulumi-layer.yml"))["up"]["environment"] == "${{ inputs.environment }}"
    assert (
        f"  # Production class: the {PROD_EU['name']} GitHub environment must be protected (required reviewers" in text
    )


def test_pull_requests_now_preview_perf(repo: Path) -> None:
    # perf is now the last preproduction environment before the first production one.
    previews = jobs(workflow(repo, "pull-request.yml"))
    assert {previews[f"preview-{layer}"]["with"]["environment"] for layer in LAYERS} == {"perf"}


def test_the_workflows_need_no_other_change(repo: Path) -> None:
    # The reusable workflow that runs every layer job is the repository's, unchanged; the generated files are
    # up to date after one run.
    assert workflow(repo, "pulumi-layer.yml").read_text() == PULUMI_LAYER.read_text()
    assert generate(repo, "--check").returncode == 0


def test_the_workflows_still_pass_zizmor(repo: Path) -> None:
    done = subprocess.run(lint_command("zizmor"), cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("command", ["preview", "up"])
def test_the_input_check_accepts_the_new_environments(repo: Path, command: str) -> None:
    job = jobs(workflow(repo, "pulumi-layer.yml"))[command]
    for env in ("perf", PROD_EU["name"]):
        for layer in LAYERS:
            done = check_inputs(job, command, layer, env, root=repo)
            assert done.returncode == 0, (env, layer, done.stdout)


@pytest.mark.parametrize(("env", "region"), [("perf", "us-west-2"), (PROD_EU["name"], PROD_EU["region"])])
def test_the_region_step_finds_each_new_environments_region(repo: Path, tmp_path: Path, env: str, region: str) -> None:
    done, outputs = run_region_step("up", env, repo, tmp_path)
    assert done.returncode == 0, done.stderr
    assert outputs == f"region={region}\n"
