"""The one model of a stack export: its constants are Pulumi's, each reader's decoding, and the errors it names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi.runtime.rpc as pulumi_rpc
import pytest
from pulumi_policy import deserialize as policy_wire

from tools import stack_export
from tools.stack_export import REDACTED_SECRET, SECRET_SIG, SIG_KEY, UNKNOWN, UNKNOWN_VALUE, ExportError, decode

STACK_URN = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"


def secret(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}


SEALED = {SIG_KEY: SECRET_SIG, "ciphertext": "v1:abc"}
ASSET = {SIG_KEY: stack_export.ASSET_SIG, "path": "index.py"}
REFERENCE = {SIG_KEY: stack_export.RESOURCE_REF_SIG, "urn": "urn:pulumi:dev::p::aws:s3/bucketV2:BucketV2::b", "id": "b"}


def export(*states: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"manifest": {}, "resources": [*states]}}


def test_the_signatures_are_the_pulumi_sdks() -> None:
    assert policy_wire.SPECIAL_SIG_KEY == stack_export.SIG_KEY
    assert policy_wire.SPECIAL_SECRET_SIG == stack_export.SECRET_SIG
    assert policy_wire.SPECIAL_ASSET_SIG == stack_export.ASSET_SIG
    assert policy_wire.SPECIAL_ARCHIVE_SIG == stack_export.ARCHIVE_SIG
    assert pulumi_rpc.UNKNOWN == stack_export.UNKNOWN


@pytest.mark.parametrize(
    ("raw", "plain", "wire"),
    [
        (UNKNOWN, UNKNOWN_VALUE, UNKNOWN),
        (secret({"a": 1}), {"a": 1}, {SIG_KEY: SECRET_SIG, "value": {"a": 1}}),
        (SEALED, UNKNOWN_VALUE, {SIG_KEY: SECRET_SIG, "value": REDACTED_SECRET}),
        ([1, UNKNOWN], [1, UNKNOWN_VALUE], [1, UNKNOWN]),
        ({"x": secret("s")}, {"x": "s"}, {"x": {SIG_KEY: SECRET_SIG, "value": "s"}}),
        (secret([secret(1)]), [1], {SIG_KEY: SECRET_SIG, "value": [{SIG_KEY: SECRET_SIG, "value": 1}]}),
        (ASSET, UNKNOWN_VALUE, ASSET),
        (REFERENCE, "b", REFERENCE),
        ({"n": 1, "s": "x"}, {"n": 1, "s": "x"}, {"n": 1, "s": "x"}),
    ],
    ids=["unknown", "secret", "encrypted", "list", "nested", "secret-in-secret", "asset", "reference", "plain"],
)
def test_decode_for_each_reader(raw: Any, plain: Any, wire: Any) -> None:
    assert decode(raw) == plain
    assert decode(raw, form="wire") == wire


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"plaintext": "not json"}, "a secret's plaintext is not JSON"),
        ({"value": "x"}, "malformed secret value: exactly one of ciphertext or plaintext is required"),
        ({"plaintext": "1", "ciphertext": "v1:x"}, "malformed secret value"),
    ],
)
@pytest.mark.parametrize("form", ["plain", "wire"])
def test_a_malformed_secret_is_named_where_it_is(value: dict[str, Any], error: str, form: Any) -> None:
    with pytest.raises(ExportError, match=re.escape(error)) as info:
        decode({"p": {SIG_KEY: SECRET_SIG, **value}}, "export a.json: urn:x", form=form)
    assert str(info.value).startswith("export a.json: urn:x: ")


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ([], "not a stack export (expected a JSON object)"),
        ({"version": 2, "deployment": {}}, "unsupported export version 2 (expected 3)"),
        ({"version": 3}, "no deployment object"),
        ({"version": 3, "deployment": {"resources": {}}}, "deployment.resources is not a list"),
        ({"version": 3, "deployment": {"resources": [{"urn": "u"}]}}, "deployment.resources[0] has no urn or type"),
    ],
)
def test_check_names_the_source_and_the_problem(document: Any, error: str) -> None:
    with pytest.raises(ExportError, match=re.escape(error)) as info:
        stack_export.check(document, "export x.json")
    assert str(info.value).startswith("export x.json: ")


def test_read_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"export .*nope.json: no such file"):
        stack_export.read(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ExportError, match=r"bad.json: not JSON \(Expecting property name"):
        stack_export.read(tmp_path / "bad.json")


def test_load_layers_reads_the_built_layers_in_order_and_names_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    with pytest.raises(ExportError, match=r"dev: no stack exports \(network, data, compute, edge.json\); run `make"):
        stack_export.load_layers(tmp_path, "dev")
    for layer in ("compute", "network"):
        (tmp_path / "dev" / f"{layer}.json").write_text(json.dumps(export()))
    assert list(stack_export.load_layers(tmp_path, "dev")) == ["network", "compute"]


def test_resources_carry_every_field_the_readers_use() -> None:
    state = {
        "urn": "urn:pulumi:dev::p::aws:rds/instance:Instance::db",
        "custom": True,
        "id": "db-1",
        "type": "aws:rds/instance:Instance",
        "inputs": {"password": secret("pw")},
        "outputs": {"endpoint": UNKNOWN},
        "parent": STACK_URN,
        "provider": "urn:pulumi:dev::p::pulumi:providers:aws::default::id",
        "dependencies": ["urn:a"],
        "propertyDependencies": {"vpcSecurityGroupIds": ["urn:a"]},
        "protect": True,
        "retainOnDelete": True,
        "ignoreChanges": ["finalSnapshotIdentifier"],
        "additionalSecretOutputs": ["password"],
    }
    (raw,) = stack_export.resources(export(state))
    assert (raw.name, raw.stack, raw.project, raw.id, raw.parent) == ("db", "dev", "p", "db-1", STACK_URN)
    assert raw.inputs == state["inputs"] and raw.is_managed and raw.protect and raw.retain_on_delete
    assert (raw.dependencies, raw.ignore_changes) == (("urn:a",), ("finalSnapshotIdentifier",))
    assert raw.property_dependencies == {"vpcSecurityGroupIds": ["urn:a"]} and not raw.delete
    (plain,) = stack_export.resources(export(state), form="plain", layer="data")
    assert plain.inputs == {"password": "pw"} and plain.outputs == {"endpoint": UNKNOWN_VALUE}
    assert plain.layer == "data"


def test_managed_leaves_out_the_stack_components_providers_and_references() -> None:
    states = [
        {"urn": STACK_URN, "type": "pulumi:pulumi:Stack"},
        {"urn": "urn:pulumi:dev::p::pulumi:providers:aws::default", "type": "pulumi:providers:aws", "custom": True},
        {"urn": "urn:pulumi:dev::p::pulumi:pulumi:StackReference::n", "type": "pulumi:pulumi:StackReference"},
        {"urn": "urn:pulumi:dev::p::student-helper:data:Db::db", "type": "student-helper:data:Db"},
        {"urn": "urn:pulumi:dev::p::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue", "custom": True},
    ]
    assert [r.name for r in stack_export.managed(export(*states))] == ["q"]


def test_stack_outputs_open_each_secret_output_and_name_it() -> None:
    root = {"urn": STACK_URN, "type": "pulumi:pulumi:Stack", "outputs": {"token": secret("t"), "later": UNKNOWN}}
    assert stack_export.stack_outputs(export(root)) == ({"token": "t", "later": UNKNOWN}, ["token"])
    sealed = {**root, "outputs": {"token": SEALED}}
    with pytest.raises(ExportError, match="ref: output token is encrypted; export the stack with --show-secrets"):
        stack_export.stack_outputs(export(sealed), "ref")


def test_sealing_is_what_decoding_opens() -> None:
    wire = {"a": {SIG_KEY: SECRET_SIG, "value": {"b": [1, {SIG_KEY: SECRET_SIG, "value": "c"}]}}}
    sealed = stack_export.seal_secrets(wire)
    assert sealed["a"].keys() == {SIG_KEY, "plaintext"}
    assert decode(sealed, form="wire") == wire
    assert decode(sealed) == {"a": {"b": [1, "c"]}}
    assert stack_export.has_encrypted_secret({"x": [SEALED]}) and not stack_export.has_encrypted_secret(sealed)
