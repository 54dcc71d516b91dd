"""Write the policy pack's data file of taggable resource types from the pinned provider SDKs.

    python -m tools.gen_taggable [--out FILE]     (make policy-data)

The pack ships the file (it runs without the SDKs, and must not scan 220 MB of their source per process); the
``required-tags`` policy and the stacks' tagging transform both read it through :mod:`policies.taggable`.
tests/policies/test_taggable.py regenerates it and fails when it no longer matches the installed SDKs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policies.taggable import DATA_FILE
from tools.scan import aws_sdk


def document() -> dict[str, Any]:
    """The data file's content: the SDK versions it was read from and each taggable type's tag style."""
    return {
        "generatedBy": "python -m tools.gen_taggable (make policy-data); do not edit",
        "sdks": aws_sdk.sdk_versions(),
        "styles": {"map": "tags is a map of key to value", "list": "tags is a list of {key, value}"},
        "types": aws_sdk.tag_styles(),
    }


def render(doc: dict[str, Any]) -> str:
    """The file's text: one type per line, sorted, so a provider upgrade reads as a plain diff."""
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the data file (by default the one the pack ships)."""
    parser = argparse.ArgumentParser(prog="python -m tools.gen_taggable", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_FILE, help=f"where to write it (default {DATA_FILE.name})")
    args = parser.parse_args(argv)
    doc = document()
    args.out.write_text(render(doc), encoding="utf-8")
    print(
        f"gen_taggable: {len(doc['types'])} taggable types from {', '.join(f'{k} {v}' for k, v in doc['sdks'].items())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
