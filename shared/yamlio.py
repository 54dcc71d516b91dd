"""Reading YAML: the safe subset ``yaml.safe_load`` reads, parsed by libyaml (PyYAML's wheels bundle it).

The C parser reads the same documents about ten times faster than PyYAML's pure-Python one. That matters here:
``make check`` with everything cached reads the environment matrix and the stack files dozens of times while it
works out its cache keys, and a third of its time went on parsing them. A PyYAML built without libyaml falls
back to the Python parser, with the same results.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """The document in ``text``, as ``yaml.safe_load`` would return it; raises ``yaml.YAMLError`` when malformed."""
    return yaml.load(text, Loader=_LOADER)
