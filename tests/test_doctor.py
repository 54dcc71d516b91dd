"""``make doctor``'s account checks against botocore's Stubber: the real AWS API models validate every request
this code sends and every response these tests answer with, so a misspelled parameter or field fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from shared import config, yamlio
from tests import fakes
from tests.conftest import REPO_ROOT, Export
from tools.deploy import account, cli, doctor
from tools.deploy.backend import Backend, PulumiCli
from tools.deploy.checks import Check

REGION = "ap-southeast-2"
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "correct horse"}  # the embedded backend's stacks encrypt with it
ACCOUNT = "111122223333"
PROFILE = "au.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "logs",
    "s3vectors",
    "sqs",
    "secretsmanager",
    "bedrock-runtime",
)


class Aws:
    """Stubbed boto3 clients in one region, created on first use, checked for unused answers at the end."""

    def __init__(self) -> None:
        self.session = boto3.session.Session(
            aws_access_key_id="AKIASTANDINEXAMPLE", aws_secret_access_key="stand-in", region_name=REGION
        )
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        self.stub(service)
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        """The Stubber of ``service``'s client: queue answers on it in the order the code calls."""
        if service not in self.stubbers:
            self.clients[service] = self.session.client(service)
            self.stubbers[service] = Stubber(self.clients[service])
            self.stubbers[service].activate()
        return self.stubbers[service]

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Aws]:
    stubbed = Aws()
    yield stubbed
    stubbed.verify()


# --- answers, in the shapes the API models define ------------------------------------------------------------------


def caller(aws: Aws) -> None:
    aws.stub("sts").add_response(
        "get_caller_identity",
        {"UserId": "AIDASTANDIN", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
        {},
    )


def account_settings(aws: Aws, total: int, unreserved: int) -> None:
    aws.stub("lambda").add_response(
        "get_account_settings",
        {
            "AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved},
            "AccountUsage": {"FunctionCount": 0, "TotalCodeSize": 0},
        },
        {},
    )


def function_concurrency(aws: Aws, function: str, held: int | None) -> None:
    """The function's reservation: ``None`` when the function does not exist yet."""
    if held is None:
        aws.stub("lambda").add_client_error(
            "get_function_concurrency",
            service_error_code="ResourceNotFoundException",
            service_message=f"Function not found: {function}",
            http_status_code=404,
            expected_params={"FunctionName": function},
        )
    else:
        aws.stub("lambda").add_response(
            "get_function_concurrency", {"ReservedConcurrentExecutions": held}, {"FunctionName": function}
        )


def inference_profile(aws: Aws, regions: tuple[str, ...] = (REGION, "ap-southeast-4")) -> None:
    aws.stub("bedrock").add_response(
        "get_inference_profile",
        {
            "inferenceProfileName": "AU Claude Sonnet 4.5",
            "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE}",
            "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{CLAUDE}"} for region in regions],
            "inferenceProfileId": PROFILE,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        },
        {"inferenceProfileIdentifier": PROFILE},
    )


def availability(aws: Aws, model: str, agreement: str = "AVAILABLE", region: str = "AVAILABLE", **extra: Any) -> None:
    answer = {
        "modelId": model,
        "agreementAvailability": {"status": agreement, **extra},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": region,
    }
    aws.stub("bedrock").add_response("get_foundation_model_availability", answer, {"modelId": model})


