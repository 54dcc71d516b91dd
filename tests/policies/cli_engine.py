"""Plays the Pulumi CLI's part against the real pack: launch it as the Python language host does, then speak the
Analyzer gRPC protocol the way `pulumi policy analyze --file` does.

Written from pulumi/pulumi's source, independently of tools/policy_analyze.py, so that tests comparing the two hold
the offline analyser to what the CLI would report:

- sdk/python/cmd/pulumi-language-python/main.go (RunPlugin): ``<venv>/bin/python -u -m pulumi.policy <engine address>
  <pack dir>``, working directory the pack dir, the venv activated (VIRTUAL_ENV, its bin first on PATH, no
  PYTHONHOME); the pack prints its port on stdout.
- pkg/resource/plugin/analyzer_plugin.go and pkg/resource/analyzer/config.go: GetAnalyzerInfo, then Configure with
  every policy's level and schema defaults, overlaid by the config file, validated against the object schema the CLI
  builds (``properties`` plus ``enforcementLevel``, and ``required``; no ``additionalProperties``).
- pkg/resource/deploy/analyze_snapshot.go: Remediate then Analyze (inputs) for each non-deleted resource, each
  diagnostic filed under that resource; AnalyzeStack (outputs) once, a diagnostic filed under the resource it names
  when that is in the stack, else under the root stack.
- pkg/cmd/pulumi/policy/policy_analyze.go: a secret the CLI cannot decrypt reaches the pack as ``"[secret]"``.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG as SECRET_SIG
from pulumi_policy.deserialize import SPECIAL_SIG_KEY as SIG_KEY

# pulumi.policy parses the engine address but never dials it (sdk/python/lib/pulumi/policy/__main__.py), and neither
# does the pack: nothing listens here.
ENGINE_ADDRESS = "127.0.0.1:1"
CALL_TIMEOUT = 60.0
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
FROM_PROTO = {value: name for name, value in TO_PROTO.items()}


@dataclass(frozen=True, order=True)
class Verdict:
    """One diagnostic as the CLI shows it: policy, level, the URN it is filed under, and the policy's message."""

    policy: str
    level: str
    urn: str
    message: str


class PackError(RuntimeError):
    """The pack did not start, or the config did not validate: the CLI would stop with this message."""


