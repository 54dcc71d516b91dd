"""The GitHub Actions workflows: schema, path filters, job graph, pins, permissions and secrets; the generator of
their jobs per environment and layer (``make workflows``); and the linters ``make lint`` runs on them and on the shell
scripts (zizmor, shellcheck).

The environments come from ``shared.config.environments()`` and the layers from ``shared.contract.LAYER_ORDER``,
never from a list written here. The path filters are checked against the downstream closure of the layer order, and
the deploy chain is run through a small model of GitHub's job conditions, so that a skipped layer never blocks the
layers after it and a failed one always does.

The preview and up jobs call the reusable workflow pulumi-layer.yml. The tests follow each call into it: the called
job that the caller's inputs select, with ``${{ inputs.* }}`` replaced by what the caller passes, is checked as if
the caller had written its steps itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared import yamlio
from shared.config import MATRIX_PATH, PRODUCTION, Environment, EnvironmentClass, environments, parse_matrix
from shared.contract import LAYER_ORDER
from tests.conftest import ENVS, REPO_ROOT
from tools import workflows as generator
from tools.checkout import repo_files

WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
PULL_REQUEST = WORKFLOW_DIR / "pull-request.yml"
DEPLOY = WORKFLOW_DIR / "deploy.yml"
PULUMI_LAYER = WORKFLOW_DIR / "pulumi-layer.yml"
# The workflows an event starts, and every workflow file.
CALLERS = (PULL_REQUEST, DEPLOY)
WORKFLOWS = (*CALLERS, PULUMI_LAYER)
LAYERS = tuple(layer.value for layer in LAYER_ORDER)
# What pulumi-layer.yml runs: `make <command>-<layer> ENV=<env>`.
COMMANDS = ("preview", "up")
# The environment pull requests preview against (pull-request.yml says why only this one; the rule is tested below).
PREVIEW_ENV = generator.preview_environment(environments())
# The GitHub environment the preview job runs in: it scopes the preview role and the previewed environment's state
# passphrase to it, and the preview role trusts the OIDC subject repo:<owner>/<repo>:environment:preview.
PREVIEW_GITHUB_ENV = "preview"
# What every layer runs: a change here can change any stack.
COMMON_PATHS = frozenset(
    {
        "shared/**",
        # The deploy driver behind every make preview-/up- target: layer order, stack selection, guards.
        "tools/deploy/**",
        "policies/**",
        "Makefile",
        "mk/**",
        "pyproject.toml",
        ".github/workflows/pull-request.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/pulumi-layer.yml",
    }
)
PATHS_FILTER = "dorny/paths-filter"
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
PULUMI_ACTION = "pulumi/actions"
# `uses: owner/repo@<40-hex commit> # vX.Y.Z`: the commit is what runs, the tag says which release it is.
PINNED_USES = re.compile(
    r"^\s*-?\s*uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)\s+#\s+(?P<tag>v\d+\.\d+\.\d+)\s*$"
)
USES_LINE = re.compile(r"^\s*-?\s*uses:\s*(?P<ref>\S+)")
SHA = re.compile(r"^[0-9a-f]{40}$")
# A job that calls a reusable workflow of this repository, in GitHub's self-repository form: `$/` is this
# repository at the commit that is running, whatever the runner's working tree holds.
SELF = "$/"
LOCAL_WORKFLOW = re.compile(r"\$/\.github/workflows/(?P<file>[\w.-]+\.ya?ml)")
INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
# `${{ inputs.<name> || vars.<NAME> }}`: the input when the caller passed a non-empty one, else the variable.
INPUT_OR_VARIABLE = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\|\|\s*vars\.(\w+)\s*\}\}")
SHELL_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
CHECK_INPUTS = "Check the inputs"
CHECK_CONFIGURATION = "Check the configuration"
# The role each layer job assumes (a variable of its GitHub environment; an up takes the matrix's ci_role_arn first).
ROLE_VARIABLE = {"preview": "AWS_PREVIEW_ROLE_ARN", "up": "AWS_ROLE_ARN"}
# Where a layer job's region comes from: the step that prints the one aws:region of the environment's stack files.
REGION_OUTPUT = "${{ steps.region.outputs.region }}"
# The variables a layer job reads that may stay unset: the secrets provider is only read to create a stack.
OPTIONAL_VARIABLES = frozenset({"PULUMI_SECRETS_PROVIDER"})
DEPENDABOT = "dependabot[bot]"


def load(path: Path) -> dict[str, Any]:
    """A workflow as GitHub reads it: YAML 1.1 turns the key ``on`` into True, so it is renamed back."""
    raw: dict[Any, Any] = yamlio.load(path.read_text())
    return {"on" if key is True else key: value for key, value in raw.items()}


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    """The workflow's jobs by id."""
    found: dict[str, dict[str, Any]] = load(path)["jobs"]
    return found


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The job's steps (none for a job that calls a reusable workflow)."""
    found: list[dict[str, Any]] = job.get("steps", [])
    return found


def action(step: Mapping[str, Any]) -> str:
    """``owner/repo`` of a ``uses:`` step, or empty for a ``run:`` step."""
    return str(step.get("uses", "")).split("@", 1)[0]


def shell_line(line: str, env: Mapping[str, Any]) -> str:
    """A command line as the shell runs it: the step's env variables expanded, quotes removed."""
    expanded = SHELL_VARIABLE.sub(lambda m: str(env.get(m[1] or m[2], m[0])), line)
    return " ".join(shlex.split(expanded))


def make_calls(job: Mapping[str, Any]) -> list[str]:
    """Every ``make ...`` command line the job runs, with the step's env variables expanded."""
    return [
        shell_line(line.strip(), step.get("env", {}))
        for step in steps(job)
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("make ")
    ]


# --- following a call into the reusable workflow ----------------------------------------------------------------


def called_workflow(job: Mapping[str, Any]) -> Path | None:
    """The reusable workflow a job calls, or None for a job with its own steps."""
    if "uses" not in job:
        return None
    match = LOCAL_WORKFLOW.fullmatch(job["uses"])
    assert match, f"{job['uses']}: only reusable workflows of this repository are called"
    return WORKFLOW_DIR / match["file"]


def bind(value: Any, inputs: Mapping[str, Any]) -> Any:
    """``value`` with every ``${{ inputs.<name> }}`` replaced by the caller's input (KeyError for an unknown one), and
    every ``${{ inputs.<name> || vars.<NAME> }}`` by the input when it is not empty, else ``${{ vars.<NAME> }}``."""
    if isinstance(value, str):
        value = INPUT_OR_VARIABLE.sub(lambda m: str(inputs[m[1]]) or f"${{{{ vars.{m[2]} }}}}", value)
        return INPUT.sub(lambda m: str(inputs[m[1]]), value)
    if isinstance(value, dict):
        return {key: bind(item, inputs) for key, item in value.items()}
    if isinstance(value, list):
        return [bind(item, inputs) for item in value]
    return value


