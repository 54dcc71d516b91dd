"""Regenerate the per-policy tables of docs/policies.md from the registry: every check, the types and properties it
reads, and what each policy leaves out.

    python -m tools.policy_docs           # rewrite the generated part of docs/policies.md
    python -m tools.policy_docs --check   # exit 1 when it differs from what the registry gives
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from pulumi_policy import Policy, ResourceValidationPolicy

from policies.base import NamedTypes, checks_of
from policies.registry import POLICIES, default_level
from tools.generated import begin_marker, end_marker, replace_section, write_or_check

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "policies.md"
GENERATOR = "python -m tools.policy_docs"
BEGIN = begin_marker("policies", GENERATOR, "policies/registry.py")
END = end_marker("policies")


def _types(types: Collection[str]) -> str:
    if isinstance(types, NamedTypes):
        return f"{types.summary} ({len(types)} types)"
    groups = {
        "pulumi-aws": sorted(t for t in types if t.startswith("aws:")),
        "aws-native": sorted(t for t in types if t.startswith("aws-native:")),
    }
    lines = [f"{provider}: {', '.join(f'`{t}`' for t in tokens)}" for provider, tokens in groups.items() if tokens]
    return "<br>".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _judged_on(policy: Policy) -> str:
    """What the CLI hands the policy, and when (see "Inputs or outputs" in docs/policies.md)."""
    if isinstance(policy, ResourceValidationPolicy):
        return "inputs, before each change"
    return "outputs, after the changes"


def render() -> str:
    """The generated section: one heading, table and "not checked" list per policy, in registry order."""
    out = ["| policy | level | severity | judged on | checks (exemption ids) |", "|---|---|---|---|---|"]
    for policy in POLICIES:
        severity = policy.severity.value if policy.severity else "-"
        ids = ", ".join(f"`{c.id}`" for c in checks_of(policy))
        level = default_level(policy).value
        out.append(f"| [`{policy.name}`](#{policy.name}) | {level} | {severity} | {_judged_on(policy)} | {ids} |")
    out.append("")
    for policy in POLICIES:
        severity = policy.severity.value if policy.severity else "-"
        out += [f'<a id="{policy.name}"></a>', "", f"### `{policy.name}` ({default_level(policy).value}, {severity})"]
        out += ["", _cell(policy.description), ""]
        out += ["| check | flags | resource types | properties read |", "|---|---|---|---|"]
        for check in checks_of(policy):
            properties = ", ".join(f"`{p}`" for p in check.properties) or "(the resource's existence)"
            out.append(f"| `{check.id}` | {_cell(check.title)} | {_types(check.types)} | {_cell(properties)} |")
        not_checked = getattr(policy, "not_checked", ())
        if not_checked:
            out += ["", "Not checked:", ""]
            out += [f"- {item}" for item in not_checked]
        schema = policy.config_schema.properties if policy.config_schema else {}
        extra = {k: v for k, v in schema.items() if k != "exemptions"}
        if extra:
            out += ["", "Config properties (besides `exemptions`):", ""]
            for key, spec in extra.items():
                default = f" Default: `{spec['default']}`." if "default" in spec else ""
                out.append(f"- `{key}`: {spec.get('description', '')}{default}")
        out.append("")
    return "\n".join(out)


def rewrite(document: str) -> str:
    """``document`` with the text between the markers replaced by :func:`render`'s."""
    return replace_section(document, BEGIN, END, render())


def main(argv: Sequence[str] | None = None, path: Path = DOC_PATH) -> int:
    """Rewrite the generated section, or with ``--check`` report whether it is stale; returns the exit status."""
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if the section is stale")
    args = parser.parse_args(argv)
    return write_or_check(path, rewrite(path.read_text(encoding="utf-8")), args.check, GENERATOR)


if __name__ == "__main__":
    sys.exit(main())
