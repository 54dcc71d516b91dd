"""Adding an environment is data only: docs/configuration.md's "Add an environment", walked in a copy of the
repository.

The copy gets ``perf`` after staging (the section's matrix entry on staging's settings, its own account and CI role,
us-west-2 in its four stack files) and a production-class ``prod-eu`` after prod (eu-west-1, prod's settings with
the chat model's European inference profile); then what ``make docs`` regenerates from the matrix (the workflows,
the pack config, CODEOWNERS). In it: the generated workflows give each its jobs in its place in the order and stay
clean under zizmor; ``make check`` (seeded with this run's build, so only the new environments run) reports all five
environments, the new ones in their own regions; the deploy targets take perf with no code change and refuse
credentials for another account; and prod-eu gets every protection prod has.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import yamlio
from shared.config import environments
from tests import fakes
from tests.conftest import ENVS, LAYERS, REPO_ROOT, CheckRun
from tests.test_makefile import StandIn
from tests.test_workflows import PULUMI_LAYER, check_inputs, jobs, lint_command, run_region_step, up_job_id
from tools import stack_export
from tools.checkout import copy_checkout

DOCS = REPO_ROOT / "docs" / "configuration.md"
SECTION = "## Add an environment"
BEFORE_PERF = "staging"
# The scenario's second environment: production class, after every other one, in another region.
PROD_EU = {
    "name": "prod-eu",
    "copies": "prod",
    "region": "eu-west-1",
    # prod's model through the European geography's profile: an au. profile is not offered in eu-west-1.
    "chat_model_id": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
}


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
    ((name, entry),) = yamlio.load(yaml_blocks()[0]).items()
    staging = yamlio.load((REPO_ROOT / "shared" / "environment_matrix.yaml").read_text())["environments"]
    return name, {**entry, "settings": {**staging[BEFORE_PERF]["settings"], **entry["settings"]}}


def documented_stack_file() -> dict[str, Any]:
    """The section's network stack file."""
    found: dict[str, Any] = yamlio.load(yaml_blocks()[1])
    return found


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
        document = yamlio.load((root / "stacks" / layer / f"Pulumi.{copies}.yaml").read_text())
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
    copy_checkout(REPO_ROOT, root)
    for venv in (".venv", ".venv-scan"):
        (root / venv).symlink_to(REPO_ROOT / venv)

    name, entry = documented_entry()
    matrix_path = root / "shared" / "environment_matrix.yaml"
    matrix = yamlio.load(matrix_path.read_text())
    prod_eu = {
        "class": "production",
        "settings": {
            **matrix["environments"][PROD_EU["copies"]]["settings"],
            "chat_model_id": PROD_EU["chat_model_id"],
        },
    }
    matrix["environments"] = insert_after(matrix["environments"], BEFORE_PERF, name, entry) | {PROD_EU["name"]: prod_eu}
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))

    add_stack_files(root, name, BEFORE_PERF, documented_stack_file()["config"]["aws:region"])
    network_file = root / "stacks" / LAYERS[0] / f"Pulumi.{name}.yaml"
    assert yamlio.load(network_file.read_text()) == documented_stack_file(), "the section's network stack file"
    add_stack_files(root, PROD_EU["name"], PROD_EU["copies"], PROD_EU["region"])

    stale = generate(root, "--check")
    assert stale.returncode == 1, stale.stderr
    assert "a generated section is stale: run `make workflows`" in stale.stderr
    done = generate(root)
    assert done.returncode == 0, done.stderr
    for generator in ("tools.pack_config", "tools.codeowners"):  # the rest of what `make docs` regenerates
        done = subprocess.run([sys.executable, "-m", generator], cwd=root, capture_output=True, text=True)
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


# --- make check ----------------------------------------------------------------------------------------------------

NEW = {"perf": "us-west-2", PROD_EU["name"]: PROD_EU["region"]}


@pytest.fixture(scope="module")
def checked_copy(repo: Path, checked: CheckRun) -> CheckRun:
    """make check's job in the copy, its build seeded with this test run's: the unchanged environments' layers are
    cache hits (their inputs, their own matrix entry among them, are the same), so only perf and prod-eu run."""
    build = repo / "build"
    shutil.copytree(checked.out, build, symlinks=True)
    done = subprocess.run(
        [sys.executable, "-m", "tools.check", "--out", str(build)], cwd=repo, capture_output=True, text=True
    )
    return CheckRun(build, done.returncode, done.stdout + done.stderr)


