"""The taggable AWS resource types and how each takes tags, read from the data file shipped with the pack.

``taggable_types.json`` is generated from the pinned provider SDKs by ``python -m tools.gen_taggable`` (``make
taggable``) and checked against them by a test, so the pack needs neither the SDKs nor a scan of their source. This is
the one reader of that file: the ``required-tags`` policy and the stacks' tagging transform (shared/tags.py) use it.
It imports nothing but the standard library, so importing it costs the stacks nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

DATA_FILE = Path(__file__).resolve().with_name("taggable_types.json")
STYLES = ("map", "list")


class TaggableDataError(RuntimeError):
    """The data file is missing or malformed: an error, never an empty set that would pass every resource."""


def read_tag_styles(path: Path = DATA_FILE) -> dict[str, str]:
    """Type token → ``"map"`` (pulumi-aws, some aws-native) or ``"list"`` (aws-native ``[{key, value}]``)."""
    fix = "regenerate it with `make policy-data` (python -m tools.gen_taggable)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise TaggableDataError(f"{path}: cannot read the taggable resource types ({err.strerror}); {fix}") from None
    except json.JSONDecodeError as err:
        raise TaggableDataError(f"{path}: not JSON ({err.msg} at line {err.lineno}); {fix}") from None
    types = document.get("types") if isinstance(document, dict) else None
    if not isinstance(types, dict) or not types:
        raise TaggableDataError(f"{path}: no taggable types listed; {fix}")
    bad = sorted(token for token, style in types.items() if style not in STYLES)
    if bad:
        raise TaggableDataError(f"{path}: {bad[0]} has tag style {types[bad[0]]!r} (allowed: {', '.join(STYLES)})")
    return types


# Reading the file twice, when two threads ask first at once, is harmless: the result is the same immutable map.
@functools.cache
def tag_styles() -> Mapping[str, str]:
    """The data file's types, read once per process."""
    return MappingProxyType(read_tag_styles())


def tag_style(type_token: str) -> str | None:
    """How a resource type takes tags: ``"map"``, ``"list"``, or None when it is not taggable (or not AWS)."""
    return tag_styles().get(type_token)
