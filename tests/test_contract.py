"""The cross-stack contract: names, defaults, and loud failures."""

from __future__ import annotations

import pytest

from shared.contract import EXPORTS, LAYER_ORDER, Layer, default_stack_name
from shared.stack import export_layer
from tests.conftest import REPO_ROOT


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


def test_readme_documents_every_output() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for outputs in EXPORTS.values() for name in outputs if f"`{name}`" not in readme]
    assert missing == [], f"README.md does not mention: {missing}"
