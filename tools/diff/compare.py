"""The differences between two evaluations of the infrastructure, as plain data: cost, resources, findings, settings.

Pure functions: each side is given as what make check's phases produced (stack exports, cost estimates, policy
violations, open scan findings, stack settings), and every result is JSON-ready, so diff.json, diff.md and the
terminal summary are all rendered from one document.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tools import stack_export
from tools.diff.replacements import MAY_REPLACE, REPLACE, UPDATE, Decision, decide, worst
from tools.stack_export import Resource, is_secret

ADD, REMOVE = "add", "remove"
ACTIONS = (ADD, REMOVE, REPLACE, MAY_REPLACE, UPDATE)
# A cost change smaller than half a cent a month is rounding, not a change.
CENT = 0.005
SHOWN = 60
# At most this many nested values or changed lines are listed for one changed input.
DETAIL = 4
# Why a resource whose URN changed is a replacement (Pulumi's resource identity is its URN).
URN_SOURCE = "pulumi-urn"
URN_FACT = (
    "Pulumi identifies a resource by its URN (stack, project, parent type, type, name): a resource whose URN changes "
    "is deleted and a new one created, unless the program declares the old URN as an alias "
    "(https://www.pulumi.com/docs/iac/concepts/resources/names/, "
    "https://www.pulumi.com/docs/iac/concepts/options/aliases/)"
)
OPTIONS_SOURCE = "pulumi-options"
OPTIONS_FACT = "protect is a resource option Pulumi keeps in its state: changing it calls no provider"


class LineItemLike(Protocol):
    """The fields of a cost line item the diff reads (tools.report.cost.LineItem)."""

    urns: tuple[str, ...]
    monthly_usd: float
    description: str
    price_key: str
    quantity: float
    unit: str


class EstimateLike(Protocol):
    """The fields of a cost estimate the diff reads (tools.report.cost.CostEstimate)."""

    @property
    def line_items(self) -> Sequence[LineItemLike]: ...

    @property
    def total(self) -> float: ...

    @property
    def not_priced(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Setting:
    """One stack setting that differs between the sides."""

    key: str
    """The setting's name without its namespace (``ec2_instance_type``)."""
    layers: tuple[str, ...]
    """The layers whose programs read the changed value."""
    base: Any
    """Its value on the base side (None when unset)."""
    head: Any
    """Its value on the head side (None when unset)."""


def custom_resources(document: Mapping[str, Any]) -> dict[str, Resource]:
    """The provider-managed resources of an export by URN (no providers, components or stack references)."""
    return {r.urn: r for r in stack_export.managed(document)}


def show(value: Any) -> str:
    """A short, safe rendering of an input value for the report (secrets hidden, long values cut)."""
    if value is None:
        return "(unset)"
    if _contains_secret(value):
        return "[secret]"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if "\n" in text or len(text) > SHOWN:
        return f"({len(text)} characters)" if isinstance(value, str) else text[: SHOWN - 1] + "…"
    return text


