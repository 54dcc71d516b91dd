"""Every use of the Pulumi Python SDK's private internals, in one place.

The offline runner drives the SDK the way the Pulumi CLI's language host does, and the layers read their whole
config map at once (the public ``pulumi.Config`` reads one key at a time and cannot list the keys, which typo
detection needs). Neither has a public API, so this module reaches into the SDK, and only this module does: after a
``pulumi`` upgrade, :func:`check` (run by a test) names each internal that moved and where to look, instead of a
layer run failing deep inside the SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from importlib import metadata
from typing import Any, TypeVar

T = TypeVar("T")

# (module, attribute): what each is used for. Checked by check().
INTERNALS: dict[tuple[str, str], str] = {
    ("pulumi.runtime.sync_await", "_sync_await"): "run a coroutine to completion on the SDK's own event loop",
    ("pulumi.runtime.stack", "run_pulumi_func"): "run a program and wait for every registration, as the CLI does",
    ("pulumi.runtime.settings", "SETTINGS"): "the runtime settings; their rpc_manager tracks outstanding RPCs",
    ("pulumi.runtime.settings", "get_root_resource"): "the root stack resource, whose outputs a run exports",
    ("pulumi.runtime.rpc", "serialize_properties"): "turn resource properties into the wire form",
    ("pulumi.runtime.rpc", "deserialize_properties"): "turn the wire form back into properties (stack transforms)",
    ("pulumi.runtime.config", "CONFIG"): "the program's whole config map, as the CLI passed it",
    ("pulumi.runtime.config", "get_config_env"): "config passed through PULUMI_CONFIG",
}


FIX = "the SDK's internals moved; update shared/sdk_internals.py for this version"


class SdkInternalsError(ImportError):
    """The installed pulumi SDK no longer has an internal this project relies on."""


def _resolve(module: str, attribute: str) -> Any:
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        used = INTERNALS[(module, attribute)]
        raise SdkInternalsError(
            f"pulumi {metadata.version('pulumi')} has no {module}.{attribute} (used to {used}): {FIX}"
        ) from error


def check() -> None:
    """Raise :class:`SdkInternalsError` naming the first internal the installed SDK lacks."""
    for module, attribute in INTERNALS:
        _resolve(module, attribute)
    if not hasattr(_resolve("pulumi.runtime.settings", "SETTINGS"), "rpc_manager"):
        raise SdkInternalsError(f"pulumi {metadata.version('pulumi')}: SETTINGS has no rpc_manager: {FIX}")


def sync_await(awaitable: Any) -> Any:
    """The result of ``awaitable``, run on the SDK's event loop."""
    return _resolve("pulumi.runtime.sync_await", "_sync_await")(awaitable)


def run_program(body: Callable[[], None]) -> None:
    """Run ``body`` as the program of the current (mocked) stack and wait for every registration to finish."""
    _resolve("pulumi.runtime.settings", "SETTINGS").rpc_manager.clear()
    sync_await(_resolve("pulumi.runtime.stack", "run_pulumi_func")(body))


def root_resource() -> Any:
    """The root stack resource of the run."""
    return _resolve("pulumi.runtime.settings", "get_root_resource")()


def serialize(properties: Any) -> Any:
    """``properties`` in the wire form (a protobuf Struct)."""
    coroutine: Coroutine[Any, Any, Any] = _resolve("pulumi.runtime.rpc", "serialize_properties")(properties, {})
    return sync_await(coroutine)


def deserialize(struct: Any) -> Any:
    """Properties from their wire form."""
    return _resolve("pulumi.runtime.rpc", "deserialize_properties")(struct)


def program_config() -> dict[str, Any]:
    """Every config value of the running program, ``namespace:key`` -> value, as the CLI passed it."""
    return {
        **_resolve("pulumi.runtime.config", "get_config_env")(),
        **_resolve("pulumi.runtime.config", "CONFIG").get(),
    }
