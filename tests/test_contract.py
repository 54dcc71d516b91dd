"""The cross-stack contract: names, defaults, and loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.contract import EXPORTS, LAYER_ORDER, Layer, default_stack_name
from shared.stack import export_layer
from tests.conftest import run_variant


@pytest.mark.parametrize(
    ("layer", "env", "name"),
    [
        (Layer.NETWORK, "dev", "organization/student-helper-network/dev"),
        (Layer.COMPUTE, "prod", "organization/student-helper-compute/prod"),
    ],
)
def test_default_stack_names_use_the_self_managed_backend_form(layer: Layer, env: str, name: str) -> None:
    assert default_stack_name(layer, env) == name
    assert layer.stack_config_key == f"{layer.value}_stack"


def test_layer_order() -> None:
    assert [layer.value for layer in LAYER_ORDER] == ["network", "data", "compute", "edge"]


def test_every_output_is_documented() -> None:
    for layer, outputs in EXPORTS.items():
        for name, description in outputs.items():
            assert description.endswith(".") and len(description) > 10, f"{layer.value}.{name}"


def test_export_layer_refuses_a_drifted_export() -> None:
    outputs = dict.fromkeys(EXPORTS[Layer.EDGE], "x")
    outputs.pop("api_endpoint")
    outputs["api_url"] = "x"
    with pytest.raises(
        ValueError,
        match=r"edge layer exports do not match shared/contract.py: missing \['api_endpoint'\], "
        r"not in the contract \['api_url'\]",
    ):
        export_layer(Layer.EDGE, outputs)


def test_upstream_stack_names_come_from_config(tmp_path: Path, offline_exports: dict[tuple[str, str], Path]) -> None:
    done, _ = run_variant(
        tmp_path, offline_exports, "data", "dev", set_config={"network_stack": "acme/student-helper-network/dev"}
    )
    assert done.returncode == 1
    assert "StackReference 'acme/student-helper-network/dev': no offline export for that stack" in done.stderr


def test_pulumi_cloud_teams_name_their_organization_once_per_stack(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, _ = run_variant(tmp_path, offline_exports, "compute", "dev", set_config={"stack_organization": "acme"})
    assert done.returncode == 1
    assert "StackReference 'acme/student-helper-data/dev': no offline export for that stack" in done.stderr


@pytest.mark.parametrize(
    ("layer", "value", "message"),
    [
        (
            "data",
            "acme corp",
            "student-helper-data:stack_organization = 'acme corp' is invalid: allowed a Pulumi org name",
        ),
        ("network", "acme", "student-helper-network:stack_organization is not a setting of this layer"),
    ],
)
def test_stack_organization_is_validated(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path], layer: str, value: str, message: str
) -> None:
    done, _ = run_variant(tmp_path, offline_exports, layer, "dev", set_config={"stack_organization": value})
    assert done.returncode == 1
    assert message in done.stderr


def test_the_default_upstream_stack_name_may_be_spelled_out(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, export = run_variant(
        tmp_path, offline_exports, "edge", "dev", set_config={"data_stack": "organization/student-helper-data/dev"}
    )
    assert done.returncode == 0, done.stderr
    assert export.exists()


def test_a_layer_cannot_name_a_layer_above_it(tmp_path: Path, offline_exports: dict[tuple[str, str], Path]) -> None:
    done, _ = run_variant(tmp_path, offline_exports, "data", "dev", set_config={"edge_stack": "x"})
    assert done.returncode == 1
    assert "student-helper-data:edge_stack is not a setting of this layer" in done.stderr
