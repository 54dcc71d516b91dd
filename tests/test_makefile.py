"""The deploy targets, run through make against stand-in pulumi and aws executables that record every call."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared import yamlio
from tests import fakes
from tests.conftest import REPO_ROOT, Export

LAYERS = ["network", "data", "compute", "edge"]
PACK = ["--policy-pack", str(REPO_ROOT / "policies"), "--policy-pack-config", str(REPO_ROOT / "policies/config.json")]
EMBEDDED = f"file://{REPO_ROOT / '.pulumi-state'}"


@dataclass
class Result:
    """One make run: the process and every recorded CLI call."""

    done: subprocess.CompletedProcess[str]
    calls: list[dict[str, Any]]

    def args(self, verb: str | None = None) -> list[list[str]]:
        """Recorded pulumi argument lists, optionally only those starting with ``verb``."""
        found = [c["args"] for c in self.calls if c["args"][:1] != ["aws"]]
        return [a for a in found if verb is None or a[0] == verb]

    def layers(self, verb: str) -> list[str]:
        """The layer (``--cwd stacks/<layer>``) of each recorded ``verb`` call, in order."""
        return [Path(a[a.index("--cwd") + 1]).name for a in self.args(verb)]


@dataclass
class StandIn:
    """Stand-in CLIs plus their answer directory."""

    root: Path
    checkout: Path = REPO_ROOT
    """Where make runs (a test's copy of the repository, or this one)."""

    @property
    def answers(self) -> Path:
        """Where the stand-in pulumi reads stack outputs, exports and stack lists."""
        return self.root / "answers"

    def set_outputs(self, env: str, layer: str, outputs: dict[str, Any]) -> None:
        """What ``stack output --json`` answers for one stack."""
        path = self.answers / "outputs" / env / f"{layer}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(outputs))

    def set_export(self, env: str, layer: str, export_file: Path) -> None:
        """What ``stack export`` answers for one stack."""
        path = self.answers / "exports" / env / f"{layer}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(export_file, path)

    def set_stacks(self, stacks: dict[str, list[str]]) -> None:
        """Which stacks exist per layer (default: all of them)."""
        self.answers.mkdir(parents=True, exist_ok=True)
        (self.answers / "stacks.json").write_text(json.dumps(stacks))

    def deployed(self, env: str, layers: list[str] = LAYERS) -> None:
        """Give every named layer of ``env`` non-empty outputs."""
        for layer in layers:
            self.set_outputs(env, layer, {"marker": layer})

    def make(self, *args: str, credentials: bool = True, **environ: str) -> Result:
        """Run make with PULUMI pointing at the stand-in; no gate, no inherited CI, backend or AWS setup.

        ``credentials`` gives the process stand-in AWS keys (what the deploy targets check for before running the
        CLI); without them nothing resolves, locally and at once. No test here sends a request to AWS.
        """
        record = self.root / f"calls-{len(list(self.root.glob('calls-*')))}.jsonl"
        env = isolated_environ(credentials)
        env.update(STANDIN_RECORD=str(record), STANDIN_DIR=str(self.answers), **environ)
        done = subprocess.run(
            # Later assignments win: a test's own PULUMI=... overrides the stand-in. The stand-in never starts the
            # pack, so no pack venv (POLICY_VENV=; tests/policies/test_pack_folder.py builds one).
            ["make", "--no-print-directory", f"PULUMI={self.root / 'pulumi'}", "GATE=", "POLICY_VENV=", *args],
            cwd=self.checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        return Result(done, calls)


def isolated_environ(credentials: bool) -> dict[str, str]:
    """This process's environment without CI, backend or AWS settings; with stand-in keys when ``credentials``."""
    dropped = ("CI", "YES", "PULUMI_BACKEND_URL", "MAKEFLAGS", "GATE")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("AWS_")}
    # No shared config or instance metadata either: an unresolved chain fails locally, without a network call.
    env.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    env.update(AWS_EC2_METADATA_DISABLED="true")
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="AKIASTANDINEXAMPLE", AWS_SECRET_ACCESS_KEY="stand-in")
    return env


@pytest.fixture
def standin(tmp_path: Path) -> StandIn:
    return StandIn(fakes.install(tmp_path))


# --- up and preview ----------------------------------------------------------------------------------------------


