"""Pure functions from phase results to the three views of one answer: summary.json, report.md and the terminal.

``summary.json`` is the source of truth; ``report.md`` and the terminal summary are rendered from it, so the three
never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.policy_analyze import Violation

PREVIEW_NOTE = "can't run policy"
SCAN_STATES = ("failed", "suppressed", "passed")
REPOSITORY = "repository"


def policy_counts(violations: Iterable[Violation], levels: Mapping[str, str]) -> dict[str, dict[str, int | str]]:
    """Per policy: the level it ran at, its violations, and its preview notes (values unknown until apply)."""
    found = list(violations)
    counts = Counter(v.policy for v in found if not v.message.startswith(PREVIEW_NOTE))
    notes = Counter(v.policy for v in found if v.message.startswith(PREVIEW_NOTE))
    return {name: {"level": level, "violations": counts[name], "notes": notes[name]} for name, level in levels.items()}


def policy_totals(by_policy: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Mandatory and advisory violation counts (notes are not violations)."""
    totals = {"mandatory": 0, "advisory": 0}
    for entry in by_policy.values():
        level = "mandatory" if entry["level"] in ("mandatory", "remediate") else "advisory"
        if entry["level"] != "disabled":
            totals[level] += int(entry["violations"])
    return totals


def environment_entry(
    env: str,
    layers: Mapping[str, Mapping[str, Any]],
    violations: Sequence[Violation],
    levels: Mapping[str, str],
    scans: Mapping[str, Mapping[str, int]],
    open_findings: Sequence[Mapping[str, str]],
    cost: Mapping[str, Any] | None,
    diagram: str | None,
    errors: Sequence[str],
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """One environment's part of summary.json; ``warnings`` name the reports that could not be made."""
    by_policy = policy_counts(violations, levels)
    totals = policy_totals(by_policy)
    failing = [
        {"policy": v.policy, "level": v.enforcement_level, "urn": v.urn, "message": v.message}
        for v in violations
        if not v.message.startswith(PREVIEW_NOTE)
    ]
    ok = not errors and totals["mandatory"] == 0 and not open_findings
    return {
        "environment": env,
        "ok": ok,
        "errors": list(errors),
        "warnings": list(warnings),
        "layers": {name: dict(entry) for name, entry in layers.items()},
        "resources": sum(int(entry.get("resources", 0)) for entry in layers.values()),
        "policies": {**totals, "by_policy": by_policy, "violations": failing},
        "scans": {scanner: dict(counts) for scanner, counts in scans.items()},
        "open_findings": list(open_findings),
        "cost": dict(cost) if cost is not None else None,
        "diagram": diagram,
    }


def usd(amount: float) -> str:
    """``$1,234.56``."""
    return f"${amount:,.2f}"


def is_lower_bound(cost: Mapping[str, Any]) -> bool:
    """Whether the total is below the real one: a price used is below the region's list price (prices.yaml says
    "lower bound" in its note), a resource is not priced at all, or the region has no prices for some lines."""
    not_priced = cost.get("not_priced") or cost.get("not_priced_lines")
    return bool(not_priced) or any("lower bound" in note["note"] for note in cost["price_notes"])


def monthly(cost: Mapping[str, Any] | None) -> str:
    """The total as shown: ``≥ $X`` when some of its prices are lower than the region's."""
    if cost is None:
        return "-"
    return ("≥ " if is_lower_bound(cost) else "") + usd(cost["total_usd"])


def render_markdown(entry: Mapping[str, Any]) -> str:
    """``build/<env>/report.md``: readable on GitHub, everything summary.json holds for the environment."""
    env = entry["environment"]
    verdict = "passes" if entry["ok"] else "FAILS"
    lines = [f"# {env}: make check {verdict}", ""]
    for error in entry["errors"]:
        lines.append(f"- **error:** {error}")
    for warning in entry.get("warnings", []):
        lines.append(f"- **warning** (does not fail the check): {warning}")
    lines += ["## Resources", "", "| layer | resources | run |", "|---|---:|---|"]
    for name, layer in entry["layers"].items():
        run = "cached (inputs unchanged)" if layer.get("cached") else f"{layer.get('seconds', 0):.2f} s"
        lines.append(f"| {name} | {layer.get('resources', 0)} | {layer.get('error') or run} |")
    lines += ["", f"**{entry['resources']} resources.**", ""]
    policies = entry["policies"]
    lines += [
        "## Policies",
        "",
        f"{policies['mandatory']} mandatory and {policies['advisory']} advisory violation(s).",
        "",
        "| policy | level | violations | preview notes |",
        "|---|---|---:|---:|",
    ]
    for name, counts in policies["by_policy"].items():
        lines.append(f"| `{name}` | {counts['level']} | {counts['violations']} | {counts['notes']} |")
    for v in policies["violations"]:
        lines.append(f"- **{v['level']}** `{v['policy']}` `{v['urn']}`: {v['message']}")
    lines += ["", "## Scans", "", "| scanner | failed | suppressed | passed |", "|---|---:|---:|---:|"]
    for scanner, counts in entry["scans"].items():
        lines.append(f"| {scanner} | {counts['failed']} | {counts['suppressed']} | {counts['passed']} |")
    for f in entry["open_findings"]:
        lines.append(f"- **FAIL** {f['scanner']} {f['check_id']} `{f['urn']}`: {f['title']}")
    lines += ["", "Suppressions, each with its reason: `scan/suppressions.yaml`.", ""]
    lines += _cost_markdown(entry.get("cost"))
    if entry.get("diagram"):
        lines += ["## Architecture", "", "Drawn from this environment's stack exports.", ""]
        lines += [f"![{env} architecture]({Path(entry['diagram']).name})", ""]
    return "\n".join(lines)


def _lower_bound_reasons(cost: Mapping[str, Any]) -> list[str]:
    reasons = []
    if any("lower bound" in note["note"] for note in cost["price_notes"]):
        reasons.append("some prices are lower than this region's (us-east-1 list prices, marked below)")
    if cost.get("not_priced"):
        reasons.append("some resources are not priced (listed below)")
    if cost.get("not_priced_lines"):
        reasons.append(f"the price file has no prices for {cost['region']} (the lines it leaves out are listed below)")
    return reasons


def _cost_markdown(cost: Mapping[str, Any] | None) -> list[str]:
    if cost is None:
        return ["## Estimated monthly cost", "", "Not estimated (see the warnings above).", ""]
    lines = [
        "## Estimated monthly cost",
        "",
        f"**{monthly(cost)} a month** in {cost['region']}, on-demand list prices "
        f"({cost['hours_per_month']:g} hours a month). Prices and assumptions: `tools/report/prices.yaml`."
        + (
            " The total is a lower bound: " + "; ".join(_lower_bound_reasons(cost)) + "."
            if is_lower_bound(cost)
            else ""
        ),
        "",
        "| layer | resource | quantity | unit price | monthly |",
        "|---|---|---:|---:|---:|",
    ]
    for item in cost["line_items"]:
        quantity = f"{item['quantity']:,.4g} {item['unit']}"
        lines.append(
            f"| {item['layer']} | {item['description']} | {quantity} | "
            f"${item['unit_price_usd']:g} | {usd(item['monthly_usd'])} |"
        )
    lines.append(f"| | **total** | | | **{usd(cost['total_usd'])}** |")
    lines += ["", "### Usage assumptions", ""]
    lines += [f"- `{a['key']}` = {a['value']:,} {a['unit']}: {a['reason']}" for a in cost["assumptions"]]
    lines += ["", "### Left out", ""]
    lines += [f"- {text}" for text in cost["excluded"]]
    if cost.get("not_priced"):
        lines += ["", "### Not priced", "", "No price rule for these types yet; the total leaves them out.", ""]
        lines += [f"- `{u['resource_type']}` `{u['urn']}`" for u in cost["not_priced"]]
    if cost.get("not_priced_lines"):
        lines += ["", f"### Not priced in {cost['region']}", ""]
        lines += ["The price file has no prices for this region: these lines are left out of the total.", ""]
        lines += [
            f"- {u['layer']}: {u['description']}, {u['quantity']:,.4g} {u['unit']} at `{u['price_key']}` "
            + " ".join(f"`{urn}`" for urn in u["urns"])
            for u in cost["not_priced_lines"]
        ]
    if cost["price_notes"]:
        lines += ["", "### Prices that are not the region's list price as read", ""]
        lines += [f"- `{n['price_key']}`: {n['note']}" for n in cost["price_notes"]]
    return [*lines, ""]


def render_terminal(summary: Mapping[str, Any]) -> list[str]:
    """The short summary ``make check`` ends with: one block per view, one column per environment."""
    envs: dict[str, Mapping[str, Any]] = summary["environments"]
    names = list(envs)
    width = max([10, *(len(n) for n in names)])

    def row(label: str, values: Iterable[str]) -> str:
        return f"  {label:<28}" + "".join(f"{value:>{width + 2}}" for value in values)

    lines = [row("", names)]
    layer_names = list(next(iter(envs.values()))["layers"]) if envs else []
    lines += [
        row(f"resources: {layer}", (str(envs[e]["layers"].get(layer, {}).get("resources", "-")) for e in names))
        for layer in layer_names
    ]
    lines.append(row("policies: mandatory", (str(envs[e]["policies"]["mandatory"]) for e in names)))
    lines.append(row("policies: advisory", (str(envs[e]["policies"]["advisory"]) for e in names)))
    policy_names = list(next(iter(envs.values()))["policies"]["by_policy"]) if envs else []
    for policy in policy_names:
        level = envs[names[0]]["policies"]["by_policy"][policy]["level"]
        counts = (str(envs[e]["policies"]["by_policy"][policy]["violations"]) for e in names)
        lines.append(row(f"  {policy} ({level[0]})", counts))
    scanners = sorted({s for e in names for s in envs[e]["scans"]})
    for scanner in scanners:
        values = []
        for e in names:
            counts = envs[e]["scans"].get(scanner)
            values.append(f"{counts['failed']}/{counts['suppressed']}/{counts['passed']}" if counts else "-")
        lines.append(row(f"scan {scanner} (f/s/p)", values))
    lines.append(row("cost per month", (monthly(envs[e]["cost"]) for e in names)))
    repository = summary.get(REPOSITORY, {}).get("scans", {})
    for scanner, counts in sorted(repository.items()):
        lines.append(
            f"  repository {scanner}: {counts['failed']} failed, {counts['suppressed']} suppressed, "
            f"{counts['passed']} passed"
        )
    return lines
