"""A layer's Pulumi project and stack files, read as the Pulumi CLI reads them; no Pulumi SDK needed.

The offline runner hands the result to a program; ``make doctor`` validates the same config before a deploy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared import yamlio


class OfflineError(Exception):
    """The program asked for something the offline runner cannot answer; the message says what and why."""


def load_project(layer_dir: Path) -> dict[str, Any]:
    """The parsed ``Pulumi.yaml`` of a layer."""
    project: dict[str, Any] = yamlio.load((layer_dir / "Pulumi.yaml").read_text())
    return project


def cli_config(layer_dir: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI hands it to a program: every value a string, objects and lists JSON-encoded.

    Values marked ``secure:`` in the stack file are reported as secret keys; offline they cannot be decrypted,
    so a program must not need them (ours never do: no secret lives in config).
    """
    path = layer_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise OfflineError(f"{layer_dir.name}: no stack file {path} for stack '{stack}'")
    document = yamlio.load(path.read_text()) or {}
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.append(key)
            config[key] = "<offline: encrypted value not available>"
        elif isinstance(value, str):
            config[key] = value
        else:
            config[key] = json.dumps(value)
    return config, secret_keys
