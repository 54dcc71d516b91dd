"""Hand-made stack exports for the scan tests, shaped as ``pulumi stack export`` writes them (schema-checked)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROJECT = "scan-test"
STACK = "dev"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def secret(value: Any) -> dict[str, Any]:
    """A secret property value as the export stores it (plaintext, as `--show-secrets` writes it)."""
    return {**SECRET_SIG, "plaintext": json.dumps(value)}


@dataclass
class ExportBuilder:
    """Collects resources and renders a version 3 export with the stack, provider and URNs filled in."""

    stack: str = STACK
    project: str = PROJECT
    resources: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stack_urn = self.urn("pulumi:pulumi:Stack", f"{self.project}-{self.stack}")
        self.resources.append({"urn": self.stack_urn, "type": "pulumi:pulumi:Stack", "custom": False})
        self.providers: dict[str, str] = {}

    def urn(self, rtype: str, name: str) -> str:
        """The URN Pulumi would give a top-level resource."""
        return f"urn:pulumi:{self.stack}::{self.project}::{rtype}::{name}"

    def _provider(self, package: str) -> str:
        if package not in self.providers:
            urn = self.urn(f"pulumi:providers:{package}", "default")
            pid = f"{package}-provider-id"
            self.resources.append(
                {
                    "urn": urn,
                    "type": f"pulumi:providers:{package}",
                    "custom": True,
                    "id": pid,
                    "inputs": {},
                    "outputs": {},
                    "parent": self.stack_urn,
                }
            )
            self.providers[package] = f"{urn}::{pid}"
        return self.providers[package]

    def add(
        self,
        rtype: str,
        name: str,
        inputs: dict[str, Any],
        outputs: dict[str, Any] | None = None,
        deps: dict[str, list[str]] | None = None,
        rid: str | None = None,
    ) -> str:
        """Add a custom resource; returns its URN. Outputs default to the inputs plus an id/arn."""
        urn = self.urn(rtype, name)
        rid = rid or f"{name}-id"
        outs = dict(inputs) if outputs is None else outputs
        outs.setdefault("id", rid)
        all_deps = sorted({u for us in (deps or {}).values() for u in us})
        self.resources.append(
            {
                "urn": urn,
                "custom": True,
                "id": rid,
                "type": rtype,
                "inputs": inputs,
                "outputs": outs,
                "parent": self.stack_urn,
                "dependencies": all_deps,
                "propertyDependencies": deps or {},
                "provider": self._provider(rtype.split(":")[0]),
            }
        )
        return urn

    def add_component(self, rtype: str, name: str) -> str:
        """Add a component resource (custom=false), which the translation skips."""
        urn = self.urn(rtype, name)
        self.resources.append({"urn": urn, "custom": False, "type": rtype, "parent": self.stack_urn})
        return urn

    def document(self) -> dict[str, Any]:
        """The export document."""
        return {
            "version": 3,
            "deployment": {
                "manifest": {"time": "2025-01-01T00:00:00Z", "magic": "", "version": "v3.272.0"},
                "resources": self.resources,
            },
        }
