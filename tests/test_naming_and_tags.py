"""ResourceNamer and the tagging mechanism."""

from __future__ import annotations

import pytest

from shared.naming import NamingError, ResourceNamer
from shared.tags import base_tags, merge_tags, tags_style

NAMER = ResourceNamer("student-helper", "dev")


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("backend", "student-helper-dev-backend"),
        ("doc-processor", "student-helper-dev-doc-processor"),
        ("", "student-helper-dev"),
    ],
)
def test_names_follow_project_environment_resource(resource: str, expected: str) -> None:
    assert NAMER.name(resource) == expected


@pytest.mark.parametrize(
    ("suffix", "account", "expected"),
    [
        ("documents", "", "student-helper-dev-documents"),
        ("frontend", "123456789012", "student-helper-dev-frontend-123456789012"),
    ],
)
def test_bucket_names_are_valid(suffix: str, account: str, expected: str) -> None:
    assert NAMER.bucket_name(suffix, account) == expected


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("Documents", "has upper-case letters (allowed: lower case only)"),
        ("my_docs", "contains '_' (allowed: letters, digits, '-' and '.')"),
        ("x" * 50, "is 69 characters long (allowed: 3 to 63)"),
        ("docs-", "is not a valid S3 bucket name"),
    ],
)
def test_invalid_bucket_names_raise_a_clear_error(suffix: str, message: str) -> None:
    with pytest.raises(NamingError, match="bucket name 'student-helper-dev-") as caught:
        NAMER.bucket_name(suffix)
    assert message in str(caught.value)


def test_secret_paths() -> None:
    assert NAMER.secret_name("google-api-key") == "student-helper/dev/google-api-key"
    with pytest.raises(NamingError, match="secret name 'Bad_Key'"):
        NAMER.secret_name("Bad_Key")


def test_parameter_paths() -> None:
    assert NAMER.path("backend") == "/student-helper/dev/backend"
    with pytest.raises(NamingError, match="path name 'back/end'"):
        NAMER.path("back/end")


def test_namer_rejects_bad_parts() -> None:
    with pytest.raises(NamingError, match="'Dev'"):
        ResourceNamer("student-helper", "Dev")


def test_base_tags() -> None:
    assert base_tags("student-helper", "prod", "data", "platform") == {
        "Project": "student-helper",
        "Environment": "prod",
        "Layer": "data",
        "ManagedBy": "pulumi",
        "Owner": "platform",
    }


@pytest.mark.parametrize(
    ("token", "style"),
    [
        ("aws:ec2/vpc:Vpc", "map"),
        ("aws:lambda/function:Function", "map"),
        ("aws:s3/vectorsIndex:VectorsIndex", "map"),
        ("aws:s3/bucketVersioning:BucketVersioning", None),
        ("aws:iam/rolePolicy:RolePolicy", None),
        # Its tags are propagation rules ({key, value, propagateAtLaunch}), not the group's own: no tagsAll.
        ("aws:autoscaling/group:Group", None),
        # Its tags select the instances it groups.
        ("aws:inspector/resourceGroup:ResourceGroup", None),
        ("aws-native:gameliftstreams:StreamGroup", "map"),
        ("aws-native:s3vectors:Index", "list"),
        ("student-helper:network:Vpc", None),
        ("pulumi:pulumi:StackReference", None),
    ],
)
def test_taggability_comes_from_the_pack_data_file(token: str, style: str | None) -> None:
    assert tags_style(token) == style


def test_merge_keeps_a_resource_s_own_tags() -> None:
    base = {"Project": "p", "Name": "logical"}
    assert merge_tags({"Name": "explicit", "Tier": "data"}, base, "map") == {
        "Project": "p",
        "Name": "explicit",
        "Tier": "data",
    }
    assert merge_tags(None, base, "list") == [{"key": "Project", "value": "p"}, {"key": "Name", "value": "logical"}]
