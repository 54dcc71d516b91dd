"""``make doctor``'s checks of the AWS account itself: what a fresh account trips on before anything is created.

Every call is read-only and goes through boto3 with the usual credential chain (``AWS_PROFILE``, SSO, environment,
instance role) in the stacks' region. The tests drive each check through botocore's Stubber, so the real AWS API
models validate every request and response. Each failure says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from shared.constants import GATEWAY_ENDPOINT_SERVICES, endpoint_service_name
from shared.settings import is_inference_profile
from tools.deploy.checks import Check

Clients = Callable[[str], Any]
"""service name -> a boto3 client in the stacks' region."""

CREDENTIALS_FIX = "run 'aws sso login' or 'aws configure', or set AWS_PROFILE"

# "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions that don't
# have reserved concurrency" (Lambda developer guide, configuration-concurrency).
UNRESERVED_MINIMUM = 100
QUOTA_FIX = "or ask for a higher quota: Service Quotas > AWS Lambda > Concurrent executions"

# Providers whose Bedrock models are not sold through AWS Marketplace, so no subscription is involved ("Models from
# the following providers aren't sold through AWS Marketplace and don't have product keys: Amazon, DeepSeek,
# Mistral AI, Meta, Qwen", Bedrock user guide, "Request access to models"). Model ids start with the provider.
NOT_MARKETPLACE_PROVIDERS = ("amazon", "deepseek", "mistral", "meta", "qwen")
MODEL_ACCESS_FIX = "an administrator enables it once (docs/deploying.md, 'Bedrock model access')"


def boto3_clients(region: str) -> Clients:
    """Clients from the default credential chain, one per service, with short timeouts: doctor answers quickly."""
    import boto3  # here, not at the top: every deploy target imports this module, few of them call AWS
    from botocore.config import Config

    session = boto3.session.Session(region_name=region)
    config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, config=config)
        return cache[service]

    return client


def credentials_problem() -> str | None:
    """Why no AWS credentials resolve on this machine, or None. Local only: nothing is sent to AWS.

    The deploy targets ask this before running the CLI, whose own error for missing credentials is a page long.
    """
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        # The environment is the first provider of botocore's default chain: these keys are what it would use, so
        # the answer is known without loading botocore (most of a deploy target's start-up).
        return None
    import botocore.session  # boto3's sessions resolve credentials through this one; boto3 itself adds ~0.2 s

    try:
        found = botocore.session.Session().get_credentials()
    except BotoCoreError as error:  # e.g. AWS_PROFILE names a profile that does not exist
        return f"{error}: {CREDENTIALS_FIX}"
    return None if found is not None else f"no AWS credentials found: {CREDENTIALS_FIX}"


