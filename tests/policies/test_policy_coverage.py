"""Each check's metadata is true: its ids are stable and well-formed, and every type token and property it declares
exists in the installed pulumi-aws and pulumi-aws-native SDKs (the docs table is generated from this metadata)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from policies.base import CHECK_ID, Check, NamedTypes, checks_of
from policies.registry import POLICIES

ALL_CHECKS = [(policy.name, check) for policy in POLICIES for check in checks_of(policy)]
# Checks that list their types (required-tags computes its set from the SDKs, see the last test).
LISTED = [(name, check) for name, check in ALL_CHECKS if not isinstance(check.types, NamedTypes)]
# A property path as the engine names it: segments of letters, "[]" for a list item, "." between segments.
ENGINE_PATH = re.compile(r"^[a-z][A-Za-z0-9]*(\[\])?(\.[a-z][A-Za-z0-9]*(\[\])?)*$")


def sdk_class(token: str) -> Any:
    """The SDK class a type token names, imported from pulumi_aws or pulumi_aws_native (no guessing: it must exist)."""
    package, module, name = token.split(":")
    module = module.split("/")[0]
    root = {"aws": "pulumi_aws", "aws-native": "pulumi_aws_native"}[package]
    python_module = importlib.import_module(f"{root}.{module}_" if module == "lambda" else f"{root}.{module}")
    return getattr(python_module, name)


def engine_names(token: str) -> set[str]:
    """The engine (camelCase) names of a resource's input properties, read from its ``<Name>Args`` class."""
    cls = sdk_class(token)
    module = importlib.import_module(cls.__module__)
    # The SDKs name it <Name>InitArgs where <Name>Args is taken by a nested type of the same name.
    args = getattr(module, f"{cls.__name__}Args", None) or getattr(module, f"{cls.__name__}InitArgs")
    return {
        getattr(member.fget, "_pulumi_name", "")
        for member in vars(args).values()
        if isinstance(member, property) and member.fget is not None
    }


@pytest.mark.parametrize(("policy", "check"), ALL_CHECKS, ids=[f"{p}:{c.id}" for p, c in ALL_CHECKS])
def test_check_metadata_is_complete(policy: str, check: Check) -> None:
    assert CHECK_ID.match(check.id), f"{policy}: {check.id!r} is not kebab-case"
    assert len(check.title) > 15, f"{policy}:{check.id}: the title says what a violation means"
    assert len(check.types) > 0, f"{policy}:{check.id}: a check judges some types"
    assert check.properties or check.id == "elastic-ip", f"{policy}:{check.id}: name the properties it reads"


@pytest.mark.parametrize(("policy", "check"), LISTED, ids=[f"{p}:{c.id}" for p, c in LISTED])
def test_declared_types_exist_in_the_sdks(policy: str, check: Check) -> None:
    for token in check.types:
        cls = sdk_class(token)
        # @pulumi.type_token stores the token on the class as `pulumi_type`.
        assert cls.pulumi_type == token, f"{policy}:{check.id}: {token}"


@pytest.mark.parametrize(("policy", "check"), LISTED, ids=[f"{p}:{c.id}" for p, c in LISTED])
def test_declared_properties_exist_on_a_declared_type(policy: str, check: Check) -> None:
    names = set().union(*(engine_names(t) for t in check.types))
    for path in check.properties:
        if not ENGINE_PATH.match(path):
            continue  # a document field ("Statement[].Action") or a note ("resource option protect")
        first = path.split(".")[0].removesuffix("[]")
        assert first in names, f"{policy}:{check.id}: no declared type has a property {first!r} (from {path!r})"


def test_every_policy_says_what_it_does_not_check() -> None:
    for policy in POLICIES:
        assert getattr(policy, "not_checked", ()), f"{policy.name}: list what it leaves out"


def test_computed_type_sets_hold_real_types() -> None:
    computed = [c for _, c in ALL_CHECKS if isinstance(c.types, NamedTypes)]
    assert [c.id for c in computed] == ["missing-tags"]
    types = computed[0].types
    assert {"aws:s3/bucket:Bucket", "aws-native:s3:Bucket"} <= set(types)
    assert "aws:iam/rolePolicyAttachment:RolePolicyAttachment" not in types  # nothing to tag