def activated_env(venv: Path) -> dict[str, str]:
    """The environment the language host gives a plugin of ``venv`` (toolchain.ActivateVirtualEnv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


class Pack:
    """A running pack process and a client of its Analyzer service."""

    def __init__(self, python: Path, venv: Path, pack_dir: Path, start_timeout: float = 60.0) -> None:
        self.pack_dir = pack_dir.resolve()
        # A file, not a pipe nobody reads: a chatty pack must never block on a full pipe. close() closes it.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._stderr_at_close = ""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(python), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(self.pack_dir)],
            cwd=self.pack_dir,
            env=activated_env(venv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        port = self._read_port(start_timeout)
        self.start_seconds = time.perf_counter() - started
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        self.descriptions = {p.name: p.description for p in self.info.policies}

    def _read_port(self, timeout: float) -> int:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.process.kill()
                raise PackError(f"no port on stdout within {timeout:.0f}s; stderr:\n{self.stderr_text()}")
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.wait(timeout=10)
            raise PackError(f"expected the port on stdout, got {line!r}; stderr:\n{self.stderr_text()}")
        return int(line)

    def stderr_text(self) -> str:
        """Everything the pack wrote to stderr (so far, or in all once closed)."""
        if self.stderr.closed:
            return self._stderr_at_close
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self) -> int:
        """Stop the pack as an interrupted CLI does (SIGINT) and return its exit status."""
        self.channel.close()
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._stderr_at_close = self.stderr_text()
            self.stderr.close()

    # --- configuration, as the engine does it --------------------------------------------------------------------

    def configure(self, config_file: Mapping[str, Any] | None = None) -> None:
        """Configure every policy: its level and schema defaults, overlaid by ``config_file``, then validated."""
        result: dict[str, dict[str, Any]] = {}
        schemas: dict[str, dict[str, Any]] = {}
        for policy in self.info.policies:
            properties = json_format.MessageToDict(policy.configSchema.properties)
            defaults = {k: v["default"] for k, v in properties.items() if "default" in v}
            result[policy.name] = {"level": FROM_PROTO[policy.enforcementLevel], "properties": defaults}
            # convertConfigSchema plus the injected enforcementLevel: properties and required, nothing else.
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {**properties, "enforcementLevel": {"type": "string", "enum": list(LEVELS)}},
            }
            if policy.configSchema.required:
                schema["required"] = list(policy.configSchema.required)
            schemas[policy.name] = schema
        given = _parse_config_file(config_file or {})
        if "all" in given and given["all"]["level"]:
            for entry in result.values():
                entry["level"] = given["all"]["level"]
        for name, entry in given.items():
            current = result.setdefault(name, {"level": "", "properties": {}})
            current["level"] = entry["level"] or current["level"]
            current["properties"] = {**current["properties"], **entry["properties"]}
        errors = [
            f"{name}: {error.message}"
            for name, schema in schemas.items()
            for error in jsonschema.Draft7Validator(schema).iter_errors(result[name]["properties"])
        ]
        if errors:
            raise PackError("; ".join(errors))
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in result.items():
            properties = struct_pb2.Struct()
            properties.update(entry["properties"])
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(enforcementLevel=TO_PROTO[entry["level"]], properties=properties)
            )
        self.stub.Configure(request, timeout=CALL_TIMEOUT)

    # --- analysis, as `pulumi policy analyze --file` does it --------------------------------------------------------

    def analyze(self, export: Mapping[str, Any]) -> list[Verdict]:
        """Every diagnostic of one stack export, sorted."""
        resources = [r for r in export["deployment"]["resources"] if not r.get("delete")]
        providers = {r["urn"]: r for r in resources if r["type"].startswith("pulumi:providers:")}
        found: list[Verdict] = []
        for r in resources:
            request = analyzer_pb2.AnalyzeRequest(
                urn=r["urn"],
                type=r["type"],
                name=_name(r["urn"]),
                properties=_struct(r.get("inputs")),
                options=_options(r),
                provider=_provider(r, providers),
            )
            remediations = self.stub.Remediate(request, timeout=CALL_TIMEOUT)
            assert not remediations.remediations, remediations
            response = self.stub.Analyze(request, timeout=CALL_TIMEOUT)
            found.extend(self._verdict(d, r["urn"]) for d in response.diagnostics)
        stack = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    urn=r["urn"],
                    type=r["type"],
                    name=_name(r["urn"]),
                    properties=_struct(r.get("outputs")),
                    options=_options(r),
                    provider=_provider(r, providers),
                    parent=r.get("parent") or "",
                    dependencies=list(r.get("dependencies") or []),
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                        for key, urns in (r.get("propertyDependencies") or {}).items()
                    },
                )
                for r in resources
            ]
        )
        in_stack = {r["urn"] for r in resources}
        root = _root_stack_urn(resources)
        for d in self.stub.AnalyzeStack(stack, timeout=CALL_TIMEOUT).diagnostics:
            found.append(self._verdict(d, d.urn if d.urn in in_stack else root))
        return sorted(found)

    def _verdict(self, diagnostic: Any, urn: str) -> Verdict:
        level = FROM_PROTO[diagnostic.enforcementLevel]
        # The SDK writes a violation as "<description>\n<message>"; a preview note has no description.
        prefix = self.descriptions[diagnostic.policyName] + "\n"
        message = diagnostic.message.removeprefix(prefix)
        return Verdict(diagnostic.policyName, "mandatory" if level == "remediate" else level, urn, message)


def _parse_config_file(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """parsePolicyPackConfig: a level string, or an object whose ``enforcementLevel`` is taken out of it."""
    parsed: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            parsed[name] = {"level": value, "properties": {}}
        else:
            properties = dict(value)
            parsed[name] = {"level": properties.pop("enforcementLevel", ""), "properties": properties}
    return parsed


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _wire(value: Any) -> Any:
    """An export value as the CLI marshals it: secrets as ``{sig, value}``, undecryptable ones as "[secret]"."""
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            inner = "[secret]" if "ciphertext" in value else _wire(json.loads(value["plaintext"]))
            return {SIG_KEY: SECRET_SIG, "value": inner}
        return {k: _wire(v) for k, v in value.items()}
    return value


def _struct(properties: Mapping[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(dict(properties or {})))
    return struct


def _options(resource: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(resource.get("protect")),
        ignoreChanges=list(resource.get("ignoreChanges") or []),
        additionalSecretOutputs=list(resource.get("additionalSecretOutputs") or []),
        parent=resource.get("parent") or "",
    )


def _provider(
    resource: Mapping[str, Any], providers: Mapping[str, Mapping[str, Any]]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    reference = resource.get("provider") or ""
    provider = providers.get(reference.rsplit("::", 1)[0]) if reference else None
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        urn=provider["urn"], type=provider["type"], name=_name(provider["urn"]), properties=_struct(provider["inputs"])
    )


def _root_stack_urn(resources: Iterable[Mapping[str, Any]]) -> str:
    """snapshotRootStackURN: the root stack resource, else the default root stack URN of the first resource."""
    resources = list(resources)
    for r in resources:
        if r["type"] == "pulumi:pulumi:Stack" and not r.get("parent"):
            return str(r["urn"])
    if not resources:
        return ""
    head, project = str(resources[0]["urn"]).split("::")[:2]
    stack = head.removeprefix("urn:pulumi:")
    return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
