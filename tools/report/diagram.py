"""Draw one environment's architecture, from its stack exports, with the ``diagrams`` package and Graphviz.

    python -m tools.report.diagram --build build --env dev     # build/dev/architecture.png (+ .dot)
    python -m tools.report.diagram --build build               # every environment under build/

The graph (nodes, clusters, edges) comes from :func:`tools.report.graph.architecture_graph`; this module only
lays it out. Beside the PNG it writes the Graphviz source (``architecture.dot``), which tests read instead of
the image. Drawing conventions, none of which adds or removes a relation of the graph:

- clusters nest as the graph says (VPC > subnet group > subnet); a subnet with no node inside gets a small
  subnet marker so its box is drawn; nodes outside the VPC are boxed by layer;
- three or more nodes of one type in one cluster (the interface endpoints) are boxed together, and when one
  node has an edge to every member of such a box, one edge is drawn to the box;
- ``flow`` edges are solid, ``access`` edges (IAM or resource policies, CORS) dashed; two opposite edges between
  the same nodes are drawn as one two-headed edge.

Graphviz's ``dot`` must be on PATH (``apt-get install graphviz``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.report.exports import LAYERS, load_exports
from tools.report.graph import ArchitectureGraph, Edge, Node, architecture_graph

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


class GraphvizMissingError(RuntimeError):
    """Graphviz's ``dot`` is not installed."""


def require_dot() -> str:
    """The path of Graphviz's ``dot``; a clear error when it is missing."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissingError(
            "Graphviz's `dot` is not on PATH: the architecture diagram needs it. "
            "Install Graphviz (apt-get install graphviz; brew install graphviz on macOS) and run again."
        )
    return dot


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


def render(graph: ArchitectureGraph, out_png: Path) -> Path:
    """Draw ``graph`` to ``out_png`` and its Graphviz source to the same name with ``.dot``; return the PNG."""
    require_dot()
    import diagrams  # type: ignore[import-untyped]  # no type stubs; imported here so the graph needs no Graphviz

    out_png.parent.mkdir(parents=True, exist_ok=True)
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
            with diagrams.Cluster(f"{len(nodes)} x {short_type}", graph_attr={"style": "dashed"}) as box:
                box.dot.name = _group_name(group_key, type_token)
                for node in nodes:
                    drawn[node.id] = icon_class(node.icon)(node.label, nodeid=node.id)

    def draw_cluster(cluster_id: str) -> None:
        cluster = by_id[cluster_id]
        with diagrams.Cluster(cluster.label) as box:
            box.dot.name = f"cluster_{cluster.id}"
            draw_nodes(cluster_id)
            for child in children.get(cluster_id, []):
                draw_cluster(child)
            if cluster.kind == "subnet" and not occupied(cluster_id):
                marker = icon_class("aws.network.PrivateSubnet")
                marker("", nodeid=f"{cluster.id}#subnet", width="0.5", height="0.5", fixedsize="true", labelloc="c")

    direction_pairs = {(e.src, e.dst) for e in graph.edges}
    title = f"{graph.stack}: architecture from the stack exports"
    graph_attr = {"compound": "true", "splines": "spline", "pad": "0.4", "nodesep": "0.35", "ranksep": "1.0"}
    with diagrams.Diagram(
        title, filename=str(out_png.with_suffix("")), outformat="png", show=False, direction="TB", graph_attr=graph_attr
    ) as diagram:
        for root in children.get(None, []):
            draw_cluster(root)
        for layer in sorted({n.layer for n in graph.nodes if n.cluster is None}, key=_layer_order):
            with diagrams.Cluster(f"{layer} layer, outside the VPC") as box:
                box.dot.name = f"cluster_layer:{layer}"
                draw_nodes(f"layer:{layer}")
        for src, dst, attrs in _drawn_edges(graph, group_of, members, direction_pairs):
            both = attrs.pop("dir", "") == "both"
            drawn[src].connect(drawn[dst], diagrams.Edge(forward=True, reverse=both, **attrs))
        source = diagram.dot.source
    out_png.with_suffix(".dot").write_text(source)
    return out_png


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


def render_environment(build: Path, env: str) -> Path:
    """Read ``<build>/<env>/*.json``, draw ``<build>/<env>/architecture.png`` (+ ``.dot``); return the PNG."""
    return render(architecture_graph(load_exports(build, env)), build / env / "architecture.png")


_ICON_PATH = re.compile(r'image="[^"]*?/resources/')


def normalize_dot(source: str) -> str:
    """The Graphviz source without this machine's install path of the icons, so two machines' sources compare."""
    return _ICON_PATH.sub('image="<diagrams>/resources/', source)


def write_docs(build: Path, env: str, docs: Path) -> Path:
    """The README's copy: ``<docs>/architecture-<env>.png`` and its normalized source beside it."""
    png = render_environment(build, env)
    docs.mkdir(parents=True, exist_ok=True)
    target = docs / f"architecture-{env}.png"
    shutil.copyfile(png, target)
    target.with_suffix(".dot").write_text(normalize_dot(png.with_suffix(".dot").read_text()))
    return target


def _environments(build: Path) -> list[str]:
    return sorted(p.name for p in build.iterdir() if p.is_dir() and any((p / f"{x}.json").exists() for x in LAYERS))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=Path("build"), help="the preview's output folder (build)")
    parser.add_argument("--env", action="append", help="environment to draw (repeatable; default: every one)")
    parser.add_argument("--docs", type=Path, help="also copy each drawing (and its normalized source) here")
    args = parser.parse_args(argv)
    try:
        require_dot()
        envs = args.env or _environments(args.build)
        if not envs:
            raise FileNotFoundError(f"{args.build}: no environment with stack exports; run `make preview` first")
        for env in envs:
            started = time.monotonic()
            png = write_docs(args.build, env, args.docs) if args.docs else render_environment(args.build, env)
            print(f"diagram  {env:<8} {time.monotonic() - started:5.1f}s  {png}")
    except (GraphvizMissingError, FileNotFoundError) as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
