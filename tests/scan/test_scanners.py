"""Known-bad resources through the translation and the real scanners, asserting the exact check ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.scan.exports import ExportBuilder
from tools.scan.cli import Report, run_scan
from tools.schemas import deployment_errors

INSTANCE = {"ami": "ami-0abcdef1234567890", "instanceType": "t3.micro", "monitoring": True, "ebsOptimized": True}
DB = {"engine": "postgres", "instanceClass": "db.t4g.micro", "allocatedStorage": 20, "username": "app"}
GOOD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs-dev/*"}],
}
FUNCTION = {
    "role": "arn:aws:iam::123456789012:role/fn",
    "packageType": "Image",
    "imageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn:1",
}
BAD_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjectz", "Resource": "*"}]}

b = ExportBuilder()
URNS = {
    "imdsv1": b.add(
        "aws:ec2/instance:Instance",
        "imdsv1",
        {**INSTANCE, "metadataOptions": {"httpTokens": "optional"}, "rootBlockDevice": {"encrypted": True}},
    ),
    "unencrypted-root": b.add(
        "aws:ec2/instance:Instance",
        "unencrypted-root",
        {**INSTANCE, "metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": False}},
    ),
    "good-instance": b.add(
        "aws:ec2/instance:Instance",
        "good-instance",
        {**INSTANCE, "metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}},
    ),
    "unencrypted-db": b.add(
        "aws:rds/instance:Instance", "unencrypted-db", {**DB, "storageEncrypted": False, "publiclyAccessible": False}
    ),
    "public-db": b.add(
        "aws:rds/instance:Instance", "public-db", {**DB, "storageEncrypted": True, "publiclyAccessible": True}
    ),
    "good-db": b.add(
        "aws:rds/instance:Instance", "good-db", {**DB, "storageEncrypted": True, "publiclyAccessible": False}
    ),
    "native-open-bucket": b.add("aws-native:s3:Bucket", "native-open-bucket", {"bucketName": "open-bucket-dev"}),
    "native-closed-bucket": b.add(
        "aws-native:s3:Bucket",
        "native-closed-bucket",
        {
            "bucketName": "closed-bucket-dev",
            "publicAccessBlockConfiguration": {
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        },
    ),
    "queue-sse-off": b.add(
        "aws-native:sqs:Queue", "queue-sse-off", {"queueName": "jobs", "sqsManagedSseEnabled": False}
    ),
    "queue-sse-on": b.add(
        "aws-native:sqs:Queue", "queue-sse-on", {"queueName": "jobs2", "kmsMasterKeyId": "alias/aws/sqs"}
    ),
    "misspelled-index": b.add(
        "aws-native:s3vectors:Index",
        "misspelled-index",
        {
            "vectorBucketName": "vectors-dev",
            "indexName": "chunks",
            "dataType": "float32",
            "dimension": 1024,
            "distanceMetrik": "cosine",
        },
    ),
    "good-index": b.add(
        "aws-native:s3vectors:Index",
        "good-index",
        {
            "vectorBucketName": "vectors-dev",
            "indexName": "chunks2",
            "dataType": "float32",
            "dimension": 1024,
            "distanceMetric": "cosine",
        },
    ),
    # AWS's documented example secret access key, in a Lambda environment: CKV_AWS_45 must still see it.
    "lambda-with-key": b.add(
        "aws:lambda/function:Function",
        "lambda-with-key",
        {**FUNCTION, "environment": {"variables": {"AWS_SECRET": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
    ),
    "lambda-clean": b.add(
        "aws:lambda/function:Function",
        "lambda-clean",
        {**FUNCTION, "environment": {"variables": {"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/jobs"}}},
    ),
    "bad-policy": b.add("aws:iam/policy:Policy", "bad-policy", {"policy": json.dumps(BAD_POLICY)}),
    "good-policy": b.add("aws:iam/policy:Policy", "good-policy", {"policy": json.dumps(GOOD_POLICY)}),
}


@pytest.fixture(scope="module")
def report(scan_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    """One batched run of every scanner over the known-bad and fixed resources (checkov starts in seconds)."""
    doc = b.document()
    assert deployment_errors(doc) == []
    export = tmp_path_factory.mktemp("exports") / "known.json"
    export.write_text(json.dumps(doc))
    return run_scan([export], forty_character_path(tmp_path_factory, export), [], repo_root=None, venv=scan_venv)


def forty_character_path(tmp_path_factory: pytest.TempPathFactory, export: Path) -> Path:
    """A scan directory in which the translation's path begins with a run of exactly 40 of ``[A-Za-z0-9/+=]``.

    checkov records each file's path in every mapping it parses (``__file__``), and its Lambda check reads that
    record as an environment variable: such a path matches its AWS-secret-key pattern. The worker must not let
    where a checkout lives decide a verdict (tools/scan/checkov_worker.py)."""
    base = tmp_path_factory.mktemp("scan")
    tail = len(re.search(r"[A-Za-z0-9/+=]*$", str(base)).group())  # type: ignore[union-attr]
    # <base tail>/<padding>/<export folder>-known.tfplan.json: the run ends at the "-".
    padding = 40 - tail - 2 - len(export.parent.name)
    assert padding > 0, base
    return base / ("p" * padding)


def _results(report: Report, key: str, scanner: str, passed: bool) -> set[str]:
    return {f.check_id for f in report.findings if f.urn == URNS[key] and f.scanner == scanner and f.passed == passed}


@pytest.mark.parametrize(
    ("key", "failing", "passing"),
    [
        ("imdsv1", {"CKV_AWS_79"}, {"CKV_AWS_8"}),
        ("unencrypted-root", {"CKV_AWS_8"}, {"CKV_AWS_79"}),
        ("good-instance", set(), {"CKV_AWS_79", "CKV_AWS_8"}),
        ("unencrypted-db", {"CKV_AWS_16"}, {"CKV_AWS_17"}),
        ("public-db", {"CKV_AWS_17"}, {"CKV_AWS_16"}),
        ("good-db", set(), {"CKV_AWS_16", "CKV_AWS_17"}),
        ("native-open-bucket", {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"}, set()),
        ("native-closed-bucket", set(), {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"}),
        ("queue-sse-off", {"CKV_AWS_27"}, set()),
        ("queue-sse-on", set(), {"CKV_AWS_27"}),
        ("lambda-with-key", {"CKV_AWS_45"}, set()),
        ("lambda-clean", set(), {"CKV_AWS_45"}),  # though the translation's path reads as a key to checkov
    ],
)
def test_checkov_check_ids(report: Report, key: str, failing: set[str], passing: set[str]) -> None:
    failed = _results(report, key, "checkov", passed=False)
    passed = _results(report, key, "checkov", passed=True)
    assert failing <= failed, f"{URNS[key]}: expected {failing} to fail, failed: {sorted(failed)}"
    watched = {"CKV_AWS_79", "CKV_AWS_8", "CKV_AWS_16", "CKV_AWS_17", "CKV_AWS_53", "CKV_AWS_54"}
    watched |= {"CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_27", "CKV_AWS_45"}
    assert failed & watched == failing, f"{URNS[key]}: unexpected failures {sorted(failed & watched - failing)}"
    assert passing <= passed, f"{URNS[key]}: expected {passing} to pass, passed: {sorted(passed)}"


def test_findings_carry_urns_and_addresses(report: Report) -> None:
    finding = next(f for f in report.findings if f.check_id == "CKV_AWS_79" and not f.passed)
    assert finding.urn == URNS["imdsv1"]
    assert finding.resource == "aws_instance.imdsv1"


def test_cfn_lint_reports_misspelled_vectors_index_property(report: Report) -> None:
    bad = [f for f in report.findings if f.scanner == "cfn-lint" and f.urn == URNS["misspelled-index"]]
    assert any(f.check_id == "E3002" and "DistanceMetrik" in f.detail for f in bad), bad
    assert not [f for f in report.findings if f.scanner == "cfn-lint" and f.urn == URNS["good-index"]]


def test_parliament_reports_unknown_action(report: Report) -> None:
    assert _results(report, "bad-policy", "parliament", passed=False) == {"UNKNOWN_ACTION"}
    assert _results(report, "good-policy", "parliament", passed=False) == set()