def detail(base: Any, head: Any, path: str = "") -> list[str]:
    """Where two values of one input differ: each nested value that changed (``a.b: x → y``), or the changed lines
    of a text (``-old``, ``+new``); at most :data:`DETAIL` lines, none for a secret."""
    if _contains_secret(base) or _contains_secret(head):
        return []
    if isinstance(base, Mapping) and isinstance(head, Mapping):
        found = []
        for key in sorted(base.keys() | head.keys()):
            if base.get(key) != head.get(key):
                found += detail(base.get(key), head.get(key), f"{path}.{key}" if path else str(key))
        return found[:DETAIL]
    if isinstance(base, list) and isinstance(head, list) and len(base) == len(head):
        found = []
        for index, (old, new) in enumerate(zip(base, head, strict=True)):
            if old != new:
                found += detail(old, new, f"{path}[{index}]")
        return found[:DETAIL]
    if isinstance(base, str) and isinstance(head, str) and ("\n" in base or "\n" in head):
        lines = difflib.unified_diff(base.splitlines(), head.splitlines(), lineterm="", n=0)
        changed = [line[:SHOWN] for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        return [f"{path}: {line}" if path else line for line in changed[:DETAIL]]
    if isinstance(base, str) and isinstance(head, str) and max(len(base), len(head)) > SHOWN:
        old, new = _around_difference(base, head)
        return [f"{path}: {old} → {new}" if path else f"{old} → {new}"]
    return [f"{path}: {show(base)} → {show(head)}"] if path else []


def _around_difference(base: str, head: str, context: int = 12) -> tuple[str, str]:
    """The part of two long texts that differs, with a little context either side (``…x-old-y…``)."""
    start = next((i for i, (a, b) in enumerate(zip(base, head, strict=False)) if a != b), min(len(base), len(head)))
    end = 0
    while end < min(len(base), len(head)) - start and base[-1 - end] == head[-1 - end]:
        end += 1

    def cut(text: str) -> str:
        left, right = max(0, start - context), max(start, len(text) - end + context)
        piece = text[left:right][:SHOWN]
        return ("…" if left else "") + piece + ("…" if right < len(text) else "")

    return cut(base), cut(head)


def _contains_secret(value: Any) -> bool:
    # A stack file's `secure:` value is ciphertext: no more to be shown than a secret's plaintext.
    if is_secret(value) or (isinstance(value, Mapping) and set(value) == {"secure"}):
        return True
    if isinstance(value, Mapping):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _type(urn: str) -> str:
    return urn.split("::")[2].rsplit("$", 1)[-1]


# --- resources -----------------------------------------------------------------------------------------------------


def _property_change(token: str, prop: str, base: Any, head: Any, new_inputs: Mapping[str, Any]) -> dict[str, Any]:
    decision = decide(token, prop, new_inputs)
    return _entry(prop, base, head, decision)


def _entry(prop: str, base: Any, head: Any, decision: Decision) -> dict[str, Any]:
    return {
        "name": prop,
        "base": show(base),
        "head": show(head),
        "detail": detail(base, head),
        "action": decision.action,
        "why": decision.why,
        "source": decision.source,
    }


def resource_changes(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None, stateful: frozenset[str]
) -> list[dict[str, Any]]:
    """What applying ``head`` over ``base`` (two exports of one layer and environment) does to each resource.

    Each change: the URN, type, action (add, remove, replace, update, or update (may replace)), whether the
    resource holds data (``stateful``) and is ``protect``-ed, and for an update or a replacement each changed input
    with its decision and source. A replacement also changes the inputs that reference the replaced resource in
    the same stack; those follow, with their own decisions.
    """
    old = custom_resources(base or {})
    new = custom_resources(head or {})
    changes: dict[str, dict[str, Any]] = {}
    for urn in sorted(new.keys() & old.keys()):
        props = []
        before, after = old[urn].inputs, new[urn].inputs
        token = new[urn].type
        for prop in sorted(before.keys() | after.keys()):
            if before.get(prop) != after.get(prop):
                props.append(_property_change(token, prop, before.get(prop), after.get(prop), after))
        if old[urn].protect != new[urn].protect:
            fact = Decision(UPDATE, "a change of the protect option", OPTIONS_SOURCE)
            props.append(_entry("protect (option)", old[urn].protect, new[urn].protect, fact))
        if props:
            changes[urn] = _change(urn, new[urn], worst([p["action"] for p in props]), stateful, props)
    _cascade(changes, new, stateful)
    added = {urn: new[urn] for urn in new.keys() - old.keys()}
    removed = {urn: old[urn] for urn in old.keys() - new.keys()}
    for urn, resource in _moved(removed, added):
        fact = Decision(
            REPLACE, "its URN changed (a new parent, type or name), so Pulumi deletes and creates", URN_SOURCE
        )
        entry = _change(urn, added.pop(urn), REPLACE, stateful, [_entry("urn", resource.urn, urn, fact)])
        removed.pop(resource.urn)
        changes[urn] = entry
    for urn, resource in added.items():
        changes[urn] = _change(urn, resource, ADD, stateful, [])
    for urn, resource in removed.items():
        changes[urn] = _change(urn, resource, REMOVE, stateful, [])
    return [changes[urn] for urn in sorted(changes, key=lambda u: (ACTIONS.index(changes[u]["action"]), u))]


def _change(
    urn: str, resource: Resource, action: str, stateful: frozenset[str], props: list[dict[str, Any]]
) -> dict[str, Any]:
    token = resource.type
    return {
        "urn": urn,
        "type": token,
        "name": _name(urn),
        "action": action,
        "stateful": token in stateful,
        "protected": resource.protect,
        "properties": props,
    }


def _cascade(changes: dict[str, dict[str, Any]], new: Mapping[str, Resource], stateful: frozenset[str]) -> None:
    """A replaced resource gets a new id and ARN: every input that references it changes too, until nothing new."""
    replaced = [urn for urn, change in changes.items() if change["action"] == REPLACE]
    while replaced:
        target = replaced.pop()
        for urn, resource in sorted(new.items()):
            refs = [p for p, urns in (resource.property_dependencies or {}).items() if target in urns]
            change = changes.get(urn)
            already = {p["name"] for p in change["properties"]} if change else set()
            props = []
            for prop in sorted(set(refs) - already):
                decision = decide(resource.type, prop, resource.inputs)
                reason = Decision(
                    decision.action,
                    f"{decision.why}; its value comes from {_name(target)}, which is replaced",
                    decision.source,
                )
                value = resource.inputs.get(prop)
                props.append(_entry(prop, value, f"(new value of {_name(target)})", reason))
            if not props:
                continue
            if change is None:
                change = changes[urn] = _change(urn, resource, UPDATE, stateful, [])
            was = change["action"]
            change["properties"] += props
            change["action"] = worst([was, *(p["action"] for p in props)])
            if change["action"] == REPLACE and was != REPLACE:
                replaced.append(urn)


def _moved(removed: Mapping[str, Resource], added: Mapping[str, Resource]) -> list[tuple[str, Resource]]:
    """Pairs (new URN, old resource) of one type and name whose URN changed (a new parent): a replacement."""
    by_key: dict[tuple[str, str], list[Resource]] = {}
    for resource in removed.values():
        by_key.setdefault((resource.type, resource.name), []).append(resource)
    pairs = []
    for urn in sorted(added):
        candidates = by_key.get((added[urn].type, added[urn].name), [])
        if len(candidates) == 1:
            pairs.append((urn, candidates.pop()))
    return pairs


def count_actions(changes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many resources each action touches (every action listed, zeros included)."""
    counts = Counter(change["action"] for change in changes)
    return {action: counts[action] for action in ACTIONS}


# --- cost ----------------------------------------------------------------------------------------------------------


def _by_subject(estimate: EstimateLike | None) -> dict[tuple[str, ...], list[LineItemLike]]:
    """Line items grouped by the resources they price (one URN for most; a usage line may price several)."""
    grouped: dict[tuple[str, ...], list[LineItemLike]] = {}
    for item in estimate.line_items if estimate is not None else ():
        grouped.setdefault(tuple(sorted(item.urns)), []).append(item)
    return grouped


def _regroup(base: dict[tuple[str, ...], list[LineItemLike]], head: dict[tuple[str, ...], list[LineItemLike]]) -> None:
    """A line over several resources whose set of resources changed is still one line: match it by its price key."""
    for side, other in ((base, head), (head, base)):
        for subject in [s for s in side if len(s) > 1 and s not in other]:
            keys = {item.price_key for item in side[subject]}
            match = [s for s in other if len(s) > 1 and s not in side and keys & {i.price_key for i in other[s]}]
            if len(match) == 1:
                side[match[0]] = side.pop(subject)


def cost_changes(
    base: EstimateLike | None,
    head: EstimateLike | None,
    resources: Mapping[str, Mapping[str, Any]],
    settings: Sequence[Setting],
) -> dict[str, Any]:
    """The monthly cost change of one environment: totals, and each priced resource (or shared usage line) whose
    cost changed, with the reason (the setting or input that changed, and the lines it moved).

    ``resources`` is the environment's resource changes by URN (from :func:`resource_changes`).
    """
    old, new = _by_subject(base), _by_subject(head)
    _regroup(old, new)
    items: list[dict[str, Any]] = []
    for subject in sorted(old.keys() | new.keys()):
        before = sum(i.monthly_usd for i in old.get(subject, []))
        after = sum(i.monthly_usd for i in new.get(subject, []))
        if abs(after - before) < CENT:
            continue
        changes = [resources[urn] for urn in subject if urn in resources]
        status = "added" if subject not in old else "removed" if subject not in new else "changed"
        if len(subject) == 1 and changes and changes[0]["action"] in (ADD, REMOVE):
            status = "added" if changes[0]["action"] == ADD else "removed"
        reason = _cost_reason(status, old.get(subject, []), new.get(subject, []), changes, settings)
        items.append(
            {
                "urns": list(subject),
                "status": status,
                "base_usd": round(before, 4),
                "head_usd": round(after, 4),
                "delta_usd": round(after - before, 4),
                "reason": f"{reason}: {signed_usd(after - before)}",
            }
        )
    items.sort(key=lambda item: -abs(float(item["delta_usd"])))
    base_total = base.total if base is not None else 0.0
    head_total = head.total if head is not None else 0.0
    return {
        "base_usd": round(base_total, 4),
        "head_usd": round(head_total, 4),
        "delta_usd": round(head_total - base_total, 4),
        "lower_bound": bool(base is not None and base.not_priced) or bool(head is not None and head.not_priced),
        "items": items,
    }


def _cost_reason(
    status: str,
    old: Sequence[LineItemLike],
    new: Sequence[LineItemLike],
    changes: Sequence[Mapping[str, Any]],
    settings: Sequence[Setting],
) -> str:
    if status == "added":
        return "added: " + "; ".join(i.description for i in new)
    if status == "removed":
        return "removed: " + "; ".join(i.description for i in old)
    reasons = []
    for change in changes:
        for prop in change["properties"]:
            setting = _setting_behind(prop, settings)
            if setting:
                reasons.append(f"{setting.key} {prop['base']} → {prop['head']}")
            else:
                reasons += [f"{prop['name']}.{line}" for line in prop["detail"]] or [
                    f"{prop['name']} {prop['base']} → {prop['head']}"
                ]
    if reasons:
        return "; ".join(dict.fromkeys(reasons))
    # A usage line whose inputs are elsewhere (several resources, or an assumption): say which lines moved.
    before = {i.description for i in old}
    after = {i.description for i in new}
    if before != after:
        return "; ".join(sorted(before - after)) + " → " + "; ".join(sorted(after - before))
    quantities = ", ".join(f"{o.quantity:,.4g} → {n.quantity:,.4g} {n.unit}" for o, n in zip(old, new, strict=False))
    return f"{', '.join(sorted(before))}: {quantities}"


def _setting_behind(prop: Mapping[str, Any], settings: Sequence[Setting]) -> Setting | None:
    """The changed stack setting with the same old and new values as a changed input: the likely cause."""
    for setting in settings:
        if show(setting.base) == prop["base"] and show(setting.head) == prop["head"]:
            return setting
    return None


def signed_usd(amount: float) -> str:
    """``+$148.92`` / ``-$3.10`` a month."""
    return f"{'+' if amount >= 0 else '-'}${abs(amount):,.2f}"


# --- settings ------------------------------------------------------------------------------------------------------


def settings_changes(base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]) -> list[Setting]:
    """The settings whose value differs, from each side's ``{layer: {key: value}}`` (defaults merged in)."""
    found: dict[tuple[str, str, str], list[str]] = {}
    values: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for layer in sorted(base.keys() | head.keys(), key=_layer_rank):
        old, new = base.get(layer, {}), head.get(layer, {})
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                ident = (key, show(old.get(key)), show(new.get(key)))
                found.setdefault(ident, []).append(layer)
                values[ident] = (old.get(key), new.get(key))
    return [Setting(key, tuple(layers), *values[(key, a, b)]) for (key, a, b), layers in found.items()]


def _layer_rank(layer: str) -> tuple[int, str]:
    from shared.contract import LAYER_ORDER

    order = [known.value for known in LAYER_ORDER]
    return (order.index(layer), layer) if layer in order else (len(order), layer)


# --- findings ------------------------------------------------------------------------------------------------------


def _diff_multiset(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]], key: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def ident(item: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(item.get(k, "")) for k in key)

    old, new = Counter(map(ident, base)), Counter(map(ident, head))
    added, gone = new - old, old - new
    fresh = [dict(item) for item in head if added[ident(item)] > 0 and _take(added, ident(item))]
    resolved = [dict(item) for item in base if gone[ident(item)] > 0 and _take(gone, ident(item))]
    return fresh, resolved


def _take(counter: Counter[tuple[str, ...]], key: tuple[str, ...]) -> bool:
    counter[key] -= 1
    return True


def violation_changes(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Policy violations new in ``head`` and those resolved (present only in ``base``)."""
    return _diff_multiset(base, head, ("policy", "level", "urn", "message"))


def finding_changes(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open scan findings new in ``head`` and those resolved (a line number moving is not a change)."""
    return _diff_multiset(base, head, ("scanner", "check_id", "urn", "detail"))
