"""Validation against Pulumi's own JSON schemas, vendored in ``schemas/`` (see schemas/README.md)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text())
    return loaded


@functools.cache
def deployment_validator() -> jsonschema.Draft202012Validator:
    """A validator for ``pulumi stack export`` documents, with the resource and property schemas resolvable."""
    registry: Registry = Registry()
    for name in ("pulumi-resources.json", "pulumi-property-values.json", "pulumi-deployments.json"):
        schema = _load(name)
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return jsonschema.Draft202012Validator(_load("pulumi-deployments.json"), registry=registry)


@functools.cache
def deployment_checker() -> jsonschema_rs.Validator:
    """The same schemas compiled by jsonschema-rs, which answers "valid?" in well under a millisecond where the
    Python validator takes 0.1-0.6 s an export (a third of a layer run). It only answers yes or no: the messages
    of an invalid export always come from the Python validator, so they read the same whichever path ran."""
    resources = [
        (schema["$id"], schema)
        for schema in map(_load, ("pulumi-resources.json", "pulumi-property-values.json", "pulumi-deployments.json"))
    ]
    return jsonschema_rs.validator_for(_load("pulumi-deployments.json"), registry=jsonschema_rs.Registry(resources))


@functools.cache
def project_validator() -> jsonschema.Draft202012Validator:
    """A validator for ``Pulumi.yaml`` project files."""
    schema = _load("pulumi-project.json")
    validator_cls = jsonschema.validators.validator_for(schema)
    return validator_cls(schema)  # type: ignore[no-any-return]


@functools.cache
def _deployment_v3_validator() -> jsonschema.Draft202012Validator:
    # The top-level schema is a oneOf (v3 or "unknown version"), whose errors all land on the root; validating
    # a version-3 document against the v3 branch alone gives errors that point at the offending property.
    full = deployment_validator()
    return jsonschema.Draft202012Validator(
        {"$ref": f"{full.schema['$id']}#/$defs/deploymentV3"}, registry=full._registry
    )


def _lines(errors: list[jsonschema.ValidationError]) -> list[str]:
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}" for err in ordered]


def deployment_errors(document: Any) -> list[str]:
    """Every schema violation in a stack export, as ``path: message`` lines (empty when valid)."""
    if deployment_checker().is_valid(document):
        return []
    errors = list(deployment_validator().iter_errors(document))
    if errors and isinstance(document, dict) and document.get("version") == 3:
        return _lines(list(_deployment_v3_validator().iter_errors(document))) or _lines(errors)
    return _lines(errors)


def project_errors(document: Any) -> list[str]:
    """Every schema violation in a parsed ``Pulumi.yaml``, as ``path: message`` lines (empty when valid)."""
    return _lines(list(project_validator().iter_errors(document)))
