"""The Pulumi stack export (``pulumi stack export``, version 3): the one model of it every tool reads and writes.

The offline runner writes exports; ``make policy-analyze``, the scans, the cost estimate, the diagram, the reference
docs and the deploy guard read them. The format is Pulumi's: ``apitype.DeploymentV3`` and ``ResourceV3``
(sdk/go/common/apitype/core.go), with property values in the engine's JSON encoding, where a map holding the
signature key is a secret, asset, archive or resource reference (sdk/go/common/resource/sig/sig.go) and an unknown
is the string ``plugin.UnknownStringValue`` (sdk/go/common/resource/plugin/rpc.go). schemas/pulumi-deployments.json
is the same format as a JSON schema; :func:`check` is the cheap subset every reader relies on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.contract import LAYER_ORDER

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# What `pulumi policy analyze --file` hands policies for a secret it cannot decrypt (config.BlindingCrypter's
# sentinel, whatever the secret's type), when the export's secrets provider needs a passphrase or a key it lacks.
REDACTED_SECRET = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
LAYERS = tuple(layer.value for layer in LAYER_ORDER)


class ExportError(ValueError):
    """An export this project cannot read; the message names the file and what is wrong."""


class _Unknown:
    """A value Pulumi does not know yet (a preview's computed output, or an encrypted secret), once decoded."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN_VALUE: Any = _Unknown()


@dataclass(frozen=True)
class Resource:
    """One resource state of an export (a ``ResourceV3``), its property values as :func:`resources` was asked."""

    urn: str
    type: str
    """The Pulumi type token (``aws:s3/bucketV2:BucketV2``, ``pulumi:providers:aws``)."""
    inputs: Mapping[str, Any]
    """Input properties by engine (camelCase) name."""
    outputs: Mapping[str, Any]
    """Output properties (the state) by engine (camelCase) name."""
    id: str = ""
    """The provider's id; empty for components, and for a resource a preview has not created."""
    custom: bool = True
    """False for components and the root stack."""
    layer: str = ""
    """The layer whose export holds it, when read from several (:func:`walk`)."""
    parent: str = ""
    provider: str = ""
    """The provider reference (``<provider urn>::<provider id>``); empty for components."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, list[str]] | None = None
    """Input property name → the URNs of the resources its value came from; None when the export does not say
    (the engine omits an empty map)."""
    protect: bool = False
    retain_on_delete: bool = False
    delete: bool = False
    """A replaced resource the engine has yet to delete."""
    external: bool = False
    """A read (StackReference, ``.get``), not a resource Pulumi manages."""
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The logical name (the URN's last segment)."""
        return self.urn.rsplit("::", 1)[-1]

    @property
    def stack(self) -> str:
        """The stack name from the URN (``urn:pulumi:<stack>::<project>::...``)."""
        return self.urn.split("::", 1)[0].removeprefix("urn:pulumi:")

    @property
    def project(self) -> str:
        parts = self.urn.split("::")
        return parts[1] if len(parts) > 1 else ""

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    @property
    def is_managed(self) -> bool:
        """A resource a provider manages: custom, and not a provider, the stack or a stack reference."""
        return self.custom and not self.type.startswith("pulumi:")


# --- reading --------------------------------------------------------------------------------------------------------


def check(document: Any, source: str = "export") -> dict[str, Any]:
    """``document`` if it has the shape every reader relies on, else :class:`ExportError` naming what is wrong."""
    if not isinstance(document, dict):
        raise ExportError(f"{source}: not a stack export (expected a JSON object)")
    if document.get("version") != 3:
        raise ExportError(f"{source}: unsupported export version {document.get('version')!r} (expected 3)")
    deployment = document.get("deployment")
    if not isinstance(deployment, dict):
        raise ExportError(f"{source}: no deployment object")
    states = deployment.get("resources")
    if states is None:  # an empty stack: the engine omits the list
        states = []
    if not isinstance(states, list):
        raise ExportError(f"{source}: deployment.resources is not a list")
    for i, state in enumerate(states):
        if not isinstance(state, dict) or not isinstance(state.get("urn"), str) or not state.get("type"):
            raise ExportError(f"{source}: deployment.resources[{i}] has no urn or type")
    return document


def read_json(path: Path, what: str) -> Any:
    """A JSON file, or :class:`ExportError` naming ``what`` it is, the path and why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"{what} {path}: no such file") from None
    except OSError as err:
        raise ExportError(f"{what} {path}: cannot read ({err.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ExportError(f"{what} {path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None


def read(path: Path) -> dict[str, Any]:
    """A checked stack export from a file (``pulumi stack export`` output, or what ``make preview`` writes)."""
    return check(read_json(path, "export"), f"export {path}")


def load_layers(build: Path, env: str) -> dict[str, dict[str, Any]]:
    """``{layer: export}`` from ``<build>/<env>/<layer>.json``, in layer order; the layers not built are absent."""
    folder = build / env
    found = [layer for layer in LAYERS if (folder / f"{layer}.json").exists()]
    if not found:
        raise ExportError(f"{folder}: no stack exports ({', '.join(LAYERS)}.json); run `make preview` first")
    return {layer: read(folder / f"{layer}.json") for layer in found}


def states(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The raw resource states of an export, in its order (the engine's: dependencies first)."""
    return list(document.get("deployment", {}).get("resources") or [])


Form = Literal["raw", "plain", "wire"]


def resources(document: Mapping[str, Any], *, form: Form = "raw", layer: str = "", where: str = "") -> list[Resource]:
    """Every resource state of an export, its property values left ``raw`` or decoded (see :func:`decode`)."""
    return [_resource(state, form, layer, where or "export") for state in states(document)]


def walk(exports: Mapping[str, Mapping[str, Any]], *, form: Form = "raw") -> list[Resource]:
    """Every resource of ``{layer: export}``, in layer then export order, each knowing its layer."""
    return [r for layer, document in exports.items() for r in resources(document, form=form, layer=layer)]


def managed(document: Mapping[str, Any]) -> list[Resource]:
    """The provider-managed resources of an export (what its resource count counts)."""
    return [r for r in resources(document) if r.is_managed]


def root_stack(document: Mapping[str, Any]) -> Resource | None:
    return next((r for r in resources(document) if r.type == STACK_TYPE and not r.parent), None)


def stack_outputs(document: Mapping[str, Any], where: str = "export") -> tuple[dict[str, Any], list[str]]:
    """What a StackReference reads: the root stack's outputs, each secret one opened, and the names of those.

    Only the top-level secrets are opened (the engine marks a whole output secret); every other value, an unknown
    included, is as the export holds it. An output only its secrets provider can read raises :class:`ExportError`.
    """
    root = root_stack(document)
    outputs = dict(root.outputs) if root else {}
    secret = [key for key, value in outputs.items() if is_secret(value)]
    for key in secret:
        opened = _open_secret(outputs[key], f"{where}: output {key}")
        if opened is _ENCRYPTED:
            raise ExportError(f"{where}: output {key} is encrypted; export the stack with --show-secrets")
        outputs[key] = opened
    return outputs, secret


def _resource(state: Mapping[str, Any], form: Form, layer: str, where: str) -> Resource:
    urn = str(state["urn"])
    at = f"{where}: {urn}"
    return Resource(
        urn=urn,
        type=str(state["type"]),
        inputs=_decoded(state.get("inputs") or {}, form, at),
        outputs=_decoded(state.get("outputs") or {}, form, at),
        id=str(state.get("id") or ""),
        custom=bool(state.get("custom", False)),
        layer=layer,
        parent=str(state.get("parent") or ""),
        provider=str(state.get("provider") or ""),
        dependencies=tuple(state.get("dependencies") or ()),
        property_dependencies=state.get("propertyDependencies"),
        protect=bool(state.get("protect")),
        retain_on_delete=bool(state.get("retainOnDelete")),
        delete=bool(state.get("delete")),
        external=bool(state.get("external")),
        ignore_changes=tuple(state.get("ignoreChanges") or ()),
        additional_secret_outputs=tuple(state.get("additionalSecretOutputs") or ()),
    )


def _decoded(properties: Mapping[str, Any], form: Form, where: str) -> Mapping[str, Any]:
    return properties if form == "raw" else decode(dict(properties), where, form=form)


# --- property values ------------------------------------------------------------------------------------------------


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def decode(value: Any, where: str = "export", *, form: Literal["plain", "wire"] = "plain") -> Any:
    """A property value decoded for the reader that asks.

    ``plain`` (the scans, StackReference reads): secrets opened, unknowns, assets and archives become
    :data:`UNKNOWN_VALUE` (an encrypted secret too), a resource reference becomes its id (or URN).
    ``wire`` (the policy pack): what the CLI sends a policy pack, secrets kept as the wire's ``{sig, value}`` with
    the value opened (an encrypted one is ``"[secret]"``, as ``pulumi policy analyze --file`` redacts it), and every
    other value, unknowns included, as it is.
    A malformed secret raises :class:`ExportError` naming ``where``.
    """
    if isinstance(value, list):
        return [decode(v, where, form=form) for v in value]
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            opened = _open_secret(value, where)
            if form == "wire":
                return {
                    SIG_KEY: SECRET_SIG,
                    "value": REDACTED_SECRET if opened is _ENCRYPTED else decode(opened, where, form=form),
                }
            return UNKNOWN_VALUE if opened is _ENCRYPTED else decode(opened, where)
        if form == "plain" and sig in (ASSET_SIG, ARCHIVE_SIG):
            return UNKNOWN_VALUE  # code and files are not configuration the scanners check
        if form == "plain" and sig == RESOURCE_REF_SIG:
            return decode(value.get("id", value.get("urn")), where)
        return {k: decode(v, where, form=form) for k, v in value.items()}
    if form == "plain" and value == UNKNOWN:
        return UNKNOWN_VALUE
    return value


_ENCRYPTED = object()


def _open_secret(value: Mapping[str, Any], where: str) -> Any:
    """A secret's value, or ``_ENCRYPTED`` when only its secrets provider can read it."""
    plaintext, ciphertext = value.get("plaintext"), value.get("ciphertext")
    if bool(plaintext) == bool(ciphertext):
        raise ExportError(f"{where}: malformed secret value: exactly one of ciphertext or plaintext is required")
    if ciphertext:
        return _ENCRYPTED
    try:
        return json.loads(str(plaintext))
    except json.JSONDecodeError:
        raise ExportError(f"{where}: a secret's plaintext is not JSON") from None


def seal_secrets(value: Any) -> Any:
    """Secrets in the wire form a program sends (``{sig, value}``) put in the export form (``{sig, plaintext}``)."""
    if isinstance(value, dict):
        if is_secret(value) and "value" in value:
            return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(seal_secrets(value["value"]))}
        return {k: seal_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [seal_secrets(v) for v in value]
    return value


def has_encrypted_secret(value: Any) -> bool:
    """Whether an export value (or a whole document) holds a secret only its secrets provider can read."""
    if isinstance(value, list):
        return any(has_encrypted_secret(v) for v in value)
    if isinstance(value, dict):
        if is_secret(value):
            return bool(value.get("ciphertext"))
        return any(has_encrypted_secret(v) for v in value.values())
    return False


def contains_unknown(value: Any) -> bool:
    """Whether a ``plain``-decoded value holds a value unknown at preview anywhere inside it."""
    if value is UNKNOWN_VALUE:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
