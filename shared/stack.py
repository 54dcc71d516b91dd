"""The start and end of every layer program: validated settings, base tags, and the checked export."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pulumi

from shared.config import ConfigReader, EnvironmentConfig, pulumi_config_reader, read_environment
from shared.constants import PROJECT
from shared.contract import (
    EXPORTS,
    LAYER_ORDER,
    SELF_MANAGED_ORGANIZATION,
    Layer,
    Upstream,
    default_stack_name,
    open_upstream,
)
from shared.naming import ResourceNamer
from shared.tags import base_tags, register_tagging

S = TypeVar("S")
_ORGANIZATION = re.compile(r"^[A-Za-z0-9_.-]+$")
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")


@dataclass(frozen=True)
class LayerContext(Generic[S]):
    """Everything a layer program needs before it builds components."""

    layer: Layer
    env: EnvironmentConfig
    """The shared, validated settings."""
    settings: S
    """The layer's own validated settings."""
    namer: ResourceNamer
    """Physical names for this project and environment."""
    tags: Mapping[str, str]
    """The base tags applied to every taggable resource."""
    upstream_stacks: Mapping[Layer, str]
    """Fully qualified stack name of each layer below this one (config ``<layer>_stack`` or the default)."""

    def upstream(self, layer: Layer) -> Upstream:
        """Open one upstream layer's stack; its outputs are read only through the returned reference."""
        if layer not in self.upstream_stacks:
            raise ValueError(f"{self.layer.value} layer cannot read the {layer.value} layer: it is not below it")
        return open_upstream(layer, self.upstream_stacks[layer])


def start_layer(layer: Layer, read_settings: Callable[[ConfigReader, EnvironmentConfig], S]) -> LayerContext[S]:
    """Read and validate all config (failing before any resource is registered), then turn on tagging."""
    reader = pulumi_config_reader()
    env = read_environment(reader)
    settings = read_settings(reader, env)
    upstreams = LAYER_ORDER[: LAYER_ORDER.index(layer)]
    upstream_stacks: dict[Layer, str] = {}
    if upstreams:
        # The org of upstream stacks: config ``stack_organization`` when set, else the org the CLI runs this stack
        # in, which is "organization" on a self-managed backend and the team's org on Pulumi Cloud.
        organization = reader.string(
            "stack_organization",
            pulumi.get_organization() or SELF_MANAGED_ORGANIZATION,
            pattern=_ORGANIZATION,
            allowed="a Pulumi org name (letters, digits, '-', '_', '.'); 'organization' on a self-managed backend",
        )
        upstream_stacks = {
            upstream: reader.string(
                upstream.stack_config_key,
                default_stack_name(upstream, env.environment, organization),
                pattern=_STACK_NAME,
                allowed="a stack name: <stack>, <project>/<stack> or <organization>/<project>/<stack>",
            )
            for upstream in upstreams
        }
    reader.finish()
    tags = {**env.tags, **base_tags(PROJECT, env.environment, layer.value, env.owner)}
    register_tagging(tags)
    return LayerContext(layer, env, settings, ResourceNamer(PROJECT, env.environment), tags, upstream_stacks)


def export_layer(layer: Layer, outputs: Mapping[str, Any]) -> None:
    """Export ``outputs``, which must be exactly the layer's contract in shared/contract.py."""
    expected = set(EXPORTS[layer])
    missing, extra = expected - set(outputs), set(outputs) - expected
    if missing or extra:
        raise ValueError(
            f"{layer.value} layer exports do not match shared/contract.py: "
            f"missing {sorted(missing)}, not in the contract {sorted(extra)}"
        )
    for name in EXPORTS[layer]:
        pulumi.export(name, outputs[name])
