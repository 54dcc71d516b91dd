"""Judge Pulumi stack exports with the policy pack, the way ``pulumi policy analyze --file`` does, without the CLI.

    python -m tools.policy_analyze FILE [FILE ...] [--config CONFIG] [--json]
    python -m tools.policy_analyze --all build [--config CONFIG] [--json]

Semantics copied from the CLI (pkg/cmd/pulumi/policy/policy_analyze.go, pkg/resource/deploy/analyze_snapshot.go)
and the pulumi-policy SDK, and held to them by tests/policies/test_protocol.py, which runs the pack over gRPC as the
CLI does: resource policies see each non-deleted resource's *inputs* and its provider's inputs, stack policies see
*outputs*; properties take the protocol's path (a protobuf Struct, so every number is a float, then the SDK's own
deserializer and unknown-checking proxy); a secret the CLI cannot decrypt offline is the string ``"[secret]"``; a policy
that reads a value unknown during preview yields an advisory note instead of a verdict; a stack policy's finding
without a resource of the stack is the root stack's; ``remediate`` is reported as mandatory; a config maps a policy
name (or ``all``) to a level or to ``{"enforcementLevel": ..., <properties>}``.

Exit status: 0 no mandatory violation, 1 at least one mandatory violation, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
from google.protobuf import json_format, struct_pb2
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
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.registry import BY_NAME, PACK_NAME, PACK_VERSION, POLICIES, default_level
from shared.contract import LAYER_ORDER
from tools import stack_export
from tools.stack_export import REDACTED_SECRET, STACK_TYPE, ExportError, Resource, read_json

EXIT_OK, EXIT_MANDATORY, EXIT_BAD_INPUT = 0, 1, 2
LEVELS = {level.value: level for level in EnforcementLevel}
# Every pack message starts with "[check-id] "; a preview note carries it after the CLI's "during preview: ".
CHECK_IN_MESSAGE = re.compile(r"(?:^|during preview: )\[(?P<check>[a-z][a-z0-9-]*)\] ")


class InputError(Exception):
    """Bad input: reported as one line on stderr with exit status 2."""


@dataclass(frozen=True)
class Violation:
    """One diagnostic, in the fields of the JSON contract."""

    policy: str
    enforcement_level: str
    """``advisory`` or ``mandatory`` (``remediate`` is reported as mandatory, as the SDK does)."""
    urn: str
    """The offending resource's URN; the root stack's for a stack-wide note, as the CLI files it."""
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
    return parse_config(read_json(path, "config"), f"config {path}")


# --- analysis ------------------------------------------------------------------------------------------------------


def wire(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Properties after the trip the CLI gives them: a protobuf Struct (every number becomes a float) and back."""
    struct = struct_pb2.Struct()
    struct.update(dict(properties))
    return json_format.MessageToDict(struct)


def received(properties: Mapping[str, Any]) -> Any:
    """What a policy holds: the SDK's deserializer (secrets unwrapped, assets as objects) behind its unknown proxy."""
    return unknown_checking_proxy(deserialize_properties(dict(properties)))


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect,
        list(resource.ignore_changes),
        None,
        [],
        PolicyCustomTimeouts(0, 0, 0),
        list(resource.additional_secret_outputs),
        resource.parent or None,
    )


def _judged(export: Mapping[str, Any], where: str) -> list[Resource]:
    """The non-deleted resources of an export, their properties in the form the pack receives them."""
    return [
        dataclasses.replace(r, inputs=wire(r.inputs), outputs=wire(r.outputs))
        for r in stack_export.resources(export, form="wire", where=where)
        if not r.delete
    ]


def _provider_for(resource: Resource, providers: Mapping[str, Resource]) -> PolicyProviderResource | None:
    """The provider a policy is given: the provider resource's inputs, as the CLI sends them."""
    provider = providers.get(resource.provider.rsplit("::", 1)[0]) if resource.provider else None
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, received(provider.inputs), provider.urn, provider.name)


def _stack_resources(resources: Sequence[Resource], providers: Mapping[str, Resource]) -> list[PolicyResource]:
    by_urn = {
        r.urn: PolicyResource(
            r.type, received(r.outputs), r.urn, r.name, _options(r), _provider_for(r, providers), None, [], {}
        )
        for r in resources
    }
    for r in resources:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent)
        resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
        resource.property_dependencies = {
            key: [by_urn[d] for d in deps if d in by_urn] for key, deps in (r.property_dependencies or {}).items()
        }
    return list(by_urn.values())


