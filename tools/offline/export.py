"""Assemble recorded registrations into a Pulumi stack export (``pulumi stack export`` format, version 3).

The layout follows what the engine checkpoints: the root stack first, then each default provider before the
first resource that uses it, then resources in registration order (which is dependency order). Only fields
that Pulumi's resource schema allows are written (schemas/pulumi-resources.json has additionalProperties:
false), so every export validates and can be handed to ``pulumi policy analyze --file``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pulumi

from tools.stack_export import STACK_REFERENCE_TYPE, STACK_TYPE, seal_secrets

# The export records the SDK version as the engine version: there is no engine offline.
ENGINE_VERSION = f"v{pulumi.__version__}" if hasattr(pulumi, "__version__") else "v3"


@dataclass
class Registration:
    """One RegisterResource request as the program sent it, and the mock's answer."""

    urn: str
    """The URN the monitor assigned (engine rules: no stack type for top-level resources)."""
    type: str
    name: str
    custom: bool
    """True for provider-managed resources, False for components."""
    parent: str
    """The parent URN; empty for children of the root stack."""
    id: str
    """The id the mocks returned (empty in a preview or for components)."""
    inputs: dict[str, Any]
    """Inputs after stack transforms, in engine (camelCase) form."""
    outputs: dict[str, Any]
    """The state the mocks returned."""
    dependencies: list[str]
    """URNs this resource depends on."""
    property_dependencies: dict[str, list[str]]
    """Per input property, the URNs its value came from."""
    protect: bool | None
    """The protect option, when the program set it."""
    retain_on_delete: bool | None
    """The retainOnDelete option, when set (the export schema has no field: see the options sidecar)."""
    provider: str
    """An explicit provider reference; empty means the default provider."""
    version: str
    """The provider plugin version the SDK asked for."""
    additional_secret_outputs: list[str] = field(default_factory=list)
    """Outputs the program marked secret."""
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    external: bool = False
    """True for reads (StackReference, .get): the engine records them as external."""


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _package(type_token: str) -> str:
    return "pulumi" if type_token == STACK_REFERENCE_TYPE else type_token.split(":", 1)[0]


def build_export(
    *,
    project: str,
    stack: str,
    region: str,
    registrations: list[Registration],
    component_outputs: dict[str, dict[str, Any]],
    stack_outputs: dict[str, Any],
    secret_config_keys: list[str],
) -> dict[str, Any]:
    """The ``{"version": 3, "deployment": {...}}`` document for one run."""
    stack_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
    resources: list[dict[str, Any]] = [
        {"urn": stack_urn, "custom": False, "type": STACK_TYPE, "outputs": seal_secrets(stack_outputs)}
    ]
    providers: dict[str, str] = {}
    plugins: dict[str, str] = {}

    for reg in registrations:
        entry: dict[str, Any] = {"urn": reg.urn, "custom": reg.custom}
        if reg.custom:
            entry["id"] = reg.id
        entry["type"] = reg.type
        entry["inputs"] = seal_secrets(reg.inputs)
        if reg.custom:
            entry["outputs"] = seal_secrets(reg.outputs)
        elif reg.urn in component_outputs:  # a component has outputs only once it called register_outputs
            entry["outputs"] = seal_secrets(component_outputs[reg.urn])
        entry["parent"] = reg.parent or stack_urn
        if reg.protect:  # the engine omits protect: false from state
            entry["protect"] = True
        if reg.external:
            entry["external"] = True
        entry["dependencies"] = reg.dependencies
        if reg.custom:
            entry["provider"] = reg.provider or _default_provider(
                resources,
                providers,
                plugins,
                project=project,
                stack=stack,
                stack_urn=stack_urn,
                package=_package(reg.type),
                version=reg.version,
                region=region,
            )
        entry["propertyDependencies"] = reg.property_dependencies
        if reg.additional_secret_outputs:
            entry["additionalSecretOutputs"] = reg.additional_secret_outputs
        resources.append(entry)

    manifest = {
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "magic": hashlib.sha256(ENGINE_VERSION.encode()).hexdigest(),
        "version": ENGINE_VERSION,
        "plugins": [
            {"name": name, "path": "", "type": "resource", "version": version}
            for name, version in sorted(plugins.items())
        ],
    }
    deployment: dict[str, Any] = {"manifest": manifest, "resources": resources}
    if secret_config_keys:
        deployment["metadata"] = {"secretConfigKeys": secret_config_keys}
    return {"version": 3, "deployment": deployment}


def _default_provider(
    resources: list[dict[str, Any]],
    providers: dict[str, str],
    plugins: dict[str, str],
    *,
    project: str,
    stack: str,
    stack_urn: str,
    package: str,
    version: str,
    region: str,
) -> str:
    """The reference (``urn::id``) of the package's default provider, adding its state on first use."""
    if package in providers:
        return providers[package]
    suffix = f"default_{version.replace('.', '_')}" if version else "default"
    urn = f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::{suffix}"
    provider_id = _uuid(urn)
    inputs: dict[str, Any] = {}
    if package in ("aws", "aws-native"):
        inputs["region"] = region
    if version:
        inputs["version"] = version
        plugins[package] = version
    resources.append(
        {
            "urn": urn,
            "custom": True,
            "id": provider_id,
            "type": f"pulumi:providers:{package}",
            "inputs": inputs,
            "outputs": dict(inputs),
            "parent": stack_urn,
        }
    )
    providers[package] = f"{urn}::{provider_id}"
    return providers[package]
