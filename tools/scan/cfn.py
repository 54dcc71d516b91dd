"""aws-native resources → a CloudFormation template for ``checkov --framework cloudformation`` and cfn-lint.

pulumi-aws-native is generated from the CloudFormation registry schemas, so ``aws-native:<module>:<Type>`` is
``AWS::<Service>::<Type>`` and every property is the CloudFormation property with a lower-case first letter. The
service's spelling comes from the SDK's own docstrings ("Resource Type definition for AWS::S3Vectors::Index"); the
property spellings (``SSESpecification``, not ``SseSpecification``) come from cfn-lint's copy of the CloudFormation
schemas when it has the type, else the first letter is upper-cased.

Values unknown at preview time become template parameters, so the template stays valid and cfn-lint checks the rest.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.scan.aws_sdk import UnmappedTypeError
from tools.scan.oracle import Oracle
from tools.stack_export import UNKNOWN_VALUE, Resource, contains_unknown

_CFN_TYPE_RE = re.compile(r"AWS::([A-Za-z0-9]+)::([A-Za-z0-9]+)")


@dataclass
class CfnTranslation:
    """A template and, for every logical id in it, the Pulumi URN it came from."""

    template: dict[str, Any]
    """The CloudFormation template, with a parameter for every value unknown at preview."""
    urns: dict[str, str] = field(default_factory=dict)
    """Logical id → Pulumi URN; empty when there were no aws-native resources to translate."""


@functools.cache
def _native_root() -> Path | None:
    spec = importlib.util.find_spec("pulumi_aws_native")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _module_cfn_types(module: str) -> frozenset[str]:
    """Every ``AWS::X::Y`` the SDK's module mentions (its docstrings name the types it wraps)."""
    root = _native_root()
    if root is None:
        return frozenset()
    module_dir = root / (module + "_" if (root / (module + "_")).is_dir() else module)
    found: set[str] = set()
    for path in module_dir.glob("*.py"):
        found.update(f"AWS::{a}::{b}" for a, b in _CFN_TYPE_RE.findall(path.read_text(encoding="utf-8")))
    return frozenset(found)


def cfn_type(token: str, oracle: Oracle | None = None) -> str:
    """The CloudFormation type of an aws-native token (``aws-native:s3vectors:Index`` → ``AWS::S3Vectors::Index``)."""
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "aws-native":
        raise UnmappedTypeError(f"unmapped resource type {token!r}: not an aws-native type token")
    _, module, type_name = parts
    wanted = f"aws::{module}::{type_name}".lower()
    candidates = set(_module_cfn_types(module)) | set(oracle.cfn_types if oracle else ())
    for candidate in sorted(candidates):
        if candidate.lower() == wanted:
            return candidate
    raise UnmappedTypeError(f"unmapped resource type {token!r}: no CloudFormation type {wanted!r} is known")


def logical_id(pulumi_name: str, taken: set[str]) -> str:
    """A unique alphanumeric logical id for a Pulumi resource name (``vectors-index`` → ``VectorsIndex``)."""
    base = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", pulumi_name) if p) or "Resource"
    if not base[0].isalpha():
        base = f"R{base}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _resolve(schema: dict[str, Any], node: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow ``$ref`` (and ``items``) to the object schema a property value is checked against."""
    seen = 0
    while node is not None and seen < 10:
        seen += 1
        if "$ref" in node:
            node = schema.get("definitions", {}).get(node["$ref"].rsplit("/", 1)[-1])
        elif node.get("type") == "array" or "items" in node:
            node = node.get("items")
        else:
            return node
    return node


def convert_properties(value: Any, schema: dict[str, Any] | None, node: dict[str, Any] | None) -> Any:
    """camelCase keys → the schema's PascalCase spelling, recursively (upper-first where the schema is silent)."""
    if isinstance(value, list):
        return [convert_properties(v, schema, node) for v in value]
    if not isinstance(value, dict):
        return value
    obj_schema = _resolve(schema, node) if schema is not None else None
    known = (obj_schema or {}).get("properties", {})
    by_lower = {k.lower(): k for k in known}
    if obj_schema is not None and not known and obj_schema.get("type") == "object":
        return value  # a free-form map (a policy document, tags as a map): its keys are data, not properties
    out: dict[str, Any] = {}
    for key, sub in value.items():
        name = by_lower.get(key.lower(), key[:1].upper() + key[1:])
        out[name] = convert_properties(sub, schema, known.get(name))
    return out


def _read_only(schema: dict[str, Any] | None) -> set[str]:
    return {p.rsplit("/", 1)[-1] for p in (schema or {}).get("readOnlyProperties", []) if p.count("/") == 2}


def translate_cfn(resources: Iterable[Resource], oracle: Oracle | None = None) -> CfnTranslation:
    """A CloudFormation template for the aws-native resources among ``resources``; other providers' are ignored."""
    native = [r for r in resources if r.type.startswith("aws-native:")]
    taken: set[str] = set()
    ids = {r.urn: logical_id(r.name, taken) for r in native}
    by_urn = {r.urn: r for r in native}
    template_resources: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    urns: dict[str, str] = {}
    for res in native:
        rtype = cfn_type(res.type, oracle)
        schema = oracle.cfn_schema(rtype) if oracle else None
        lid = ids[res.urn]
        # Inputs are the desired configuration; outputs add read-only attributes that are not template properties.
        props = convert_properties(res.inputs, schema, schema)
        for name in _read_only(schema):
            props.pop(name, None)
        for key in list(props):
            camel = key[:1].lower() + key[1:]
            deps = [by_urn[u] for u in (res.property_dependencies or {}).get(camel, []) if u in by_urn]
            if props[key] is UNKNOWN_VALUE and len(deps) == 1:
                props[key] = {"Ref": ids[deps[0].urn]}
            elif props[key] is UNKNOWN_VALUE or contains_unknown(props[key]):
                # Known after deployment: a parameter keeps the template valid without inventing a value.
                param = f"{lid}{key}"
                parameters[param] = {"Type": "String", "Description": f"unknown at preview: {res.urn} {key}"}
                props[key] = {"Ref": param} if props[key] is UNKNOWN_VALUE else _replace_unknown(props[key], param)
        template_resources[lid] = {"Type": rtype, "Properties": props}
        urns[lid] = res.urn
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    if parameters:
        template["Parameters"] = parameters
    template["Resources"] = template_resources
    return CfnTranslation(template=template, urns=urns)


def _replace_unknown(value: Any, param: str) -> Any:
    if value is UNKNOWN_VALUE:
        return {"Ref": param}
    if isinstance(value, dict):
        return {k: _replace_unknown(v, param) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_unknown(v, param) for v in value]
    return value
