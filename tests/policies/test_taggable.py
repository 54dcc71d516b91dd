"""The pack's data file of taggable types: generated from the pinned SDKs, and never read as an empty set."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import taggable
from policies.taggable import DATA_FILE, TaggableDataError, read_tag_styles
from tools import gen_taggable


def test_the_data_file_matches_the_pinned_sdks(tmp_path: Path) -> None:
    regenerated = tmp_path / "taggable_types.json"
    assert gen_taggable.main(["--out", str(regenerated)]) == 0
    assert regenerated.read_text() == DATA_FILE.read_text(), "stale: run `make policy-data` and commit the file"


def test_the_data_file_covers_both_providers() -> None:
    styles = read_tag_styles()
    assert styles["aws:ec2/vpc:Vpc"] == "map"
    assert styles["aws-native:s3vectors:VectorBucket"] == "list"
    assert styles["aws-native:gameliftstreams:StreamGroup"] == "map"  # aws-native types whose tags are a map
    assert len(styles) > 2000 and set(styles.values()) == {"map", "list"}
    assert taggable.tag_style("aws:iam/rolePolicy:RolePolicy") is None


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the taggable resource types (No such file or directory)"),
        ("{", "not JSON (Expecting property name enclosed in double quotes at line 1)"),
        ('{"types": {}}', "no taggable types listed"),
        ('["aws:ec2/vpc:Vpc"]', "no taggable types listed"),
        ('{"types": {"aws:ec2/vpc:Vpc": "dict"}}', "aws:ec2/vpc:Vpc has tag style 'dict' (allowed: map, list)"),
    ],
    ids=["missing", "not-json", "empty", "not-an-object", "bad-style"],
)
def test_an_unreadable_data_file_is_an_error_not_an_empty_set(tmp_path: Path, content: str | None, error: str) -> None:
    path = tmp_path / "taggable_types.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TaggableDataError) as failed:
        read_tag_styles(path)
    assert str(failed.value).startswith(f"{path}: {error}")
    if content is None or "types" not in content:
        assert str(failed.value).endswith("regenerate it with `make policy-data` (python -m tools.gen_taggable)")
