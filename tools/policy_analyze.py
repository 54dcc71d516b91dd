"""Judge Pulumi stack exports with the policy pack, the way ``pulumi policy analyze --file`` does, without the CLI.

    python -m tools.policy_analyze FILE [FILE ...] [--config CONFIG] [--json]
    python -m tools.policy_analyze --all build [--config CONFIG] [--json]

Semantics copied from the CLI and the pulumi-policy SDK: resource policies see each resource's *inputs* and its
provider's inputs, stack policies see *outputs*; values are wrapped in the SDK's unknown-checking proxy, and a policy
that reads a value unknown during preview yields an advisory note instead of a verdict; ``remediate`` is reported as
mandatory; a config maps a policy name (or ``all``) to a level or to ``{"enforcementLevel": ..., <properties>}``.

Exit status: 0 no mandatory violation, 1 at least one mandatory violation, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.registry import BY_NAME, PACK_NAME, POLICIES, default_level
from shared.contract import LAYER_ORDER

PACK_VERSION = "0.1.0"  # PulumiPolicy.yaml's version, which the CLI shows in its notes
EXIT_OK, EXIT_MANDATORY, EXIT_BAD_INPUT = 0, 1, 2
LEVELS = {level.value: level for level in EnforcementLevel}
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Every pack message starts with "[check-id] "; a preview note carries it after the CLI's "during preview: ".
CHECK_IN_MESSAGE = re.compile(r"(?:^|during preview: )\[(?P<check>[a-z][a-z0-9-]*)\] ")


class InputError(Exception):
    """Bad input: reported as one line on stderr with exit status 2."""


@dataclass(frozen=True)
class Violation:
    """One diagnostic, in the fields of the JSON contract."""

    policy: str
    """The policy's name."""
    enforcement_level: str
    """``advisory`` or ``mandatory`` (``remediate`` is reported as mandatory, as the SDK does)."""
    urn: str
    """The offending resource's URN; empty for a stack-wide note."""
    message: str
    """What is wrong with this resource."""
    file: str = ""
    """The export it came from (only shown when several are analysed)."""

    @property
    def check(self) -> str:
        """The id of the check that fired (its ``[check-id]`` prefix; in a preview note, after the CLI's wording)."""
        match = CHECK_IN_MESSAGE.search(self.message)
        return match.group("check") if match else ""

    def as_json(self, with_file: bool = False) -> dict[str, str]:
        """The contract's JSON object (plus ``file`` when several exports are analysed)."""
        out = {
            "policy": self.policy,
            "check": self.check,
            "enforcementLevel": self.enforcement_level,
            "urn": self.urn,
            "message": self.message,
        }
        if with_file:
            out["file"] = self.file
        return out


@dataclass(frozen=True)
class PolicySettings:
    """The level and properties one policy runs with."""

    level: EnforcementLevel
    """Effective enforcement level."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Configured properties, before schema defaults (the policies fill those in)."""


