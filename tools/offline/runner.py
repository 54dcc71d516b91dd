"""Run one layer's real ``__main__.py`` under Pulumi's mock runtime and write the result as a stack export.

The program sees exactly what the Pulumi CLI would give it: the project from ``Pulumi.yaml``, the config from
``Pulumi.<stack>.yaml`` (structured values JSON-encoded, as the CLI passes them), stack transforms, and
StackReferences answered from the exports that earlier runs of the upstream layers wrote. A recording monitor
keeps every registration request, so the export carries parents, dependencies, property dependencies and
``protect`` exactly as the program declared them.

The Pulumi runtime is process-global: run one layer per process (``python -m tools.offline.runner``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import runpy
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

from shared import sdk_internals
from shared.clock import FIXED_TIME_VARIABLE
from tools import stack_export
from tools.offline.export import Registration, build_export
from tools.offline.mocks import FIXED_TIME, MockContext, OfflineError, OfflineMocks
from tools.offline.stack_files import cli_config, load_project
from tools.schemas import deployment_errors
from tools.stack_export import STACK_TYPE

REPO_ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = REPO_ROOT / "stacks"
ORGANIZATION = "organization"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, plus: runs stack transforms (the engine's job) and records every request."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """As the engine does it: children of the root stack do not carry the stack's type in their URN."""
        if parent and parent.split("::")[2] == STACK_TYPE:
            parent = ""
        return str(super().make_urn(parent, type_, name))

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Apply stack transforms as the engine would, then register through the mocks and record."""
        if request.type != STACK_TYPE and self._stack_transforms:
            request = self._apply_transforms(request)
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        with self.lock:
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent,
                    id=response.id,
                    inputs=_struct_to_json(request.object),
                    outputs=_struct_to_json(response.object),
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                    protect=request.protect if request.HasField("protect") else None,
                    retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
                    provider=request.provider,
                    version=request.version,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Reads (StackReference, ``.get``) are state too: the engine records them as external resources."""
        response = super().ReadResource(request)
        with self.lock:
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=True,
                    parent=request.parent,
                    id=request.id,
                    inputs=_struct_to_json(request.properties),
                    outputs=_struct_to_json(response.properties),
                    dependencies=list(request.dependencies),
                    property_dependencies={},
                    protect=None,
                    retain_on_delete=None,
                    provider=request.provider,
                    version=request.version,
                    external=True,
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Keep component outputs for the export."""
        with self.lock:
            self.component_outputs[request.urn] = _struct_to_json(request.outputs)
        return super().RegisterResourceOutputs(request)

    def _apply_transforms(self, request: Any) -> Any:
        props = sdk_internals.deserialize(request.object)
        args = pulumi.ResourceTransformArgs(
            custom=bool(request.custom),
            type_=request.type,
            name=request.name,
            props=props,
            opts=pulumi.ResourceOptions(protect=request.protect if request.HasField("protect") else None),
        )
        for transform in self._stack_transforms:
            outcome = transform(args)
            result = cast(
                "pulumi.ResourceTransformResult | None",
                sdk_internals.sync_await(outcome) if inspect.isawaitable(outcome) else outcome,
            )
            if result is not None:
                args = pulumi.ResourceTransformArgs(args.custom, args.type_, args.name, result.props, result.opts)
        struct = sdk_internals.serialize(args.props)
        request.object.Clear()
        request.object.update(json_format.MessageToDict(struct))
        return request


def _integral(value: Any) -> Any:
    """Protobuf Structs carry every number as a double; restore integers so exports read naturally."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def _struct_to_json(struct: Any) -> dict[str, Any]:
    converted: dict[str, Any] = _integral(json_format.MessageToDict(struct)) if struct is not None else {}
    return converted


def resource_options(registrations: list[Registration]) -> dict[str, dict[str, Any]]:
    """Options the export schema has no field for (retainOnDelete, ignoreChanges, ...), by URN.

    Written beside each export as ``<env>/options/<layer>.json`` so that tests can check them too; only
    resources that set one appear.
    """
    options: dict[str, dict[str, Any]] = {}
    for reg in registrations:
        found: dict[str, Any] = {}
        if reg.retain_on_delete:
            found["retainOnDelete"] = True
        if reg.delete_before_replace:
            found["deleteBeforeReplace"] = True
        if reg.ignore_changes:
            found["ignoreChanges"] = sorted(reg.ignore_changes)
        if found:
            options[reg.urn] = found
    return options


@dataclass(frozen=True)
class RunResult:
    """What one offline run produced."""

    layer: str
    env: str
    export_path: Path
    """Where the export was written."""
    resource_count: int
    """Provider-managed resources in the export."""
    seconds: float
    """Wall time of the run."""