def root_stack_urn(resources: Sequence[Resource]) -> str:
    """Where the CLI files a stack policy's finding that names no resource of the stack (analyze_snapshot.go).

    The root stack resource, else the default root stack URN of the first resource's stack and project.
    """
    for r in resources:
        if r.type == STACK_TYPE and not r.parent:
            return r.urn
    for r in resources:
        if r.urn.startswith("urn:pulumi:") and len(r.urn.split("::")) >= 4:
            return f"urn:pulumi:{r.stack}::{r.project}::{STACK_TYPE}::{r.project}-{r.stack}"
    return ""


def _unknown_note(policy: Policy, err: UnknownValueError, urn: str) -> Violation:
    # The CLI's own wording for a policy that could not run on a preview value, at advisory level.
    message = f"can't run policy '{policy.name}' from policy pack '{PACK_NAME}@v{PACK_VERSION}' during preview: "
    return Violation(policy.name, EnforcementLevel.ADVISORY.value, urn, message + err.message)


def analyze(
    export: Mapping[str, Any], settings: Mapping[str, PolicySettings] | None = None, where: str = "export"
) -> list[Violation]:
    """Every diagnostic the pack produces for one export, as the CLI reports it."""
    settings = settings or parse_config({})
    try:
        resources = _judged(export, where)
    except ExportError as err:
        raise InputError(str(err)) from None
    providers = {r.urn: r for r in resources if r.is_provider}
    stack_resources = _stack_resources(resources, providers)
    stack_urns = {r.urn for r in resources}
    root = root_stack_urn(resources)
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
                    r.type, received(r.inputs), r.urn, r.name, _options(r), _provider_for(r, providers), config
                )
                # The CLI files every diagnostic of a resource's Analyze under that resource.
                found.extend(_run(policy, level, args, _always(r.urn)))
        elif isinstance(policy, StackValidationPolicy):
            stack_args = StackValidationArgs(stack_resources, config)
            found.extend(_run(policy, level, stack_args, lambda urn: urn if urn in stack_urns else root))
    return found


def _always(urn: str) -> Callable[[str], str]:
    return lambda _named: urn


def _run(policy: Policy, level: EnforcementLevel, args: Any, file_under: Callable[[str], str]) -> list[Violation]:
    """One policy's diagnostics; ``file_under`` maps the URN a diagnostic names ("" if none) to the one shown."""
    out: list[Violation] = []

    def report(message: str, violation_urn: str | None = None) -> None:
        out.append(Violation(policy.name, level.value, file_under(violation_urn or ""), message))

    try:
        policy.validate(args, report)  # type: ignore[attr-defined]
    except UnknownValueError as err:
        out.append(_unknown_note(policy, err, file_under("")))
    except Exception as err:
        where = getattr(args, "urn", "") or "the stack"
        raise InputError(f"policy {policy.name} failed on {where}: {type(err).__name__}: {err}") from err
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
        lines.append(f"{v.enforcement_level.upper():<9} {v.policy}{where}\n  {v.urn}\n  {v.message}")
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
        redacted: list[Path] = []
        for path in paths:
            export = stack_export.read(path)
            violations.extend(
                Violation(v.policy, v.enforcement_level, v.urn, v.message, str(path))
                for v in analyze(export, settings, f"export {path}")
            )
            if stack_export.has_encrypted_secret(stack_export.states(export)):
                redacted.append(path)
    except (InputError, ExportError) as err:
        print(f"policy-analyze: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in redacted:
        # The CLI's own warning, for the same reason: judged with the secrets redacted.
        print(
            f"policy-analyze: warning: could not decrypt secrets in {path}; analyzing with secret values redacted "
            f'("{REDACTED_SECRET}"), as `pulumi policy analyze --file` does',
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps([v.as_json(with_file=len(paths) > 1) for v in violations], indent=2))
    else:
        print(render_text(violations, settings, len(paths)))
    return EXIT_MANDATORY if any(v.enforcement_level == "mandatory" for v in violations) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
