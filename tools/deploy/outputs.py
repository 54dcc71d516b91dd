"""``make outputs``: the deployed layers' outputs as one dotenv file and one JSON file, never with secret values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.contract import EXPORTS, Layer

# `pulumi stack output --json` without --show-secrets prints a secret output as this placeholder.
SECRET_PLACEHOLDER = "[secret]"
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_@%+=:,./!-]*$")


class OutputsError(ValueError):
    """A layer's outputs are missing or do not match the contract."""


@dataclass(frozen=True)
class EnvironmentOutputs:
    """The flattened outputs of every layer of one environment."""

    values: dict[str, str]
    """UPPER_SNAKE key -> value, in layer and contract order."""
    secret_keys: tuple[str, ...]
    """Keys whose value is secret: named in the files, never written."""
    by_layer: dict[str, dict[str, Any]]
    """The raw outputs per layer (secrets still as the placeholder), for the JSON file."""


def env_key(*parts: str) -> str:
    """``subnet_ids`` + ``private`` -> ``SUBNET_IDS_PRIVATE``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_").upper()


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for key in sorted(value) for pair in _flatten(env_key(prefix, key), value[key])]
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            return [(prefix, json.dumps(value, separators=(",", ":")))]
        return [(prefix, ",".join(str(item) for item in value))]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, value)]


def collect(env: str, region: str, by_layer: Mapping[Layer, Mapping[str, Any]]) -> EnvironmentOutputs:
    """Check each layer's outputs against shared/contract.py and flatten them to UPPER_SNAKE keys."""
    values: dict[str, str] = {"ENVIRONMENT": env, "AWS_REGION": region}
    secrets: list[str] = []
    for layer, outputs in by_layer.items():
        missing = [name for name in EXPORTS[layer] if name not in outputs]
        if missing:
            raise OutputsError(
                f"{layer.value} [{env}]: stack outputs lack {', '.join(missing)} (shared/contract.py); "
                f"bring the stack up to date with: make up-{layer.value} ENV={env}"
            )
        for name in EXPORTS[layer]:
            for key, value in _flatten(env_key(name), outputs[name]):
                if SECRET_PLACEHOLDER in str(value):  # a secret alone, or inside a list joined into one value
                    secrets.append(key)
                else:
                    values[key] = str(value)
    return EnvironmentOutputs(values, tuple(secrets), {layer.value: dict(o) for layer, o in by_layer.items()})


def dotenv(outputs: EnvironmentOutputs, header: str) -> str:
    """A dotenv file for python-dotenv or ``set -a; source`` (values single-quoted only when the shell needs it).

    Docker's ``--env-file`` keeps quotes literally; no value of ours needs them, and one that would is quoted.
    """
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in outputs.values.items():
        if "'" in value or "\n" in value:
            raise OutputsError(f"{key}: a value with a quote or newline cannot be written to a dotenv file: {value!r}")
        lines.append(f"{key}={value}" if _SAFE_VALUE.match(value) else f"{key}='{value}'")
    lines += [
        f"# {key}: secret output, not written (pulumi stack output --show-secrets)" for key in outputs.secret_keys
    ]
    return "\n".join(lines) + "\n"


def as_json(outputs: EnvironmentOutputs, env: str, not_deployed: Sequence[str] = ()) -> str:
    """The JSON twin of the dotenv file: flattened values, the raw outputs by layer, and the layers not deployed."""
    document = {
        "environment": env,
        "values": outputs.values,
        "secret_keys": list(outputs.secret_keys),
        "layers": outputs.by_layer,
        "not_deployed": list(not_deployed),
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