def upstream_exports(out_dir: Path, env: str) -> dict[str, Path]:
    """Every layer's default stack name for ``env`` mapped to the export an earlier run wrote for it."""
    from shared.contract import LAYER_ORDER, default_stack_name

    return {default_stack_name(layer, env): out_dir / env / f"{layer.value}.json" for layer in LAYER_ORDER}


def require_valid_export(document: dict[str, Any], layer: str, env: str) -> None:
    """Raise :class:`OfflineError` unless ``document`` is what Pulumi's deployment schema (schemas/) allows: an
    export that would not load into `pulumi stack import` or `pulumi policy analyze --file` fails its layer run."""
    problems = deployment_errors(document)
    if problems:
        raise OfflineError(f"{layer} [{env}]: the export breaks Pulumi's deployment schema: " + "; ".join(problems[:5]))


def run_layer(
    layer: str, env: str, out_dir: Path, *, preview: bool = False, stacks_dir: Path = STACKS_DIR
) -> RunResult:
    """Run ``<stacks_dir>/<layer>/__main__.py`` for stack ``env`` and write ``<out_dir>/<env>/<layer>.json``."""
    started = time.monotonic()
    layer_dir = stacks_dir / layer
    if not (layer_dir / "Pulumi.yaml").exists():
        raise OfflineError(f"no Pulumi project at {layer_dir}")
    project = load_project(layer_dir)
    config, secret_keys = cli_config(layer_dir, env)
    region = config.get("aws:region")
    if not region:
        raise OfflineError(f"{layer}: stack '{env}' sets no aws:region in {layer_dir.name}/Pulumi.{env}.yaml")

    # The program's clock stands still, so the same inputs always write the same export (the cache relies on it).
    os.environ[FIXED_TIME_VARIABLE] = FIXED_TIME
    ctx = MockContext(region=region, stack=env, upstream_exports=upstream_exports(out_dir, env), preview=preview)
    monitor = RecordingMonitor(OfflineMocks(ctx))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project["name"], stack=env, preview=preview, monitor=monitor, organization=ORGANIZATION
    )
    pulumi.runtime.set_all_config(config, secret_keys)

    program = layer_dir / "__main__.py"
    previous_cwd = Path.cwd()
    os.chdir(layer_dir)  # the CLI runs a program from its project directory
    sys.path.insert(0, str(layer_dir))
    try:

        def program_body() -> None:
            runpy.run_path(str(program), run_name="__main__")

        sdk_internals.run_program(program_body)
        stack_outputs = _struct_to_json(sdk_internals.serialize(getattr(sdk_internals.root_resource(), "outputs", {})))
    finally:
        os.chdir(previous_cwd)
        sys.path.remove(str(layer_dir))

    document = build_export(
        project=project["name"],
        stack=env,
        region=region,
        registrations=monitor.registrations,
        component_outputs=monitor.component_outputs,
        stack_outputs=stack_outputs,
        secret_config_keys=secret_keys,
    )
    require_valid_export(document, layer, env)
    export_path = out_dir / env / f"{layer}.json"
    export_path.parent.mkdir(parents=True, exist_ok=True)
    export_path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    options_path = out_dir / env / "options" / f"{layer}.json"
    options_path.parent.mkdir(parents=True, exist_ok=True)
    options_path.write_text(json.dumps(resource_options(monitor.registrations), indent=2, sort_keys=True) + "\n")
    return RunResult(layer, env, export_path, len(stack_export.managed(document)), time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Entry point for one run: ``python -m tools.offline.runner --layer network --env dev --out build``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", required=True)
    parser.add_argument("--env", required=True, help="the stack name: an environment of the matrix")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--preview", action="store_true", help="leave computed values unknown, as a preview does")
    parser.add_argument("--stacks-dir", type=Path, default=STACKS_DIR, help="where the layer folders are")
    args = parser.parse_args(argv)
    try:
        result = run_layer(
            args.layer, args.env, args.out.resolve(), preview=args.preview, stacks_dir=args.stacks_dir.resolve()
        )
    except Exception as error:
        if os.environ.get("OFFLINE_TRACEBACK"):
            raise
        print(f"{args.layer} [{args.env}]: {_describe(error)}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "layer": result.layer,
                "env": result.env,
                "export": str(result.export_path),
                "resources": result.resource_count,
                "seconds": round(result.seconds, 2),
            }
        )
    )
    return 0


def _describe(error: BaseException) -> str:
    """The innermost meaningful message: Pulumi wraps program errors in RunError / gRPC errors."""
    text = str(error).strip() or type(error).__name__
    return text


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Pulumi runtime's event loop and gRPC callback server are process-global and their finalizers race at
    # interpreter shutdown (printing "Invalid file descriptor" noise); this process has nothing left to clean.
    os._exit(code)