def runs_with(called_job: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    """A model of a called job's ``if`` for the only clause pulumi-layer.yml uses: ``inputs.<name> ==/!= '<v>'``."""
    if "if" not in called_job:
        return True
    match = re.fullmatch(r"inputs\.([\w-]+) (==|!=) '([\w-]*)'", str(called_job["if"]).strip())
    assert match, f"the called-job model does not know the condition {called_job['if']!r}"
    equal = str(inputs[match[1]]) == match[3]
    return equal if match[2] == "==" else not equal


def called_jobs(job: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs of the workflow a job calls that its inputs select, with those inputs bound."""
    called = called_workflow(job)
    assert called is not None, "not a job that calls a reusable workflow"
    declared = load(called)["on"]["workflow_call"]["inputs"]
    inputs = {name: spec.get("default", "") for name, spec in declared.items() if not spec["required"]}
    inputs |= job.get("with", {})
    return {job_id: bind(found, inputs) for job_id, found in jobs(called).items() if runs_with(found, inputs)}


def resolved(job: Mapping[str, Any]) -> dict[str, Any]:
    """What runs on a runner for one job: the job itself, or the one called job its inputs select."""
    if called_workflow(job) is None:
        return dict(job)
    selected = called_jobs(job)
    assert len(selected) == 1, f"{job['uses']} with {job.get('with')} runs {sorted(selected)}, not one job"
    return next(iter(selected.values()))


def runner_jobs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every job of a workflow that runs on a runner, callers followed into what they call, by a readable id."""
    for job_id, job in jobs(path).items():
        if called_workflow(job) is None:
            yield job_id, job
        else:
            for called_id, called in called_jobs(job).items():
                yield f"{job_id} -> {called_id}", called


def layer_jobs(path: Path) -> dict[str, dict[str, Any]]:
    """The caller jobs that run pulumi-layer.yml, by id."""
    return {job_id: job for job_id, job in jobs(path).items() if called_workflow(job) == PULUMI_LAYER}


def declared_inputs() -> dict[str, dict[str, Any]]:
    """pulumi-layer.yml's ``on.workflow_call.inputs``."""
    found: dict[str, dict[str, Any]] = load(PULUMI_LAYER)["on"]["workflow_call"]["inputs"]
    return found


def declared_secrets() -> dict[str, dict[str, Any]]:
    """pulumi-layer.yml's ``on.workflow_call.secrets``."""
    found: dict[str, dict[str, Any]] = load(PULUMI_LAYER)["on"]["workflow_call"]["secrets"]
    return found


# --- path filters and the job graph ------------------------------------------------------------------------------


def filters(path: Path) -> dict[str, list[str]]:
    """The paths-filter rules of the workflow's ``changes`` job, by filter name."""
    filter_steps = [s for s in steps(jobs(path)["changes"]) if action(s) == PATHS_FILTER]
    assert len(filter_steps) == 1, f"{path.name}: the changes job needs exactly one {PATHS_FILTER} step"
    parsed: dict[str, list[str]] = yamlio.load(filter_steps[0]["with"]["filters"])
    return parsed


def downstream_closure() -> dict[str, frozenset[str]]:
    """What each layer's filter must hold: its own stack, every stack upstream of it, and the common paths."""
    return {
        layer: frozenset(f"stacks/{upstream}/**" for upstream in LAYERS[: index + 1]) | COMMON_PATHS
        for index, layer in enumerate(LAYERS)
    }


def glob_matches(pattern: str, path: str) -> bool:
    """picomatch's meaning for the patterns used here: ``**`` spans folders, ``*`` stays inside one."""
    regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.fullmatch(regex, path) is not None


def up_job_id(env: str, layer: str) -> str:
    """The deploy job that runs ``up`` for one layer of one environment."""
    return f"up-{env}-{layer}"


DEPLOY_ORDER = tuple((env, layer) for env in ENVS for layer in LAYERS)


@cache
def workflow_validator() -> jsonschema.Draft7Validator:
    """SchemaStore's GitHub workflow schema (vendored in schemas/, see schemas/README.md)."""
    return jsonschema.Draft7Validator(json.loads((REPO_ROOT / "schemas" / "github-workflow.json").read_text()))


def workflow_errors(document: Any) -> list[str]:
    """Every schema violation, as ``path: message`` lines."""
    errors = sorted(workflow_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def leaf_messages(document: Any) -> list[str]:
    """The innermost messages: a oneOf failure only says "not valid under any", its branches say why."""

    def leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
        if not error.context:
            yield error
        for child in error.context:
            yield from leaves(child)

    return [leaf.message for error in workflow_validator().iter_errors(document) for leaf in leaves(error)]


# --- the files -------------------------------------------------------------------------------------------------


def test_the_workflows_are_the_three_this_test_knows() -> None:
    assert sorted(p.name for p in WORKFLOW_DIR.iterdir()) == sorted(p.name for p in WORKFLOWS)


def test_layer_order_covers_every_stack() -> None:
    assert set(LAYERS) == {p.parent.name for p in REPO_ROOT.glob("stacks/*/Pulumi.yaml")}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    assert workflow_errors(load(path)) == []


@pytest.mark.parametrize(
    ("path", "break_it", "expected"),
    [
        (DEPLOY, lambda d: d["jobs"]["test"].pop("runs-on"), "'runs-on' is a required property"),
        (DEPLOY, lambda d: d["jobs"]["test"].update({"timeout-minute": 5}), "'timeout-minute' was unexpected"),
        (DEPLOY, lambda d: d["permissions"].update({"id-tokens": "write"}), "'id-tokens' was unexpected"),
        # What a job that calls a reusable workflow cannot set: the called workflow's jobs must.
        (
            DEPLOY,
            lambda d: d["jobs"][up_job_id(ENVS[-1], LAYERS[-1])].update({"environment": ENVS[-1]}),
            "'environment' was unexpected",
        ),
        (
            DEPLOY,
            lambda d: d["jobs"][up_job_id(ENVS[0], LAYERS[1])].update({"timeout-minutes": 90}),
            "'timeout-minutes' was unexpected",
        ),
        (
            PULUMI_LAYER,
            lambda d: d["on"]["workflow_call"]["inputs"]["layer"].update({"type": "choice"}),
            "'choice' is not one of ['boolean', 'number', 'string']",
        ),
    ],
    ids=["no-runs-on", "misspelt-key", "unknown-permission", "caller-environment", "caller-timeout", "input-choice"],
)
def test_schema_rejects_a_broken_workflow(path: Path, break_it: Any, expected: str) -> None:
    document = load(path)
    break_it(document)
    assert any(expected in message for message in leaf_messages(document)), leaf_messages(document)


def test_dependabot_config_matches_its_schema_and_watches_the_actions() -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "dependabot-2.0.json").read_text())
    config = yamlio.load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(config)] == []
    assert [u["package-ecosystem"] for u in config["updates"]] == ["github-actions"]


def test_triggers() -> None:
    assert load(PULL_REQUEST)["on"] == {"pull_request": {"branches": ["main"]}}
    assert load(DEPLOY)["on"] == {"push": {"branches": ["main"]}}
    # Only ever called, never started by an event of its own.
    assert list(load(PULUMI_LAYER)["on"]) == ["workflow_call"]


# --- path filters ----------------------------------------------------------------------------------------------


def test_every_workflow_file_marks_every_layer() -> None:
    # A change to how a layer is previewed or deployed can change any layer's outcome.
    assert {f".github/workflows/{path.name}" for path in WORKFLOWS} <= COMMON_PATHS


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_filters_are_the_downstream_closure_of_the_layer_order(path: Path) -> None:
    found = {name: frozenset(rules) for name, rules in filters(path).items()}
    assert found == downstream_closure()
    for name, rules in filters(path).items():
        assert len(rules) == len(set(rules)), f"{path.name}: {name} lists a path twice"


def test_both_workflows_use_the_same_filters() -> None:
    assert filters(PULL_REQUEST) == filters(DEPLOY)


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "changed",
    [
        "shared/contract.py",
        "shared/components/edge.py",
        "policies/config.json",
        ".github/workflows/pulumi-layer.yml",
        "tools/deploy/cli.py",
        "tools/deploy/guard.py",
    ],
)
def test_shared_code_and_policies_trigger_every_layer(path: Path, changed: str) -> None:
    matched = {name for name, rules in filters(path).items() if any(glob_matches(r, changed) for r in rules)}
    assert matched == set(LAYERS)


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
@pytest.mark.parametrize("index", range(len(LAYERS)), ids=LAYERS)
def test_a_stack_change_marks_its_layer_and_everything_downstream(path: Path, index: int) -> None:
    changed = f"stacks/{LAYERS[index]}/Pulumi.{PREVIEW_ENV}.yaml"
    matched = {name for name, rules in filters(path).items() if any(glob_matches(r, changed) for r in rules)}
    assert matched == set(LAYERS[index:])


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_a_change_outside_the_stacks_triggers_nothing(path: Path) -> None:
    for changed in ("README.md", "docs/scanning.md", "tools/scan/cli.py", "tests/test_network.py"):
        assert not any(glob_matches(r, changed) for rules in filters(path).values() for r in rules), changed


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_changes_job_exposes_one_output_per_layer(path: Path) -> None:
    outputs = jobs(path)["changes"]["outputs"]
    assert set(outputs) == set(LAYERS)
    for layer, expression in outputs.items():
        assert f"steps.filter.outputs.{layer}" in expression, f"{path.name}: output {layer} = {expression}"


def test_deploy_measures_changes_between_two_local_commits() -> None:
    # paths-filter compares the last deployed commit with the commit this run deploys, both SHAs present after a
    # full-history checkout, so it never fetches and the checkout keeps no credentials; with no such commit it is
    # skipped and every layer counts as changed.
    job = jobs(DEPLOY)["changes"]
    (checkout,) = [s for s in steps(job) if action(s) == "actions/checkout"]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    (step,) = [s for s in steps(job) if action(s) == PATHS_FILTER]
    assert step["if"] == "steps.base.outputs.sha != ''"
    assert (step["with"]["base"], step["with"]["ref"]) == ("${{ steps.base.outputs.sha }}", "${{ github.sha }}")
    for layer, expression in job["outputs"].items():
        assert expression == f"${{{{ steps.base.outputs.sha == '' || steps.filter.outputs.{layer} == 'true' }}}}"


