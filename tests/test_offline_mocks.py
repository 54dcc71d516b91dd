"""The mocks' answers to provider functions where AWS would refuse: a wrong answer here passes what AWS fails."""

from __future__ import annotations

import pulumi.runtime
import pytest

from tools.offline.mocks import MockContext, OfflineMocks
from tools.offline.stack_files import OfflineError

PROFILE = "aws:bedrock/getInferenceProfile:getInferenceProfile"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def call(region: str, token: str, **args: str) -> dict[str, object]:
    mocks = OfflineMocks(MockContext(region=region, stack="dev", upstream_exports={}))
    answer, _ = mocks.call(pulumi.runtime.MockCallArgs(token, args, ""))
    return answer


@pytest.mark.parametrize(
    ("profile", "region"),
    [
        (f"au.{SONNET}", "ap-southeast-2"),
        (f"us.{SONNET}", "us-west-2"),
        (f"eu.{SONNET}", "eu-west-1"),
        (f"eu.{SONNET}", "eu-south-2"),  # a source Region the stand-in destinations leave out still answers
        (f"global.{SONNET}", "sa-east-1"),
    ],
)
def test_a_profile_answers_in_its_geography_with_its_destination_models(profile: str, region: str) -> None:
    answer = call(region, PROFILE, inferenceProfileId=profile)
    assert answer["inferenceProfileArn"] == f"arn:aws:bedrock:{region}:123456789012:inference-profile/{profile}"
    models = [m["modelArn"] for m in answer["models"]]  # type: ignore[attr-defined]
    assert f"arn:aws:bedrock:{region}::foundation-model/{SONNET}" in models


@pytest.mark.parametrize(
    ("profile", "region", "geography"),
    [
        (f"au.{SONNET}", "eu-west-1", "'au' (Regions ap-southeast-2, ap-southeast-4)"),
        (f"eu.{SONNET}", "us-west-2", "'eu' (Regions eu-*)"),
        (f"us.{SONNET}", "us-gov-west-1", "'us' (Regions us-east-*, us-west-*)"),
    ],
)
def test_a_profile_called_outside_its_geography_is_not_found_as_aws_answers(
    profile: str, region: str, geography: str
) -> None:
    with pytest.raises(OfflineError) as info:
        call(region, PROFILE, inferenceProfileId=profile)
    message = str(info.value)
    assert (
        f"inference profile '{profile}' is not offered in {region}, which is outside its geography {geography}"
        in message
    )
    assert "ResourceNotFoundException" in message and "Set chat_model_id" in message