def error_text(error: Exception) -> str:
    """``Code: message`` for an AWS error, the message for anything else."""
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'Error')}: {info.get('Message', '')}".rstrip(": ")
    return str(error)


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call."""
    return str(error.response.get("Error", {}).get("Code", ""))


def check_credentials(
    clients: Clients, region: str, env: str = "", expected: str | None = None
) -> tuple[Check, str | None]:
    """Credentials resolve to an account (``sts:GetCallerIdentity``), the one the environment names, if it does."""
    try:
        account = current_account(clients)
    except NoCredentialsError:
        return Check("AWS credentials", "FAIL", f"no credentials resolve in {region}: {CREDENTIALS_FIX}"), None
    except (ClientError, BotoCoreError) as error:
        return Check("AWS credentials", "FAIL", f"{error_text(error)}: {CREDENTIALS_FIX}"), None
    mismatch = account_mismatch(expected, account, env)
    if mismatch:
        return Check("AWS credentials", "FAIL", mismatch), None
    return Check("AWS credentials", "ok", f"account {account}, region {region}"), account


def account_mismatch(expected: str | None, actual: str, env: str) -> str | None:
    """Why credentials for ``actual`` must not deploy ``env``, whose matrix entry names ``expected``; None if fine."""
    if expected is None or expected == actual:
        return None
    return (
        f"the credentials are for account {actual}, but {env} lives in account {expected} "
        "(shared/environment_matrix.yaml account_id): switch AWS_PROFILE or log in to that account"
    )


def current_account(clients: Clients) -> str:
    """The account the credentials belong to (``sts:GetCallerIdentity``, which needs no permission)."""
    return str(clients("sts").get_caller_identity()["Account"])


def check_images_pushed(clients: Clients, images: Sequence[tuple[str, str]]) -> Check:
    """Every ``(repository, tag)`` is in ECR (``ecr:DescribeImages``)."""
    missing = []
    for repository, tag in images:
        try:
            clients("ecr").describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except ClientError as error:
            if error_code(error) not in ("ImageNotFoundException", "RepositoryNotFoundException"):
                return Check("images pushed", "FAIL", f"{repository}: {error_text(error)}")
            missing.append(f"{repository}:{tag}")
    if missing:
        return Check(
            "images pushed",
            "FAIL",
            f"not in ECR: {', '.join(missing)}; push them first (docs/deploying.md, 'Pushing the images')",
        )
    return Check("images pushed", "ok", "both tags are in their repositories")


def concurrency_problem(unreserved: int, held: int, max_concurrency: int, reserved: int | None) -> str | None:
    """What stops the processor's concurrency settings in this account, or None.

    ``unreserved`` is the account's unreserved concurrency, ``held`` what the function reserves today (released
    when its reservation changes), ``reserved`` what the stack asks for (None: no reservation).
    """
    available = unreserved + held
    if reserved is not None:
        left = available - reserved
        if left < UNRESERVED_MINIMUM:
            return (
                f"lambda_reserved_concurrency={reserved} would leave {left} unreserved executions and Lambda keeps "
                f"at least {UNRESERVED_MINIMUM} (the account has {available} to share): unset "
                f"lambda_reserved_concurrency (the default), {QUOTA_FIX}"
            )
        return None
    if available < max_concurrency:
        return (
            f"processor_max_concurrency={max_concurrency} is more than the account's {available} unreserved "
            f"executions, so the SQS event source would be throttled: set processor_max_concurrency to "
            f"{max(2, available)} or less, {QUOTA_FIX}"
        )
    return None


def check_lambda_concurrency(clients: Clients, function_name: str, max_concurrency: int, reserved: int | None) -> Check:
    """The account's unreserved concurrency against what the compute stack asks for."""
    client = clients("lambda")
    try:
        limit = client.get_account_settings()["AccountLimit"]
        try:
            reservation = client.get_function_concurrency(FunctionName=function_name)
            held = int(reservation.get("ReservedConcurrentExecutions", 0))
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            held = 0  # not deployed yet
    except (ClientError, BotoCoreError) as error:
        return Check("Lambda concurrency", "FAIL", f"{error_text(error)} (doctor needs lambda:GetAccountSettings)")
    unreserved = int(limit["UnreservedConcurrentExecutions"])
    problem = concurrency_problem(unreserved, held, max_concurrency, reserved)
    if problem:
        return Check("Lambda concurrency", "FAIL", problem)
    asked = f"reserves {reserved}" if reserved is not None else "reserves none"
    return Check(
        "Lambda concurrency",
        "ok",
        f"account limit {limit['ConcurrentExecutions']}, {unreserved} unreserved; the processor runs at most "
        f"{max_concurrency} at once and {asked}",
    )


def sold_through_marketplace(model_id: str) -> bool:
    """Whether first use of the model subscribes the account to it in AWS Marketplace."""
    return model_id.split(".", 1)[0] not in NOT_MARKETPLACE_PROVIDERS


def availability_problem(model_id: str, region: str, answer: dict[str, Any], *, judge_region: bool) -> str | None:
    """Why ``GetFoundationModelAvailability``'s answer means the model will not answer this account, or None.

    "When you invoke a third-party model for the first time in your account, Amazon Bedrock automatically initiates
    the subscription process ... If any prerequisites are missing, the subscription attempt fails and subsequent API
    calls will return AccessDeniedException" (Bedrock user guide, "Request access to models"). The application's
    roles hold no aws-marketplace permission, so the subscription must exist before they call the model.
    """
    if judge_region and answer.get("regionAvailability") == "NOT_AVAILABLE":
        return f"{model_id} is not offered in {region}: choose one from aws bedrock list-foundation-models"
    if not sold_through_marketplace(model_id):
        return None
    agreement = answer.get("agreementAvailability", {})
    status = agreement.get("status")
    if status == "PENDING":
        return f"{model_id}: its AWS Marketplace subscription is being set up (up to 15 minutes): run doctor again"
    if status == "ERROR":
        reason = agreement.get("errorMessage", "no reason given")
        return f"{model_id}: its AWS Marketplace subscription failed ({reason}): {MODEL_ACCESS_FIX}"
    if status != "AVAILABLE" or answer.get("entitlementAvailability") == "NOT_AVAILABLE":
        return f"{model_id} is not enabled for this account: {MODEL_ACCESS_FIX}"
    return None


