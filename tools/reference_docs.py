"""Regenerate the reference tables of docs/configuration.md and docs/outputs.md from the code, as terraform-docs does.

- docs/configuration.md: the environments and their classes (shared/environment_matrix.yaml), and every setting
  (shared/config.py, shared/settings.py): what it means, what it accepts, and each environment's default;
- docs/outputs.md: every output of every layer (shared/contract.py);
- docs/sizing.md: each environment's sizes and estimated monthly cost, from the exports in ``--build``.

    python -m tools.reference_docs [--build build]           # rewrite the generated sections
    python -m tools.reference_docs [--build build] --check   # exit 1 when one is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.config import SHARED_SETTINGS, Setting, environments
from shared.contract import EXPORTS, LAYER_ORDER, Layer
from shared.settings import COMPUTE_SETTINGS, DATA_SETTINGS, EDGE_SETTINGS
from tools import stack_export
from tools.generated import begin_marker, end_marker, replace_section, write_or_check

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATOR = "python -m tools.reference_docs"
LAYER_SETTINGS: dict[Layer, tuple[Setting, ...]] = {
    Layer.DATA: DATA_SETTINGS,
    Layer.COMPUTE: COMPUTE_SETTINGS,
    Layer.EDGE: EDGE_SETTINGS,
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(setting: Setting, value: Any) -> str:
    """A default as the table shows it."""
    if value is None:
        return "unset" if setting.kind.startswith("optional") else "required (stack file)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return f"all {len(value)}" if setting.choices and set(value) == set(setting.choices) else ", ".join(value)
    if isinstance(value, dict):
        return f"`{json.dumps(value, separators=(',', ':'))}`" if value else "{}"
    return str(value)


def _settings_table(settings: Iterable[Setting]) -> list[str]:
    envs = list(environments().values())
    lines = [
        "| key | meaning | allowed | " + " | ".join(e.name for e in envs) + " |",
        "|---|---|---|" + "---|" * len(envs),
    ]
    for setting in settings:
        cells = [_value(setting, env.defaults.get(setting.key, setting.default)) for env in envs]
        lines.append(
            f"| `{setting.key}` | {_cell(setting.meaning)} | {_cell(setting.describe())} | "
            + " | ".join(_cell(c) for c in cells)
            + " |"
        )
    return lines


def configuration() -> str:
    """The generated part of docs/configuration.md."""
    envs = environments()
    classes = {env.environment_class.name: env.environment_class for env in envs.values()}
    out = ["### Environments", "", "In promotion order.", ""]
    out += ["| environment | class | account | CI role |", "|---|---|---|---|"]
    for name, env in envs.items():
        cls = env.environment_class.name
        role = f"`{env.ci_role_arn}`" if env.ci_role_arn else "the GitHub environment's `AWS_ROLE_ARN`"
        out.append(f"| `{name}` | [{cls}](#class-{cls}) | {env.account_id or 'any (not pinned)'} | {role} |")
    out += ["", "### Classes", ""]
    for name, env_class in classes.items():
        out += [f'<a id="class-{name}"></a>', "", f"**{name}**: {env_class.description}", ""]
        treated = [
            text
            for flag, text in (
                (
                    env_class.destroy_checks_every_layer,
                    "a protected resource in any layer stops a destroy of any layer",
                ),
                (
                    env_class.team_state,
                    "on the embedded file backend, the deploy targets say its state lives on one machine",
                ),
            )
            if flag
        ]
        if treated:
            out += ["Deploy tooling: " + "; ".join(treated) + ".", ""]
        if env_class.requires:
            out += ["| setting | required | why |", "|---|---|---|"]
            for requirement in env_class.requires.values():
                rule = {"equals": "=", "minimum": "≥", "includes_all": "includes every one of"}[requirement.rule]
                shown = "its choices" if requirement.rule == "includes_all" else json.dumps(requirement.value)
                out.append(f"| `{requirement.key}` | {rule} {shown} | {_cell(requirement.why) or '-'} |")
        else:
            out.append("No requirements beyond each setting's own bounds.")
        out.append("")
    out += [
        "### Settings every layer reads",
        "",
        "Under each layer's namespace (`student-helper-network:owner`, `student-helper-data:owner`, ...).",
        "",
    ]
    out += _settings_table(SHARED_SETTINGS)
    for layer, settings in LAYER_SETTINGS.items():
        out += ["", f"### {layer.value} layer (`{layer.project}:<key>`)", ""]
        out += _settings_table(settings)
    out += ["", "### Upstream stacks", ""]
    out += ["| layer | key | default |", "|---|---|---|"]
    for layer in LAYER_ORDER[1:]:
        for upstream in LAYER_ORDER[: LAYER_ORDER.index(layer)]:
            default = f"`<stack_organization>/{upstream.project}/<environment>`"
            out.append(f"| {layer.value} | `{layer.project}:{upstream.stack_config_key}` | {default} |")
    return "\n".join(out)


def _one(export: Mapping[str, Any], type_token: str) -> Mapping[str, Any]:
    found = [r for r in stack_export.resources(export) if r.type == type_token]
    if len(found) != 1:
        raise ValueError(f"expected one {type_token} in the export, found {len(found)}")
    inputs = found[0].inputs
    return inputs


def sizes(build: Path) -> str:
    """The generated part of docs/sizing.md: each environment's sizes, read from its exports, and its estimate."""
    from tools.check.summary import monthly
    from tools.report import cost

    envs = list(environments())
    prices = cost.load_prices()
    rows: dict[str, list[str]] = {}
    for env in envs:
        exports = stack_export.load_layers(build, env)
        instance = _one(exports["compute"], "aws:ec2/instance:Instance")
        database = _one(exports["data"], "aws:rds/instance:Instance")
        function = _one(exports["compute"], "aws:lambda/function:Function")
        endpoints = [
            r.inputs
            for r in stack_export.resources(exports["network"])
            if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and r.inputs.get("vpcEndpointType") == "Interface"
        ]
        zones = max((len(e.get("subnetIds") or []) for e in endpoints), default=0)
        days = database.get("backupRetentionPeriod", 0)
        shown = {
            "EC2 backend": str(instance.get("instanceType")),
            "RDS PostgreSQL": str(database.get("instanceClass")),
            "RDS storage": f"{database.get('allocatedStorage')} GiB {database.get('storageType')}",
            "RDS Multi-AZ": "yes" if database.get("multiAz") else "no",
            "RDS backup retention": f"{days} day{'' if days == 1 else 's'}",
            "Lambda memory / timeout": f"{function.get('memorySize')} MB / {function.get('timeout')} s",
            "interface endpoints": f"{len(endpoints)} in {zones} AZ{'' if zones == 1 else 's'}",
            "deletion protection": "yes" if database.get("deletionProtection") else "no",
            "domain": str(environments()[env].defaults.get("domain", "")),
            "**estimated monthly cost**": f"**{monthly(cost.estimate(exports, prices, env).to_dict())}**",
        }
        for row, value in shown.items():
            rows.setdefault(row, []).append(value)
    lines = ["| | " + " | ".join(envs) + " |", "|---|" + "---|" * len(envs)]
    lines += [f"| {row} | " + " | ".join(values) + " |" for row, values in rows.items()]
    lines += ["", "`≥`: a lower bound, since some prices are us-east-1 list prices or some resource is not priced."]
    return "\n".join(lines)


