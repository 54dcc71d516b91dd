"""The edge layer on the real offline exports: the Cloud Map private integration, OAC, CORS, the bucket policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.contract import EXPORTS, LAYER_ORDER, Layer
from tests.conftest import ENVS, Export, run_variant


@pytest.fixture(params=ENVS)
def edge(request: pytest.FixtureRequest, exports: dict[tuple[str, str], Export]) -> tuple[str, Export]:
    return request.param, exports[(request.param, "edge")]


def test_private_integration_targets_the_cloud_map_service(
    edge: tuple[str, Export], exports: dict[tuple[str, str], Export]
) -> None:
    env, export = edge
    network, compute = exports[(env, "network")].outputs, exports[(env, "compute")].outputs
    link = export.one("aws:apigatewayv2/vpcLink:VpcLink")
    assert link["inputs"]["subnetIds"] == network["subnet_ids"]["private"], link["urn"]
    assert link["inputs"]["securityGroupIds"] == [network["security_group_ids"]["vpc_link"]], link["urn"]
    integration = export.one("aws:apigatewayv2/integration:Integration")
    inputs = integration["inputs"]
    assert inputs["integrationType"] == "HTTP_PROXY" and inputs["connectionType"] == "VPC_LINK", integration["urn"]
    assert inputs["connectionId"] == link["id"], integration["urn"]
    assert inputs["integrationUri"] == compute["cloud_map_service_arn"], (
        f"{integration['urn']}: a private integration targets a Cloud Map service, never the instance IP"
    )
    assert compute["ec2_private_ip"] not in json.dumps(inputs)
    assert inputs["payloadFormatVersion"] == "1.0"
    route = export.one("aws:apigatewayv2/route:Route")
    assert route["inputs"]["routeKey"] == "ANY /{proxy+}", route["urn"]
    assert route["inputs"]["target"] == f"integrations/{integration['id']}", route["urn"]


def test_default_stage_throttles_and_logs(edge: tuple[str, Export]) -> None:
    env, export = edge
    stage = export.one("aws:apigatewayv2/stage:Stage")
    inputs = stage["inputs"]
    assert inputs["name"] == "$default" and inputs["autoDeploy"] is True, stage["urn"]
    burst, rate = {"dev": (50, 20), "staging": (100, 50), "prod": (200, 100)}[env]
    assert inputs["defaultRouteSettings"]["throttlingBurstLimit"] == burst, stage["urn"]
    assert inputs["defaultRouteSettings"]["throttlingRateLimit"] == rate, stage["urn"]
    log_group = export.one("aws:cloudwatch/logGroup:LogGroup")
    assert inputs["accessLogSettings"]["destinationArn"] == log_group["outputs"]["arn"], stage["urn"]
    assert json.loads(inputs["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    assert log_group["inputs"]["retentionInDays"] == {"dev": 14, "staging": 30, "prod": 90}[env]


def test_api_cors_allows_only_the_frontend_origin(edge: tuple[str, Export]) -> None:
    _, export = edge
    api = export.one("aws:apigatewayv2/api:Api")
    cors = api["inputs"]["corsConfiguration"]
    distribution = export.one("aws:cloudfront/distribution:Distribution")
    assert cors["allowOrigins"] == [f"https://{distribution['outputs']['domainName']}"], api["urn"]
    for key in ("allowOrigins", "allowMethods", "allowHeaders"):
        assert "*" not in cors[key], f"{api['urn']}: {key} must not be '*'"
    assert export.outputs["frontend_origin"] == cors["allowOrigins"][-1]


def test_presigned_uploads_allow_only_the_spa_origin(
    edge: tuple[str, Export], exports: dict[tuple[str, str], Export]
) -> None:
    env, export = edge
    cors = export.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors["inputs"]["bucket"] == exports[(env, "data")].outputs["documents_bucket"], cors["urn"]
    (rule,) = cors["inputs"]["corsRules"]
    api_origins = export.one("aws:apigatewayv2/api:Api")["inputs"]["corsConfiguration"]["allowOrigins"]
    assert rule["allowedOrigins"] == api_origins, "uploads and API calls come from the same SPA origin"
    assert "PUT" in rule["allowedMethods"], cors["urn"]
    assert "*" not in rule["allowedHeaders"] + rule["allowedOrigins"] + rule["allowedMethods"], cors["urn"]


def test_cloudfront_uses_origin_access_control(
    edge: tuple[str, Export], exports: dict[tuple[str, str], Export]
) -> None:
    env, export = edge
    data = exports[(env, "data")].outputs
    assert export.of_type("aws:cloudfront/originAccessIdentity:OriginAccessIdentity") == [], "OAI is legacy"
    oac = export.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac["inputs"]["originAccessControlOriginType"] == "s3" and oac["inputs"]["signingProtocol"] == "sigv4"
    distribution = export.one("aws:cloudfront/distribution:Distribution")
    inputs = distribution["inputs"]
    (origin,) = inputs["origins"]
    assert origin["originAccessControlId"] == oac["id"], distribution["urn"]
    assert origin["domainName"] == data["frontend_bucket_regional_domain_name"], distribution["urn"]
    assert "s3OriginConfig" not in origin, f"{distribution['urn']}: no OAI origin config"
    behavior = inputs["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https" and behavior["compress"] is True
    # Australian students are served from Australian edges only with PriceClass_All (the matrix default).
    assert inputs["priceClass"] == "PriceClass_All", distribution["urn"]
    assert sorted(
        (e["errorCode"], e["responseCode"], e["responsePagePath"]) for e in inputs["customErrorResponses"]
    ) == [(403, 200, "/index.html"), (404, 200, "/index.html")]
    headers = export.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert behavior["responseHeadersPolicyId"] == headers["id"]
    security = headers["inputs"]["securityHeadersConfig"]
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31536000
    # The domain owner's decisions, off unless a stack turns them on (hsts_include_subdomains, hsts_preload).
    assert (
        security["strictTransportSecurity"]["includeSubdomains"],
        security["strictTransportSecurity"]["preload"],
    ) == (
        False,
        False,
    ), headers["urn"]
    assert security["frameOptions"]["frameOption"] == "DENY" and security["contentTypeOptions"]["override"] is True


def test_frontend_bucket_policy_grants_only_this_distribution(
    edge: tuple[str, Export], exports: dict[tuple[str, str], Export]
) -> None:
    env, export = edge
    data = exports[(env, "data")].outputs
    policy_resource = export.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy_resource["inputs"]["bucket"] == data["frontend_bucket"]
    statements = json.loads(policy_resource["inputs"]["policy"])["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    distribution = export.one("aws:cloudfront/distribution:Distribution")
    assert allow == [
        {
            "Sid": "AllowCloudFrontOriginAccessControl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{data['frontend_bucket_arn']}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution["outputs"]["arn"]}},
        }
    ]
    assert distribution["outputs"]["arn"] == f"arn:aws:cloudfront::123456789012:distribution/{distribution['id']}"
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_default_certificate_without_a_configured_certificate(edge: tuple[str, Export]) -> None:
    _, export = edge
    distribution = export.one("aws:cloudfront/distribution:Distribution")
    assert distribution["inputs"]["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert not distribution["inputs"].get("aliases")


def test_a_certificate_turns_on_the_domain_and_tls_1_2(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    done, path = run_variant(tmp_path, offline_exports, "edge", "prod", set_config={"certificate_arn": arn})
    assert done.returncode == 0, done.stderr
    export = Export(path)
    distribution = export.one("aws:cloudfront/distribution:Distribution")
    assert distribution["inputs"]["aliases"] == ["studenthelper.com"]
    assert distribution["inputs"]["viewerCertificate"] == {
        "acmCertificateArn": arn,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    cors = export.one("aws:apigatewayv2/api:Api")["inputs"]["corsConfiguration"]["allowOrigins"]
    assert cors == [f"https://{distribution['outputs']['domainName']}", "https://studenthelper.com"]
    (upload_rule,) = export.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")["inputs"]["corsRules"]
    assert upload_rule["allowedOrigins"] == cors
    assert export.outputs["frontend_origin"] == "https://studenthelper.com"


def test_a_certificate_outside_us_east_1_is_refused(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    arn = "arn:aws:acm:ap-southeast-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    done, _ = run_variant(tmp_path, offline_exports, "edge", "dev", set_config={"certificate_arn": arn})
    assert done.returncode == 1
    assert "CloudFront only uses certificates from us-east-1" in done.stderr


# The original design's "Outputs Reference" table, and the layer that now owns each output.
ORIGINAL_OUTPUTS = {
    "vpc_id": Layer.NETWORK,
    "ec2_instance_id": Layer.COMPUTE,
    "ec2_private_ip": Layer.COMPUTE,
    "lambda_function_name": Layer.COMPUTE,
    "lambda_ecr_repository": Layer.DATA,
    "rds_endpoint": Layer.DATA,
    "documents_bucket": Layer.DATA,
    "vectors_bucket": Layer.DATA,
    "vectors_index": Layer.DATA,
    "frontend_bucket": Layer.DATA,
    "sqs_queue_url": Layer.DATA,
    "api_endpoint": Layer.EDGE,
    "cloudfront_domain": Layer.EDGE,
}


@pytest.mark.parametrize(("output", "layer"), sorted(ORIGINAL_OUTPUTS.items()))
def test_every_original_output_is_exported_by_its_owner(
    exports: dict[tuple[str, str], Export], output: str, layer: Layer
) -> None:
    for env in ENVS:
        assert exports[(env, layer.value)].outputs.get(output), f"{layer.value} [{env}] does not export {output}"


def test_each_layer_exports_exactly_its_contract(exports: dict[tuple[str, str], Export]) -> None:
    for (env, layer), export in exports.items():
        assert set(export.outputs) == set(EXPORTS[Layer(layer)]), f"{layer} [{env}]"


def test_stack_references_are_served_from_the_real_upstream_exports(exports: dict[tuple[str, str], Export]) -> None:
    for env in ENVS:
        for index, layer in enumerate(LAYER_ORDER[1:], start=1):
            export = exports[(env, layer.value)]
            references = {r["id"]: r for r in export.of_type("pulumi:pulumi:StackReference")}
            expected = {"data": ["network"], "compute": ["network", "data"], "edge": ["network", "data", "compute"]}
            assert sorted(references) == sorted(
                f"organization/student-helper-{up}/{env}" for up in expected[layer.value]
            ), f"{layer.value} [{env}] reads exactly the layers below it that it needs"
            for upstream in LAYER_ORDER[:index]:
                name = f"organization/student-helper-{upstream.value}/{env}"
                if upstream.value not in expected[layer.value]:
                    continue
                served = references[name]["outputs"]["outputs"]
                assert served == exports[(env, upstream.value)].outputs, f"{layer.value} [{env}] <- {name}"