def test_deploy_all_selects_or_creates_each_stack_then_ups_it_in_order_with_the_pack(standin: StandIn) -> None:
    result = standin.make("deploy-all", "ENV=prod")
    assert result.done.returncode == 0, result.done.stderr
    expected: list[list[str]] = [["login", EMBEDDED]]
    for layer in LAYERS:
        expected.append(["stack", "select", "--cwd", f"stacks/{layer}", "--create", "prod"])
        expected.append(["up", "--cwd", f"stacks/{layer}", "--stack", "prod", *PACK, "--yes"])
    assert result.args() == expected
    assert "deploy-all: [2/4] pulumi up data [prod]" in result.done.stdout


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("verb", ["preview", "up"])
def test_every_preview_and_up_applies_the_policy_pack(standin: StandIn, verb: str, layer: str) -> None:
    standin.deployed("dev")
    result = standin.make(f"{verb}-{layer}", "ENV=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.args(verb) == [[verb, "--cwd", f"stacks/{layer}", "--stack", "dev", *PACK]]


def test_up_is_non_interactive_in_ci_and_interactive_otherwise(standin: StandIn) -> None:
    ci = standin.make("up-edge", "ENV=dev", CI="true", PULUMI_BACKEND_URL="s3://acme-state")
    assert "--yes" in ci.args("up")[0]
    assert "--yes" in standin.make("up-edge", "ENV=dev", YES="1").args("up")[0]
    assert "--yes" not in standin.make("up-edge", "ENV=dev").args("up")[0]


def test_policy_config_is_optional_and_must_exist_when_given(standin: StandIn) -> None:
    without = standin.make("up-network", "ENV=dev", "POLICY_CONFIG=")
    assert without.args("up") == [["up", "--cwd", "stacks/network", "--stack", "dev", *PACK[:2]]]
    missing = standin.make("up-network", "ENV=dev", "POLICY_CONFIG=policies/nope.json")
    assert missing.done.returncode == 2
    assert "POLICY_CONFIG=policies/nope.json: no such file" in missing.done.stderr
    assert missing.args("up") == []


def test_refresh_runs_without_the_pack(standin: StandIn) -> None:
    result = standin.make("refresh-data", "ENV=staging")
    assert result.args("refresh") == [["refresh", "--cwd", "stacks/data", "--stack", "staging"]]


def test_deploy_all_stops_at_the_first_failing_layer_and_says_how_to_resume(standin: StandIn) -> None:
    result = standin.make("deploy-all", "ENV=staging", STANDIN_FAIL_IN="data")
    assert result.done.returncode != 0
    assert result.layers("up") == ["network", "data"]
    assert "deploy-all: FAILED at data [staging]: pulumi up exited 3" in result.done.stderr
    assert "not run: compute, edge" in result.done.stderr
    assert "resume with: make deploy-all ENV=staging FROM=data" in result.done.stderr

    resumed = standin.make("deploy-all", "ENV=staging", "FROM=data")
    assert resumed.done.returncode == 0, resumed.done.stderr
    assert resumed.layers("up") == ["data", "compute", "edge"]


# A gate that only records that it ran, in the stand-in's call log. GNU make reads the makefiles named in MAKEFILES
# (an environment variable, so sub-makes read them too) before the repository's own.
RECORDING_GATE = """
.PHONY: recording-gate
recording-gate:
\t@echo '{"args": ["gate"]}' >> "$$STANDIN_RECORD"
"""


def deploy_all_with_a_recording_gate(standin: StandIn, tmp_path: Path, *args: str, credentials: bool = True) -> Result:
    """``make -j4 deploy-all`` with the recording gate in place of ``make check``."""
    gate = tmp_path / "gate.mk"
    gate.write_text(RECORDING_GATE)
    return standin.make("-j4", "GATE=recording-gate", "deploy-all", *args, credentials=credentials, MAKEFILES=str(gate))


def test_deploy_all_under_make_j_runs_the_gate_before_any_pulumi_call(standin: StandIn, tmp_path: Path) -> None:
    result = deploy_all_with_a_recording_gate(standin, tmp_path, "ENV=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.args()[0] == ["gate"]
    assert ["gate"] not in result.args()[1:]
    assert result.layers("up") == LAYERS


@pytest.mark.parametrize(
    ("args", "credentials", "message"),
    [
        (("ENV=qa",), True, "deploy-all: ENV='qa' is not a stack of this repo"),
        (("ENV=dev", "PULUMI=/nonexistent/pulumi"), True, "the Pulumi CLI '/nonexistent/pulumi' was not found"),
        (("ENV=dev",), False, "make doctor ENV=dev checks all a deploy needs"),
    ],
    ids=["unknown-env", "no-cli", "no-credentials"],
)
def test_deploy_all_under_make_j_checks_env_cli_and_credentials_before_the_gate(
    standin: StandIn, tmp_path: Path, args: tuple[str, ...], credentials: bool, message: str
) -> None:
    # make -j runs prerequisites side by side: were the check one, the gate would start with it and run for
    # minutes after a failure that takes a second to find.
    result = deploy_all_with_a_recording_gate(standin, tmp_path, *args, credentials=credentials)
    assert result.done.returncode != 0
    assert message in result.done.stderr
    assert result.calls == [], "the gate or pulumi ran although the check failed"


def test_preview_all_previews_in_order_and_stops_at_a_failure(standin: StandIn) -> None:
    standin.deployed("dev")
    result = standin.make("preview-all", "ENV=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.layers("preview") == LAYERS
    failed = standin.make("preview-all", "ENV=dev", STANDIN_FAIL_IN="compute")
    assert failed.done.returncode != 0
    assert failed.layers("preview") == ["network", "data", "compute"]
    assert "resume with: make preview-all ENV=dev FROM=compute" in failed.done.stderr


def test_preview_skips_layers_whose_upstream_is_not_deployed(standin: StandIn) -> None:
    standin.deployed("dev", ["network"])
    result = standin.make("preview-all", "ENV=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.layers("preview") == ["network", "data"]
    assert "skipped compute, edge [dev]: compute reads the outputs of data, not deployed in dev yet" in (
        result.done.stdout
    )


def test_preview_with_downstream_covers_every_layer_below(standin: StandIn) -> None:
    standin.deployed("dev")
    result = standin.make("preview-data", "ENV=dev", "DOWNSTREAM=1")
    assert result.layers("preview") == ["data", "compute", "edge"]


# --- destroy -----------------------------------------------------------------------------------------------------


def test_destroy_all_destroys_in_reverse_order_after_confirmation(standin: StandIn) -> None:
    result = standin.make("destroy-all", "ENV=dev", "CONFIRM=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.args("destroy") == [
        ["destroy", "--cwd", f"stacks/{layer}", "--stack", "dev", "--yes"] for layer in reversed(LAYERS)
    ]


@pytest.mark.parametrize(
    ("confirm", "message"),
    [
        ((), "nothing destroyed: confirm by typing the environment name, or pass CONFIRM=dev"),
        (("CONFIRM=prod",), "nothing destroyed: 'prod' is not 'dev'"),
    ],
)
def test_nothing_is_destroyed_without_the_typed_environment_name(
    standin: StandIn, confirm: tuple[str, ...], message: str
) -> None:
    result = standin.make("destroy-all", "ENV=dev", *confirm)
    assert result.done.returncode != 0
    assert message in result.done.stderr
    assert result.args() == []


def test_the_typed_answer_is_read_from_a_terminal(standin: StandIn) -> None:
    # A pseudo-terminal stands in for the user typing at the prompt.
    import pty

    record = standin.root / "tty.jsonl"
    env = isolated_environ(credentials=True)
    env.update(STANDIN_RECORD=str(record), STANDIN_DIR=str(standin.answers))
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "destroy-edge", "ENV=dev", f"PULUMI={standin.root / 'pulumi'}"],
        cwd=REPO_ROOT,
        env=env,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.write(primary, b"dev\n")
    _, err = process.communicate(timeout=60)
    os.close(primary)
    os.close(secondary)
    assert process.returncode == 0, err
    calls = [json.loads(line)["args"] for line in record.read_text().splitlines()]
    assert ["destroy", "--cwd", "stacks/edge", "--stack", "dev", "--yes"] in calls


def test_prod_destroy_refuses_while_deletion_protection_is_on(
    standin: StandIn, offline_exports: dict[tuple[str, str], Path]
) -> None:
    for layer in LAYERS:
        standin.set_export("prod", layer, offline_exports[("prod", layer)])
    result = standin.make("destroy-all", "ENV=prod", "CONFIRM=prod")
    assert result.done.returncode != 0
    assert result.args("destroy") == [], "nothing may be destroyed while any layer is protected"
    err = result.done.stderr
    assert "refusing: deletion protection is on in prod; nothing was destroyed" in err
    assert "deletion-protection: urn:pulumi:prod::student-helper-data::" in err
    assert "termination-protection: urn:pulumi:prod::student-helper-compute::" in err
    assert "--no-deletion-protection --apply-immediately" in err
    assert "--no-disable-api-termination" in err
    assert "make refresh-data ENV=prod" in err
    assert "pulumi state unprotect --cwd stacks/data --stack prod" in err


def test_unprotected_environments_destroy_and_name_what_is_kept(
    standin: StandIn, offline_exports: dict[tuple[str, str], Path]
) -> None:
    for layer in LAYERS:
        standin.set_export("dev", layer, offline_exports[("dev", layer)])
    # A retained bucket, as `pulumi stack export` records one whose program set retain_on_delete.
    data = json.loads(offline_exports[("dev", "data")].read_text())
    bucket = next(r for r in data["deployment"]["resources"] if r["urn"].endswith("student-helper-dev-documents"))
    bucket["retainOnDelete"] = True
    (standin.answers / "exports" / "dev" / "data.json").write_text(json.dumps(data))
    result = standin.make("destroy-all", "ENV=dev", "CONFIRM=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.layers("destroy") == list(reversed(LAYERS))
    assert f"kept in AWS after destroy (retainOnDelete, its data survives): {bucket['urn']}" in result.done.stdout


def test_destroying_a_layer_refuses_while_a_downstream_layer_reads_it(standin: StandIn) -> None:
    standin.deployed("dev")
    result = standin.make("destroy-data", "ENV=dev", "CONFIRM=dev")
    assert result.done.returncode != 0
    assert "refusing: compute, edge [dev] still deployed" in result.done.stderr
    assert result.args("destroy") == []


def test_layers_without_a_stack_are_skipped(standin: StandIn) -> None:
    standin.set_stacks({"network": ["dev"], "data": ["dev"], "compute": [], "edge": []})
    result = standin.make("destroy-all", "ENV=dev", "CONFIRM=dev")
    assert result.done.returncode == 0, result.done.stderr
    assert result.layers("destroy") == ["data", "network"]
    assert "edge [dev]: no stack, nothing to destroy" in result.done.stdout


# --- outputs -----------------------------------------------------------------------------------------------------

REQUIRED_KEYS = [
    "VPC_ID",
    "EC2_INSTANCE_ID",
    "EC2_PRIVATE_IP",
    "LAMBDA_FUNCTION_NAME",
    "LAMBDA_ECR_REPOSITORY",
    "RDS_ENDPOINT",
    "DOCUMENTS_BUCKET",
    "VECTORS_BUCKET",
    "VECTORS_INDEX",
    "FRONTEND_BUCKET",
    "SQS_QUEUE_URL",
    "API_ENDPOINT",
    "CLOUDFRONT_DOMAIN",
]


def test_outputs_writes_the_env_file_from_stack_outputs_without_secret_values(
    standin: StandIn, exports: dict[tuple[str, str], Export], tmp_path: Path
) -> None:
    for layer in LAYERS:
        outputs = dict(exports[("staging", layer)].outputs)
        if layer == "data":
            outputs["rds_address"] = "[secret]"  # as `stack output --json` masks a secret output
        standin.set_outputs("staging", layer, outputs)
    out = tmp_path / "out"
    result = standin.make("outputs", "ENV=staging", f"OUTPUTS_DIR={out}")
    assert result.done.returncode == 0, result.done.stderr
    assert all("--show-secrets" not in call for call in result.args())
    lines = (out / "infrastructure.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if not line.startswith("#"))
    for key in REQUIRED_KEYS:
        assert values.get(key), f"{key} missing from infrastructure.env"
    data, edge = exports[("staging", "data")].outputs, exports[("staging", "edge")].outputs
    assert values["DOCUMENTS_BUCKET"] == data["documents_bucket"]
    assert values["RDS_MASTER_SECRET_ARN"] == data["rds_master_secret_arn"]
    assert values["RDS_MASTER_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert values["CLOUDFRONT_DOMAIN"] == edge["cloudfront_domain"]
    assert values["ENVIRONMENT"] == "staging"
    assert values["AWS_REGION"] == "ap-southeast-2"
    assert "RDS_ADDRESS" not in values
    assert "[secret]" not in (out / "infrastructure.env").read_text()
    assert "# RDS_ADDRESS: secret output, not written (pulumi stack output --show-secrets)" in lines
    document = json.loads((out / "infrastructure.json").read_text())
    assert document["values"] == values
    assert document["secret_keys"] == ["RDS_ADDRESS"]


def test_outputs_writes_the_layers_deployed_so_far_and_names_the_others(
    standin: StandIn, exports: dict[tuple[str, str], Export], tmp_path: Path
) -> None:
    # A first deploy: network and data are up, and the images must be pushed before compute can be.
    for layer in ("network", "data"):
        standin.set_outputs("dev", layer, dict(exports[("dev", layer)].outputs))
    result = standin.make("outputs", "ENV=dev", f"OUTPUTS_DIR={tmp_path}")
    assert result.done.returncode == 0, result.done.stderr
    assert (
        "outputs: not deployed yet in dev: compute, edge; run make outputs ENV=dev again after make up-compute ENV=dev"
        in result.done.stdout
    )
    text = (tmp_path / "infrastructure.env").read_text()
    values = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    data = exports[("dev", "data")].outputs
    assert values["LAMBDA_ECR_REPOSITORY"] == data["lambda_ecr_repository"]
    assert values["BACKEND_ECR_REPOSITORY"] == data["backend_ecr_repository"]
    assert values["VPC_ID"] == exports[("dev", "network")].outputs["vpc_id"]
    assert "API_ENDPOINT" not in values and "EC2_INSTANCE_ID" not in values
    assert "# Not deployed yet in dev: compute, edge (their outputs are missing below)." in text.splitlines()
    assert json.loads((tmp_path / "infrastructure.json").read_text())["not_deployed"] == ["compute", "edge"]


def test_outputs_fails_when_nothing_is_deployed(standin: StandIn, tmp_path: Path) -> None:
    result = standin.make("outputs", "ENV=dev", f"OUTPUTS_DIR={tmp_path}")
    assert result.done.returncode == 2
    assert "nothing is deployed in dev yet: deploy a layer first, e.g. make up-network ENV=dev" in result.done.stderr
    assert not (tmp_path / "infrastructure.env").exists()


def test_outputs_fail_when_a_layer_lacks_a_contract_output(
    standin: StandIn, exports: dict[tuple[str, str], Export], tmp_path: Path
) -> None:
    for layer in LAYERS:
        outputs = dict(exports[("dev", layer)].outputs)
        outputs.pop("api_endpoint", None)
        standin.set_outputs("dev", layer, outputs)
    result = standin.make("outputs", "ENV=dev", f"OUTPUTS_DIR={tmp_path}")
    assert "edge [dev]: stack outputs lack api_endpoint" in result.done.stderr


# --- backends ----------------------------------------------------------------------------------------------------


def test_the_embedded_file_backend_is_used_when_no_backend_is_set(standin: StandIn) -> None:
    result = standin.make("up-network", "ENV=dev")
    assert result.args()[0] == ["login", EMBEDDED]
    assert {call["backend"] for call in result.calls} == {EMBEDDED}


@pytest.mark.parametrize("url", ["s3://acme-pulumi-state/student-helper", "https://api.pulumi.com"])
def test_a_configured_backend_moves_every_layer_without_a_login(standin: StandIn, url: str) -> None:
    result = standin.make("deploy-all", "ENV=dev", PULUMI_BACKEND_URL=url)
    assert result.done.returncode == 0, result.done.stderr
    assert all(call[0] != "login" for call in result.args())
    assert {call["backend"] for call in result.calls} == {url}
    assert f"deploy-all: state backend {url}" in result.done.stdout


def test_a_secrets_provider_is_used_for_new_stacks(standin: StandIn) -> None:
    kms = "awskms://alias/pulumi-state?region=ap-southeast-2"
    result = standin.make("up-data", "ENV=dev", f"SECRETS_PROVIDER={kms}")
    assert ["stack", "select", "--cwd", "stacks/data", "--create", "dev", "--secrets-provider", kms] in result.args()


# --- arguments ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy-all", "ENV=qa"), "ENV='qa' is not a stack of this repo: allowed dev, staging, prod"),
        (("deploy-all",), "ENV is required: make deploy-all ENV=<dev|staging|prod>"),
        (("up-data",), "ENV is required: make up-data ENV=<dev|staging|prod>"),
        (("preview-edge", "ENV=Prod"), "ENV='Prod' is not a stack of this repo"),
        (("destroy-all", "ENV=test", "CONFIRM=test"), "ENV='test' is not a stack of this repo"),
        (("outputs", "ENV=production"), "ENV='production' is not a stack of this repo"),
        (("doctor",), "ENV is required: make doctor ENV=<dev|staging|prod>"),
        (("deploy-all", "ENV=dev", "FROM=database"), "unknown layer database: allowed network, data, compute, edge"),
    ],
)
def test_bad_arguments_fail_before_pulumi_runs(standin: StandIn, args: tuple[str, ...], message: str) -> None:
    result = standin.make(*args)
    assert result.done.returncode != 0
    assert message in result.done.stderr
    assert result.calls == []


# --- doctor (its AWS checks run against botocore's Stubber in tests/test_doctor.py) ----------------------------


def _old_cli(standin: StandIn) -> None:
    standin.answers.mkdir(parents=True, exist_ok=True)
    (standin.answers / "version").write_text("v3.100.0")


def _none(_: StandIn) -> None:
    return None


@pytest.mark.parametrize(
    ("environ", "prepare", "expected"),
    [
        ({}, _old_cli, "FAIL  pulumi CLI         v3.100.0 is older than v3.272.0 (the pinned SDK)"),
        ({}, _none, "FAIL  AWS credentials    no credentials resolve in ap-southeast-2: run 'aws sso login'"),
        (
            {"PULUMI_BACKEND_URL": "s3://acme-state"},
            _none,
            "FAIL  state backend      s3://acme-state is self-managed and the network, data, compute, edge stack(s) "
            "use a passphrase: set PULUMI_CONFIG_PASSPHRASE",
        ),
        (
            {"PULUMI_BACKEND_URL": "https://api.pulumi.com", "STANDIN_LOGGED_OUT": "1"},
            _none,
            "FAIL  state backend      not logged in to https://api.pulumi.com: export PULUMI_ACCESS_TOKEN",
        ),
    ],
)
def test_doctor_names_each_failure_and_its_fix(
    standin: StandIn, environ: dict[str, str], prepare: Callable[[StandIn], None], expected: str
) -> None:
    # Without credentials nothing reaches AWS; the account checks are skipped, and say so.
    prepare(standin)
    result = standin.make("doctor", "ENV=dev", credentials=False, **environ)
    assert result.done.returncode != 0
    assert expected in result.done.stdout, result.done.stdout
    assert "skip  AWS account        the account checks need credentials" in result.done.stdout
    assert "Traceback" not in result.done.stderr


def test_doctor_explains_a_missing_cli_and_still_checks_the_rest(standin: StandIn) -> None:
    result = standin.make(
        "doctor", "ENV=dev", f"PULUMI={standin.root / 'no-such-pulumi'}", credentials=False, PULUMI_BACKEND_URL="s3://b"
    )
    assert result.done.returncode != 0
    assert "no-such-pulumi' not found; install it: curl -fsSL https://get.pulumi.com" in result.done.stdout
    assert (
        "FAIL  AWS credentials" in result.done.stdout and "ok    image tags         backend 0.1.0" in result.done.stdout
    )
    assert "Traceback" not in result.done.stderr


# --- missing prerequisites: one line naming what is missing and how to get it, no traceback ----------------------

CLI_TARGETS = [
    ("preview-network", "ENV=dev"),
    ("up-data", "ENV=dev"),
    ("deploy-all", "ENV=dev"),
    ("destroy-all", "ENV=dev", "CONFIRM=dev"),
    ("outputs", "ENV=dev"),
    ("refresh-edge", "ENV=dev"),
]


@pytest.mark.parametrize("args", CLI_TARGETS, ids=lambda args: args[0])
def test_every_deploy_target_explains_a_missing_cli(standin: StandIn, args: tuple[str, ...]) -> None:
    missing = standin.root / "bin" / "pulumi"
    result = standin.make(*args, f"PULUMI={missing}")
    assert result.done.returncode != 0
    lines = [line for line in result.done.stderr.splitlines() if line.strip()]
    assert lines[0] == (
        f"{args[0]}: the Pulumi CLI '{missing}' was not found; install it: curl -fsSL https://get.pulumi.com | "
        "sh -s -- --version 3.272.0 (or set PULUMI=<path>); make doctor ENV=dev checks all a deploy needs"
    ), result.done.stderr
    assert "Traceback" not in result.done.stderr and "FileNotFoundError" not in result.done.stderr
    assert result.calls == []


@pytest.mark.parametrize("args", [a for a in CLI_TARGETS if a[0] != "outputs"], ids=lambda args: args[0])
def test_every_target_that_reaches_aws_explains_missing_credentials(standin: StandIn, args: tuple[str, ...]) -> None:
    result = standin.make(*args, credentials=False)
    assert result.done.returncode != 0
    assert (
        f"{args[0]}: no AWS credentials found: run 'aws sso login' or 'aws configure', or set AWS_PROFILE"
        in result.done.stderr
    ), result.done.stderr
    assert "Traceback" not in result.done.stderr
    assert result.calls == [], "nothing runs without credentials"


def test_outputs_needs_credentials_only_where_the_state_is_in_aws(
    standin: StandIn, exports: dict[tuple[str, str], Export], tmp_path: Path
) -> None:
    standin.set_outputs("dev", "network", dict(exports[("dev", "network")].outputs))
    local = standin.make("outputs", "ENV=dev", f"OUTPUTS_DIR={tmp_path}", credentials=False)
    assert local.done.returncode == 0, local.done.stderr
    s3 = standin.make("outputs", "ENV=dev", credentials=False, PULUMI_BACKEND_URL="s3://acme-state")
    assert "outputs: no AWS credentials found" in s3.done.stderr


def test_a_named_profile_that_does_not_exist_is_explained(standin: StandIn) -> None:
    result = standin.make("up-network", "ENV=dev", credentials=False, AWS_PROFILE="nope")
    assert "up-network: The config profile (nope) could not be found: run 'aws sso login'" in result.done.stderr
    assert "Traceback" not in result.done.stderr


# --- review follow-ups: the state of CI runs, prod single-layer destroys, resumable destroys ----------------------


def test_ci_refuses_the_embedded_backend_whose_state_would_vanish_with_the_runner(standin: StandIn) -> None:
    result = standin.make("up-network", "ENV=dev", CI="true")
    assert result.done.returncode != 0
    assert "PULUMI_BACKEND_URL is unset in CI" in result.done.stderr
    assert result.args() == []


def test_staging_and_prod_on_the_embedded_backend_say_where_their_state_lives(standin: StandIn) -> None:
    result = standin.make("up-network", "ENV=staging")
    assert "note: staging state is kept only on this machine" in result.done.stdout
    assert "state is kept only" not in standin.make("up-network", "ENV=dev").done.stdout


def test_a_preview_skipped_in_ci_fails(standin: StandIn) -> None:
    standin.deployed("dev", ["network"])
    result = standin.make("preview-compute", "ENV=dev", CI="true", PULUMI_BACKEND_URL="s3://acme-state")
    assert result.done.returncode != 0
    assert "FAILED: nothing previewed for compute" in result.done.stderr
    assert result.args("preview") == []


def test_in_prod_a_protection_in_any_layer_stops_a_single_layer_destroy(
    standin: StandIn, offline_exports: dict[tuple[str, str], Path]
) -> None:
    standin.set_export("prod", "data", offline_exports[("prod", "data")])
    result = standin.make("destroy-edge", "ENV=prod", "CONFIRM=prod")
    assert result.done.returncode != 0
    assert "deletion-protection: urn:pulumi:prod::student-helper-data::" in result.done.stderr
    assert "--region ap-southeast-2" in result.done.stderr
    assert result.args("destroy") == []


def test_a_failed_destroy_says_how_to_resume(standin: StandIn) -> None:
    result = standin.make("destroy-all", "ENV=dev", "CONFIRM=dev", STANDIN_FAIL_IN="compute")
    assert result.done.returncode != 0
    assert result.layers("destroy") == ["edge", "compute"]
    assert "resume with: make destroy-all ENV=dev CONFIRM=dev" in result.done.stderr


# --- docs/deploying.md's first deploy, command by command --------------------------------------------------------


def documented_commands(heading: str) -> list[str]:
    """The command lines of the first ```bash block under a heading of docs/deploying.md (comments dropped)."""
    text = (REPO_ROOT / "docs" / "deploying.md").read_text()
    section = text[text.index(heading) :]
    block = section[section.index("```bash\n") + len("```bash\n") :]
    lines = block[: block.index("```")].splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def repository_copy(destination: Path) -> Path:
    """The repository without its caches and state, sharing this checkout's virtualenv.

    The walk-through writes infrastructure.env and the embedded state where docs/deploying.md says, in the repository:
    a copy keeps those out of this checkout and out of parallel tests' way.
    """
    ignored = shutil.ignore_patterns(
        ".git", ".venv", ".venv-scan", "build", ".pulumi-state", "infrastructure.*", "__pycache__", ".*_cache"
    )
    shutil.copytree(REPO_ROOT, destination, ignore=ignored)
    (destination / ".venv").symlink_to(REPO_ROOT / ".venv")
    # Older than the virtualenv's stamp, so make does not reinstall the project from the copy into that virtualenv.
    os.utime(destination / "pyproject.toml", (0, 0))
    return destination


def test_the_documented_first_deploy_works_command_by_command(
    standin: StandIn, exports: dict[tuple[str, str], Export], tmp_path: Path
) -> None:
    commands = documented_commands("## The first deploy of dev")
    repo = repository_copy(tmp_path / "repo")
    for layer in LAYERS:  # what a successful `pulumi up` of each layer leaves as its outputs
        path = standin.answers / "deploys" / "dev" / f"{layer}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(exports[("dev", layer)].outputs))
    record, steps = standin.root / "walk.jsonl", standin.root / "steps"
    steps.mkdir()
    # After each command: a marker among the recorded calls, the shell's variables, and infrastructure.env as it is.
    script = [
        "set -euo pipefail",
        f'step() {{ echo "{{\\"step\\": $1}}" >> "{record}"; (set -o posix; set) > "{steps}/$1"; '
        f'if [ -f infrastructure.env ]; then cp infrastructure.env "{steps}/$1.env"; fi; }}',
    ]
    for index, command in enumerate(commands):
        script += [command, f"step {index}"]
    env = isolated_environ(credentials=True)
    env.update(
        PATH=f"{standin.root}:{env['PATH']}",  # the stand-in pulumi, aws and docker, as a user's PATH has the real ones
        GATE="",  # the offline gate (make check) has its own tests
        STANDIN_RECORD=str(record),
        STANDIN_DIR=str(standin.answers),
    )
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"

    by_step: dict[int, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in record.read_text().splitlines():
        entry = json.loads(line)
        if "step" in entry:
            by_step[entry["step"]], current = current, []
        else:
            current.append(entry["args"])
    assert sorted(by_step) == list(range(len(commands))), "every documented command ran"

    def step(prefix: str, occurrence: int = 0) -> int:
        return [i for i, command in enumerate(commands) if command.startswith(prefix)][occurrence]

    def shell_vars(index: int) -> dict[str, str]:
        found = {}
        for line in (steps / str(index)).read_text().splitlines():
            name, _, value = line.partition("=")
            found[name] = value.strip("'")
        return found

    def ups(index: int) -> list[str]:
        return [Path(a[a.index("--cwd") + 1]).name for a in by_step[index] if a[0] == "up"]

    data, compute = exports[("dev", "data")].outputs, exports[("dev", "compute")]
    assert ups(step("make up-network")) == ["network"]
    assert ups(step("make up-data")) == ["data"]

    # make outputs after the data layer: the repositories are there, the layers not deployed yet are named.
    first_outputs = step("make outputs")
    env_file = (steps / f"{first_outputs}.env").read_text()
    assert f"LAMBDA_ECR_REPOSITORY={data['lambda_ecr_repository']}" in env_file.splitlines()
    assert f"BACKEND_ECR_REPOSITORY={data['backend_ecr_repository']}" in env_file.splitlines()
    assert "# Not deployed yet in dev: compute, edge (their outputs are missing below)." in env_file
    assert ups(first_outputs) == []

    sourced = shell_vars(step("set -a; source infrastructure.env"))
    assert sourced["BACKEND_ECR_REPOSITORY"] == data["backend_ecr_repository"]
    assert sourced["AWS_REGION"] == "ap-southeast-2"

    # The tag pushed is the tag the compute stack deploys.
    tag = shell_vars(step("TAG="))["TAG"]
    stack_file = yamlio.load((REPO_ROOT / "stacks/compute/Pulumi.dev.yaml").read_text())["config"]
    assert stack_file["student-helper-compute:backend_image_tag"] == tag
    assert stack_file["student-helper-compute:processor_image_tag"] == tag

    login = by_step[step("aws ecr get-login-password")]
    assert ["aws", "ecr", "get-login-password", "--region", "ap-southeast-2"] in login
    registry = data["backend_ecr_repository"].split("/")[0]
    assert ["docker", "login", "--username", "AWS", "--password-stdin", registry] in login

    # One platform, the architecture the function and the instance run (x86_64), and no attestation index.
    function = compute.one("aws:lambda/function:Function")["inputs"]
    assert function.get("architectures", ["x86_64"]) == ["x86_64"]
    instance_type = compute.one("aws:ec2/instance:Instance")["inputs"]["instanceType"]
    assert not re.match(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.", instance_type), f"{instance_type} is a Graviton type"
    for occurrence, repository in enumerate((data["backend_ecr_repository"], data["lambda_ecr_repository"])):
        (build,) = by_step[step("docker build", occurrence)]
        assert build[:2] == ["docker", "build"]
        assert {"--provenance=false", "--sbom=false"} <= set(build)
        assert build[build.index("--platform") + 1] == "linux/amd64"
        assert build[build.index("-t") + 1] == f"{repository}:{tag}"
        assert by_step[step("docker push", occurrence)] == [["docker", "push", f"{repository}:{tag}"]]

    assert ups(step("make deploy-all")) == LAYERS
    final = json.loads((repo / "infrastructure.json").read_text())
    assert final["not_deployed"] == []
    assert final["values"]["API_ENDPOINT"] == exports[("dev", "edge")].outputs["api_endpoint"]


@pytest.mark.parametrize(("target", "venv"), [("setup", ".venv"), ("policy-venv", "policies/venv")])
def test_every_venv_make_creates_is_compiled_at_install(tmp_path: Path, target: str, venv: str) -> None:
    # Without bytecode each process compiles what it imports, and never stops where PYTHONDONTWRITEBYTECODE is set.
    planned = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'absent'}"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    installs = [line for line in planned.stdout.splitlines() if "uv pip install" in line]
    assert installs and all("--compile-bytecode" in line for line in installs), planned.stdout + planned.stderr


@pytest.mark.parametrize("existing", [False, True], ids=["new", "installed-before"])
def test_the_scanners_venv_is_compiled_at_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    from tools.scan import venv as scan_venv

    venv = tmp_path / "venv-scan"
    (venv / "bin").mkdir(parents=True)  # what the stubbed `uv venv` would have made
    if existing:  # the pins, installed before they were compiled at install: uv compiles only what it installs
        (venv / "bin" / "python").write_text("")
        (venv / ".installed").write_text("\n".join(scan_venv.scan_pins()) + "\n")
    ran: list[list[str]] = []
    monkeypatch.setattr(scan_venv.subprocess, "run", lambda command, **_: ran.append(command))
    scan_venv.ensure_scan_venv(venv)
    installs = [command for command in ran if command[1:3] == ["pip", "install"]]
    assert installs and all("--compile-bytecode" in command for command in installs), ran
    assert all(("--reinstall" in command) == existing for command in installs), ran
    assert (venv / ".installed").read_text().splitlines()[-1] == scan_venv.INSTALL_MARK