ZONE_FILTERS = [
    {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
    {"Name": "state", "Values": ["available"]},
]


def zones(aws: Aws) -> None:
    # Deliberately out of order: the network layer takes the first zones in name order.
    aws.stub("ec2").add_response(
        "describe_availability_zones",
        {
            "AvailabilityZones": [
                {"ZoneName": f"{REGION}{letter}", "ZoneId": f"apse2-az{n}", "State": "available"}
                for n, letter in enumerate("cab", start=1)
            ]
        },
        {"Filters": ZONE_FILTERS},
    )


def service_detail(service: str, kind: str = "Interface", azs: tuple[str, ...] = ("a", "b", "c")) -> dict[str, Any]:
    return {
        "ServiceName": f"com.amazonaws.{REGION}.{service}",
        "ServiceType": [{"ServiceType": kind}],
        "AvailabilityZones": [f"{REGION}{zone}" for zone in azs],
    }


def endpoint_services(aws: Aws, *pages: list[dict[str, Any]], services: tuple[str, ...] = INTERFACE_ENDPOINTS) -> None:
    names = sorted(f"com.amazonaws.{REGION}.{service}" for service in ("s3", *services))
    for number, page in enumerate(pages):
        request: dict[str, Any] = {"Filters": [{"Name": "service-name", "Values": names}]}
        if number:
            request["NextToken"] = f"page-{number}"
        answer: dict[str, Any] = {"ServiceDetails": page}
        if number < len(pages) - 1:
            answer["NextToken"] = f"page-{number + 1}"
        aws.stub("ec2").add_response("describe_vpc_endpoint_services", answer, request)


def all_services(*missing: str, azs: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    found = [service_detail("s3", "Gateway"), service_detail("s3")]
    found += [
        service_detail(service, azs=(azs or {}).get(service, ("a", "b", "c")))
        for service in INTERFACE_ENDPOINTS
        if service not in missing
    ]
    return found


# --- credentials ---------------------------------------------------------------------------------------------------


def test_credentials_resolve_to_an_account(aws: Aws) -> None:
    caller(aws)
    check, account_id = account.check_credentials(aws, REGION)
    assert check == Check("AWS credentials", "ok", f"account {ACCOUNT}, region {REGION}")
    assert account_id == ACCOUNT


def test_expired_credentials_say_what_to_do(aws: Aws) -> None:
    aws.stub("sts").add_client_error(
        "get_caller_identity", service_error_code="ExpiredToken", service_message="The security token has expired"
    )
    check, account_id = account.check_credentials(aws, REGION)
    assert account_id is None
    assert check.detail == (
        "ExpiredToken: The security token has expired: run 'aws sso login' or 'aws configure', or set AWS_PROFILE"
    )


def test_keys_in_the_environment_are_found_without_loading_botocore() -> None:
    # The environment is botocore's first provider; the check answers from it without paying for botocore.
    probe = (
        "import sys; from tools.deploy import account; "
        "print(account.credentials_problem(), 'botocore.session' in sys.modules, 'boto3' in sys.modules)"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIASTANDINEXAMPLE", "AWS_SECRET_ACCESS_KEY": "stand-in"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["None", "False", "False"], done.stderr


def test_no_credentials_fail_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup: nothing leaves this host
    assert account.credentials_problem() == (
        "no AWS credentials found: run 'aws sso login' or 'aws configure', or set AWS_PROFILE"
    )
    check, account_id = account.check_credentials(account.boto3_clients(REGION), REGION)
    assert (check.status, account_id) == ("FAIL", None)
    assert check.detail.startswith(f"no credentials resolve in {REGION}: run 'aws sso login'")


# --- Lambda concurrency --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unreserved", "held", "max_concurrency", "reserved", "problem"),
    [
        (10, 0, 2, None, None),  # a new account: 10 in all, none reserved, the event source runs 2
        (10, 0, 10, None, None),
        (
            5,
            0,
            10,
            None,
            "processor_max_concurrency=10 is more than the account's 5 unreserved executions, so the SQS event "
            "source would be throttled: set processor_max_concurrency to 5 or less",
        ),
        (
            10,
            0,
            2,
            2,
            "lambda_reserved_concurrency=2 would leave 8 unreserved executions and Lambda keeps at least 100 (the "
            "account has 10 to share): unset lambda_reserved_concurrency (the default)",
        ),
        (1000, 0, 10, 10, None),
        (95, 10, 10, 5, None),  # the function's own reservation of 10 is released when it changes to 5
        (1000, 0, 2, 901, "would leave 99 unreserved executions"),
    ],
)
def test_concurrency_rules(
    unreserved: int, held: int, max_concurrency: int, reserved: int | None, problem: str | None
) -> None:
    found = account.concurrency_problem(unreserved, held, max_concurrency, reserved)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert "Service Quotas > AWS Lambda > Concurrent executions" in found


def test_a_new_account_takes_the_default_concurrency(aws: Aws) -> None:
    account_settings(aws, total=10, unreserved=10)
    function_concurrency(aws, "student-helper-dev-doc-processor", held=None)
    check = account.check_lambda_concurrency(aws, "student-helper-dev-doc-processor", 2, None)
    assert check == Check(
        "Lambda concurrency",
        "ok",
        "account limit 10, 10 unreserved; the processor runs at most 2 at once and reserves none",
    )


def test_a_reservation_a_new_account_cannot_spare_fails(aws: Aws) -> None:
    account_settings(aws, total=10, unreserved=10)
    function_concurrency(aws, "student-helper-prod-doc-processor", held=None)
    check = account.check_lambda_concurrency(aws, "student-helper-prod-doc-processor", 10, 10)
    assert check.status == "FAIL"
    assert check.detail.startswith("lambda_reserved_concurrency=10 would leave 0 unreserved executions")


def test_a_deployed_functions_reservation_counts_as_available(aws: Aws) -> None:
    account_settings(aws, total=1000, unreserved=895)
    function_concurrency(aws, "student-helper-prod-doc-processor", held=5)
    check = account.check_lambda_concurrency(aws, "student-helper-prod-doc-processor", 10, 800)
    assert check.status == "ok", check.detail


def test_missing_permission_is_named(aws: Aws) -> None:
    aws.stub("lambda").add_client_error(
        "get_account_settings", service_error_code="AccessDeniedException", service_message="not authorized"
    )
    check = account.check_lambda_concurrency(aws, "student-helper-dev-doc-processor", 2, None)
    assert check == Check(
        "Lambda concurrency", "FAIL", "AccessDeniedException: not authorized (doctor needs lambda:GetAccountSettings)"
    )


# --- Bedrock model access ------------------------------------------------------------------------------------------


def _answer(agreement: str = "AVAILABLE", region: str = "AVAILABLE", entitlement: str = "AVAILABLE") -> dict[str, Any]:
    return {
        "agreementAvailability": {"status": agreement, "errorMessage": "payment method missing"},
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


@pytest.mark.parametrize(
    ("model", "answer", "judge_region", "problem"),
    [
        (CLAUDE, _answer(), False, None),
        (CLAUDE, _answer(agreement="NOT_AVAILABLE"), False, f"{CLAUDE} is not enabled for this account"),
        (CLAUDE, _answer(agreement="PENDING"), False, "its AWS Marketplace subscription is being set up"),
        (CLAUDE, _answer(agreement="ERROR"), False, "subscription failed (payment method missing)"),
        (CLAUDE, _answer(entitlement="NOT_AVAILABLE"), False, f"{CLAUDE} is not enabled for this account"),
        # Through a profile, the profile is the region check: the base model may be served only that way.
        (CLAUDE, _answer(region="NOT_AVAILABLE"), False, None),
        (TITAN, _answer(region="NOT_AVAILABLE"), True, f"{TITAN} is not offered in {REGION}"),
        # Amazon's models are not sold through AWS Marketplace: no agreement is involved.
        (TITAN, _answer(agreement="NOT_AVAILABLE"), True, None),
        ("cohere.embed-english-v3", _answer(agreement="NOT_AVAILABLE"), True, "is not enabled for this account"),
    ],
)
def test_model_availability_rules(model: str, answer: dict[str, Any], judge_region: bool, problem: str | None) -> None:
    found = account.availability_problem(model, REGION, answer, judge_region=judge_region)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


def test_an_enabled_inference_profile_names_its_destination_regions(aws: Aws) -> None:
    inference_profile(aws)
    availability(aws, CLAUDE)
    check = account.check_model(aws, REGION, "chat model", PROFILE)
    assert check == Check(
        "chat model", "ok", f"{PROFILE} is available in {REGION} (profile routes to ap-southeast-2, ap-southeast-4)"
    )


def test_a_model_nobody_has_enabled_needs_the_admin_step(aws: Aws) -> None:
    inference_profile(aws)
    availability(aws, CLAUDE, agreement="NOT_AVAILABLE")
    check = account.check_model(aws, REGION, "chat model", PROFILE)
    assert check == Check(
        "chat model",
        "FAIL",
        f"{CLAUDE} is not enabled for this account: an administrator enables it once (docs/deploying.md, 'Bedrock "
        "model access') (profile routes to ap-southeast-2, ap-southeast-4)",
    )


def test_a_profile_the_region_does_not_serve(aws: Aws) -> None:
    aws.stub("bedrock").add_client_error(
        "get_inference_profile",
        service_error_code="ResourceNotFoundException",
        service_message="inference profile not found",
        http_status_code=404,
        expected_params={"inferenceProfileIdentifier": PROFILE},
    )
    check = account.check_model(aws, REGION, "chat model", PROFILE)
    assert check.status == "FAIL"
    assert check.detail == (
        f"inference profile {PROFILE} is not offered in {REGION}: choose one from "
        f"aws bedrock list-inference-profiles --region {REGION}"
    )


def test_an_embedding_model_is_checked_in_the_region(aws: Aws) -> None:
    availability(aws, TITAN, region="NOT_AVAILABLE", agreement="NOT_AVAILABLE")
    check = account.check_model(aws, REGION, "embedding model", TITAN)
    assert check == Check(
        "embedding model",
        "FAIL",
        f"{TITAN} is not offered in {REGION}: choose one from aws bedrock list-foundation-models",
    )


# --- VPC endpoint services -----------------------------------------------------------------------------------------


def test_every_endpoint_service_is_offered_where_the_endpoints_go(aws: Aws) -> None:
    zones(aws)
    services = all_services()
    endpoint_services(aws, services[:5], services[5:])  # two pages
    check = account.check_endpoint_services(aws, REGION, INTERFACE_ENDPOINTS, 2)
    assert check == Check("endpoint services", "ok", f"11 services offered in {REGION}a, {REGION}b")


def test_a_region_without_s3_vectors_fails(aws: Aws) -> None:
    zones(aws)
    endpoint_services(aws, all_services("s3vectors"))
    check = account.check_endpoint_services(aws, REGION, INTERFACE_ENDPOINTS, 1)
    assert check.status == "FAIL"
    assert check.detail.startswith(f"not offered in {REGION}: s3vectors; every workload path needs its endpoint")


def test_a_service_missing_from_an_endpoint_az_fails(aws: Aws) -> None:
    zones(aws)
    endpoint_services(aws, all_services(azs={"bedrock-runtime": ("a", "c")}))
    check = account.check_endpoint_services(aws, REGION, INTERFACE_ENDPOINTS, 2)
    assert check == Check(
        "endpoint services",
        "FAIL",
        f"the endpoints go in {REGION}a, {REGION}b, but bedrock-runtime (not in {REGION}b): deploy to a region "
        "whose first 2 AZ(s) offer them",
    )


# --- images --------------------------------------------------------------------------------------------------------


def test_missing_images_are_named(aws: Aws) -> None:
    ecr = aws.stub("ecr")
    ecr.add_response(
        "describe_images",
        {"imageDetails": [{"repositoryName": "student-helper-dev-backend", "imageTags": ["0.1.0"]}]},
        {"repositoryName": "student-helper-dev-backend", "imageIds": [{"imageTag": "0.1.0"}]},
    )
    ecr.add_client_error(
        "describe_images",
        service_error_code="ImageNotFoundException",
        service_message="not found",
        expected_params={"repositoryName": "student-helper-dev-processor", "imageIds": [{"imageTag": "0.1.0"}]},
    )
    images = [("student-helper-dev-backend", "0.1.0"), ("student-helper-dev-processor", "0.1.0")]
    check = account.check_images_pushed(aws, images)
    assert check == Check(
        "images pushed",
        "FAIL",
        "not in ECR: student-helper-dev-processor:0.1.0; push them first (docs/deploying.md, 'Pushing the images')",
    )


# --- the whole doctor, for the real dev stack files -----------------------------------------------------------------


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exports: dict[tuple[str, str], Export]) -> PulumiCli:
    """The stand-in pulumi, with the data layer of dev deployed (its real offline outputs)."""
    answers = tmp_path / "answers"
    (answers / "outputs" / "dev").mkdir(parents=True)
    (answers / "outputs" / "dev" / "data.json").write_text(json.dumps(exports[("dev", "data")].outputs))
    monkeypatch.setenv("STANDIN_RECORD", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("STANDIN_DIR", str(answers))
    executable = fakes.install(tmp_path / "bin") / "pulumi"
    return PulumiCli(str(executable), Backend(url=f"file://{tmp_path}/state", embedded=True))


def ready_dev_account(aws: Aws, exports: dict[tuple[str, str], Export], *, claude: str = "AVAILABLE") -> None:
    """Every answer doctor needs for dev, in the order it asks."""
    caller(aws)
    data = exports[("dev", "data")].outputs
    for output in ("backend_ecr_repository", "lambda_ecr_repository"):
        repository = data[output].split("/", 1)[1]
        aws.stub("ecr").add_response(
            "describe_images",
            {"imageDetails": [{"repositoryName": repository, "imageTags": ["0.1.0"]}]},
            {"repositoryName": repository, "imageIds": [{"imageTag": "0.1.0"}]},
        )
    zones(aws)
    endpoint_services(aws, all_services())
    account_settings(aws, total=10, unreserved=10)
    function_concurrency(aws, "student-helper-dev-doc-processor", held=None)
    inference_profile(aws)
    availability(aws, CLAUDE, agreement=claude)
    availability(aws, TITAN)


def test_a_ready_account_passes_every_check(
    aws: Aws, pulumi: PulumiCli, exports: dict[tuple[str, str], Export]
) -> None:
    ready_dev_account(aws, exports)
    checks = doctor.diagnose("dev", pulumi, PASSPHRASE, clients=lambda region: aws, stacks_dir=REPO_ROOT / "stacks")
    assert [(c.name, c.status) for c in checks] == [
        ("pulumi CLI", "ok"),
        ("AWS region", "ok"),
        ("AWS credentials", "ok"),
        ("state backend", "ok"),
        ("image tags", "ok"),
        ("images pushed", "ok"),
        ("endpoint services", "ok"),
        ("Lambda concurrency", "ok"),
        ("chat model", "ok"),
        ("embedding model", "ok"),
    ], [c for c in checks if c.status != "ok"]


def test_a_fresh_account_is_told_to_enable_the_chat_model(
    aws: Aws, pulumi: PulumiCli, exports: dict[tuple[str, str], Export]
) -> None:
    ready_dev_account(aws, exports, claude="NOT_AVAILABLE")
    checks = doctor.diagnose("dev", pulumi, PASSPHRASE, clients=lambda region: aws, stacks_dir=REPO_ROOT / "stacks")
    failed = [c for c in checks if c.status != "ok"]
    assert [c.name for c in failed] == ["chat model"]
    assert "an administrator enables it once (docs/deploying.md, 'Bedrock model access')" in failed[0].detail


# --- the environment's account ---------------------------------------------------------------------------------------


@pytest.fixture
def perf_in_its_own_account(monkeypatch: pytest.MonkeyPatch) -> str:
    """A matrix with a perf environment that names its account (and borrows staging's stack files' region)."""
    document = yamlio.load(config.MATRIX_PATH.read_text())
    document["environments"]["perf"] = {**document["environments"]["staging"], "account_id": "444455556666"}
    monkeypatch.setattr(config, "environments", lambda: config.parse_matrix(document))
    monkeypatch.setattr("tools.deploy.cli.environments", lambda: config.parse_matrix(document))
    monkeypatch.setattr("tools.deploy.doctor.environments", lambda: config.parse_matrix(document))
    monkeypatch.setattr(
        doctor, "stack_regions", lambda env: dict.fromkeys(("network", "data", "compute", "edge"), REGION)
    )
    monkeypatch.setattr(doctor, "cli_missing", lambda executable: None)
    monkeypatch.setattr(account, "credentials_problem", lambda: None)
    return "444455556666"


@pytest.mark.parametrize(
    ("expected", "actual", "problem"),
    [
        (None, ACCOUNT, None),
        (ACCOUNT, ACCOUNT, None),
        (
            "444455556666",
            ACCOUNT,
            f"the credentials are for account {ACCOUNT}, but perf lives in account 444455556666 "
            "(shared/environment_matrix.yaml account_id): switch AWS_PROFILE or log in to that account",
        ),
    ],
)
def test_an_environment_deploys_only_from_its_own_account(
    expected: str | None, actual: str, problem: str | None
) -> None:
    assert account.account_mismatch(expected, actual, "perf") == problem


def test_the_deploy_targets_refuse_credentials_for_another_account(aws: Aws, perf_in_its_own_account: str) -> None:
    aws.stub("sts").add_response(
        "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/u", "UserId": "AIDAEXAMPLE"}
    )
    with pytest.raises(cli.UsageError) as refused:
        cli.check_prerequisites("pulumi", "perf", aws=True, clients=lambda region: aws)
    assert str(refused.value).startswith(
        f"the credentials are for account {ACCOUNT}, but perf lives in account 444455556666"
    )
    aws.stub("sts").add_response(
        "get_caller_identity",
        {"Account": perf_in_its_own_account, "Arn": "arn:aws:iam::444455556666:user/u", "UserId": "AIDAEXAMPLE"},
    )
    cli.check_prerequisites("pulumi", "perf", aws=True, clients=lambda region: aws)


def test_an_account_sts_cannot_name_is_a_clear_refusal(aws: Aws, perf_in_its_own_account: str) -> None:
    aws.stub("sts").add_client_error(
        "get_caller_identity", service_error_code="ExpiredToken", service_message="expired"
    )
    with pytest.raises(
        cli.UsageError, match=r"cannot tell which account the credentials are for \(ExpiredToken: expired\)"
    ):
        cli.check_prerequisites("pulumi", "perf", aws=True, clients=lambda region: aws)


def test_doctor_fails_credentials_for_another_account(aws: Aws, perf_in_its_own_account: str) -> None:
    aws.stub("sts").add_response(
        "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/u", "UserId": "AIDAEXAMPLE"}
    )
    check, account_id = account.check_credentials(aws, REGION, "perf", perf_in_its_own_account)
    assert (check.status, account_id) == ("FAIL", None)
    assert check.detail.startswith(f"the credentials are for account {ACCOUNT}, but perf lives in account 444455556666")
