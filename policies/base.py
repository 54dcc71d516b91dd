"""Shared machinery for the pack: how checks become a Pulumi policy, config defaults, exemptions, value helpers.

A policy is a list of :class:`Check` objects, each a rule with a stable id, the types it judges and the properties it
reads. :func:`resource_policy` and :func:`stack_policy` wrap them into a ``ResourceValidationPolicy``/
``StackValidationPolicy`` with the metadata the house style demands (severity, remediation steps, default level,
config schema), prefix every message with ``[check-id]``, and skip a check for a resource that an exemption names
together with that check id. The same metadata generates the tables in docs/policies.md (``tools/policy_docs.py``).

Unknown values: the CLI wraps properties in a proxy that raises ``UnknownValueError`` when a policy reads a value
that is unknown during preview, and turns that into an *advisory* diagnostic ("can't run policy ... during
preview"). We keep that behaviour (a mandatory policy must not fail a preview on a value nobody knows yet) and add
to the message that the value can be checked only at apply time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

APPLY_TIME_NOTE = "it can be checked only at apply time"

UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_STRING_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
    }
)

# A stack check yields (urn, message) per violation, or an UnknownValueError for a resource it could not judge yet,
# and carries on with the others. (A resource check yields one message per thing wrong with the resource's inputs.)
StackRun = Callable[[StackValidationArgs, Mapping[str, Any]], Iterable[Any]]
ResourceRun = Callable[[ResourceValidationArgs, Mapping[str, Any]], Iterable[str]]

CHECK_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# A violation's message starts with its check's id in brackets, so a reader (and `policy_analyze --json`) knows which
# exemption would waive it.
CHECK_PREFIX = re.compile(r"^\[(?P<check>[a-z][a-z0-9-]*)\] ")


@dataclass(frozen=True)
class Check:
    """One thing a policy checks: the unit an exemption waives, and a row of the generated docs/policies.md table."""

    id: str
    """Stable kebab-case id, unique within its policy; every violation of this check starts with ``[id]``."""
    title: str
    """What a violation means, in a few words (the docs table's "flags" column)."""
    types: Collection[str]
    """Type tokens it judges. A resource check runs only on these; a stack check reports only these."""
    properties: tuple[str, ...]
    """The properties it reads, as the engine names them (dotted paths, ``[]`` for a list item)."""
    run: Callable[..., Iterable[Any]]
    """The rule, called with (args, config): it yields messages in a resource policy, as a ``StackRun`` otherwise."""


class NamedTypes(frozenset[str]):
    """A large set of type tokens (every taggable type) that the docs name by ``summary`` instead of listing each."""

    summary: str

    def __new__(cls, types: Iterable[str], summary: str) -> NamedTypes:
        named = super().__new__(cls, types)
        named.summary = summary
        return named


def exemptions_schema(check_ids: Sequence[str]) -> dict[str, Any]:
    """The ``exemptions`` config property: each names one resource, the check it waives and why (as cdk-nag does)."""
    return {
        "type": "array",
        "description": (
            "Checks this policy does not apply to one resource. Each names the resource (URN or logical name), the "
            "check it waives (one of the policy's check ids) and why."
        ),
        "items": {
            "type": "object",
            "properties": {
                "resource": {"type": "string", "minLength": 1},
                "check": {"type": "string", "enum": list(check_ids)},
                "reason": {"type": "string", "minLength": 10},
            },
            "required": ["resource", "check", "reason"],
            "additionalProperties": False,
        },
        "default": [],
    }


class _Unknown:
    """The marker :func:`peek` returns for a value that is unknown during preview."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    """True for a raw preview sentinel string or the :data:`UNKNOWN` marker."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def unknown_error(path: Sequence[Any]) -> UnknownValueError:
    """An ``UnknownValueError`` for ``path``, worded like the CLI's and saying when it can be checked."""
    err = UnknownValueError(UNKNOWN_STRING_VALUE, [str(p) for p in path])
    err.message = f"{err.message}; {APPLY_TIME_NOTE}"
    return err


def elsewhere_note(message: str) -> UnknownValueError:
    """An advisory note, not a violation: the setting is decided by a resource this policy cannot judge here.

    The CLI reports an ``UnknownValueError`` from a policy as an advisory diagnostic whatever the policy's level, so
    this is the one way a mandatory policy can say "not judged here" without failing the run.
    """
    err = UnknownValueError(UNKNOWN_STRING_VALUE, [])
    err.message = message
    return err


def _step(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        return container.get(key)
    if isinstance(container, Sequence) and not isinstance(container, str) and isinstance(key, int):
        return container[key] if -len(container) <= key < len(container) else None
    return None


def get(props: Any, *path: Any) -> Any:
    """The value at ``path``, or None when any step is missing; raises ``UnknownValueError`` on an unknown."""
    current = props
    for depth, key in enumerate(path):
        try:
            current = _step(current, key)
        except UnknownValueError as err:
            # The CLI's proxy knows the full property path; keep it and only add when the value can be checked.
            if not err.message.endswith(APPLY_TIME_NOTE):
                err.message = f"{err.message}; {APPLY_TIME_NOTE}"
            raise
        if current is None:
            return None
        if is_unknown(current):
            raise unknown_error(path[: depth + 1])
    return current


def peek(props: Any, *path: Any) -> Any:
    """Like :func:`get`, but returns :data:`UNKNOWN` instead of raising, for checks that must go on."""
    try:
        return get(props, *path)
    except UnknownValueError:
        return UNKNOWN


def plain(value: Any, path: Sequence[Any] = ()) -> Any:
    """A deep copy as plain dicts/lists (the CLI hands policies read-only proxies); raises on an unknown."""
    if is_unknown(value):
        raise unknown_error(path)
    if isinstance(value, Mapping):
        return {k: plain(get(value, k), [*path, k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(get(value, i), [*path, i]) for i in range(len(value))]
    return value


def as_list(value: Any) -> list[Any]:
    """None -> [], a list stays a list, anything else becomes a one-item list (IAM allows string or list)."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def is_true(value: Any) -> bool:
    """True for ``True`` and for the string ``"true"`` (pulumi-aws launch templates use strings for booleans)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def whole_numbers(value: Any) -> Any:
    """A plain copy of ``value`` with every whole float as an int, unknowns kept as the CLI's sentinels.

    The CLI sends properties and config as protobuf Structs, where every number is a float: a port 22 arrives as 22.0
    and a message would say "port 22.0". Policies receive numbers as JSON has them, whole ones as ints.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: whole_numbers(_raw(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [whole_numbers(_raw(value, i)) for i in range(len(value))]
    return value


def _raw(container: Any, key: Any) -> Any:
    """``container[key]``, or the unknown sentinel the CLI's proxy refuses to hand out."""
    try:
        return container[key]
    except UnknownValueError as err:
        return err.unknown_type_sentinel


def _received(args: Any) -> Any:
    """Resource or stack validation args with :func:`whole_numbers` applied to every property, as policies see them."""
    holders = [args] if isinstance(args, ResourceValidationArgs) else list(args.resources)
    holders += [h.provider for h in list(holders) if getattr(h, "provider", None) is not None]
    for holder in holders:
        holder.props = unknown_checking_proxy(whole_numbers(holder.props))
    return args


def show(value: Any) -> str:
    """A value as it should appear in a message: JSON, so strings are quoted and absent is ``null``."""
    try:
        return json.dumps(plain(value), sort_keys=True)
    except (TypeError, ValueError, UnknownValueError):
        return repr(value)


def load_json(value: Any) -> Any:
    """A JSON document given as a string (pulumi-aws) or already as an object (aws-native, provider state)."""
    if isinstance(value, str):
        return json.loads(value)
    return plain(value)


def schema_defaults(properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``default`` of every config property that has one."""
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec}


class PolicyConfigError(ValueError):
    """A pack config gives a policy a property its schema does not have (a typo would silently switch a limit off)."""


def effective_config(
    properties: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any] | None, policy: str = "policy"
) -> dict[str, Any]:
    """Schema defaults overlaid with the configured values (the CLI fills defaults too; this covers direct calls).

    Raises :class:`PolicyConfigError` on a property the schema does not name. The CLI validates the config against
    each policy's schema, but the protocol carries only a schema's ``properties`` and ``required``, and the CLI
    builds the object schema itself without ``additionalProperties: false`` (pkg/resource/analyzer/config.go,
    convertSchema): a misspelt ``maxRetentionDay`` reaches the pack. Refusing it here fails the CLI's run with this
    message instead of ignoring the limit.
    """
    given = whole_numbers(given or {})
    unknown = sorted(set(given) - set(properties) - {"enforcementLevel"})
    if unknown:
        raise PolicyConfigError(
            f"{policy}: unknown config property {unknown[0]!r} (allowed: {', '.join(sorted(properties))})"
        )
    config = schema_defaults(properties)
    config.update(given)
    return config


def is_exempt(config: Mapping[str, Any], urn: str, name: str, check: str) -> bool:
    """True when a configured exemption names this resource (URN or logical name) and this check, with a reason."""
    for exemption in config.get("exemptions") or []:
        if (
            exemption.get("resource") in (urn, name)
            and exemption.get("check") == check
            and str(exemption.get("reason") or "").strip()
        ):
            return True
    return False


def stack_of(urn: str) -> str:
    """The stack name inside a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    parts = urn.split(":", 3)
    return parts[2] if len(parts) > 2 and parts[0] == "urn" else ""


def _schema(
    properties: Mapping[str, Mapping[str, Any]] | None, checks: Sequence[Check]
) -> dict[str, Mapping[str, Any]]:
    """A policy's config properties; every policy also takes ``exemptions`` naming its own check ids."""
    return {**(properties or {}), "exemptions": exemptions_schema([c.id for c in checks])}


def _metadata(
    schema: Mapping[str, Mapping[str, Any]], mandatory: bool, severity: Severity, remediation: str
) -> dict[str, Any]:
    """The constructor arguments resource and stack policies share: level, config schema, severity, remediation."""
    return {
        "enforcement_level": EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY,
        "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in schema.items()}),
        "severity": severity,
        "remediation_steps": remediation,
    }


def _valid_checks(name: str, checks: Sequence[Check]) -> tuple[Check, ...]:
    ids = [c.id for c in checks]
    if not checks:
        raise ValueError(f"policy {name!r} declares no checks")
    bad = [i for i in ids if not CHECK_ID.match(i)]
    if bad:
        raise ValueError(f"policy {name!r}: check ids must be kebab-case: {bad}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"policy {name!r}: duplicate check ids in {ids}")
    return tuple(checks)


class PackResourcePolicy(ResourceValidationPolicy):
    """A resource policy that knows its checks and what it leaves out (for exemptions and the generated docs)."""

    def __init__(self, *, checks: Sequence[Check], not_checked: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks: tuple[Check, ...] = tuple(checks)
        self.not_checked: tuple[str, ...] = tuple(not_checked)


class PackStackPolicy(StackValidationPolicy):
    """A stack policy that knows its checks and what it leaves out (for exemptions and the generated docs)."""

    def __init__(self, *, checks: Sequence[Check], not_checked: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks: tuple[Check, ...] = tuple(checks)
        self.not_checked: tuple[str, ...] = tuple(not_checked)


def resource_policy(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    checks: Sequence[Check],
    not_checked: Sequence[str] = (),
    mandatory: bool = False,
    properties: Mapping[str, Mapping[str, Any]] | None = None,
) -> PackResourcePolicy:
    """A resource policy that runs each check on the types it declares, prefixing its messages with ``[check-id]``.

    An unknown value stops only the check that read it; the others still report, then the first unknown becomes the
    CLI's advisory note (one per policy and resource).
    """
    checks = _valid_checks(name, checks)
    schema = _schema(properties, checks)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        config = effective_config(schema, args.get_config(), name)
        received = _received(args)
        unknowns: list[UnknownValueError] = []
        for check in checks:
            if args.resource_type not in check.types or is_exempt(config, args.urn, args.name, check.id):
                continue
            try:
                for message in check.run(received, config):
                    report_violation(f"[{check.id}] {message}", None)
            except UnknownValueError as err:
                err.message = f"[{check.id}] {err.message}"
                unknowns.append(err)
        if unknowns:
            raise unknowns[0]

    return PackResourcePolicy(
        checks=checks,
        not_checked=not_checked,
        name=name,
        description=description,
        validate=validate,
        **_metadata(schema, mandatory, severity, remediation),
    )


def stack_policy(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    checks: Sequence[Check],
    not_checked: Sequence[str] = (),
    mandatory: bool = False,
    properties: Mapping[str, Mapping[str, Any]] | None = None,
) -> PackStackPolicy:
    """A stack policy (judged on outputs) whose checks yield ``(urn, message)``, prefixed with ``[check-id]``."""
    checks = _valid_checks(name, checks)
    schema = _schema(properties, checks)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = effective_config(schema, args.get_config(), name)
        names = {r.urn: r.name for r in args.resources}
        unknowns: list[UnknownValueError] = []
        for check in checks:
            for finding in check.run(_received(args), config):
                if isinstance(finding, UnknownValueError):
                    finding.message = f"[{check.id}] {finding.message}"
                    unknowns.append(finding)
                    continue
                urn, message = finding
                if not is_exempt(config, urn, names.get(urn, ""), check.id):
                    report_violation(f"[{check.id}] {message}", urn)
        # Report everything that could be judged, then let the first unknown surface as the CLI's advisory note.
        if unknowns:
            raise unknowns[0]

    return PackStackPolicy(
        checks=checks,
        not_checked=not_checked,
        name=name,
        description=description,
        validate=validate,
        **_metadata(schema, mandatory, severity, remediation),
    )


def checks_of(policy: Any) -> tuple[Check, ...]:
    """The checks a pack policy declares (none for a policy built some other way)."""
    return tuple(getattr(policy, "checks", ()))


def judge(resource: PolicyResource, check: Callable[[Mapping[str, Any]], Iterable[str]]) -> Iterator[Any]:
    """Run a per-resource check inside a stack policy; an unknown stops only this resource's check."""
    try:
        for message in check(resource.props):
            yield resource.urn, message
    except UnknownValueError as err:
        err.message = f"{resource.name}: {err.message}"
        yield err


def references(resource: PolicyResource, key: str, targets: Iterable[PolicyResource]) -> list[PolicyResource]:
    """The targets ``resource.<key>`` points at: by property dependency, else by the target's id or name output.

    Dependencies link even when ids are unknown during preview; the value match covers exports written without
    property dependencies (and buckets named by a literal string).
    """
    targets = list(targets)
    by_dependency = [t for t in resource.property_dependencies.get(key, []) if t in targets]
    if by_dependency:
        return by_dependency
    value = peek(resource.props, key)
    if value is None or is_unknown(value):
        return []
    return [t for t in targets if value in identities(t)]


# The keys an instance's launch-template specification may name its template by.
LAUNCH_TEMPLATE_KEYS = ("id", "name", "launchTemplateId", "launchTemplateName")


def launch_template_label(spec: Any) -> str:
    """How a message names the template an instance's ``launchTemplate`` specification points at."""
    for key in LAUNCH_TEMPLATE_KEYS:
        value = peek(spec, key)
        if isinstance(value, str) and value and not is_unknown(value):
            return json.dumps(value)
    return "(its id is known only at apply time)"


def identities(resource: PolicyResource, keys: Sequence[str] = ("id", "bucket", "arn", "name")) -> set[str]:
    """The known string values another resource may use to refer to this one."""
    found = {peek(resource.props, key) for key in keys}
    return {v for v in found if isinstance(v, str) and not is_unknown(v)}
