"""The house rules that a reviewer would otherwise check by eye, checked on the code and the real exports."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pulumi
import pytest

from shared import config, settings
from shared.config import EnvironmentConfig
from shared.naming import ResourceNamer
from shared.settings import DataSettings
from tests.conftest import REPO_ROOT, Export
from tools.checkout import repo_files

COMPONENT_TYPE = re.compile(r"^student-helper:(network|data|compute|edge):[A-Z][A-Za-z]+$")
COMPONENT_MODULES = ("network", "data", "compute", "edge")
# What a component must never take whole: the environment's config, the namer, a layer's settings. A component takes
# the values it uses, so that it can be built (and tested) without any of them.
WIDE_TYPES = frozenset(
    [ResourceNamer] + [c for module in (config, settings) for c in vars(module).values() if dataclasses.is_dataclass(c)]
)


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


def _component_modules() -> list[ModuleType]:
    return [importlib.import_module(f"shared.components.{layer}") for layer in COMPONENT_MODULES]


def _component_args() -> list[tuple[type[pulumi.ComponentResource], type]]:
    found = []
    for module in _component_modules():
        for component in vars(module).values():
            if (
                inspect.isclass(component)
                and issubclass(component, pulumi.ComponentResource)
                and component.__module__ == module.__name__
            ):
                found.append((component, typing.get_type_hints(component.__init__)["args"]))
    return found


def _resolve(node: ast.expr, namespace: Mapping[str, object]) -> object:
    """What a (dotted) name in an annotation refers to in its module, or None for anything else."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, namespace), node.attr, None)
    return None


def _types_in(cls: type, seen: frozenset[type] = frozenset()) -> Iterator[tuple[str, object]]:
    """``(field, type)`` for every type a dataclass's field annotations name, through generics, unions and nested
    dataclasses. The annotations are strings (``from __future__ import annotations``): each name is looked up in
    the dataclass's module, so an alias cannot hide a type."""
    namespace = vars(sys.modules[cls.__module__])
    for field in dataclasses.fields(cls):
        annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
        for node in ast.walk(ast.parse(annotation, mode="eval")):
            found = _resolve(node, namespace) if isinstance(node, ast.expr) else None
            if found is None:
                continue
            yield field.name, found
            if isinstance(found, type) and dataclasses.is_dataclass(found) and found not in WIDE_TYPES | seen | {cls}:
                yield from ((f"{field.name}.{name}", t) for name, t in _types_in(found, seen | {cls}))


def _wide_fields(args: type) -> list[str]:
    return [f"{name}: {getattr(found, '__name__', found)}" for name, found in _types_in(args) if found in WIDE_TYPES]


def test_component_args_are_frozen_dataclasses_of_narrow_values() -> None:
    components = _component_args()
    assert len(components) >= len(COMPONENT_MODULES), f"found only {[c.__name__ for c, _ in components]}"
    for component, args in components:
        assert dataclasses.is_dataclass(args), f"{component.__name__}: args {args} is not a dataclass"
        assert args.__dataclass_params__.frozen, f"{component.__name__}: {args.__name__} is not frozen"  # type: ignore[attr-defined]
        assert not _wide_fields(args), f"{component.__name__}: {args.__name__} takes {_wide_fields(args)} whole"


def test_components_never_import_the_config_the_settings_or_the_namer() -> None:
    for module in _component_modules():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(Path(str(module.__file__)).read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        wide = imported & {"shared.config", "shared.settings", "shared.naming"}
        assert not wide, f"{module.__name__} imports {sorted(wide)}: pass the values instead"


@dataclass(frozen=True)
class _Names:
    namer: ResourceNamer
    suffix: str


@dataclass(frozen=True)
class _WideArgs:
    env: EnvironmentConfig
    namers: Sequence[ResourceNamer] | None
    settings: Mapping[str, DataSettings]
    names: _Names
    plan: config.SubnetPlan
    name: str


def test_the_narrow_args_check_finds_wide_fields_however_wrapped() -> None:
    assert _wide_fields(_WideArgs) == [
        "env: EnvironmentConfig",
        "namers: ResourceNamer",
        "settings: DataSettings",
        "names.namer: ResourceNamer",
        "plan: SubnetPlan",
    ]


# --- docstrings say what the name does not ----------------------------------------------------------------------------

FILLER = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "if", "in", "is", "it", "its"),
        *("of", "on", "or", "that", "the", "their", "these", "this", "to", "what", "when", "which", "with"),
    }
)
# The repository's own files (repo_files): policies/venv, which make policy-venv creates, is not ours to judge.
DOCUMENTED = sorted(
    path
    for path in repo_files(REPO_ROOT)
    if path.suffix == ".py" and path.relative_to(REPO_ROOT).parts[0] in ("shared", "tools", "policies")
)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in FILLER}


def _name_words(*names: str) -> set[str]:
    found: set[str] = set()
    for name in names:
        found |= {part.lower() for part in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)}
    return found | {w + "s" for w in found} | {w.rstrip("s") for w in found}


def restating_field_docstrings(path: Path) -> list[str]:
    """Dataclass fields whose docstring has no word that the field's or its class's name does not already say."""
    found = []
    for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
        for field_node, following in zip(cls.body, [*cls.body[1:], None], strict=True):
            if not isinstance(field_node, ast.AnnAssign) or not isinstance(following, ast.Expr):
                continue
            doc = following.value.value if isinstance(following.value, ast.Constant) else None
            name = ast.unparse(field_node.target)
            if isinstance(doc, str) and not _words(doc) - _name_words(name, cls.name):
                found.append(f"{cls.name}.{name}: {doc!r}")
    return found


@pytest.mark.parametrize("path", DOCUMENTED, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_field_docstring_only_restates_its_name(path: Path) -> None:
    assert restating_field_docstrings(path) == [], "say what the name does not, or leave the docstring out"


def test_a_restating_docstring_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from dataclasses import dataclass\n@dataclass\nclass JobArgs:\n"
        "    queue_name: str\n    '''The queue.'''\n"
        "    retries: int\n    '''Attempts before the message goes to the DLQ.'''\n"
    )
    assert restating_field_docstrings(module) == ["JobArgs.queue_name: 'The queue.'"]