def test_make_check_reports_every_environment_in_promotion_order(checked_copy: CheckRun) -> None:
    assert checked_copy.returncode == 0, checked_copy.stdout
    assert f"check: {len(LAYERS)} layers x 5 environments" in checked_copy.stdout
    summary = json.loads((checked_copy.out / "summary.json").read_text())
    assert list(summary["environments"]) == promotion_order()
    header = next(line for line in checked_copy.stdout.splitlines() if line.split() == promotion_order())
    assert header, "the summary table has a column per environment"
    for env in promotion_order():
        assert (checked_copy.out / env / "report.md").is_file(), env
        for layer in LAYERS:
            state = "ok" if env in NEW else "cached"
            assert re.search(rf"^\s*{state} {layer}\s+{env}\s", checked_copy.stdout, re.M), (env, layer)


@pytest.mark.parametrize(("env", "region"), list(NEW.items()))
def test_a_new_environment_is_built_in_its_own_region(checked_copy: CheckRun, env: str, region: str) -> None:
    exports = stack_export.load_layers(checked_copy.out, env)
    resources = stack_export.walk(exports)
    providers = [r for r in resources if r.type == "pulumi:providers:aws"]
    assert len(providers) == len(LAYERS) and {r.inputs["region"] for r in providers} == {region}
    subnets = [r for r in resources if r.type == "aws:ec2/subnet:Subnet"]
    zones = {r.inputs["availabilityZone"] for r in subnets}
    assert subnets and all(re.fullmatch(rf"{region}[a-z]", zone) for zone in zones), zones
    endpoints = [r for r in resources if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    names = {r.inputs["serviceName"] for r in endpoints}
    assert endpoints and all(name.startswith(f"com.amazonaws.{region}.") for name in names), names
    text = json.dumps(exports)
    assert "ap-southeast-2" not in text, f"{env}: the default region leaks into its exports"


@pytest.mark.parametrize("env", list(NEW))
def test_a_region_the_price_file_does_not_price_is_reported_so(checked_copy: CheckRun, env: str) -> None:
    summary = json.loads((checked_copy.out / "summary.json").read_text())
    cost = summary["environments"][env]["cost"]
    assert cost["region"] == NEW[env] and cost["total_usd"] == 0 and cost["line_items"] == []
    assert cost["not_priced_lines"], "each line is listed as not priced there, never at another Region's price"
    report = (checked_copy.out / env / "report.md").read_text()
    assert f"The total is a lower bound: the price file has no prices for {NEW[env]}" in report
    assert f"### Not priced in {NEW[env]}" in report


# --- production class: prod-eu gets what prod gets --------------------------------------------------------------------

PROTECTIVE_INPUTS = (
    "deletionProtection",
    "multiAz",
    "backupRetentionPeriod",
    "skipFinalSnapshot",
    "disableApiTermination",
    "recoveryWindowInDays",
    "forceDestroy",
)


def protections(build: Path, env: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    """Each managed resource of ``env`` (named without the environment) with what protects it: the protect and
    retainOnDelete options, the protective inputs, a named final snapshot, and an interface endpoint's AZ count."""
    options: dict[str, dict[str, Any]] = {}
    for layer in LAYERS:
        options |= json.loads((build / env / "options" / f"{layer}.json").read_text())
    found = []
    for r in stack_export.walk(stack_export.load_layers(build, env)):
        if not r.is_managed:
            continue
        shown = tuple(r.inputs.get(key) for key in PROTECTIVE_INPUTS)
        zones = len(r.inputs.get("subnetIds") or []) if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" else None
        kept = options.get(r.urn, {}).get("retainOnDelete")
        found.append(
            (
                r.type,
                r.name.replace(env, "<env>"),
                (r.protect, kept, *shown, bool(r.inputs.get("finalSnapshotIdentifier")), zones),
            )
        )
    return sorted(found, key=lambda item: (item[0], item[1]))


def test_prod_eu_has_every_protection_prod_has(checked_copy: CheckRun) -> None:
    prod, prod_eu = protections(checked_copy.out, "prod"), protections(checked_copy.out, PROD_EU["name"])
    assert prod_eu == prod
    database = next(p for t, _, p in prod_eu if t == "aws:rds/instance:Instance")
    assert database[:3] == (True, None, True) and database[3] is True and database[4] >= 7, database
    assert sum(1 for _, _, p in prod_eu if p[0]) >= 5, "the stateful resources are protected"


def test_the_pack_judges_prod_eu_as_production(repo: Path) -> None:
    config = json.loads((repo / "policies" / "config.json").read_text())
    assert config["prod-data-protection"]["productionStacks"] == ["prod", PROD_EU["name"]]


def test_a_production_class_environment_cannot_turn_a_protection_off(repo: Path, tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(repo / "stacks", stacks)
    stack_file = stacks / "data" / f"Pulumi.{PROD_EU['name']}.yaml"
    document = yamlio.load(stack_file.read_text())
    document["config"]["student-helper-data:rds_deletion_protection"] = False
    stack_file.write_text(yaml.safe_dump(document))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.offline.runner",
            "--layer",
            "data",
            "--env",
            PROD_EU["name"],
            "--stacks-dir",
            str(stacks),
            "--out",
            str(tmp_path / "build"),  # no upstream export either: the settings fail before anything is read
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    problem = "rds_deletion_protection = False is invalid: allowed in prod-eu (a production environment): true"
    assert problem in done.stderr, done.stderr


# --- the deploy targets ------------------------------------------------------------------------------------------


class _Sts(BaseHTTPRequestHandler):
    """STS's query API, as much as GetCallerIdentity needs: botocore parses the answer with its own model."""

    account = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        assert "Action=GetCallerIdentity" in body, body
        # The response of the STS API reference's GetCallerIdentity example, for this account.
        answer = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>arn:aws:iam::{self.account}:user/ci</Arn>"
            f"<UserId>AIDAEXAMPLE</UserId><Account>{self.account}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def sts() -> Iterator[Callable[[str], str]]:
    """A local STS endpoint; calling the fixture with an account id makes it answer for that account and returns
    the URL for ``AWS_ENDPOINT_URL_STS`` (botocore's per-service endpoint variable)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Sts", (_Sts,), {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer_for(account: str) -> str:
        server.RequestHandlerClass.account = account  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield answer_for
    server.shutdown()


@pytest.fixture
def standin_copy(repo: Path, tmp_path: Path) -> StandIn:
    return StandIn(fakes.install(tmp_path / "bin"), checkout=repo)


def test_perf_deploys_in_its_account_with_no_code_change(standin_copy: StandIn, sts: Callable[[str], str]) -> None:
    _, entry = documented_entry()
    result = standin_copy.make("up-network", "ENV=perf", AWS_ENDPOINT_URL_STS=sts(entry["account_id"]))
    assert result.done.returncode == 0, result.done.stderr
    (up,) = result.args("up")
    assert up[:5] == ["up", "--cwd", "stacks/network", "--stack", "perf"]
    assert ["stack", "select", "--cwd", "stacks/network", "--create", "perf"] in result.args("stack")


def test_perf_refuses_credentials_for_another_account(standin_copy: StandIn, sts: Callable[[str], str]) -> None:
    _, entry = documented_entry()
    result = standin_copy.make("up-network", "ENV=perf", AWS_ENDPOINT_URL_STS=sts("123456789012"))
    assert result.done.returncode != 0
    assert (
        f"the credentials are for account 123456789012, but perf lives in account {entry['account_id']}"
        in result.done.stderr
    )
    assert result.args() == [], "nothing reaches pulumi"


def test_prod_eu_destroy_is_stopped_by_a_protection_in_any_layer(standin_copy: StandIn, checked_copy: CheckRun) -> None:
    env = PROD_EU["name"]
    standin_copy.set_export(env, "data", checked_copy.out / env / "data.json")
    result = standin_copy.make("destroy-edge", f"ENV={env}", f"CONFIRM={env}")
    assert result.done.returncode != 0
    assert f"deletion-protection: urn:pulumi:{env}::student-helper-data::" in result.done.stderr
    assert f"--region {PROD_EU['region']}" in result.done.stderr
    assert result.args("destroy") == []
