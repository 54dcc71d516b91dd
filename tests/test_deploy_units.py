"""Pure parts of the deploy tooling: outputs flattening, destroy guards, backend and version rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.contract import EXPORTS, LAYER_ORDER, Layer
from tools.deploy import doctor, guard, outputs
from tools.deploy.backend import resolve_backend
from tools.deploy.cli import UsageError, parse_layers, resume_hint


def _contract_outputs(layer: Layer, **overrides: Any) -> dict[str, Any]:
    return {**{name: f"{name}-value" for name in EXPORTS[layer]}, **overrides}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("vpc_id", "vpc-1", {"VPC_ID": "vpc-1"}),
        (
            "subnet_ids",
            {"private": ["s-1", "s-2"], "data": ["s-3"]},
            {"SUBNET_IDS_DATA": "s-3", "SUBNET_IDS_PRIVATE": "s-1,s-2"},
        ),
        ("availability_zones", ["a", "b"], {"AVAILABILITY_ZONES": "a,b"}),
        ("endpoint_ids", {"ecr.api": "vpce-1"}, {"ENDPOINT_IDS_ECR_API": "vpce-1"}),
        ("embedding_dimension", 1024, {"EMBEDDING_DIMENSION": "1024"}),
    ],
)
def test_outputs_flatten_to_upper_snake_keys(name: str, value: Any, expected: dict[str, str]) -> None:
    layer = next(layer for layer in LAYER_ORDER if name in EXPORTS[layer])
    collected = outputs.collect("dev", "ap-southeast-2", {layer: _contract_outputs(layer, **{name: value})})
    assert {k: v for k, v in collected.values.items() if k in expected} == expected


def test_secret_outputs_are_named_but_never_written() -> None:
    collected = outputs.collect(
        "dev", "r", {Layer.DATA: _contract_outputs(Layer.DATA, rds_address=outputs.SECRET_PLACEHOLDER)}
    )
    text = outputs.dotenv(collected, "header")
    assert "RDS_ADDRESS=" not in text
    assert collected.secret_keys == ("RDS_ADDRESS",)


def test_a_missing_contract_output_names_the_layer_and_the_fix() -> None:
    partial = _contract_outputs(Layer.EDGE)
    del partial["api_endpoint"]
    with pytest.raises(outputs.OutputsError, match=r"edge \[prod\]: stack outputs lack api_endpoint .* make up-edge"):
        outputs.collect("prod", "r", {Layer.EDGE: partial})


@pytest.mark.parametrize(
    ("value", "line"),
    [("plain-1", "K=plain-1"), ("has space", "K='has space'"), ("a$b", "K='a$b'")],
)
def test_dotenv_quotes_only_when_needed(value: str, line: str) -> None:
    assert line in outputs.dotenv(outputs.EnvironmentOutputs({"K": value}, (), {}), "h").splitlines()


def test_dotenv_refuses_a_value_it_cannot_represent() -> None:
    with pytest.raises(outputs.OutputsError, match="K: a value with a quote or newline"):
        outputs.dotenv(outputs.EnvironmentOutputs({"K": "it's"}, (), {}), "h")


def _export(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"resources": list(resources)}}


RDS = {"urn": "urn:db", "type": "aws:rds/instance:Instance", "id": "db-1", "outputs": {"identifier": "app-db"}}
EC2 = {"urn": "urn:ec2", "type": "aws:ec2/instance:Instance", "id": "i-1"}


@pytest.mark.parametrize(
    ("resource", "kinds", "first_step"),
    [
        ({**RDS, "outputs": {"identifier": "app-db", "deletionProtection": True}}, ["deletion-protection"], "app-db"),
        (
            {**RDS, "inputs": {"deletionProtection": True}, "outputs": {"identifier": "app-db"}},
            ["deletion-protection"],
            "app-db",
        ),
        ({**RDS, "inputs": {"deletionProtection": True}, "outputs": {"deletionProtection": False}}, [], ""),
        ({**EC2, "inputs": {"disableApiTermination": True}}, ["termination-protection"], "i-1"),
        (
            {**EC2, "protect": True},
            ["protect"],
            "pulumi state unprotect --cwd stacks/data --stack prod --yes 'urn:ec2'",
        ),
        ({**RDS, "protect": True, "outputs": {"deletionProtection": True}}, ["deletion-protection", "protect"], "db-1"),
        ({**EC2}, [], ""),
        (
            {**RDS, "inputs": {"skipFinalSnapshot": False}},
            ["unnamed-final-snapshot"],
            "aws rds create-db-snapshot --region ap-southeast-2 --db-instance-identifier app-db",
        ),
        (
            {**RDS, "inputs": {"skipFinalSnapshot": False, "finalSnapshotIdentifier": "app-db-final-20260101000000"}},
            [],
            "",
        ),
        ({**RDS, "inputs": {"skipFinalSnapshot": True}}, [], ""),
    ],
)
def test_protections_are_read_from_state(resource: dict[str, Any], kinds: list[str], first_step: str) -> None:
    found = guard.protections(_export(resource), "data", "prod", "ap-southeast-2")
    assert [p.kind for p in found] == kinds
    if found:
        assert first_step in found[0].lift[0]


def test_aws_side_protection_is_lifted_then_refreshed() -> None:
    export = _export({**EC2, "inputs": {"disableApiTermination": True}})
    [found] = guard.protections(export, "compute", "prod", "ap-southeast-2")
    assert found.lift == (
        "aws ec2 modify-instance-attribute --region ap-southeast-2 --instance-id i-1 --no-disable-api-termination",
        "make refresh-compute ENV=prod",
    )


def test_retained_resources_are_named() -> None:
    bucket = {"urn": "urn:bucket", "type": "aws:s3/bucketV2:BucketV2", "retainOnDelete": True}
    export = _export(bucket, {"urn": "urn:other", "type": "aws:s3/bucketV2:BucketV2"})
    assert guard.retained(export) == ["urn:bucket"]


@pytest.mark.parametrize(
    ("environ", "url", "embedded", "self_managed"),
    [
        ({}, f"file://{Path('/repo') / '.pulumi-state'}", True, True),
        ({"PULUMI_BACKEND_URL": "s3://bucket/prefix"}, "s3://bucket/prefix", False, True),
        ({"PULUMI_BACKEND_URL": "https://api.pulumi.com"}, "https://api.pulumi.com", False, False),
        ({"PULUMI_BACKEND_URL": "  "}, f"file://{Path('/repo') / '.pulumi-state'}", True, True),
    ],
)
def test_backend_resolution(environ: dict[str, str], url: str, embedded: bool, self_managed: bool) -> None:
    backend = resolve_backend(environ, Path("/repo"))
    assert (backend.url, backend.embedded, backend.self_managed) == (url, embedded, self_managed)


@pytest.mark.parametrize(
    ("layers", "start", "downstream", "expected"),
    [
        ("edge network", "", False, ["network", "edge"]),
        ("network data compute edge", "compute", False, ["compute", "edge"]),
        ("data", "", True, ["data", "compute", "edge"]),
    ],
)
def test_layer_selection_is_always_in_dependency_order(
    layers: str, start: str, downstream: bool, expected: list[str]
) -> None:
    assert [layer.value for layer in parse_layers(layers, start, downstream)] == expected


@pytest.mark.parametrize(
    ("layers", "start", "message"),
    [("web", "", "unknown layer web"), ("data", "network", "FROM=network is not one of the layers of this target")],
)
def test_bad_layer_selection(layers: str, start: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_layers(layers, start)


def test_resume_hints() -> None:
    assert resume_hint("deploy-all", "prod", Layer.DATA) == "make deploy-all ENV=prod FROM=data"
    assert resume_hint("up-data", "prod", Layer.DATA) == "make up-data ENV=prod"


@pytest.mark.parametrize(
    ("text", "version"),
    [("v3.272.0", (3, 272, 0)), ("3.280.1-dev.0\n", (3, 280, 1)), ("not a version", None)],
)
def test_cli_versions_parse(text: str, version: tuple[int, int, int] | None) -> None:
    assert doctor.parse_version(text) == version


def test_the_minimum_cli_is_the_pinned_sdk() -> None:
    assert doctor.minimum_cli_version() == (3, 272, 0)


def test_image_tags_are_checked_with_the_programs_rules(tmp_path: Path) -> None:
    compute = tmp_path / "compute"
    compute.mkdir()
    (compute / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: ap-southeast-2\n  student-helper-compute:backend_image_tag: latest\n"
    )
    check, tags = doctor.check_image_tags("dev", tmp_path)
    assert tags is None
    assert check.status == "FAIL"
    assert "student-helper-compute:backend_image_tag = 'latest' is invalid" in check.detail
    assert "student-helper-compute:processor_image_tag" in check.detail


def test_a_list_holding_a_secret_is_treated_as_secret() -> None:
    outputs_of_network = _contract_outputs(Layer.NETWORK, availability_zones=["a", outputs.SECRET_PLACEHOLDER])
    collected = outputs.collect("dev", "r", {Layer.NETWORK: outputs_of_network})
    assert "AVAILABILITY_ZONES" not in collected.values
    assert "AVAILABILITY_ZONES" in collected.secret_keys


@pytest.mark.parametrize(
    ("document", "environ", "needs"),
    [
        ("config: {}\n", {}, True),  # a new stack gets a passphrase provider
        ("config: {}\n", {"SECRETS_PROVIDER": "awskms://alias/state"}, False),
        ("secretsprovider: awskms://alias/state?region=ap-southeast-2\nconfig: {}\n", {}, False),
        ("encryptionsalt: v1:abc\nconfig: {}\n", {"SECRETS_PROVIDER": "awskms://alias/state"}, True),
    ],
)
def test_which_stacks_need_a_passphrase(tmp_path: Path, document: str, environ: dict[str, str], needs: bool) -> None:
    for layer in LAYER_ORDER:
        (tmp_path / layer.value).mkdir()
        (tmp_path / layer.value / "Pulumi.prod.yaml").write_text(document)
    expected = [layer.value for layer in LAYER_ORDER] if needs else []
    assert doctor.passphrase_layers("prod", environ, tmp_path) == expected