def find_base(tmp_path: Path, answer: str) -> tuple[dict[str, str], str, list[str], str]:
    """Run deploy.yml's "find the last deploy" step in a one-commit clone, with a stand-in ``gh`` answering.

    ``answer`` is what gh prints (``HEAD``: the clone's commit). Returns the step's outputs, what it printed, the
    arguments gh was called with, and the clone's commit.
    """
    (step,) = [s for s in steps(jobs(DEPLOY)["changes"]) if s.get("id") == "base"]
    clone, bin_dir = tmp_path / "clone", tmp_path / "bin"
    bin_dir.mkdir()
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    identity = ["-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run(["git", *identity, "-C", str(clone), "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # Records its arguments and prints the SHA that gh's --jq filter would.
    gh = bin_dir / "gh"
    gh.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$GH_ARGS"\nprintf "%s\\n" "$GH_ANSWER"\n')
    gh.chmod(0o755)
    outputs = tmp_path / "github_output"
    outputs.touch()
    done = run_step(
        step,
        {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(tmp_path),
            "GH_TOKEN": "token",
            "GITHUB_REPOSITORY": "owner/repo",
            "GITHUB_OUTPUT": str(outputs),
            "GH_ARGS": str(tmp_path / "gh-args"),
            "GH_ANSWER": head if answer == "HEAD" else answer,
        },
        cwd=clone,
    )
    assert done.returncode == 0, done.stderr
    found = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return found, done.stdout, (tmp_path / "gh-args").read_text().splitlines(), head


def test_the_base_is_the_commit_of_the_last_successful_deploy_from_main(tmp_path: Path) -> None:
    found, _, gh_args, head = find_base(tmp_path, "HEAD")
    assert found == {"sha": head}
    assert gh_args[:2] == ["run", "list"]
    asked = dict(zip(gh_args[2::2], gh_args[3::2], strict=False))
    expected = {"--workflow": "deploy.yml", "--branch": "main", "--event": "push", "--status": "success"}
    assert expected.items() <= asked.items(), gh_args


def test_with_nothing_deployed_yet_every_layer_deploys(tmp_path: Path) -> None:
    found, printed, _, _ = find_base(tmp_path, "")
    assert found == {"sha": ""}
    assert "every layer" in printed


def test_a_deployed_commit_missing_from_the_clone_deploys_every_layer(tmp_path: Path) -> None:
    # main rewritten since: paths-filter would have to fetch it (with credentials); every layer deploys instead.
    missing = "f" * 40
    found, printed, _, _ = find_base(tmp_path, missing)
    assert found == {"sha": ""}
    assert f"::warning::the last deployed commit {missing} is not in this clone" in printed


# --- pull request --------------------------------------------------------------------------------------------


def test_pull_request_test_job_runs_the_offline_gate() -> None:
    job = jobs(PULL_REQUEST)["test"]
    assert {"make test", "make check"} <= set(make_calls(job))
    # Python and make are all the job needs: nothing comes from the runner's system packages.
    assert not any(word in str(s.get("run", "")) for s in steps(job) for word in ("apt-get", "apt ", "brew"))


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_has_a_preview_job(layer: str) -> None:
    job = jobs(PULL_REQUEST)[f"preview-{layer}"]
    assert job["needs"] == "changes"
    assert f"needs.changes.outputs.{layer} == 'true'" in job["if"]
    # Fork and Dependabot pull requests get neither an OIDC token nor secrets.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert f"github.actor != '{DEPENDABOT}'" in job["if"]
    runs = resolved(job)
    assert make_calls(runs) == ["make setup", f"make preview-{layer} ENV={PREVIEW_ENV}"]
    # In the preview environment, never in a deploy environment (whose role can deploy).
    assert runs["environment"] == PREVIEW_GITHUB_ENV
    assert PREVIEW_GITHUB_ENV not in ENVS


# A model of how GitHub decides to run a preview job, for the clauses the preview jobs use; an unknown clause fails.
def preview_runs(job: Mapping[str, Any], changed: AbstractSet[str], actor: str, head_repo: str) -> bool:
    """Whether a preview job runs for a pull request of ``actor`` from ``head_repo`` into ``owner/repo``."""
    for clause in conditions(job["if"]):
        if match := re.fullmatch(r"needs\.changes\.outputs\.(\w+) == 'true'", clause):
            holds = match[1] in changed
        elif clause == "github.event.pull_request.head.repo.full_name == github.repository":
            holds = head_repo == "owner/repo"
        elif match := re.fullmatch(r"github\.actor != '([\w\[\].-]+)'", clause):
            holds = actor != match[1]
        else:
            raise AssertionError(f"the preview-condition model does not know the clause {clause!r}")
        if not holds:
            return False
    return True


def previews_run(changed: AbstractSet[str], actor: str = "octocat", head_repo: str = "owner/repo") -> list[str]:
    return [
        layer for layer in LAYERS if preview_runs(jobs(PULL_REQUEST)[f"preview-{layer}"], changed, actor, head_repo)
    ]


def test_a_pull_request_from_a_branch_previews_the_changed_layers() -> None:
    assert previews_run(changed=set(LAYERS)) == list(LAYERS)
    assert previews_run(changed={"edge"}) == ["edge"]
    assert previews_run(changed=set()) == []


def test_a_fork_pull_request_skips_every_live_preview() -> None:
    assert previews_run(changed=set(LAYERS), head_repo="someone/repo") == []


def test_a_dependabot_pull_request_skips_every_live_preview_but_runs_the_offline_gate() -> None:
    # Dependabot bumps the pinned actions: the workflow files mark all four layers, and none may run live (no
    # OIDC token, no Actions secrets), while the test job still runs make test and make check.
    changed = {
        name
        for name, rules in filters(PULL_REQUEST).items()
        if any(glob_matches(r, ".github/workflows/pull-request.yml") for r in rules)
    }
    assert changed == set(LAYERS)
    assert previews_run(changed, actor=DEPENDABOT) == []
    assert previews_run(changed, actor="dependabot") == list(LAYERS), "only the bot itself is skipped"
    gate = jobs(PULL_REQUEST)["test"]
    assert "if" not in gate
    assert {"make test", "make check"} <= set(make_calls(gate))


def test_pull_request_has_no_other_jobs() -> None:
    assert set(jobs(PULL_REQUEST)) == {"test", "diff", "changes"} | {f"preview-{layer}" for layer in LAYERS}


# --- the diff comment --------------------------------------------------------------------------------------------

DIFF_JOB = "diff"
DIFF_TOOL = ".venv/bin/python -m tools.diff.github"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


def diff_step(run: str) -> dict[str, Any]:
    (step,) = [s for s in steps(jobs(PULL_REQUEST)[DIFF_JOB]) if str(s.get("run", "")).strip() == run]
    return step


def test_the_diff_job_runs_make_diff_against_the_base_branch_with_its_history() -> None:
    job = jobs(PULL_REQUEST)[DIFF_JOB]
    assert make_calls(job) == ["make setup", "make diff BASE=origin/${{ github.base_ref }}"]
    (checkout,) = [s for s in steps(job) if action(s) == "actions/checkout"]
    # make diff checks the base branch out of the local clone: the whole history, and no token left behind.
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}
    # Offline and without secrets, it runs for every pull request, forks and Dependabot's included.
    assert "if" not in job
    assert "secrets." not in json.dumps(job)


def test_the_diff_job_may_write_pull_request_comments_and_nothing_else() -> None:
    assert jobs(PULL_REQUEST)[DIFF_JOB]["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_the_diff_is_posted_even_when_make_diff_fails_and_commented_only_where_the_token_can_write() -> None:
    summary, comment = diff_step(f"{DIFF_TOOL} --summary"), diff_step(f"{DIFF_TOOL} --comment")
    for step in (summary, comment):
        # A failing make diff (a new mandatory violation) is the report a reviewer most needs.
        assert "!cancelled()" in step["if"] and "steps.diff.conclusion != 'skipped'" in step["if"]
    # Forks' and Dependabot's runs get a read-only token: their diff goes to the job summary only.
    assert SAME_REPOSITORY in comment["if"] and f"github.actor != '{DEPENDABOT}'" in comment["if"]
    assert SAME_REPOSITORY not in summary["if"]
    assert comment["env"] == {"GH_TOKEN": "${{ github.token }}", "PR_NUMBER": "${{ github.event.pull_request.number }}"}


def test_the_cost_warning_threshold_is_a_repository_variable() -> None:
    assert diff_step(f"{DIFF_TOOL} --summary")["env"] == {
        "COST_INCREASE_WARN_USD": "${{ vars.COST_INCREASE_WARN_USD }}"
    }


# --- deploy --------------------------------------------------------------------------------------------------


def test_deploy_has_one_up_job_per_environment_and_layer() -> None:
    expected = {"test", "changes"} | {up_job_id(env, layer) for env, layer in DEPLOY_ORDER}
    assert set(jobs(DEPLOY)) == expected


@pytest.mark.parametrize(("env", "layer"), DEPLOY_ORDER, ids=[up_job_id(e, la) for e, la in DEPLOY_ORDER])
def test_up_job_runs_its_own_layer_in_its_own_environment(env: str, layer: str) -> None:
    job = jobs(DEPLOY)[up_job_id(env, layer)]
    runs = resolved(job)
    assert make_calls(runs) == ["make setup", f"make up-{layer} ENV={env}"]
    assert runs["environment"] == env
    # On the caller, which holds the group while the called workflow runs (never also in pulumi-layer.yml).
    assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}


@pytest.mark.parametrize(("env", "layer"), DEPLOY_ORDER, ids=[up_job_id(e, la) for e, la in DEPLOY_ORDER])
def test_up_jobs_are_chained_in_environment_then_layer_order(env: str, layer: str) -> None:
    index = DEPLOY_ORDER.index((env, layer))
    job = jobs(DEPLOY)[up_job_id(env, layer)]
    # Every earlier job, not just the previous one: needs.*.result only sees direct needs.
    assert job["needs"] == ["test", "changes", *(up_job_id(e, la) for e, la in DEPLOY_ORDER[:index])]
    clauses = conditions(job["if"])
    assert "!cancelled()" in clauses
    assert f"needs.changes.outputs.{layer} == 'true'" in clauses
    assert "always()" not in job["if"], "always() would start an up after someone cancelled the run"


