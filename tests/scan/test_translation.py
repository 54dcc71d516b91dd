"""The translation is pure: table-driven checks of type names, attribute names, references and skips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.scan.exports import ExportBuilder, secret
from tools.scan import aws_sdk
from tools.scan.cfn import cfn_type, logical_id, translate_cfn
from tools.scan.export import parse_export
from tools.scan.iam import policy_documents
from tools.scan.oracle import Oracle
from tools.scan.tfplan import tf_name, translate_plan
from tools.schemas import deployment_errors
from tools.stack_export import UNKNOWN, UNKNOWN_VALUE, decode


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("aws:ec2/instance:Instance", "aws_instance"),
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:rds/subnetGroup:SubnetGroup", "aws_db_subnet_group"),
        ("aws:rds/cluster:Cluster", "aws_rds_cluster"),
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        ("aws:s3/bucketV2:BucketV2", "aws_s3_bucket"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
        ("aws:s3/bucketVersioning:BucketVersioning", "aws_s3_bucket_versioning"),
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws_s3_bucket_server_side_encryption_configuration",
        ),
        ("aws:s3/vectorsVectorBucket:VectorsVectorBucket", "aws_s3vectors_vector_bucket"),
        ("aws:s3/vectorsIndex:VectorsIndex", "aws_s3vectors_index"),
        ("aws:lambda/function:Function", "aws_lambda_function"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", "aws_vpc_endpoint"),
        ("aws:ec2/flowLog:FlowLog", "aws_flow_log"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:iam/rolePolicy:RolePolicy", "aws_iam_role_policy"),
        ("aws:iam/instanceProfile:InstanceProfile", "aws_iam_instance_profile"),
        ("aws:sqs/queue:Queue", "aws_sqs_queue"),
        ("aws:sqs/redrivePolicy:RedrivePolicy", "aws_sqs_queue_redrive_policy"),
        ("aws:apigateway/restApi:RestApi", "aws_api_gateway_rest_api"),
        ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
        ("aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
    ],
)
def test_type_token_to_terraform_type(token: str, expected: str, oracle: Oracle) -> None:
    assert aws_sdk.tf_type(token, oracle.tf_types) == expected


def test_every_sdk_type_maps_to_a_terraform_type(oracle: Oracle) -> None:
    tokens = aws_sdk.resource_files()
    assert len(tokens) > 1500, "the SDK scan found too few resources; did the SDK layout change?"
    names = {aws_sdk.tf_type(t, oracle.tf_types) for t in tokens}
    assert all(n.startswith("aws_") and n.replace("_", "").isalnum() for n in names)
    # Each Terraform type checkov has checks for, and pulumi-aws 7 still has, is reachable from some token.
    reachable = oracle.tf_types & names
    assert {"aws_instance", "aws_db_instance", "aws_s3_bucket", "aws_security_group", "aws_lb"} <= reachable
    assert len(reachable) > 1300


@pytest.mark.parametrize("token", ["aws:ec2/instance:Nope", "aws:nosuch/thing:Thing", "random:index/randomId:RandomId"])
def test_unmapped_type_fails_loudly_naming_it(token: str) -> None:
    b = ExportBuilder()
    b.add(token, "x", {})
    export = parse_export(b.document())
    with pytest.raises(aws_sdk.UnmappedTypeError, match="unmapped resource type") as err:
        if token.startswith("aws:"):
            translate_plan(export.resources)
        else:
            from tools.scan.cli import check_supported

            check_supported(export)
    assert token in str(err.value)


def test_unmapped_native_type_fails_loudly() -> None:
    with pytest.raises(aws_sdk.UnmappedTypeError, match="aws-native:nosuch:Thing"):
        cfn_type("aws-native:nosuch:Thing")


def test_providers_components_and_stack_are_skipped_and_listed() -> None:
    b = ExportBuilder()
    b.add_component("student-helper:network:Vpc", "vpc")
    b.add("aws:s3/bucket:Bucket", "docs", {"bucket": "docs"})
    b.add("pulumi:pulumi:StackReference", "net", {"name": "org/network/dev"})
    export = parse_export(b.document())
    assert [r.type for r in export.resources] == ["aws:s3/bucket:Bucket"]
    assert sorted(s.why for s in export.skipped) == ["component", "provider", "provider", "stack", "stack reference"]


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (UNKNOWN, UNKNOWN_VALUE),
        (secret({"a": 1}), {"a": 1}),
        ([1, UNKNOWN], [1, UNKNOWN_VALUE]),
        ({"x": secret("s")}, {"x": "s"}),
    ],
)
def test_decode_secrets_and_unknowns(raw: Any, decoded: Any) -> None:
    assert decode(raw) == decoded


@pytest.mark.parametrize(
    ("names", "expected"),
    [(["docs", "docs"], ["docs", "docs_2"]), (["1st", "a.b"], ["r_1st", "a_b"])],
)
def test_terraform_names_are_valid_and_unique(names: list[str], expected: list[str]) -> None:
    taken: set[str] = set()
    assert [tf_name(n, taken) for n in names] == expected


def test_logical_ids_are_alphanumeric_and_unique() -> None:
    taken: set[str] = set()
    assert [logical_id(n, taken) for n in ["vectors-index", "vectors_index", "9x"]] == [
        "VectorsIndex",
        "VectorsIndex2",
        "R9x",
    ]


def _plan_for(b: ExportBuilder, oracle: Oracle) -> tuple[dict[str, Any], dict[str, str]]:
    doc = b.document()
    assert deployment_errors(doc) == []
    tr = translate_plan(parse_export(doc).resources, oracle.tf_types)
    return tr.plan, tr.urns


def test_attributes_blocks_and_references(oracle: Oracle) -> None:
    b = ExportBuilder()
    bucket = b.add("aws:s3/bucket:Bucket", "documents", {"bucket": "docs-dev", "tags": {"Env": "dev"}}, rid="docs-dev")
    b.add(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "documents-sse",
        {"bucket": "docs-dev", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        deps={"bucket": [bucket]},
    )
    b.add(
        "aws:ec2/instance:Instance",
        "web",
        {
            "ebsBlockDevices": [{"deviceName": "/dev/sdb", "encrypted": True}],
            "metadataOptions": {"httpTokens": "required"},
            "userData": UNKNOWN,
        },
    )
    plan, urns = _plan_for(b, oracle)
    values = {r["address"]: r["values"] for r in plan["planned_values"]["root_module"]["resources"]}
    assert values["aws_s3_bucket.documents"]["tags"] == {"Env": "dev"}  # map keys are data, not attributes
    sse = values["aws_s3_bucket_server_side_encryption_configuration.documents-sse"]
    assert sse["rule"] == [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]
    assert "bucket" not in sse  # known after apply, so checkov follows the reference
    web = values["aws_instance.web"]
    assert web["ebs_block_device"] == [{"device_name": "/dev/sdb", "encrypted": True}]
    assert web["metadata_options"] == [{"http_tokens": "required"}]
    assert "user_data" not in web
    conf = {r["address"]: r for r in plan["configuration"]["root_module"]["resources"]}
    refs = conf["aws_s3_bucket_server_side_encryption_configuration.documents-sse"]["expressions"]["bucket"]
    assert refs == {"references": ["aws_s3_bucket.documents.id", "aws_s3_bucket.documents"]}
    assert urns["aws_s3_bucket.documents"] == bucket
    assert {r["address"] for r in plan["resource_changes"]} == set(urns)


def test_cloudformation_types_and_property_spelling(oracle: Oracle) -> None:
    b = ExportBuilder()
    vb = b.add("aws-native:s3vectors:VectorBucket", "vectors", {"vectorBucketName": "vectors-dev"})
    b.add(
        "aws-native:s3vectors:Index",
        "vectors-index",
        {
            "vectorBucketName": UNKNOWN,
            "indexName": "chunks",
            "dataType": "float32",
            "dimension": 1024,
            "distanceMetric": "cosine",
            "metadataConfiguration": {"nonFilterableMetadataKeys": ["text"]},
        },
        deps={"vectorBucketName": [vb]},
    )
    b.add("aws-native:dynamodb:Table", "t", {"sseSpecification": {"sseEnabled": True}, "tableName": "tbl"})
    doc = b.document()
    assert deployment_errors(doc) == []
    tr = translate_cfn(parse_export(doc).resources, oracle)
    res = tr.template["Resources"]
    assert res["VectorsIndex"]["Type"] == "AWS::S3Vectors::Index"
    assert res["VectorsIndex"]["Properties"]["VectorBucketName"] == {"Ref": "Vectors"}
    assert res["VectorsIndex"]["Properties"]["MetadataConfiguration"] == {"NonFilterableMetadataKeys": ["text"]}
    assert res["T"]["Properties"]["SSESpecification"] == {"SSEEnabled": True}  # the schema's spelling
    assert tr.urns["Vectors"] == vb


def test_policy_documents_found_wherever_they_are() -> None:
    b = ExportBuilder()
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    b.add(
        "aws:iam/role:Role", "r", {"assumeRolePolicy": json.dumps(doc), "inlinePolicies": [{"policy": json.dumps(doc)}]}
    )
    b.add("aws-native:iam:Role", "n", {"policies": [{"policyDocument": doc}]})
    b.add("aws:iam/policy:Policy", "later", {"policy": UNKNOWN})
    found, unknown = policy_documents(parse_export(b.document()).resources)
    assert sorted(d.path for d in found) == [
        "assumeRolePolicy",
        "inlinePolicies[0].policy",
        "policies[0].policyDocument",
    ]
    assert unknown == []  # a wholly unknown policy is not recognisable as one