def check_model(clients: Clients, region: str, name: str, model_id: str) -> Check:
    """One configured model: served in the region (for a profile, from where), and enabled for the account."""
    bedrock = clients("bedrock")
    where = ""
    foundation_ids = [model_id]
    try:
        if is_inference_profile(model_id):
            try:
                profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
            except ClientError as error:
                if error_code(error) not in ("ResourceNotFoundException", "ValidationException"):
                    raise
                return Check(
                    name,
                    "FAIL",
                    f"inference profile {model_id} is not offered in {region}: choose one from "
                    f"aws bedrock list-inference-profiles --region {region}",
                )
            arns = [str(model["modelArn"]) for model in profile.get("models", [])]
            if profile.get("status") != "ACTIVE" or not arns:
                return Check(name, "FAIL", f"inference profile {model_id} is {profile.get('status', 'not active')}")
            # arn:<partition>:bedrock:<region>::foundation-model/<id>: the regions the profile routes to.
            destinations = sorted({arn.split(":")[3] for arn in arns})
            foundation_ids = sorted({arn.rsplit("/", 1)[-1] for arn in arns})
            where = f" (profile routes to {', '.join(destinations)})"
        for foundation_id in foundation_ids:
            answer = bedrock.get_foundation_model_availability(modelId=foundation_id)
            # A profile is the region check for its model: some models are served only through profiles.
            problem = availability_problem(
                foundation_id, region, answer, judge_region=not is_inference_profile(model_id)
            )
            if problem:
                return Check(name, "FAIL", problem + where)
    except (ClientError, BotoCoreError) as error:
        return Check(
            name,
            "FAIL",
            f"{error_text(error)} (doctor needs bedrock:GetInferenceProfile, GetFoundationModelAvailability)",
        )
    return Check(name, "ok", f"{model_id} is available in {region}{where}")


def endpoint_zones(clients: Clients, count: int) -> list[str]:
    """The AZs the network layer puts interface endpoints in: the region's own, in name order, the first ``count``."""
    zones = clients("ec2").describe_availability_zones(
        Filters=[
            {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
            {"Name": "state", "Values": ["available"]},
        ]
    )["AvailabilityZones"]
    return sorted(str(zone["ZoneName"]) for zone in zones)[:count]


def check_endpoint_services(clients: Clients, region: str, services: Sequence[str], az_count: int) -> Check:
    """Every configured interface endpoint service (S3 Vectors among them) exists in the region and in the AZs the
    endpoints go to (``ec2:DescribeVpcEndpointServices``); a missing one fails the network layer's deploy."""
    wanted = {endpoint_service_name(region, service): service for service in (*GATEWAY_ENDPOINT_SERVICES, *services)}
    try:
        zones = endpoint_zones(clients, az_count)
        details: dict[str, list[dict[str, Any]]] = {}
        request: dict[str, Any] = {"Filters": [{"Name": "service-name", "Values": sorted(wanted)}]}
        while True:
            page = clients("ec2").describe_vpc_endpoint_services(**request)
            for detail in page.get("ServiceDetails", []):
                details.setdefault(str(detail["ServiceName"]), []).append(detail)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    except (ClientError, BotoCoreError) as error:
        return Check("endpoint services", "FAIL", f"{error_text(error)} (doctor needs ec2:DescribeVpcEndpointServices)")
    missing = [service for name, service in wanted.items() if name not in details]
    if missing:
        return Check(
            "endpoint services",
            "FAIL",
            f"not offered in {region}: {', '.join(missing)}; every workload path needs its endpoint (no NAT): "
            "deploy to a region that offers them",
        )
    short = []
    for name, service in wanted.items():
        interface = [d for d in details[name] if {"ServiceType": "Interface"} in d.get("ServiceType", [])]
        offered = {str(zone) for d in interface for zone in d.get("AvailabilityZones", [])}
        if interface and not set(zones) <= offered:
            short.append(f"{service} (not in {', '.join(sorted(set(zones) - offered))})")
    if short:
        return Check(
            "endpoint services",
            "FAIL",
            f"the endpoints go in {', '.join(zones)}, but {'; '.join(short)}: deploy to a region whose first "
            f"{az_count} AZ(s) offer them",
        )
    return Check("endpoint services", "ok", f"{len(wanted)} services offered in {', '.join(zones)}")