PRODUCTION_ENVS = [name for name, env in environments().items() if env.environment_class.name == PRODUCTION]


@pytest.mark.parametrize("env", PRODUCTION_ENVS)
def test_production_jobs_deploy_into_their_protected_github_environment(env: str) -> None:
    # The gate is the protection of the GitHub environment named after the matrix's environment (required reviewers,
    # set in the repository settings): each layer's job runs in it, and the generated comment above the jobs says so.
    for layer in LAYERS:
        assert resolved(jobs(DEPLOY)[up_job_id(env, layer)])["environment"] == env
    assert f"  # Production class: the {env} GitHub environment must be protected (required reviewers" in (
        DEPLOY.read_text()
    )


def test_deploy_runs_the_offline_gate_first() -> None:
    assert {"make test", "make check"} <= set(make_calls(jobs(DEPLOY)["test"]))


def test_a_newer_push_cancels_only_what_runs_before_any_up() -> None:
    # The gate and the changes job of an older run are cancelled by a newer push (which deploys their changes too,
    # measured from the last successful deploy); a running up never is.
    # Not for the whole run: a run waiting for its prod approval would hold back the next push's gate.
    assert "concurrency" not in load(DEPLOY)
    deploy_jobs = jobs(DEPLOY)
    for job_id in ("test", "changes"):
        assert deploy_jobs[job_id]["concurrency"] == {"group": f"deploy/{job_id}", "cancel-in-progress": True}
    # Their own groups: in a group of an environment's up jobs they would cancel those, or be queued behind them. A
    # `/` keeps them apart from deploy-<env> whatever the environment is called (a name cannot hold one).
    up_groups = {deploy_jobs[up_job_id(env, layer)]["concurrency"]["group"] for env, layer in DEPLOY_ORDER}
    assert not up_groups & {"deploy/test", "deploy/changes"}
    with pytest.raises(ValueError, match=re.escape("environments.te/st: a name of lower-case letters")):
        matrix_with({"te/st": {"class": "development"}})
    # Cancelled, they are not successes: none of this run's up jobs starts.
    assert ran(simulate(changed=set(LAYERS), gate="cancelled")) == []


# A model of how GitHub decides to run a job, for the clauses the deploy jobs use. An unknown clause fails the
# test, so the conditions stay simple enough to reason about.
def conditions(expression: str) -> list[str]:
    """The ``&&``-joined clauses of a job's ``if``."""
    return [clause.strip() for clause in expression.split("&&")]


def evaluate(clause: str, needs: Mapping[str, str], changed: AbstractSet[str]) -> bool:
    """One clause, given the results of the job's needs and the layers the change marks."""
    if clause == "!cancelled()":
        return True
    if match := re.fullmatch(r"needs\.([\w-]+)\.result == '(\w+)'", clause):
        return needs[match[1]] == match[2]
    if match := re.fullmatch(r"needs\.changes\.outputs\.(\w+) == 'true'", clause):
        return match[1] in changed
    if match := re.fullmatch(r"!contains\(needs\.\*\.result, '(\w+)'\)", clause):
        return match[1] not in needs.values()
    raise AssertionError(f"the job-condition model does not know the clause {clause!r}")


def simulate(
    changed: AbstractSet[str], failing: AbstractSet[str] = frozenset(), gate: str = "success"
) -> dict[str, str]:
    """Each up job's result for one push: 'success', 'failure' (if listed in failing) or 'skipped'."""
    results = {"test": gate, "changes": "success"}
    for env, layer in DEPLOY_ORDER:
        job_id = up_job_id(env, layer)
        job = jobs(DEPLOY)[job_id]
        needs = {name: results[name] for name in job["needs"]}
        runs = all(evaluate(clause, needs, changed) for clause in conditions(job["if"]))
        results[job_id] = ("failure" if job_id in failing else "success") if runs else "skipped"
    return {job_id: result for job_id, result in results.items() if job_id.startswith("up-")}


def ran(results: Mapping[str, str]) -> list[str]:
    return [job_id for job_id, result in results.items() if result != "skipped"]


def test_a_skipped_upstream_does_not_block_a_changed_downstream() -> None:
    results = simulate(changed={"compute", "edge"})
    assert ran(results) == [up_job_id(env, layer) for env in ENVS for layer in ("compute", "edge")]


def test_a_failed_layer_stops_every_later_layer_and_environment() -> None:
    first = ENVS[0]
    results = simulate(changed=set(LAYERS), failing={up_job_id(first, LAYERS[1])})
    assert ran(results) == [up_job_id(first, LAYERS[0]), up_job_id(first, LAYERS[1])]


def test_a_failure_blocks_later_layers_even_across_skipped_ones() -> None:
    # The last environment's edge job directly needs only skipped jobs between it and the failure in the first one;
    # the failure must still stop it.
    results = simulate(changed={LAYERS[-1]}, failing={up_job_id(ENVS[0], LAYERS[-1])})
    assert ran(results) == [up_job_id(ENVS[0], LAYERS[-1])]


def test_nothing_deploys_when_the_offline_gate_fails() -> None:
    assert ran(simulate(changed=set(LAYERS), gate="failure")) == []


def test_nothing_deploys_when_nothing_changed() -> None:
    assert ran(simulate(changed=set())) == []


# --- the reusable layer workflow -------------------------------------------------------------------------------


def expected_layer_calls() -> dict[tuple[Path, str], dict[str, str]]:
    """Every call of pulumi-layer.yml there should be, with the inputs it should pass."""
    previews = {
        (PULL_REQUEST, f"preview-{layer}"): {"command": "preview", "layer": layer, "environment": PREVIEW_ENV}
        for layer in LAYERS
    }
    roles = {name: env.ci_role_arn for name, env in environments().items()}
    ups = {
        (DEPLOY, up_job_id(env, layer)): {"command": "up", "layer": layer, "environment": env}
        # The matrix's CI role, only where it names one: the others take their GitHub environment's AWS_ROLE_ARN.
        | ({"ci_role_arn": role} if (role := roles[env]) else {})
        for env, layer in DEPLOY_ORDER
    }
    return previews | ups


def test_every_preview_and_up_job_calls_the_layer_workflow_and_nothing_else_does() -> None:
    found = {(path, job_id) for path in CALLERS for job_id in layer_jobs(path)}
    assert found == set(expected_layer_calls())
    assert not layer_jobs(PULUMI_LAYER), "the layer workflow calls itself"


@pytest.mark.parametrize(
    ("path", "job_id"), list(expected_layer_calls()), ids=[job_id for _, job_id in expected_layer_calls()]
)
def test_caller_passes_its_own_command_layer_and_environment(path: Path, job_id: str) -> None:
    job = jobs(path)[job_id]
    assert job["with"] == expected_layer_calls()[(path, job_id)]
    # Exactly the secrets the called workflow declares, each under its own name: never `inherit`, which hands
    # over every secret of the repository (pulumi-layer.yml says why the names must still be passed).
    assert job["secrets"] == {name: f"${{{{ secrets.{name} }}}}" for name in declared_secrets()}


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_callers_pass_every_input_and_only_known_values(path: Path) -> None:
    roles = {env.ci_role_arn for env in environments().values() if env.ci_role_arn}
    known = {"command": set(COMMANDS), "layer": set(LAYERS), "environment": set(ENVS), "ci_role_arn": roles}
    assert set(declared_inputs()) == set(known)
    required = {name for name, spec in declared_inputs().items() if spec["required"]}
    for job_id, job in layer_jobs(path).items():
        assert required <= set(job["with"]) <= set(known), job_id
        for name, value in job["with"].items():
            # A string, as declared: YAML would hand GitHub a boolean or a number for an unquoted `on` or `1`.
            assert isinstance(value, str), f"{job_id}: {name} = {value!r}"
            assert value in known[name], f"{job_id}: {name} = {value!r}"


