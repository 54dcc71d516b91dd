"""Builders for schema-valid stack exports, and a one-call way to run the pack over them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.base import UNKNOWN_SENTINELS, checks_of
from policies.registry import BY_NAME
from tools.policy_analyze import Violation, analyze, parse_config

STACK = "dev"
PROJECT = "student-helper-test"
UNKNOWN = next(iter(s for s in UNKNOWN_SENTINELS if s.startswith("04da6b54")))
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
PROVIDER_NAME = "default_7_51_1"


def urn(type_: str, name: str, stack: str = STACK) -> str:
    """The URN Pulumi gives a top-level resource."""
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def secret(value: Any) -> dict[str, Any]:
    """A plaintext secret as an export stores it."""
    return {**SECRET_SIG, "plaintext": json.dumps(value)}


@dataclass
class Res:
    """One resource to put in an export."""

    type: str
    """Type token."""
    name: str
    """Logical name."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """Inputs (what resource policies see)."""
    outputs: dict[str, Any] | None = None
    """Outputs (what stack policies see); defaults to inputs plus an id."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other resource-state fields, e.g. protect or propertyDependencies."""

    @property
    def urn(self) -> str:
        """This resource's URN in the test stack."""
        return urn(self.type, self.name)


def make_export(
    resources: Iterable[Res], stack: str = STACK, default_tags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``pulumi stack export`` (version 3) with a root stack, an aws provider and the given resources."""
    stack_urn = urn("pulumi:pulumi:Stack", f"{PROJECT}-{stack}", stack)
    provider_urn = urn("pulumi:providers:aws", PROVIDER_NAME, stack)
    provider_inputs: dict[str, Any] = {"region": "eu-west-1", "version": "7.51.1"}
    if default_tags is not None:
        provider_inputs["defaultTags"] = json.dumps({"tags": dict(default_tags)})
    states: list[dict[str, Any]] = [
        {"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}},
        {
            "urn": provider_urn,
            "custom": True,
            "id": "11111111-2222-3333-4444-555555555555",
            "type": "pulumi:providers:aws",
            "inputs": provider_inputs,
            "outputs": provider_inputs,
            "parent": stack_urn,
        },
    ]
    for i, r in enumerate(resources):
        state: dict[str, Any] = {
            "urn": urn(r.type, r.name, stack),
            "custom": True,
            "id": f"{r.name}-id-{i}",
            "type": r.type,
            "inputs": copy.deepcopy(r.inputs),
            "outputs": copy.deepcopy(r.outputs if r.outputs is not None else {**r.inputs, "id": f"{r.name}-id-{i}"}),
            "parent": stack_urn,
            "provider": f"{provider_urn}::11111111-2222-3333-4444-555555555555",
        }
        state.update(copy.deepcopy(r.extra))
        states.append(state)
    urns = [state["urn"] for state in states]
    # Two resources with one URN would silently shadow each other in the analyser.
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    assert not duplicates, f"duplicate URNs in a test export: {duplicates}"
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2025-01-01T00:00:00Z", "magic": "", "version": "v3.272.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc"}},
            "resources": states,
        },
    }


def run(
    resources: Iterable[Res],
    policy: str | None = None,
    config: Mapping[str, Any] | None = None,
    **export_kwargs: Any,
) -> list[Violation]:
    """The diagnostics of ``policy`` (or all policies) on an export made of ``resources``."""
    found = analyze(make_export(resources, **export_kwargs), parse_config(dict(config or {})))
    for violation in found:
        assert_declared(violation)
    return [v for v in found if policy is None or v.policy == policy]


def type_of(urn_: str) -> str:
    """The resource type in a URN (the last segment of a parent$child type chain)."""
    return urn_.split("::")[2].rsplit("$", 1)[-1]


def assert_declared(violation: Violation) -> None:
    """A violation names one of its policy's checks, on a type that check declares (so the docs table is true)."""
    assert violation.check, f"no [check-id] in {violation.message!r}"
    checks = {c.id: c for c in checks_of(BY_NAME[violation.policy])}
    assert violation.check in checks, f"{violation.policy} has no check {violation.check!r}"
    if violation.urn and not violation.message.startswith("can't run policy"):
        kind = type_of(violation.urn)
        assert kind in checks[violation.check].types, f"[{violation.check}] reported {kind}, which it does not declare"


def messages(resources: Iterable[Res], policy: str, config: Mapping[str, Any] | None = None, **kw: Any) -> list[str]:
    """Just the messages of ``policy``'s diagnostics (each starts with its ``[check-id]``)."""
    return [v.message for v in run(resources, policy, config, **kw)]
