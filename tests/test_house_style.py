"""The house rules that a reviewer would otherwise check by eye, checked on the code and the real exports."""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import REPO_ROOT, Export

COMPONENT_TYPE = re.compile(r"^student-helper:(network|data|compute|edge):[A-Z][A-Za-z]+$")


def test_every_resource_belongs_to_a_component_of_its_layer(exports: dict[tuple[str, str], Export]) -> None:
    for (env, layer), export in exports.items():
        components = {r["urn"]: r["type"] for r in export.resources if not r.get("custom")}
        for resource in export.custom():
            parent_type = components.get(resource.get("parent", ""))
            assert parent_type, f"{resource['urn']} [{env}]: created outside a component (parent=self missing?)"
            assert COMPONENT_TYPE.match(parent_type), f"{resource['urn']}: parent type {parent_type}"
            assert parent_type.split(":")[1] == layer, f"{resource['urn']}: a {parent_type} in the {layer} layer"


def test_every_component_registers_outputs(exports: dict[tuple[str, str], Export]) -> None:
    for export in exports.values():
        for component in (r for r in export.resources if not r.get("custom")):
            if component["type"] != "pulumi:pulumi:Stack":
                assert COMPONENT_TYPE.match(component["type"]), component["urn"]
                assert "outputs" in component, f"{component['urn']}: register_outputs was not called"


@pytest.mark.parametrize("layer", ["network", "data", "compute", "edge"])
def test_layer_programs_stay_short(layer: str) -> None:
    program = (REPO_ROOT / "stacks" / layer / "__main__.py").read_text()
    tree = ast.parse(program)
    assert not [n for n in tree.body if isinstance(n, ast.ClassDef)], f"{layer}: components belong in shared/components"
    assert len(program.splitlines()) < 170, f"{layer}: the program should only read config, build and export"
