"""Every IAM policy document in every export: identity, trust, bucket and repository policies alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.iam import service_trust_policy
from tests.conftest import Export

# Actions AWS only authorizes on Resource "*" (Service Authorization Reference: no resource types).
STAR_ONLY_ACTIONS = {"ecr:GetAuthorizationToken", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
POLICY_PROPERTIES = ("policy", "assumeRolePolicy")


def documents(export: Export) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(urn, property, parsed document) for every policy document in the export's inputs."""
    for resource in export.custom():
        for prop in POLICY_PROPERTIES:
            value = resource["inputs"].get(prop)
            if isinstance(value, str) and '"Statement"' in value:
                yield resource["urn"], prop, json.loads(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_exact(arn: str) -> bool:
    """An exact ARN, or one resource's objects / log streams: the only wildcards allowed."""
    head = arn.removesuffix("/*").removesuffix(":log-stream:*")
    return arn.startswith("arn:aws:") and "*" not in head


def test_every_allow_in_every_document_is_exact(exports: dict[tuple[str, str], Export]) -> None:
    kinds: set[str] = set()
    for (env, layer), export in exports.items():
        for urn, prop, document in documents(export):
            kinds.add(urn.split("::")[2].split("$")[-1])
            for statement in as_list(document["Statement"]):
                where = f"{urn} ({prop}) [{env}/{layer}]"
                assert "NotAction" not in statement and "NotResource" not in statement, where
                if statement["Effect"] != "Allow":
                    continue
                actions = as_list(statement["Action"])
                assert not [a for a in actions if a == "*" or a.endswith(":*")], f"{where}: {actions}"
                principal = statement.get("Principal")
                assert principal != "*" and principal != {"AWS": "*"}, f"{where}: anyone may use this"
                if "Resource" not in statement:  # trust and repository policies apply to their own resource
                    assert principal, f"{where}: an identity policy statement needs a Resource"
                    continue
                resources = as_list(statement["Resource"])
                if resources == ["*"]:
                    assert set(actions) <= STAR_ONLY_ACTIONS, f"{where}: '*' for {actions}"
                    continue
                for arn in resources:
                    assert is_exact(arn), f"{where}: {arn} is a pattern, not an exact ARN"
    assert kinds >= {
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/role:Role",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
    }, kinds


# Services whose documentation says to condition their role's trust on aws:SourceAccount (shared/iam.py cites each).
# EC2 is not one: a condition on a key the service does not send would leave the instance role unassumable.
SENDS_SOURCE_ACCOUNT = {"lambda.amazonaws.com", "monitoring.rds.amazonaws.com", "vpc-flow-logs.amazonaws.com"}


def test_every_trust_policy_names_one_service_and_guards_the_account_where_the_service_allows(
    exports: dict[tuple[str, str], Export],
) -> None:
    services: list[str] = []
    for export in exports.values():
        for urn, prop, document in documents(export):
            if prop != "assumeRolePolicy":
                continue
            (statement,) = document["Statement"]
            assert list(statement["Principal"]) == ["Service"], urn
            service = statement["Principal"]["Service"]
            services.append(service)
            if service in SENDS_SOURCE_ACCOUNT:
                assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}, urn
            else:
                assert "Condition" not in statement, f"{urn}: {service} is not known to send aws:SourceAccount"
    assert sorted(set(services)) == sorted({*SENDS_SOURCE_ACCOUNT, "ec2.amazonaws.com"})
    assert len(services) == 3 * 4, "flow logs, RDS monitoring, backend and processor roles in each environment"


def test_resource_policies_allow_only_named_services_under_conditions(exports: dict[tuple[str, str], Export]) -> None:
    for export in exports.values():
        for urn, prop, document in documents(export):
            if prop != "policy":
                continue
            for statement in as_list(document["Statement"]):
                principal = statement.get("Principal")
                if statement["Effect"] == "Allow" and principal:
                    assert list(principal) == ["Service"], urn
                    assert statement.get("Condition"), f"{urn}: a service grant must be scoped by a condition"


@pytest.mark.parametrize(
    ("service", "guarded"),
    [
        ("lambda.amazonaws.com", True),
        ("monitoring.rds.amazonaws.com", True),
        ("vpc-flow-logs.amazonaws.com", True),
        ("ec2.amazonaws.com", False),
        ("ecs-tasks.amazonaws.com", False),  # not vouched for: no condition rather than an unassumable role
    ],
)
def test_the_source_account_guard_only_where_the_service_sends_the_key(service: str, guarded: bool) -> None:
    (statement,) = json.loads(service_trust_policy(service, source_account="111122223333"))["Statement"]
    assert statement["Principal"] == {"Service": service} and statement["Action"] == "sts:AssumeRole"
    expected = {"StringEquals": {"aws:SourceAccount": "111122223333"}} if guarded else None
    assert statement.get("Condition") == expected
