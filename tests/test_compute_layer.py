"""The compute layer on the real offline exports: least-privilege IAM, the EC2 backend, the Lambda, Cloud Map."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from shared.components.compute import al2023_ami_parameter
from shared.config import ConfigReader, read_environment
from shared.settings import read_compute_settings, reserved_concurrency_problem
from shared.userdata import render_env_file
from shared.workloads import visibility_timeout_problem
from tests.conftest import ENVS, Export, run_variant

# Actions AWS only authorizes on "*" (no resource types in the Service Authorization Reference).
STAR_ONLY_ACTIONS = {"ecr:GetAuthorizationToken", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
LAMBDA_RESERVED_ENV = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_FUNCTION_NAME",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
}


@pytest.fixture(params=ENVS)
def layer(request: pytest.FixtureRequest, exports: dict[tuple[str, str], Export]) -> tuple[str, Export, Export]:
    env = request.param
    return env, exports[(env, "compute")], exports[(env, "data")]


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    document = json.loads(policy["inputs"]["policy"])
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def role_policies(export: Export) -> dict[str, dict[str, Any]]:
    return {p["urn"].rsplit("::", 1)[1]: p for p in export.of_type("aws:iam/rolePolicy:RolePolicy")}


def test_every_allow_names_exact_resources(layer: tuple[str, Export, Export]) -> None:
    _, export, _ = layer
    policies = role_policies(export)
    assert len(policies) == 2
    for name, policy in policies.items():
        for statement in statements(policy):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
            assert not [a for a in actions if a == "*" or a.endswith(":*")], f"{policy['urn']}: {actions}"
            if resources == ["*"]:
                assert set(actions) <= STAR_ONLY_ACTIONS, f"{policy['urn']}: '*' for {actions}"
                continue
            for arn in resources:
                assert arn.startswith("arn:aws:"), f"{policy['urn']} ({name}): {arn}"
                # The only wildcards allowed are inside one exact resource: a bucket's objects, a group's streams.
                head = arn.removesuffix("/*").removesuffix(":log-stream:*")
                assert "*" not in head, f"{policy['urn']}: {arn} is a pattern, not an exact ARN"
                assert "student-helper-*" not in arn


def by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(policy)}


def test_backend_permissions_use_upstream_arns(layer: tuple[str, Export, Export]) -> None:
    env, export, data = layer
    grants = by_sid(role_policies(export)[f"student-helper-{env}-backend-policy"])
    out = data.outputs
    assert grants["DocumentObjects"]["Resource"] == f"{out['documents_bucket_arn']}/*"
    assert set(grants["DocumentObjects"]["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert grants["EnqueueProcessing"] == {
        "Sid": "EnqueueProcessing",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": out["sqs_queue_arn"],
    }
    assert set(grants["ReadSecrets"]["Resource"]) == {*out["app_secret_arns"].values(), out["rds_master_secret_arn"]}
    assert grants["ReadSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    # The chat model is the Australia cross-region inference profile: the profile's ARN plus the model in each of
    # its destination regions (as the provider's get_inference_profile reports them), and the embedding model.
    assert grants["InvokeModels"]["Resource"] == [
        "arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/au.anthropic.claude-sonnet-4-5-20250929-v1:0",
        f"arn:aws:bedrock:ap-southeast-2::foundation-model/{out['embedding_model_id']}",
        "arn:aws:bedrock:ap-southeast-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:ap-southeast-4::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ]
    assert grants["InvokeModels"]["Action"] == "bedrock:InvokeModel"
    # Streamed answers (ConverseStream) are authorized as InvokeModelWithResponseStream: the chat model's ARNs only.
    assert grants["StreamAnswers"]["Action"] == "bedrock:InvokeModelWithResponseStream"
    assert grants["StreamAnswers"]["Resource"] == [
        arn for arn in grants["InvokeModels"]["Resource"] if out["embedding_model_id"] not in arn
    ]
    assert len(grants["StreamAnswers"]["Resource"]) == 3
    assert grants["QueryVectors"]["Resource"] == out["vectors_index_arn"]
    assert set(grants["QueryVectors"]["Action"]) == {"s3vectors:QueryVectors", "s3vectors:GetVectors"}
    assert grants["PullBackendImage"]["Resource"] == out["backend_ecr_repository_arn"]
    assert grants["EcrAuthToken"]["Resource"] == "*" and grants["EcrAuthToken"]["Action"] == "ecr:GetAuthorizationToken"
    attachments = [
        a["inputs"]["policyArn"]
        for a in export.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == f"student-helper-{env}-backend"
    ]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    profile = export.one("aws:iam/instanceProfile:InstanceProfile")
    assert export.one("aws:ec2/instance:Instance")["inputs"]["iamInstanceProfile"] == profile["outputs"]["name"]


def test_lambda_permissions_use_upstream_arns(layer: tuple[str, Export, Export]) -> None:
    env, export, data = layer
    grants = by_sid(role_policies(export)[f"student-helper-{env}-doc-processor-policy"])
    out = data.outputs
    assert grants["ConsumeProcessingQueue"]["Resource"] == out["sqs_queue_arn"]
    assert set(grants["ConsumeProcessingQueue"]["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert grants["ReadDocuments"] == {
        "Sid": "ReadDocuments",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"{out['documents_bucket_arn']}/*",
    }
    assert grants["WriteVectors"]["Action"] == "s3vectors:PutVectors"
    assert grants["WriteVectors"]["Resource"] == out["vectors_index_arn"]
    assert grants["Embed"]["Resource"] == (
        f"arn:aws:bedrock:ap-southeast-2::foundation-model/{out['embedding_model_id']}"
    )
    assert set(grants["ReadSecrets"]["Resource"]) == {*out["app_secret_arns"].values(), out["rds_master_secret_arn"]}
    attachments = [
        a["inputs"]["policyArn"]
        for a in export.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == f"student-helper-{env}-doc-processor"
    ]
    assert attachments == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]


def test_trust_policies_name_one_service_and_our_account_where_the_service_sends_it(
    layer: tuple[str, Export, Export],
) -> None:
    _, export, _ = layer
    conditions = {}
    for role in export.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        conditions[statement["Principal"]["Service"]] = statement.get("Condition")
    # The Lambda developer guide says to use aws:SourceAccount in an execution role's trust policy; no AWS page
    # says EC2 sends it, and a condition on a key that is absent never matches.
    assert conditions == {
        "ec2.amazonaws.com": None,
        "lambda.amazonaws.com": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }


def test_backend_instance(layer: tuple[str, Export, Export], exports: dict[tuple[str, str], Export]) -> None:
    env, export, _ = layer
    instance = export.one("aws:ec2/instance:Instance")
    inputs = instance["inputs"]
    network = exports[(env, "network")].outputs
    assert inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 2,
    }, instance["urn"]
    assert inputs["rootBlockDevice"]["encrypted"] is True and inputs["rootBlockDevice"]["volumeType"] == "gp3"
    assert inputs["associatePublicIpAddress"] is False, instance["urn"]
    assert inputs["monitoring"] is True and inputs["ebsOptimized"] is True, instance["urn"]
    assert inputs["disableApiTermination"] is (env == "prod"), instance["urn"]
    assert inputs["subnetId"] == network["subnet_ids"]["private"][0], instance["urn"]
    assert inputs["vpcSecurityGroupIds"] == [network["security_group_ids"]["backend"]], instance["urn"]
    assert inputs["instanceType"] == {"dev": "t3.micro", "staging": "t3.micro", "prod": "t3.small"}[env]
    assert inputs["ami"].startswith("ami-0"), "the AMI comes from AL2023's public SSM parameter"


def parameters(export: Export) -> dict[str, dict[str, Any]]:
    return {p["inputs"]["name"].rsplit("/", 1)[1]: p for p in export.of_type("aws:ssm/parameter:Parameter")}


def test_user_data_runs_the_image_without_internet(layer: tuple[str, Export, Export]) -> None:
    env, export, data = layer
    script = export.one("aws:ec2/instance:Instance")["inputs"]["userData"]
    for forbidden in ("apt-get", "pip install", "curl ", "wget "):
        assert forbidden not in script, f"user data must not need the internet: found {forbidden!r}"
    assert "dnf install -y docker" in script
    assert "aws ecr get-login-password" in script and "docker login --username AWS --password-stdin" in script
    params = parameters(export)
    assert params["image-uri"]["inputs"]["insecureValue"] == f"{data.outputs['backend_ecr_repository']}:0.1.0", (
        "the image tag comes from config (backend_image_tag)"
    )
    for name in ("image-uri", "settings"):
        path = f"/student-helper/{env}/backend/{name}"
        assert params[name]["inputs"]["name"] == path
        assert f"aws ssm get-parameter --region ap-southeast-2 --name {path}" in script
    assert 'docker pull "$image"' in script and "--env-file /run/student-helper/backend.env" in script
    assert "Restart=always" in script and "-p 8000:8000" in script
    assert "systemctl enable --now student-helper-backend.service" in script


def test_backend_settings_are_non_secret_and_from_upstream(layer: tuple[str, Export, Export]) -> None:
    env, export, data = layer
    env_file = parameters(export)["settings"]["inputs"]["insecureValue"]
    settings = dict(line.split("=", 1) for line in env_file.strip().splitlines())
    out = data.outputs
    assert settings["DOCUMENTS_BUCKET"] == out["documents_bucket"]
    assert settings["SQS_QUEUE_URL"] == out["sqs_queue_url"]
    assert settings["VECTORS_BUCKET"] == out["vectors_bucket"] and settings["VECTORS_INDEX"] == out["vectors_index"]
    assert settings["RDS_ENDPOINT"] == out["rds_endpoint"]
    assert settings["RDS_MASTER_SECRET_ARN"] == out["rds_master_secret_arn"]
    assert settings["GOOGLE_API_KEY_SECRET_ARN"] == out["app_secret_arns"]["google-api-key"]
    assert settings["AWS_REGION"] == "ap-southeast-2" and settings["ENVIRONMENT"] == env
    assert settings["EMBEDDING_DIMENSION"] == "1024"
    assert not [k for k in settings if "PASSWORD" in k or k.endswith("_API_KEY")], "no secret values in the env file"
    script = export.one("aws:ec2/instance:Instance")["inputs"]["userData"]
    assert out["documents_bucket"] not in script, (
        "settings live in SSM, so a changed setting never replaces the instance"
    )


def test_env_file_rejects_unsafe_values() -> None:
    assert render_env_file({"B": "2", "A": "x y"}) == "A=x y\nB=2\n"
    with pytest.raises(ValueError, match="must be a single line"):
        render_env_file({"A": "x\ny"})
    with pytest.raises(ValueError, match="environment variable name 'a-b'"):
        render_env_file({"a-b": "1"})


def test_processor_lambda(layer: tuple[str, Export, Export], exports: dict[tuple[str, str], Export]) -> None:
    env, export, data = layer
    function = export.one("aws:lambda/function:Function")
    inputs = function["inputs"]
    network = exports[(env, "network")].outputs
    assert inputs["packageType"] == "Image"
    assert inputs["imageUri"] == f"{data.outputs['lambda_ecr_repository']}:0.1.0", function["urn"]
    assert inputs["vpcConfig"]["subnetIds"] == network["subnet_ids"]["lambda"], function["urn"]
    assert inputs["vpcConfig"]["securityGroupIds"] == [network["security_group_ids"]["lambda"]], function["urn"]
    assert inputs["memorySize"] == {"dev": 512, "staging": 512, "prod": 1024}[env]
    assert inputs["timeout"] == 300
    # No reservation: Lambda refuses one that leaves fewer than 100 unreserved executions, and a new account has 10.
    assert "reservedConcurrentExecutions" not in inputs, function["urn"]
    assert inputs["tracingConfig"] == {"mode": "Active"}
    variables = inputs["environment"]["variables"]
    assert variables["DOCUMENTS_BUCKET"] == data.outputs["documents_bucket"]
    assert variables["VECTORS_INDEX"] == data.outputs["vectors_index"]
    assert variables["SQS_QUEUE_URL"] == data.outputs["sqs_queue_url"]
    assert not LAMBDA_RESERVED_ENV & set(variables), "Lambda rejects reserved environment variable names"
    log_group = export.one("aws:cloudwatch/logGroup:LogGroup", "doc-processor-logs")
    assert log_group["inputs"]["name"] == f"/aws/lambda/{inputs['name']}"
    assert log_group["inputs"]["retentionInDays"] == {"dev": 14, "staging": 30, "prod": 90}[env]
    assert log_group["urn"] in function["dependencies"], "the log group is created before the function"
    assert inputs["loggingConfig"]["logGroup"] == log_group["outputs"]["name"]
    mapping = export.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping["inputs"]["batchSize"] == 1
    assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["inputs"]["eventSourceArn"] == data.outputs["sqs_queue_arn"]
    # The event source is what throttles the processor (2 to 1000 concurrent invocations).
    assert mapping["inputs"]["scalingConfig"] == {"maximumConcurrency": {"dev": 2, "staging": 5, "prod": 10}[env]}
    policy_urns = {p["urn"] for p in export.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert policy_urns & set(mapping["dependencies"]), "the mapping waits for its SQS permissions"


def test_cloud_map_registers_the_backend(layer: tuple[str, Export, Export]) -> None:
    _, export, _ = layer
    instance = export.one("aws:ec2/instance:Instance")
    namespace = export.one("aws:servicediscovery/httpNamespace:HttpNamespace")
    service = export.one("aws:servicediscovery/service:Service")
    registration = export.one("aws:servicediscovery/instance:Instance")
    assert service["inputs"]["namespaceId"] == namespace["id"]
    assert registration["inputs"]["serviceId"] == service["id"]
    assert registration["inputs"]["instanceId"] == instance["id"]
    assert registration["inputs"]["attributes"] == {
        "AWS_INSTANCE_IPV4": instance["outputs"]["privateIp"],
        "AWS_INSTANCE_PORT": "8000",
    }
    assert export.outputs["cloud_map_service_arn"] == service["outputs"]["arn"]
    assert export.outputs["ec2_private_ip"] == instance["outputs"]["privateIp"]


@pytest.mark.parametrize(
    ("visibility", "timeout", "problem"),
    [(1800, 300, None), (360, 300, "needs at least 1800 s"), (5400, 900, None), (5399, 900, "at least 5400 s")],
)
def test_visibility_timeout_check(visibility: int, timeout: int, problem: str | None) -> None:
    found = visibility_timeout_problem(visibility, timeout)
    assert (found is None) if problem is None else (problem in str(found))


@pytest.mark.parametrize("key", ["processor_image_tag", "backend_image_tag"])
def test_missing_image_tag_fails_early(tmp_path: Path, offline_exports: dict[tuple[str, str], Path], key: str) -> None:
    done, export = run_variant(tmp_path, offline_exports, "compute", "dev", unset_config=(key,))
    assert done.returncode == 1
    assert f"student-helper-compute:{key} is not set: required, an immutable image tag pushed to the" in done.stderr
    assert f"(set it with: pulumi config set {key} <tag>)" in done.stderr
    assert not export.exists()


def test_latest_tag_is_refused(tmp_path: Path, offline_exports: dict[tuple[str, str], Path]) -> None:
    done, _ = run_variant(tmp_path, offline_exports, "compute", "dev", set_config={"processor_image_tag": "latest"})
    assert done.returncode == 1 and "'latest' is refused: the repositories are immutable" in done.stderr


def test_lambda_timeout_longer_than_the_queue_allows_fails(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, _ = run_variant(tmp_path, offline_exports, "compute", "dev", set_config={"lambda_timeout_seconds": 600})
    assert done.returncode == 1
    assert "queue has a visibility timeout of 1800 s, but a 600 s Lambda timeout needs at least 3600 s" in done.stderr


def test_only_the_processor_function_may_pull_its_image(layer: tuple[str, Export, Export]) -> None:
    env, export, data = layer
    (repository_policy,) = data.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert repository_policy["inputs"]["repository"] == f"student-helper-{env}-processor"
    (statement,) = json.loads(repository_policy["inputs"]["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:sourceArn": export.outputs["lambda_function_arn"]}}


def test_a_new_image_or_setting_rolls_out_without_replacing_the_instance(layer: tuple[str, Export, Export]) -> None:
    env, export, _ = layer
    instance = export.one("aws:ec2/instance:Instance")
    params = parameters(export)
    image = params["image-uri"]["inputs"]["insecureValue"]
    assert image not in instance["inputs"]["userData"], (
        "the tag must not be in user data: a change would replace the instance"
    )
    rollout = export.one("aws:ssm/association:Association")
    assert rollout["inputs"]["name"] == "AWS-RunShellScript"
    assert rollout["inputs"]["targets"] == [{"key": "InstanceIds", "values": [instance["id"]]}]
    command = rollout["inputs"]["parameters"]["commands"]
    assert command.startswith("systemctl try-restart student-helper-backend.service")
    assert image in command, "a new image changes the association, which State Manager then re-runs"
    digest = hashlib.sha256(params["settings"]["inputs"]["insecureValue"].encode()).hexdigest()[:12]
    assert f"settings {digest}" in command, "so does a changed setting"
    assert {p["urn"] for p in params.values()} <= set(rollout["dependencies"]), "it runs after the values change"
    grants = by_sid(role_policies(export)[f"student-helper-{env}-backend-policy"])
    assert grants["ReadRunSettings"] == {
        "Sid": "ReadRunSettings",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": [
            f"arn:aws:ssm:ap-southeast-2:123456789012:parameter/student-helper/{env}/backend/{name}"
            for name in ("image-uri", "settings")
        ],
    }


def test_termination_protection_still_lets_pulumi_replace(layer: tuple[str, Export, Export]) -> None:
    env, export, _ = layer
    inputs = export.one("aws:ec2/instance:Instance")["inputs"]
    assert inputs["disableApiTermination"] is (env == "prod")
    assert inputs["forceDestroy"] is True, "a planned replacement must not be blocked by termination protection"


@pytest.mark.parametrize(
    ("architectures", "parameter"),
    [
        (["x86_64"], "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
        (["arm64"], "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"),
        (["i386", "x86_64"], "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
    ],
)
def test_the_ami_matches_the_instance_architecture(architectures: list[str], parameter: str) -> None:
    assert al2023_ami_parameter(architectures) == parameter


def test_a_graviton_instance_type_gets_the_arm64_ami(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, path = run_variant(
        tmp_path / "arm", offline_exports, "compute", "dev", set_config={"ec2_instance_type": "t4g.small"}
    )
    assert done.returncode == 0, done.stderr
    graviton = Export(path).one("aws:ec2/instance:Instance")["inputs"]["ami"]
    done, path = run_variant(
        tmp_path / "x86", offline_exports, "compute", "dev", set_config={"ec2_instance_type": "t3.small"}
    )
    assert done.returncode == 0, done.stderr
    assert Export(path).one("aws:ec2/instance:Instance")["inputs"]["ami"] != graviton


def test_a_foundation_model_id_is_granted_by_its_own_arn(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    done, path = run_variant(tmp_path, offline_exports, "compute", "dev", set_config={"chat_model_id": model})
    assert done.returncode == 0, done.stderr
    grants = by_sid(role_policies(Export(path))["student-helper-dev-backend-policy"])
    assert grants["InvokeModels"]["Resource"] == [
        "arn:aws:bedrock:ap-southeast-2::foundation-model/amazon.titan-embed-text-v2:0",
        f"arn:aws:bedrock:ap-southeast-2::foundation-model/{model}",
    ]


def _compute_reader(**config: str) -> ConfigReader:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-compute:owner": "app",
        "student-helper-compute:environment": "dev",
        "student-helper-compute:backend_image_tag": "1.0.0",
        "student-helper-compute:processor_image_tag": "1.0.0",
        **{f"student-helper-compute:{key}": value for key, value in config.items()},
    }
    return ConfigReader("dev", "student-helper-compute", raw, {})


@pytest.mark.parametrize(
    ("config", "max_concurrency", "reserved", "problem"),
    [
        ({}, 2, None, None),  # the default: throttled by the event source, nothing reserved
        ({"processor_max_concurrency": "8"}, 8, None, None),
        ({"lambda_reserved_concurrency": "2"}, 2, 2, None),
        ({"processor_max_concurrency": "5", "lambda_reserved_concurrency": "20"}, 5, 20, None),
        (
            {"processor_max_concurrency": "5", "lambda_reserved_concurrency": "3"},
            5,
            3,
            "lambda_reserved_concurrency = 3 is invalid: allowed unset (the default), or at least "
            "processor_max_concurrency (5): a smaller reservation throttles the SQS event source's invocations",
        ),
        (
            {"processor_max_concurrency": "1"},
            2,
            None,
            "processor_max_concurrency = '1' is invalid: allowed an integer from 2 to 1000 "
            "(SQS event source maximum concurrency)",
        ),
        (
            {"lambda_reserved_concurrency": "0"},
            2,
            None,
            "lambda_reserved_concurrency = '0' is invalid: allowed an integer from 1 to 100000, or unset",
        ),
    ],
)
def test_processor_concurrency_settings(
    config: dict[str, str], max_concurrency: int, reserved: int | None, problem: str | None
) -> None:
    reader = _compute_reader(**config)
    settings = read_compute_settings(reader, read_environment(reader))
    assert (settings.processor_max_concurrency, settings.lambda_reserved_concurrency) == (max_concurrency, reserved)
    if problem is None:
        assert reader.problems == []
    else:
        (found,) = reader.problems
        assert found == f"student-helper-compute:{problem}"


@pytest.mark.parametrize(("reserved", "max_concurrency", "ok"), [(None, 2, True), (2, 2, True), (1, 2, False)])
def test_a_reservation_must_cover_the_event_sources_concurrency(
    reserved: int | None, max_concurrency: int, ok: bool
) -> None:
    assert (reserved_concurrency_problem(reserved, max_concurrency) is None) is ok


def test_a_reservation_when_configured_reaches_the_function(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, path = run_variant(
        tmp_path, offline_exports, "compute", "prod", set_config={"lambda_reserved_concurrency": 12}
    )
    assert done.returncode == 0, done.stderr
    export = Export(path)
    function = export.one("aws:lambda/function:Function")
    assert function["inputs"]["reservedConcurrentExecutions"] == 12, function["urn"]
    mapping = export.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping["inputs"]["scalingConfig"] == {"maximumConcurrency": 10}, mapping["urn"]
