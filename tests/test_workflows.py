"""The GitHub Actions workflows: schema, path filters, job graph, pins and permissions.

The path filters are checked against the downstream closure computed from ``shared.contract.LAYER_ORDER``, and the
deploy chain is run through a small model of GitHub's job conditions, so that a skipped layer never blocks the
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
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.contract import LAYER_ORDER
from tests.conftest import ENVS, REPO_ROOT

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
# The environment pull requests preview against (pull-request.yml says why only this one).
PREVIEW_ENV = "staging"
# The GitHub environment the preview job runs in: it scopes the preview role and staging's state passphrase to it,
# and the preview role trusts the OIDC subject repo:<owner>/<repo>:environment:preview.
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
# A job that calls a reusable workflow of this repository (same commit, so nothing to pin).
LOCAL_WORKFLOW = re.compile(r"\./\.github/workflows/(?P<file>[\w.-]+\.ya?ml)")
INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
SHELL_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
CHECK_INPUTS = "Check the inputs"
CHECK_CONFIGURATION = "Check the configuration"
# The role each layer job assumes (a variable of its GitHub environment).
ROLE_VARIABLE = {"preview": "AWS_PREVIEW_ROLE_ARN", "up": "AWS_ROLE_ARN"}
# The variables a layer job reads that may stay unset: the secrets provider is only read to create a stack.
OPTIONAL_VARIABLES = frozenset({"PULUMI_SECRETS_PROVIDER"})
DEPENDABOT = "dependabot[bot]"


def load(path: Path) -> dict[str, Any]:
    """A workflow as GitHub reads it: YAML 1.1 turns the key ``on`` into True, so it is renamed back."""
    raw: dict[Any, Any] = yaml.safe_load(path.read_text())
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
    """``value`` with every ``${{ inputs.<name> }}`` replaced by the caller's input (KeyError for an unknown one)."""
    if isinstance(value, str):
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
    inputs = job.get("with", {})
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


# --- path filters and the job graph ------------------------------------------------------------------------------