# --- input ---------------------------------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file") from None
    except OSError as err:
        raise InputError(f"{what} {path}: cannot read ({err.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{what} {path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None


def load_export(path: Path) -> dict[str, Any]:
    """A ``pulumi stack export`` document, checked for the shape the analyser relies on."""
    doc = _read_json(path, "export")
    if not isinstance(doc, dict):
        raise InputError(f"export {path}: not a stack export (expected a JSON object)")
    if doc.get("version") != 3:
        raise InputError(f"export {path}: unsupported export version {doc.get('version')!r} (expected 3)")
    deployment = doc.get("deployment")
    if not isinstance(deployment, dict):
        raise InputError(f"export {path}: no deployment object")
    resources = deployment.get("resources") or []
    if not isinstance(resources, list):
        raise InputError(f"export {path}: deployment.resources is not a list")
    for i, resource in enumerate(resources):
        if not isinstance(resource, dict) or not isinstance(resource.get("urn"), str) or not resource.get("type"):
            raise InputError(f"export {path}: deployment.resources[{i}] has no urn or type")
    return doc


def parse_config(raw: Any, source: str = "config") -> dict[str, PolicySettings]:
    """Settings for every policy from a pack config object (the ``--policy-pack-config`` format)."""
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected a JSON object mapping policy names to settings")
    settings = {p.name: PolicySettings(default_level(p)) for p in POLICIES}
    if "all" in raw:
        level = _level(raw["all"], f"{source}: all")
        settings = {name: PolicySettings(level) for name in settings}
    for name, value in raw.items():
        if name == "all":
            continue
        if name not in BY_NAME:
            raise InputError(f"{source}: unknown policy {name!r} (known: {', '.join(sorted(BY_NAME))})")
        policy = BY_NAME[name]
        if isinstance(value, str):
            settings[name] = PolicySettings(_level(value, f"{source}: {name}"))
            continue
        if not isinstance(value, dict):
            raise InputError(f"{source}: {name}: expected a level string or an object")
        level = settings[name].level
        if "enforcementLevel" in value:
            level = _level(value["enforcementLevel"], f"{source}: {name}.enforcementLevel")
        properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
        _validate_properties(policy, properties, f"{source}: {name}")
        settings[name] = PolicySettings(level, properties)
    return settings


def _level(value: Any, where: str) -> EnforcementLevel:
    if not isinstance(value, str) or value not in LEVELS:
        raise InputError(f"{where}: invalid enforcement level {value!r} (expected one of {', '.join(LEVELS)})")
    return LEVELS[value]


def _validate_properties(policy: Policy, properties: dict[str, Any], where: str) -> None:
    schema_properties = policy.config_schema.properties if policy.config_schema else {}
    schema = {"type": "object", "properties": schema_properties, "additionalProperties": False}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(properties), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        at = ".".join(str(p) for p in err.path)
        raise InputError(f"{where}{'.' + at if at else ''}: {err.message}")


def load_config(path: Path | None) -> dict[str, PolicySettings]:
    """Settings from a config file, or every policy's default level when there is none."""
    if path is None:
        return parse_config({})
    return parse_config(_read_json(path, "config"), f"config {path}")


# --- analysis ------------------------------------------------------------------------------------------------------


def decode(value: Any) -> Any:
    """Export property values as policies see them: secrets unwrapped, unknowns left as the CLI's sentinels."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE_SIG:
            if "plaintext" in value:
                try:
                    return decode(json.loads(value["plaintext"]))
                except (TypeError, json.JSONDecodeError):
                    return value["plaintext"]
            if "value" in value:
                return decode(value["value"])
            # An encrypted secret cannot be read here: like a preview unknown, it is checked only where it is known.
            return UNKNOWN_STRING_VALUE
        return {k: decode(v) for k, v in value.items()}
    return value


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        bool(resource.get("protect")),
        [],
        None,
        [],
        PolicyCustomTimeouts(0, 0, 0),
        list(resource.get("additionalSecretOutputs") or []),
        resource.get("parent"),
    )


def _providers(resources: Sequence[Mapping[str, Any]]) -> dict[str, PolicyProviderResource]:
    """Provider references (``urn::id``) to the provider each resource policy is given."""
    out: dict[str, PolicyProviderResource] = {}
    for r in resources:
        if str(r["type"]).startswith("pulumi:providers:"):
            provider = PolicyProviderResource(
                r["type"], unknown_checking_proxy(decode(r.get("inputs") or {})), r["urn"], _name(r["urn"])
            )
            out[f"{r['urn']}::{r.get('id', '')}"] = provider
            out.setdefault(r["urn"], provider)
    return out


def _provider_for(reference: Any, providers: Mapping[str, PolicyProviderResource]) -> PolicyProviderResource | None:
    if not isinstance(reference, str) or not reference:
        return None
    return providers.get(reference) or providers.get(reference.rsplit("::", 1)[0])


def _stack_resources(resources: Sequence[Mapping[str, Any]]) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for r in resources:
        props = unknown_checking_proxy(decode(r.get("outputs") or {}))
        by_urn[r["urn"]] = PolicyResource(r["type"], props, r["urn"], _name(r["urn"]), _options(r), None, None, [], {})
    for r in resources:
        resource = by_urn[r["urn"]]
        resource.parent = by_urn.get(r.get("parent") or "")
        resource.dependencies = [by_urn[d] for d in r.get("dependencies") or [] if d in by_urn]
        resource.property_dependencies = {
            key: [by_urn[d] for d in deps if d in by_urn] for key, deps in (r.get("propertyDependencies") or {}).items()
        }
    return list(by_urn.values())


def _unknown_note(policy: Policy, err: UnknownValueError, urn: str) -> Violation:
    # The CLI's own wording for a policy that could not run on a preview value, at advisory level.
    message = f"can't run policy '{policy.name}' from policy pack '{PACK_NAME}@v{PACK_VERSION}' during preview: "
    return Violation(policy.name, EnforcementLevel.ADVISORY.value, urn, message + err.message)


def analyze(export: Mapping[str, Any], settings: Mapping[str, PolicySettings] | None = None) -> list[Violation]:
    """Every diagnostic the pack produces for one export."""
    settings = settings or parse_config({})
    resources = [r for r in export.get("deployment", {}).get("resources") or [] if not r.get("delete")]
    providers = _providers(resources)
    stack_resources = _stack_resources(resources)
    found: list[Violation] = []
    for policy in POLICIES:
        setting = settings.get(policy.name, PolicySettings(default_level(policy)))
        if setting.level == EnforcementLevel.DISABLED:
            continue
        level = EnforcementLevel.MANDATORY if setting.level == EnforcementLevel.REMEDIATE else setting.level
        config = setting.properties or None
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r["type"],
                    unknown_checking_proxy(decode(r.get("inputs") or {})),
                    r["urn"],
                    _name(r["urn"]),
                    _options(r),
                    _provider_for(r.get("provider"), providers),
                    config,
                )
                found.extend(_run(policy, level, args, r["urn"]))
        elif isinstance(policy, StackValidationPolicy):
            found.extend(_run(policy, level, StackValidationArgs(stack_resources, config), ""))
    return found


def _run(policy: Policy, level: EnforcementLevel, args: Any, urn: str) -> list[Violation]:
    out: list[Violation] = []

    def report(message: str, violation_urn: str | None = None) -> None:
        out.append(Violation(policy.name, level.value, violation_urn or urn, message))

    try:
        policy.validate(args, report)  # type: ignore[attr-defined]
    except UnknownValueError as err:
        out.append(_unknown_note(policy, err, urn))
    except Exception as err:
        raise InputError(f"policy {policy.name} failed on {urn or 'the stack'}: {type(err).__name__}: {err}") from err
    return out


# --- output --------------------------------------------------------------------------------------------------------


def summary(violations: Iterable[Violation], settings: Mapping[str, PolicySettings]) -> list[str]:
    """One line per policy: name, level it ran at, and how many violations it found."""
    counts = Counter(v.policy for v in violations if not v.message.startswith("can't run policy"))
    notes = Counter(v.policy for v in violations if v.message.startswith("can't run policy"))
    lines = [f"  {'policy':<24} {'level':<10} {'violations':>10}  preview notes"]
    for policy in POLICIES:
        level = settings.get(policy.name, PolicySettings(default_level(policy))).level.value
        lines.append(f"  {policy.name:<24} {level:<10} {counts[policy.name]:>10}  {notes[policy.name] or ''}".rstrip())
    return lines


def render_text(violations: Sequence[Violation], settings: Mapping[str, PolicySettings], files: int) -> str:
    """The human report: each violation (level, policy, URN, message), then the per-policy summary."""
    lines: list[str] = []
    for v in violations:
        where = f" [{v.file}]" if files > 1 else ""
        lines.append(f"{v.enforcement_level.upper():<9} {v.policy}{where}\n  {v.urn or '(stack)'}\n  {v.message}")
    mandatory = sum(v.enforcement_level == "mandatory" for v in violations)
    advisory = len(violations) - mandatory
    lines.append(f"\nPolicy pack {PACK_NAME}: {files} export(s)")
    lines.extend(summary(violations, settings))
    verdict = "FAILED" if mandatory else "passed"
    lines.append(f"{verdict}: {mandatory} mandatory, {advisory} advisory diagnostic(s)")
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"usage: {message} (see --help)")


def _export_paths(files: Sequence[str], all_dir: str | None) -> list[Path]:
    paths = [Path(f) for f in files]
    if all_dir is not None:
        root = Path(all_dir)
        if not root.is_dir():
            raise InputError(f"--all {root}: no such directory")
        layers = {layer.value for layer in LAYER_ORDER}
        # build/<env>/<layer>.json only: other JSON under build/ (the scan's translations) is not an export.
        found = sorted(p for p in root.glob("*/*.json") if p.stem in layers)
        if not found:
            raise InputError(f"--all {root}: no stack exports (*.json) found; run `make preview` first")
        paths.extend(found)
    if not paths:
        raise InputError("usage: give an export FILE or --all DIR (see --help)")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Run the analyser; returns the exit status."""
    parser = _Parser(prog="python -m tools.policy_analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", metavar="FILE", help="stack export(s) as `pulumi stack export` writes")
    parser.add_argument("--all", dest="all_dir", metavar="DIR", help="analyse every DIR/<env>/<layer>.json export")
    parser.add_argument("--config", type=Path, help="policy pack config JSON (the --policy-pack-config format)")
    parser.add_argument("--json", action="store_true", help="print only a JSON array of violations")
    try:
        args = parser.parse_args(argv)
        settings = load_config(args.config)
        paths = _export_paths(args.files, args.all_dir)
        violations: list[Violation] = []
        for path in paths:
            export = load_export(path)
            violations.extend(
                Violation(v.policy, v.enforcement_level, v.urn, v.message, str(path)) for v in analyze(export, settings)
            )
    except InputError as err:
        print(f"policy-analyze: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps([v.as_json(with_file=len(paths) > 1) for v in violations], indent=2))
    else:
        print(render_text(violations, settings, len(paths)))
    return EXIT_MANDATORY if any(v.enforcement_level == "mandatory" for v in violations) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