def test_layer_workflow_declares_exactly_the_secrets_it_reads() -> None:
    # A secret it reads but does not declare would be empty (callers can pass only declared names); one it declares
    # but never reads would be handed over for nothing.
    used = set(re.findall(r"\$\{\{\s*secrets\.(\w+)", json.dumps(load(PULUMI_LAYER))))
    assert used == set(declared_secrets()) == {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"}
    # Optional: a self-managed backend needs only the passphrase, Pulumi Cloud only the token.
    assert {name: spec["required"] for name, spec in declared_secrets().items()} == dict.fromkeys(used, False)


def test_layer_workflow_inputs_are_strings_and_all_it_uses() -> None:
    for name, spec in declared_inputs().items():
        assert spec["type"] == "string", name
    # What to run is always passed; the CI role only where the matrix names one (empty: the environment's variable).
    assert {name: spec["required"] for name, spec in declared_inputs().items()} == {
        "command": True,
        "layer": True,
        "environment": True,
        "ci_role_arn": False,
    }
    assert declared_inputs()["ci_role_arn"]["default"] == ""
    used = set(re.findall(r"\binputs\.([\w-]+)", PULUMI_LAYER.read_text()))
    assert used == set(declared_inputs())


@pytest.mark.parametrize("command", [*COMMANDS, "upp", "destroy", ""])
def test_exactly_one_layer_job_runs_for_any_command(command: str) -> None:
    # An unknown command must not skip both jobs (a green run that did nothing): it lands in a job that checks it.
    inputs = {"command": command, "layer": LAYERS[0], "environment": PREVIEW_ENV}
    selected = [job_id for job_id, job in jobs(PULUMI_LAYER).items() if runs_with(job, inputs)]
    assert len(selected) == 1, selected
    if command in COMMANDS:
        assert selected == [command]


def run_step(
    step: Mapping[str, Any], env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A ``run:`` step run the way GitHub runs a bash step, with only ``env`` (and PATH) in its environment."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def named_step(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The job's one step called ``name``."""
    (step,) = [s for s in steps(job) if s.get("name") == name]
    return step


def check_inputs(
    job: Mapping[str, Any], command: str, layer: str, env: str, root: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """The job's input check for these inputs, run in a checkout at ``root``."""
    step = named_step(job, CHECK_INPUTS)
    bound = bind(step["env"], {"command": command, "layer": layer, "environment": env})
    return run_step(step, bound, cwd=root)


def configuration_step(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job's configuration check."""
    return named_step(job, CHECK_CONFIGURATION)


VARIABLE = re.compile(r"\bvars\.(\w+)")


@pytest.mark.parametrize("command", COMMANDS)
def test_layer_job_checks_its_configuration_before_any_aws_or_pulumi_step(command: str) -> None:
    job = jobs(PULUMI_LAYER)[command]
    names = [s.get("name") for s in steps(job)]
    # The checkout (which the input check reads), then the two checks, before any other action (Python, Pulumi, AWS)
    # and before make.
    assert action(steps(job)[0]) == "actions/checkout"
    assert names[1:3] == [CHECK_INPUTS, CHECK_CONFIGURATION]
    assert all("uses" not in s and not str(s.get("run", "")).startswith("make") for s in steps(job)[1:3])
    step = configuration_step(job)
    checked = {name for name, value in step["env"].items() if VARIABLE.search(value)}
    # Exactly the variables the job needs: every vars.* a later step reads, less the ones that may stay unset.
    used = {match[1] for later in steps(job) if later is not step for match in VARIABLE.finditer(json.dumps(later))}
    assert checked == used - OPTIONAL_VARIABLES
    assert {"PULUMI_BACKEND_URL", ROLE_VARIABLE[command]} == checked
    for name in checked:
        # Passed through env, and the same variable the later steps read.
        assert step["env"][name] == f"${{{{ vars.{name} }}}}", name
    # No region variable: the region is the environment's stack files' (the region step).
    assert "AWS_REGION" not in json.dumps(job)
    # The message names the environment the job runs in; the up job also knows whether the matrix names the role.
    assert step["env"]["JOB_ENVIRONMENT"] == job["environment"]
    others = {name: value for name, value in step["env"].items() if name not in checked | {"JOB_ENVIRONMENT"}}
    assert others == ({"CI_ROLE_ARN": "${{ inputs.ci_role_arn }}"} if command == "up" else {})


def run_configuration_check(command: str, values: Mapping[str, str], env: str = PREVIEW_ENV) -> tuple[int, str]:
    """The check's exit status and output, with ``values`` as the variables GitHub resolved (absent = unset)."""
    step = configuration_step(jobs(PULUMI_LAYER)[command])
    bound = bind(step["env"], {"command": command, "layer": LAYERS[0], "environment": env, "ci_role_arn": ""})
    given = {"JOB_ENVIRONMENT": bound["JOB_ENVIRONMENT"], **values}
    done = run_step(step, given)
    return done.returncode, done.stdout + done.stderr


ROLE = "arn:aws:iam::123456789012:role/gha"


def configured(command: str) -> dict[str, str]:
    return {"PULUMI_BACKEND_URL": "s3://acme-state/student-helper", ROLE_VARIABLE[command]: ROLE}


@pytest.mark.parametrize("command", COMMANDS)
def test_the_configuration_check_passes_when_everything_is_set(command: str) -> None:
    code, output = run_configuration_check(command, configured(command))
    assert (code, output) == (0, "")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("variable", ["PULUMI_BACKEND_URL", "role"])
@pytest.mark.parametrize("value", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_the_configuration_check_fails_naming_the_missing_variable_and_where_to_set_it(
    command: str, variable: str, value: str | None
) -> None:
    name = ROLE_VARIABLE[command] if variable == "role" else variable
    env = ENVS[-1]
    github_env = PREVIEW_GITHUB_ENV if command == "preview" else env
    values = configured(command)
    if value is None:
        del values[name]
    else:
        values[name] = value
    code, output = run_configuration_check(command, values, env=env)
    assert code != 0
    errors = [line for line in output.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, output
    assert name in errors[0]
    assert f"Settings → Environments → {github_env}" in errors[0]
    # The role is per environment; the backend may also be set once for the repository.
    assert ("Settings → Secrets and variables → Actions" in errors[0]) == (variable != "role")
    if name == "PULUMI_BACKEND_URL":
        assert "file backend" in errors[0], "say why an empty backend URL is dangerous"
    if command == "up" and variable == "role":
        # The other place a deploy role can come from: the matrix.
        assert f"shared/environment_matrix.yaml (ci_role_arn of {env}, then make workflows)" in errors[0]


def test_a_role_from_the_matrix_needs_no_role_variable() -> None:
    values = {"PULUMI_BACKEND_URL": "s3://acme-state/student-helper", "CI_ROLE_ARN": ROLE}
    assert run_configuration_check("up", values, env=ENVS[-1]) == (0, "")
    # A blank role from the caller is no role.
    code, output = run_configuration_check("up", {**values, "CI_ROLE_ARN": " "}, env=ENVS[-1])
    assert code != 0
    assert "::error::The variable AWS_ROLE_ARN is empty or not set" in output


@pytest.mark.parametrize("command", COMMANDS)
def test_the_configuration_check_reports_every_missing_variable(command: str) -> None:
    code, output = run_configuration_check(command, {})
    assert code != 0
    errors = [line for line in output.splitlines() if line.startswith("::error::")]
    assert [next(name for name in configured(command) if name in line) for line in errors] == list(configured(command))


def test_nothing_skips_the_preview_an_up_prints_before_it_applies() -> None:
    # GitHub asks for the prod approval before the up job starts; what the log then records of the prod changes is
    # the preview `pulumi up` prints before it applies them, which --skip-preview would drop.
    sources = [REPO_ROOT / "Makefile", *REPO_ROOT.glob("mk/*.mk"), *REPO_ROOT.glob("tools/deploy/*.py")]
    for source in sources:
        assert "--skip-preview" not in source.read_text(), source


@pytest.mark.parametrize("command", COMMANDS)
def test_layer_job_accepts_every_layer_of_every_environment_and_nothing_else(command: str) -> None:
    job = jobs(PULUMI_LAYER)[command]
    for env in ENVS:
        for layer in LAYERS:
            done = check_inputs(job, command, layer, env)
            assert done.returncode == 0, (command, layer, env, done.stdout)
    wrong = {
        (other, LAYERS[0], ENVS[0]): f"command must be preview or up, not '{other}'"
        for other in (*(c for c in COMMANDS if c != command), "upp", "", "up;id")
    } | {
        (command, "networks", ENVS[0]): "unknown layer 'networks': no stacks/networks/Pulumi.yaml",
        (command, "", ENVS[0]): "'' is not a layer or environment name",
        (command, "edge x", ENVS[0]): "'edge x' is not a layer or environment name",
        (command, "../stacks/edge", ENVS[0]): "'../stacks/edge' is not a layer or environment name",
        (command, LAYERS[0], "production"): (
            f"unknown environment 'production': no stacks/{LAYERS[0]}/Pulumi.production.yaml (an environment is an "
            "entry of shared/environment_matrix.yaml and a stack file per layer)"
        ),
        (command, LAYERS[0], ""): "'' is not a layer or environment name",
        (command, LAYERS[0], "-h"): "'-h' is not a layer or environment name",
        (command, LAYERS[0], "Dev"): "'Dev' is not a layer or environment name",
    }
    for inputs, message in wrong.items():
        done = check_inputs(job, *inputs)
        assert done.returncode != 0, inputs
        assert done.stdout.strip() == f"::error::{message}", inputs


@pytest.mark.parametrize("command", COMMANDS)
def test_the_input_check_follows_the_stack_files_not_a_list(command: str, tmp_path: Path) -> None:
    # An environment is a stack file per layer: one added to the checkout is accepted with no change to the workflow.
    job = jobs(PULUMI_LAYER)[command]
    (tmp_path / "stacks" / LAYERS[0]).mkdir(parents=True)
    (tmp_path / "stacks" / LAYERS[0] / "Pulumi.yaml").write_text("name: x\n")
    assert check_inputs(job, command, LAYERS[0], "perf", root=tmp_path).returncode != 0
    (tmp_path / "stacks" / LAYERS[0] / "Pulumi.perf.yaml").write_text("config: {}\n")
    assert check_inputs(job, command, LAYERS[0], "perf", root=tmp_path).returncode == 0
    assert check_inputs(job, command, LAYERS[1], "perf", root=tmp_path).returncode != 0


@pytest.mark.parametrize("command", COMMANDS)
def test_layer_job_runs_make_with_the_inputs_from_env(command: str) -> None:
    job = jobs(PULUMI_LAYER)[command]
    make_step = steps(job)[-1]
    assert make_step["run"] == f'make "{command}-$LAYER" ENV="$STACK_ENV"'
    assert make_step["env"]["LAYER"] == "${{ inputs.layer }}"
    assert make_step["env"]["STACK_ENV"] == "${{ inputs.environment }}"
    for env in ENVS:
        for layer in LAYERS:
            caller = {
                "uses": f"{SELF}.github/workflows/pulumi-layer.yml",
                "with": {"command": command, "layer": layer, "environment": env},
            }
            assert make_calls(resolved(caller)) == ["make setup", f"make {command}-{layer} ENV={env}"]


def test_each_layer_job_runs_in_its_own_github_environment() -> None:
    # Environment-scoped variables and secrets, and an OIDC subject repo:<owner>/<repo>:environment:<name>.
    layer_jobs_by_command = jobs(PULUMI_LAYER)
    assert set(layer_jobs_by_command) == set(COMMANDS)
    for job_id, job in layer_jobs_by_command.items():
        assert "environment" in job, job_id
    assert layer_jobs_by_command["preview"]["environment"] == PREVIEW_GITHUB_ENV
    assert layer_jobs_by_command["up"]["environment"] == "${{ inputs.environment }}"


def test_the_layer_workflow_sets_no_concurrency() -> None:
    # The callers hold deploy-<env> while the called workflow runs; the same group here would deadlock with them.
    assert "concurrency" not in load(PULUMI_LAYER)
    for job_id, job in jobs(PULUMI_LAYER).items():
        assert "concurrency" not in job, job_id


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_aws_session_names_the_caller_job(path: Path) -> None:
    # CloudTrail shows which job of which run assumed the role.
    for job_id, job in layer_jobs(path).items():
        (step,) = [s for s in steps(resolved(job)) if action(s) == AWS_CREDENTIALS]
        assert step["with"]["role-session-name"] == f"gha-${{{{ github.run_id }}}}-{job_id}"


def test_the_up_session_outlives_the_up_timeout() -> None:
    # Credentials that expire mid-up leave the stack with pending operations.
    for job_id, job in layer_jobs(DEPLOY).items():
        runs = resolved(job)
        (step,) = [s for s in steps(runs) if action(s) == AWS_CREDENTIALS]
        assert int(step["with"]["role-duration-seconds"]) > 60 * runs["timeout-minutes"], job_id


# --- pins, credentials, permissions ----------------------------------------------------------------------------


def uses_lines(path: Path) -> Iterator[str]:
    """Every ``uses:`` line that runs code from elsewhere (a call of this repository's own workflows excepted)."""
    for line in path.read_text().splitlines():
        match = USES_LINE.match(line)
        if match and not match["ref"].startswith(SELF):
            yield line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_release_tag(path: Path) -> None:
    for line in uses_lines(path):
        match = PINNED_USES.match(line)
        assert match, f"{path.name}: not pinned as `owner/repo@<sha> # vX.Y.Z`: {line.strip()}"
        assert SHA.match(match["ref"]), f"{path.name}: {match['action']} is pinned to {match['ref']}, not a commit"


def test_each_action_is_pinned_to_one_release_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        for line in uses_lines(path):
            match = PINNED_USES.match(line)
            assert match, line
            pins.setdefault(match["action"], set()).add((match["ref"], match["tag"]))
    assert {name: len(found) for name, found in pins.items()} == dict.fromkeys(pins, 1), pins
    # The parsed steps agree with the raw lines (no `uses:` hidden in a block scalar or flow mapping).
    parsed = {s["uses"] for p in WORKFLOWS for job in jobs(p).values() for s in steps(job) if "uses" in s}
    assert parsed == {f"{name}@{ref}" for name, found in pins.items() for ref, _ in found}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_local_calls_are_jobs_that_call_a_reusable_workflow_here(path: Path) -> None:
    raw = [USES_LINE.match(line) for line in path.read_text().splitlines()]
    local = sorted(m["ref"] for m in raw if m and m["ref"].startswith(SELF))
    parsed = sorted(job["uses"] for job in jobs(path).values() if "uses" in job)
    assert local == parsed, "a local `uses:` outside a job's own `uses`"
    for ref in set(parsed):
        match = LOCAL_WORKFLOW.fullmatch(ref)
        assert match, ref
        assert WORKFLOW_DIR / match["file"] in WORKFLOWS, ref
        assert "workflow_call" in load(WORKFLOW_DIR / match["file"])["on"], ref


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_checkout_keeps_git_credentials(path: Path) -> None:
    # No step after a checkout runs git against the remote; a kept token could only leak (zizmor's artipacked).
    for job_id, job in jobs(path).items():
        for step in steps(job):
            if action(step) == "actions/checkout":
                assert step["with"]["persist-credentials"] is False, f"{path.name}: {job_id}"


@pytest.mark.parametrize("path", [*WORKFLOWS, REPO_ROOT / ".github" / "dependabot.yml"], ids=lambda p: p.name)
def test_no_long_lived_aws_keys(path: Path) -> None:
    text = path.read_text().lower()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "aws_secret_access_key", "aws_access_key_id"):
        assert forbidden not in text, f"{path.name} mentions {forbidden}: use OIDC role assumption"


def touches_aws(job: Mapping[str, Any]) -> bool:
    """Whether the job, or any job it calls, assumes an AWS role."""
    if called_workflow(job) is None:
        return any(action(s) == AWS_CREDENTIALS for s in steps(job))
    return any(action(s) == AWS_CREDENTIALS for called in called_jobs(job).values() for s in steps(called))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege(path: Path) -> None:
    assert load(path)["permissions"] == {"contents": "read"}
    for job_id, job in jobs(path).items():
        granted = job.get("permissions", {})
        # A called workflow gets an OIDC token only if its caller grants one.
        assert (granted.get("id-token") == "write") == touches_aws(job), f"{path.name}: {job_id} id-token"
        # The diff job alone writes: its pull-request comment.
        may_write = {"id-token"} | ({"pull-requests"} if (path, job_id) == (PULL_REQUEST, DIFF_JOB) else set())
        assert "write" not in {level for scope, level in granted.items() if scope not in may_write}, job_id


LEVELS = {"none": 0, "read": 1, "write": 2}


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_called_jobs_ask_for_no_more_than_their_caller_grants(path: Path) -> None:
    # GitHub refuses to start a called job that asks for more than its caller passes down. Every called job is
    # checked, not only the one the inputs select.
    for job_id, job in layer_jobs(path).items():
        granted = job["permissions"]
        for called_id, called in jobs(PULUMI_LAYER).items():
            for scope, level in called["permissions"].items():
                assert LEVELS[level] <= LEVELS[granted.get(scope, "none")], f"{job_id} -> {called_id}: {scope}"


def expected_role(path: Path, job: Mapping[str, Any]) -> str:
    """The role a caller's job assumes: the preview role, or the matrix's ci_role_arn, else the environment's
    AWS_ROLE_ARN variable."""
    if path == PULL_REQUEST:
        return "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    return environments()[job["with"]["environment"]].ci_role_arn or "${{ vars.AWS_ROLE_ARN }}"


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_aws_credentials_come_from_an_assumed_role_in_the_stack_files_region(path: Path) -> None:
    for job_id, job in layer_jobs(path).items():
        runs = resolved(job)
        (step,) = [s for s in steps(runs) if action(s) == AWS_CREDENTIALS]
        assert step["with"]["role-to-assume"] == expected_role(path, job), job_id
        assert step["with"]["aws-region"] == REGION_OUTPUT, job_id
        assert set(step["with"]) <= {"role-to-assume", "role-session-name", "role-duration-seconds", "aws-region"}
        # The region step runs before it, after make setup (it runs the repository's Python).
        order = [s.get("id") or s.get("run") or action(s) for s in steps(runs)]
        assert order.index("make setup") < order.index("region") < order.index(AWS_CREDENTIALS), job_id
    # Every layer job assumes a role (here, not by some other way of getting credentials).
    for job_id, job in layer_jobs(path).items():
        assert touches_aws(job), job_id


def region_step(command: str) -> dict[str, Any]:
    """The layer job's step that finds the environment's region."""
    (step,) = [s for s in steps(jobs(PULUMI_LAYER)[command]) if s.get("id") == "region"]
    return step


def run_region_step(command: str, env: str, root: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The region step run in a checkout at ``root`` (with this checkout's virtualenv), and what it wrote to
    GITHUB_OUTPUT."""
    step = region_step(command)
    if not (root / ".venv").exists():
        (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    bound = bind(step["env"], {"command": command, "layer": LAYERS[0], "environment": env})
    done = run_step(step, {**bound, "GITHUB_OUTPUT": str(outputs)}, cwd=root)
    return done, outputs.read_text()


def stack_region(env: str) -> str:
    """The region the network stack file of ``env`` names."""
    document = yamlio.load((REPO_ROOT / "stacks" / LAYERS[0] / f"Pulumi.{env}.yaml").read_text())
    region: str = document["config"]["aws:region"]
    return region


@pytest.mark.parametrize("command", COMMANDS)
def test_the_region_step_outputs_the_region_of_the_environments_stack_files(command: str, tmp_path: Path) -> None:
    for env in ENVS:
        done, outputs = run_region_step(command, env, REPO_ROOT, tmp_path)
        assert done.returncode == 0, done.stderr
        assert outputs == f"region={stack_region(env)}\n"


def stack_checkout(tmp_path: Path) -> Path:
    """What the region step reads of a checkout: the stacks and the code that reads them."""
    root = tmp_path / "checkout"
    for folder in ("shared", "tools", "stacks"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize("change", ["disagree", "unset"])
def test_the_region_step_fails_naming_each_layers_region(tmp_path: Path, change: str) -> None:
    root, env = stack_checkout(tmp_path), ENVS[0]
    stack_file = root / "stacks" / LAYERS[1] / f"Pulumi.{env}.yaml"
    region = stack_region(env)
    found = {"disagree": "eu-west-1", "unset": ""}[change]
    stack_file.write_text(stack_file.read_text().replace(f"  aws:region: {region}\n", f"  aws:region: '{found}'\n"))
    done, outputs = run_region_step("up", env, root, tmp_path)
    assert done.returncode != 0
    assert outputs == ""
    regions = ", ".join(f"{layer}={(found or '<unset>') if layer == LAYERS[1] else region}" for layer in LAYERS)
    assert done.stderr.startswith(f"region: the layers' Pulumi.{env}.yaml files must name one region; found {regions}")


def test_the_region_step_fails_naming_a_missing_stack_file(tmp_path: Path) -> None:
    root, env = stack_checkout(tmp_path), ENVS[0]
    missing = root / "stacks" / LAYERS[-1] / f"Pulumi.{env}.yaml"
    missing.unlink()
    done, outputs = run_region_step("up", env, root, tmp_path)
    assert (done.returncode, outputs) == (2, "")
    assert done.stderr == (
        f"region: {LAYERS[-1]}: no stack file {missing} for stack '{env}' (an environment has one stack file per "
        "layer)\n"
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_interpolate_nothing(path: Path) -> None:
    # Secrets and contexts reach a command through env only: nothing is pasted into a script (no injection, no
    # secret in the rendered command line).
    for job_id, job in jobs(path).items():
        for step in steps(job):
            assert "${{" not in str(step.get("run", "")), f"{path.name}: {job_id} interpolates into a script"
    for match in re.finditer(r"\$\{\{\s*secrets\.(\w+)", json.dumps(load(path))):
        assert match[1] in declared_secrets(), match[0]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout(path: Path) -> None:
    for job_id, job in runner_jobs(path):
        assert 0 < job.get("timeout-minutes", 0) <= 120, f"{path.name}: {job_id}"


def pulumi_pin() -> str:
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d.split("==", 1)[1] for d in dependencies if d.startswith("pulumi=="))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_pulumi_jobs_install_the_cli_with_the_official_action_at_the_sdk_version(path: Path) -> None:
    for job_id, job in runner_jobs(path):
        runs_pulumi = any(re.match(r"make (preview|up)-", call) for call in make_calls(job))
        installs = [s for s in steps(job) if action(s) == PULUMI_ACTION]
        assert bool(installs) == runs_pulumi, job_id
        for step in installs:
            # No `command`: the action only installs the CLI and `make` drives it.
            assert step["with"] == {"pulumi-version": pulumi_pin()}, job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_python_version_is_inside_requires_python(path: Path) -> None:
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires.startswith(">="), f"requires-python {requires}: teach this test the new form"
    minimum = tuple(int(part) for part in requires.removeprefix(">=").split("."))
    versions = {
        s["with"]["python-version"] for _, job in runner_jobs(path) for s in steps(job) if "setup-python" in action(s)
    }
    assert versions, path.name
    for version in versions:
        assert tuple(int(part) for part in version.split(".")) >= minimum, version


def test_every_make_target_the_workflows_call_exists() -> None:
    calls = {call for path in CALLERS for _, job in runner_jobs(path) for call in make_calls(job)}
    assert {f"make {command}-{layer} ENV={PREVIEW_ENV}" for command in COMMANDS for layer in LAYERS} <= calls
    for call in sorted(calls):
        done = subprocess.run(
            [*call.split(), "--dry-run", "--no-print-directory", "PULUMI=true"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "No rule to make target" not in done.stderr, f"{call}: {done.stderr}"


# --- the generator: make workflows ------------------------------------------------------------------------------


def matrix_with(extra: Mapping[str, Any]) -> dict[str, Environment]:
    """The repository's environments plus ``extra`` (matrix entries by name), validated as the matrix is."""
    document = yamlio.load(MATRIX_PATH.read_text())
    document["environments"] = {**document["environments"], **extra}
    return parse_matrix(document)


def test_the_generated_jobs_are_up_to_date() -> None:
    assert generator.main(["--check"]) == 0, "stale: run `make workflows`"


def test_the_check_fails_when_a_generated_job_is_edited_by_hand() -> None:
    text = DEPLOY.read_text()
    edited = replaced(text, "      group: deploy-", "      group: deploys-")
    assert generator.render(DEPLOY, edited, environments()) == text
    with pytest.raises(
        generator.WorkflowError, match=re.escape("deploy.yml: the document must hold exactly one section")
    ):
        generator.render(DEPLOY, text.replace("# END up jobs", "# END"), environments())


def outside_generated_sections(path: Path) -> list[str]:
    """The lines of a workflow outside its generated sections, comments left out: what is written by hand."""
    text = re.sub(r"# BEGIN ([\w ]+):.*?# END \1\n", "", path.read_text(), flags=re.S)
    return [line for line in text.splitlines() if not line.strip().startswith("#")]


def names_in(lines: list[str], names: tuple[str, ...]) -> list[str]:
    """The lines that name any of ``names`` as a word of its own (``/dev/null`` names no environment)."""
    pattern = re.compile(rf"(?<![\w/.-])({'|'.join(map(re.escape, names))})(?![\w/.-])")
    return [line for line in lines if pattern.search(line)]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_environment_is_written_by_hand(path: Path) -> None:
    assert names_in(outside_generated_sections(path), ENVS) == []


@pytest.mark.parametrize("path", [DEPLOY, PULUMI_LAYER], ids=lambda p: p.name)
def test_no_layer_is_written_by_hand(path: Path) -> None:
    # pull-request.yml's changes job still lists them (held equal to deploy.yml's generated filters above).
    assert names_in(outside_generated_sections(path), LAYERS) == []


def test_the_generated_sections_are_the_jobs_per_environment_and_layer() -> None:
    generated = set(jobs(DEPLOY)) - {
        job_id for job_id in jobs(DEPLOY) if any(f"  {job_id}:" == line for line in outside_generated_sections(DEPLOY))
    }
    assert generated == {up_job_id(env, layer) for env, layer in DEPLOY_ORDER}
    hand_written = {line.strip().rstrip(":") for line in outside_generated_sections(PULL_REQUEST) if line[2:3] != " "}
    assert not {f"preview-{layer}" for layer in LAYERS} & hand_written


def development(name: str) -> Environment:
    return Environment(name, EnvironmentClass("development", "", {}), {})


def preproduction(name: str) -> Environment:
    return Environment(name, EnvironmentClass("preproduction", "", {}), {})


def production(name: str) -> Environment:
    return Environment(name, EnvironmentClass("production", "", {}), {})


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ([development("dev"), preproduction("staging"), production("prod")], "staging"),
        # The rehearsal closest to production, not the first one.
        ([development("dev"), preproduction("staging"), preproduction("perf"), production("prod")], "perf"),
        # Before the first production environment: a second region's production comes after it.
        (
            [development("dev"), preproduction("staging"), production("prod"), preproduction("qa"), production("eu")],
            "staging",
        ),
        # A development environment after the rehearsal does not count.
        ([preproduction("staging"), development("dev"), production("prod")], "staging"),
        # No production at all: the last rehearsal.
        ([development("dev"), preproduction("qa")], "qa"),
    ],
    ids=["today", "two-rehearsals", "second-production", "development-last", "no-production"],
)
def test_pull_requests_preview_the_last_rehearsal_before_production(order: list[Environment], expected: str) -> None:
    assert generator.preview_environment({env.name: env for env in order}) == expected


@pytest.mark.parametrize(
    "order",
    [
        [development("dev"), production("prod")],
        [development("dev"), production("prod"), preproduction("staging")],
    ],
    ids=["none", "only-after-production"],
)
def test_no_rehearsal_before_production_fails_naming_the_rule(order: list[Environment]) -> None:
    names = ", ".join(env.name for env in order)
    with pytest.raises(generator.WorkflowError) as raised:
        generator.preview_environment({env.name: env for env in order})
    assert str(raised.value) == (
        "shared/environment_matrix.yaml: pull requests preview against the preproduction-class environment that "
        f"comes last before the first production-class one in promotion order, and there is none (order: {names})"
    )


def test_the_previews_run_against_the_environment_the_rule_picks() -> None:
    for layer in LAYERS:
        job = jobs(PULL_REQUEST)[f"preview-{layer}"]
        assert job["with"]["environment"] == PREVIEW_ENV
        assert job["name"] == f"preview {layer} ({PREVIEW_ENV})"


def test_an_environment_named_like_the_preview_github_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator.check_names(environments())
    monkeypatch.setattr(generator, "environments", lambda: matrix_with({PREVIEW_GITHUB_ENV: {"class": "development"}}))
    assert generator.main(["--check"]) == 2
    assert capsys.readouterr().err == (
        "make workflows: shared/environment_matrix.yaml: an environment may not be named 'preview': that is the "
        "GitHub environment of the pull-request previews, which holds the read-only preview role\n"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("dev", "dev"),
        ("prod-eu", "prod-eu"),
        ("arn:aws:iam::123456789012:role/ci", "arn:aws:iam::123456789012:role/ci"),
        # YAML would read these as a boolean or null: quoted, they stay strings. (An environment name starts with a
        # letter, so no number; YAML 1.1's booleans, which PyYAML reads, include YAML 1.2's.)
        ("on", '"on"'),
        ("no", '"no"'),
        ("true", '"true"'),
        ("null", '"null"'),
    ],
)
def test_generated_values_stay_strings(value: str, written: str) -> None:
    assert generator.scalar(value) == written
    assert yamlio.load(f"key: {written}") == {"key": value}


def test_the_generated_filters_hold_what_every_layer_runs() -> None:
    assert set(generator.COMMON_PATHS) == COMMON_PATHS


def run_blocks() -> Iterator[tuple[str, str]]:
    """Every ``run:`` script of the workflows, by a readable id."""
    for path in WORKFLOWS:
        for job_id, job in jobs(path).items():
            for index, step in enumerate(steps(job)):
                if "run" in step:
                    yield f"{path.name}:{job_id}:{step.get('name') or step.get('id') or index}", step["run"]


def test_the_run_steps_pass_shellcheck(tmp_path: Path) -> None:
    # GitHub runs them with bash; actionlint would shellcheck them, but has no wheel on PyPI.
    program, *arguments = lint_command("shellcheck")
    flags = [argument for argument in arguments if argument.startswith("-")]
    scripts = []
    for number, (_, script) in enumerate(run_blocks()):
        path = tmp_path / f"step-{number}.sh"
        path.write_text(f"#!/usr/bin/env bash\n{script}")
        scripts.append(str(path))
    assert len(scripts) > 10
    done = subprocess.run([program, *flags, *scripts], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


# --- make lint: zizmor and shellcheck ----------------------------------------------------------------------------


@cache
def lint_command(tool: str) -> tuple[str, ...]:
    """The command line ``make lint`` runs for ``tool`` (read from make's dry run), its program made absolute."""
    environ = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "lint"],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [line for line in done.stdout.splitlines() if line.startswith(f".venv/bin/{tool} ")]
    program, *arguments = shlex.split(line)
    return (str(REPO_ROOT / program), *arguments)


def zizmor(root: Path) -> subprocess.CompletedProcess[str]:
    """make lint's zizmor, run in ``root`` (which holds a .github folder), its report in plain text.

    zizmor colours its report whenever CI is set (as .ci/run and GitHub Actions set it), which would break the
    patterns below; NO_COLOR is the switch it honours.
    """
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(lint_command("zizmor"), cwd=root, env=env, capture_output=True, text=True, check=False)


def test_lint_runs_zizmor_offline_pedantic_and_strict_on_the_github_folder() -> None:
    command = lint_command("zizmor")
    assert {"--offline", "--persona=pedantic", "--strict-collection"} <= set(command)
    assert command[-1] == ".github"
    done = zizmor(REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def replaced(text: str, old: str, new: str) -> str:
    """``text`` with its first ``old`` replaced by ``new`` (which must be there)."""
    assert old in text, old
    return text.replace(old, new, 1)


SECRETS_BLOCK = """    secrets:
      PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
      PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}
"""
CHECKOUT = "actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2"


# One way each to reintroduce what zizmor reported, or would: the file, the change, the audit that must fire.
REGRESSIONS: dict[str, tuple[str, Callable[[str], str], str]] = {
    "secrets-inherit": (
        "workflows/deploy.yml",
        lambda t: replaced(t, SECRETS_BLOCK, "    secrets: inherit\n"),
        "secrets-inherit",
    ),
    "persisted-credentials": (
        "workflows/deploy.yml",
        lambda t: replaced(t, "fetch-depth: 0\n          persist-credentials: false\n", "fetch-depth: 0\n"),
        "artipacked",
    ),
    "no-cooldown": (
        "dependabot.yml",
        lambda t: replaced(t, "    cooldown:\n      default-days: 7\n", ""),
        "dependabot-cooldown",
    ),
    "input-in-script": (
        "workflows/pulumi-layer.yml",
        lambda t: replaced(t, 'run: make "up-$LAYER"', 'run: make "up-${{ inputs.layer }}"'),
        "template-injection",
    ),
    "unpinned-action": (
        "workflows/deploy.yml",
        lambda t: replaced(t, CHECKOUT, "actions/checkout@v6"),
        "unpinned-uses",
    ),
    "workspace-relative-call": (
        "workflows/pull-request.yml",
        lambda t: replaced(t, "uses: $/.github/", "uses: ./.github/"),
        "self-repository",
    ),
    "write-all": (
        "workflows/pull-request.yml",
        lambda t: replaced(t, "permissions:\n  contents: read\n", "permissions: write-all\n"),
        "excessive-permissions",
    ),
    # Pedantic only: the persona make lint runs.
    "undocumented-permission": (
        "workflows/deploy.yml",
        lambda t: replaced(t, "actions: read # gh run list reads this workflow's run history", "actions: read"),
        "undocumented-permissions",
    ),
    "no-concurrency": (
        "workflows/deploy.yml",
        lambda t: replaced(t, "    concurrency:\n      group: deploy/test\n      cancel-in-progress: true\n", ""),
        "concurrency-limits",
    ),
}


@pytest.mark.parametrize("regression", list(REGRESSIONS))
def test_lint_fails_when_a_zizmor_finding_comes_back(tmp_path: Path, regression: str) -> None:
    file, change, audit = REGRESSIONS[regression]
    shutil.copytree(REPO_ROOT / ".github", tmp_path / ".github")
    target = tmp_path / ".github" / file
    target.write_text(change(target.read_text()))
    done = zizmor(tmp_path)
    # 11-14: findings, by the highest severity (zizmor's documented exit codes); anything else is an error.
    assert 11 <= done.returncode <= 14, done.stdout + done.stderr
    assert re.search(rf"^\w+\[{audit}\]:.*\n\s*--> \.github/{re.escape(file)}:", done.stdout, re.M), done.stdout


def test_lint_fails_on_a_workflow_zizmor_cannot_read(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / ".github", tmp_path / ".github")
    (tmp_path / ".github" / "workflows" / "broken.yml").write_text("on: push\njobs: [\n")
    assert zizmor(tmp_path).returncode not in (0, *range(11, 15))


def shell_scripts() -> set[str]:
    """Every file of the repository (tracked, or new and not ignored) that is a shell script: named *.sh or *.bash,
    or starting with a sh/bash shebang."""
    shebang = re.compile(rb"#!\s*\S*(/|env\s+)(ba|da|k)?sh\b")
    found = set()
    for path in repo_files(REPO_ROOT):
        with path.open("rb") as opened:
            first = opened.readline()
        if path.suffix in (".sh", ".bash") or shebang.match(first):
            found.add(path.relative_to(REPO_ROOT).as_posix())
    return found


def test_lint_shellchecks_every_shell_script() -> None:
    _, *arguments = lint_command("shellcheck")
    checked = {str(Path(argument)) for argument in arguments if not argument.startswith("-")}
    assert ".ci/run" in checked
    assert checked == shell_scripts()


def test_lint_shellcheck_reports_info_level_findings_too(tmp_path: Path) -> None:
    # An unquoted expansion (SC2086) is only "info": the flags make lint passes must not filter it out.
    script = tmp_path / "unquoted.sh"
    script.write_text("#!/usr/bin/env bash\nrm -rf $1/build\n")
    program, *arguments = lint_command("shellcheck")
    flags = [argument for argument in arguments if argument.startswith("-")]
    done = subprocess.run([program, *flags, str(script)], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "SC2086" in done.stdout
