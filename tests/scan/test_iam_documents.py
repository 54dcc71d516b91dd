"""Finding policy documents for the IAM linter, with the Resource a resource policy implies spelled out."""

from __future__ import annotations

import json

from tools.scan.iam import policy_documents
from tools.stack_export import Resource


def test_repository_policy_gets_its_repository_as_resource() -> None:
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "ecr:BatchGetImage"}
    res = Resource(
        urn="urn:pulumi:dev::p::aws:ecr/repositoryPolicy:RepositoryPolicy::pull",
        type="aws:ecr/repositoryPolicy:RepositoryPolicy",
        id="processor",
        inputs={"repository": "processor", "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})},
        outputs={"registryId": "123456789012"},
    )
    (document,), unknown = policy_documents([res])
    assert unknown == [] and document.resource_policy
    (fixed,) = json.loads(document.text)["Statement"]
    assert fixed["Resource"] == "arn:aws:ecr:*:123456789012:repository/processor"


def test_trust_policy_gets_the_role_as_resource() -> None:
    statement = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    res = Resource(
        urn="urn:pulumi:dev::p::aws:iam/role:Role::r",
        type="aws:iam/role:Role",
        id="r",
        inputs={"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})},
        outputs={"arn": "arn:aws:iam::123456789012:role/r"},
    )
    (document,), _ = policy_documents([res])
    assert json.loads(document.text)["Statement"][0]["Resource"] == "arn:aws:iam::123456789012:role/r"