def filters(path: Path) -> dict[str, list[str]]:
    """The paths-filter rules of the workflow's ``changes`` job, by filter name."""
    filter_steps = [s for s in steps(jobs(path)["changes"]) if action(s) == PATHS_FILTER]
    assert len(filter_steps) == 1, f"{path.name}: the changes job needs exactly one {PATHS_FILTER} step"
    parsed: dict[str, list[str]] = yaml.safe_load(filter_steps[0]["with"]["filters"])
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
        (DEPLOY, lambda d: d["jobs"]["up-prod-edge"].update({"environment": "prod"}), "'environment' was unexpected"),
        (
            DEPLOY,
            lambda d: d["jobs"]["up-dev-data"].update({"timeout-minutes": 90}),
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
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
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


def test_prod_jobs_deploy_into_the_protected_prod_environment() -> None:
    for layer in LAYERS:
        assert resolved(jobs(DEPLOY)[up_job_id("prod", layer)])["environment"] == "prod"


def test_deploy_runs_the_offline_gate_first() -> None:
    assert {"make test", "make check"} <= set(make_calls(jobs(DEPLOY)["test"]))


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
    results = simulate(changed=set(LAYERS), failing={up_job_id("dev", "data")})
    assert ran(results) == [up_job_id("dev", "network"), up_job_id("dev", "data")]


def test_a_failure_blocks_later_layers_even_across_skipped_ones() -> None:
    # staging's edge job directly needs only skipped jobs; the failure two environments back must still stop it.
    results = simulate(changed={"edge"}, failing={up_job_id("dev", "edge")})
    assert ran(results) == [up_job_id("dev", "edge")]


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
    ups = {
        (DEPLOY, up_job_id(env, layer)): {"command": "up", "layer": layer, "environment": env}
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
    # Environment secrets reach a called workflow only when the caller passes them (pulumi-layer.yml).
    assert job["secrets"] == "inherit"


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_callers_pass_every_input_and_only_known_values(path: Path) -> None:
    known = {"command": set(COMMANDS), "layer": set(LAYERS), "environment": set(ENVS)}
    assert set(declared_inputs()) == set(known)
    for job_id, job in layer_jobs(path).items():
        assert set(job["with"]) == set(known), job_id
        for name, value in job["with"].items():
            # A string, as declared: YAML would hand GitHub a boolean or a number for an unquoted `on` or `1`.
            assert isinstance(value, str), f"{job_id}: {name} = {value!r}"
            assert value in known[name], f"{job_id}: {name} = {value!r}"


def test_layer_workflow_inputs_are_required_strings_and_all_it_uses() -> None:
    for name, spec in declared_inputs().items():
        assert spec["type"] == "string", name
        assert spec["required"] is True, name
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


def run_step(step: Mapping[str, Any], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """A ``run:`` step run the way GitHub runs a bash step, with only ``env`` (and PATH) in its environment."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def check_inputs(job: Mapping[str, Any], command: str, layer: str, env: str) -> int:
    """The exit status of the job's input check for these inputs."""
    step = steps(job)[0]
    bound = bind(step["env"], {"command": command, "layer": layer, "environment": env})
    return run_step(step, bound).returncode


def configuration_step(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job's configuration check."""
    (step,) = [s for s in steps(job) if s.get("name") == CHECK_CONFIGURATION]
    return step


VARIABLE = re.compile(r"\$\{\{\s*vars\.(\w+)\s*\}\}")


@pytest.mark.parametrize("command", COMMANDS)
def test_layer_job_checks_its_configuration_before_any_aws_or_pulumi_step(command: str) -> None:
    job = jobs(PULUMI_LAYER)[command]
    names = [s.get("name") for s in steps(job)]
    # Right after the input check, before the first action (checkout, Python, Pulumi, AWS) and before make.
    assert names[:2] == [CHECK_INPUTS, CHECK_CONFIGURATION]
    assert all("uses" not in s and not str(s.get("run", "")).startswith("make") for s in steps(job)[:2])
    step = configuration_step(job)
    checked = {name for name in step["env"] if name != "JOB_ENVIRONMENT"}
    # Exactly the variables the job needs: every vars.* a later step reads, less the ones that may stay unset.
    used = {match[1] for later in steps(job) if later is not step for match in VARIABLE.finditer(json.dumps(later))}
    assert checked == used - OPTIONAL_VARIABLES
    assert {"PULUMI_BACKEND_URL", ROLE_VARIABLE[command], "AWS_REGION"} == checked
    for name in checked:
        # Passed through env, and the same variable the later steps read.
        assert step["env"][name] == f"${{{{ vars.{name} }}}}", name
    # The message names the environment the job runs in.
    assert step["env"]["JOB_ENVIRONMENT"] == job["environment"]


def run_configuration_check(command: str, values: Mapping[str, str], env: str = PREVIEW_ENV) -> tuple[int, str]:
    """The check's exit status and output, with ``values`` as the variables GitHub resolved (absent = unset)."""
    step = configuration_step(jobs(PULUMI_LAYER)[command])
    bound = bind(step["env"], {"command": command, "layer": LAYERS[0], "environment": env})
    given = {"JOB_ENVIRONMENT": bound["JOB_ENVIRONMENT"], **values}
    done = run_step(step, given)
    return done.returncode, done.stdout + done.stderr


def configured(command: str) -> dict[str, str]:
    return {
        "PULUMI_BACKEND_URL": "s3://acme-state/student-helper",
        ROLE_VARIABLE[command]: "arn:aws:iam::123456789012:role/gha",
        "AWS_REGION": "ap-southeast-2",
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_the_configuration_check_passes_when_everything_is_set(command: str) -> None:
    code, output = run_configuration_check(command, configured(command))
    assert (code, output) == (0, "")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("variable", ["PULUMI_BACKEND_URL", "role", "AWS_REGION"])
@pytest.mark.parametrize("value", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_the_configuration_check_fails_naming_the_missing_variable_and_where_to_set_it(
    command: str, variable: str, value: str | None
) -> None:
    name = ROLE_VARIABLE[command] if variable == "role" else variable
    github_env = PREVIEW_GITHUB_ENV if command == "preview" else "prod"
    values = configured(command)
    if value is None:
        del values[name]
    else:
        values[name] = value
    code, output = run_configuration_check(command, values, env="prod")
    assert code != 0
    errors = [line for line in output.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, output
    assert name in errors[0]
    assert f"Settings → Environments → {github_env}" in errors[0]
    # The role is per environment; the backend and the region may also be set once for the repository.
    assert ("Settings → Secrets and variables → Actions" in errors[0]) == (variable != "role")
    if name == "PULUMI_BACKEND_URL":
        assert "file backend" in errors[0], "say why an empty backend URL is dangerous"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_configuration_check_reports_every_missing_variable(command: str) -> None:
    code, output = run_configuration_check(command, {})
    assert code != 0
    errors = [line for line in output.splitlines() if line.startswith("::error::")]
    assert [next(name for name in configured(command) if name in line) for line in errors] == list(configured(command))


def test_the_up_comment_says_honestly_what_a_reviewer_sees() -> None:
    # GitHub asks for the prod approval before the job starts; the comment above the up job says what there is to
    # judge by. Its claim that `pulumi up` prints its preview before applying holds while nothing skips the preview.
    text = PULUMI_LAYER.read_text()
    comment = text[: text.index("\n  up:\n")].rsplit("\n\n", 1)[1]
    for claim in ("before this job starts", "staging, not prod", "prints its preview", "not a second gate"):
        assert claim in " ".join(comment.replace("#", " ").split()), claim
    sources = [REPO_ROOT / "Makefile", *REPO_ROOT.glob("mk/*.mk"), *REPO_ROOT.glob("tools/deploy/*.py")]
    for source in sources:
        assert "--skip-preview" not in source.read_text(), source


@pytest.mark.parametrize("command", COMMANDS)
def test_layer_job_checks_its_inputs_before_anything_else(command: str) -> None:
    job = jobs(PULUMI_LAYER)[command]
    assert steps(job)[0]["name"] == CHECK_INPUTS
    # The accepted values are exactly this job's command, the layer order and the environments.
    patterns = re.findall(r'case "\$(\w+)" in ([^)]*)\)', steps(job)[0]["run"])
    accepted = {variable: {p.strip() for p in alternatives.split("|")} for variable, alternatives in patterns}
    assert accepted == {"COMMAND": {command}, "LAYER": set(LAYERS), "STACK_ENV": set(ENVS)}
    for env in ENVS:
        for layer in LAYERS:
            assert check_inputs(job, command, layer, env) == 0, (command, layer, env)
    wrong = [(other, LAYERS[0], ENVS[0]) for other in (*(c for c in COMMANDS if c != command), "upp", "", "up;id")] + [
        (command, "networks", ENVS[0]),
        (command, "", ENVS[0]),
        (command, "edge x", ENVS[0]),
        (command, LAYERS[0], "production"),
        (command, LAYERS[0], ""),
    ]
    for inputs in wrong:
        assert check_inputs(job, *inputs) != 0, inputs


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
                "uses": "./.github/workflows/pulumi-layer.yml",
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


def test_the_comments_name_the_oidc_subjects_the_roles_trust() -> None:
    texts = {path: path.read_text() for path in WORKFLOWS}
    assert f"repo:<owner>/<repo>:environment:{PREVIEW_GITHUB_ENV}" in texts[PULUMI_LAYER]
    assert f"repo:<owner>/<repo>:environment:{PREVIEW_GITHUB_ENV}" in texts[PULL_REQUEST]
    assert "repo:<owner>/<repo>:environment:<env>" in texts[PULUMI_LAYER]
    for path, text in texts.items():
        assert "no GitHub environment" not in text, path.name
        assert ":pull_request" not in text, f"{path.name}: the preview role no longer trusts the pull_request subject"


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
        if match and not match["ref"].startswith("./"):
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
    local = sorted(m["ref"] for m in raw if m and m["ref"].startswith("./"))
    parsed = sorted(job["uses"] for job in jobs(path).values() if "uses" in job)
    assert local == parsed, "a local `uses:` outside a job's own `uses`"
    for ref in set(parsed):
        match = LOCAL_WORKFLOW.fullmatch(ref)
        assert match, ref
        assert WORKFLOW_DIR / match["file"] in WORKFLOWS, ref
        assert "workflow_call" in load(WORKFLOW_DIR / match["file"])["on"], ref


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


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: p.name)
def test_aws_credentials_come_from_an_assumed_role(path: Path) -> None:
    role_variable = "AWS_PREVIEW_ROLE_ARN" if path == PULL_REQUEST else "AWS_ROLE_ARN"
    for job_id, job in runner_jobs(path):
        for step in steps(job):
            if action(step) == AWS_CREDENTIALS:
                assert step["with"]["role-to-assume"] == f"${{{{ vars.{role_variable} }}}}", job_id
                assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}", job_id
                assert set(step["with"]) <= {
                    "role-to-assume",
                    "role-session-name",
                    "role-duration-seconds",
                    "aws-region",
                }
    # Every layer job assumes a role (here, not by some other way of getting credentials).
    for job_id, job in layer_jobs(path).items():
        assert touches_aws(job), job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_interpolate_nothing(path: Path) -> None:
    # Secrets and contexts reach a command through env only: nothing is pasted into a script (no injection, no
    # secret in the rendered command line).
    for job_id, job in jobs(path).items():
        for step in steps(job):
            assert "${{" not in str(step.get("run", "")), f"{path.name}: {job_id} interpolates into a script"
    for match in re.finditer(r"\$\{\{\s*secrets\.(\w+)", path.read_text()):
        assert match[1] in {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"}, match[0]


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
