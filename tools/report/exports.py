"""One environment's stack exports, as the cost estimate and the diagram read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.contract import LAYER_ORDER

LAYERS = tuple(layer.value for layer in LAYER_ORDER)


def load_exports(build: Path, env: str) -> dict[str, dict[str, Any]]:
    """``{layer: export}`` from ``<build>/<env>/<layer>.json``, in layer order (what ``make preview`` writes)."""
    folder = build / env
    found = {layer: folder / f"{layer}.json" for layer in LAYERS if (folder / f"{layer}.json").exists()}
    if not found:
        raise FileNotFoundError(f"{folder}: no stack exports ({', '.join(LAYERS)}.json); run `make preview` first")
    return {layer: json.loads(path.read_text()) for layer, path in found.items()}