def outputs() -> str:
    """The generated part of docs/outputs.md."""
    out: list[str] = []
    for layer in LAYER_ORDER:
        out += [f"### {layer.value} (`{layer.project}`)", "", "| output | what it is |", "|---|---|"]
        out += [f"| `{name}` | {_cell(text)} |" for name, text in EXPORTS[layer].items()]
        out.append("")
    return "\n".join(out)


SECTIONS: dict[Path, tuple[str, Callable[[Path], str], str]] = {
    DOCS / "configuration.md": (
        "settings",
        lambda _: configuration(),
        "shared/config.py, shared/settings.py, the matrix",
    ),
    DOCS / "outputs.md": ("outputs", lambda _: outputs(), "shared/contract.py"),
    DOCS / "sizing.md": ("sizes", sizes, "the exports and the cost estimate"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite every generated section, or with ``--check`` exit 1 when one is stale."""
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if a section is stale")
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="the exports (make preview writes them)")
    args = parser.parse_args(argv)
    status = 0
    for path, (name, render, source) in SECTIONS.items():
        begin, end = begin_marker(name, GENERATOR, source), end_marker(name)
        updated = replace_section(path.read_text(encoding="utf-8"), begin, end, render(args.build))
        status |= write_or_check(path, updated, args.check, GENERATOR)
    return status


if __name__ == "__main__":
    sys.exit(main())
