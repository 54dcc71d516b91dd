"""diff.json rendered for people: the markdown report (summary first, the detail collapsed) and the terminal summary.

Both are made from the document alone, so the report, the pull-request comment and the terminal never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tools.check.summary import REPOSITORY, usd
from tools.diff.compare import ACTIONS, ADD, REMOVE, REPLACE, signed_usd
from tools.diff.replacements import MAY_REPLACE, UPDATE

GATE_PHASES = ("policies:base", "policies:head", "scans:base", "scans:head")
ACTION_WORDS = {ADD: "added", REMOVE: "removed", REPLACE: "replaced", UPDATE: "updated", MAY_REPLACE: "may replace"}


def _envs(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    environments: dict[str, Mapping[str, Any]] = document["environments"]
    return environments


def _new(entry: Mapping[str, Any], kind: str, state: str = "new") -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = entry.get("findings", {}).get(kind, {}).get(state, [])
    return found


def totals(document: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers the summary table, the terminal and CI read: per environment and in all."""
    per_env = {}
    for env, entry in _envs(document).items():
        violations = _new(entry, "violations")
        per_env[env] = {
            "cost_delta_usd": entry.get("cost", {}).get("delta_usd"),
            "counts": entry.get("counts", {}),
            "stateful_changes": len(entry.get("stateful_changes", [])),
            "new_mandatory": sum(1 for v in violations if v["level"] in ("mandatory", "remediate")),
            "new_findings": len(violations) + len(_new(entry, "scans")),
            "resolved_findings": len(_new(entry, "violations", "resolved")) + len(_new(entry, "scans", "resolved")),
            "new_open_scan_findings": len(_new(entry, "scans")),
            "errors": len(entry.get("errors", [])),
        }
    repository = document.get(REPOSITORY, {})
    return {
        "environments": per_env,
        "repository_new_findings": len(_new(repository, "scans")),
        "repository_resolved_findings": len(_new(repository, "scans", "resolved")),
    }


def passes(document: Mapping[str, Any]) -> bool:
    """Nothing new fails: every environment compared, every judging phase ran, no new mandatory violation and no
    new open scan finding (what make check would newly fail on)."""
    summary = document["summary"]
    failed = document.get("failed_phases", {})
    if any(name in failed for name in GATE_PHASES) or ("cost" in failed and document["parts"] == ["cost"]):
        return False
    envs = summary["environments"].values()
    if any(e["errors"] or e["new_mandatory"] or e["new_open_scan_findings"] for e in envs):
        return False
    return not summary["repository_new_findings"]


def money(cost: Mapping[str, Any] | None) -> str:
    """An environment's cost cell: ``$base → $head (change)``, ``≥`` on a lower bound."""
    if not cost:
        return "not estimated"
    bound = "≥ " if cost.get("lower_bound") else ""
    delta = cost["delta_usd"]
    change = "no change" if abs(delta) < 0.005 else signed_usd(delta)
    return f"{bound}{usd(cost['base_usd'])} → {bound}{usd(cost['head_usd'])} ({change})"


def _counts(counts: Mapping[str, int]) -> str:
    return " / ".join(str(counts.get(action, 0)) for action in ACTIONS)


def markdown(document: Mapping[str, Any]) -> str:
    """diff.md: a summary table, what stands out, then each environment's detail in collapsed sections."""
    resources = "resources" in document["parts"]
    findings = "findings" in document["parts"]
    lines = [f"## Infrastructure diff: {document['base']} → {document['head']}", ""]
    header = ["environment", "monthly cost"]
    if resources:
        header += ["resources (add / remove / replace / may replace / update)", "stateful replaced or removed"]
    if findings:
        header += ["new findings", "new mandatory", "resolved"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary = document["summary"]["environments"]
    for env, entry in _envs(document).items():
        numbers = summary[env]
        if entry.get("errors"):
            lines.append(f"| {env} | **not compared** | " + " | ".join([""] * (len(header) - 2)) + " |")
            continue
        row = [_label(env, entry), money(entry.get("cost"))]
        if resources:
            row += [_counts(numbers["counts"]), _bold(numbers["stateful_changes"])]
        if findings:
            row += [_bold(numbers["new_findings"]), _bold(numbers["new_mandatory"]), str(numbers["resolved_findings"])]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += _standouts(document)
    for env, entry in _envs(document).items():
        lines += _environment(env, entry, document)
    if findings:
        lines += _repository(document)
    lines += _about(document)
    return "\n".join(lines) + "\n"


def _label(env: str, entry: Mapping[str, Any]) -> str:
    return env + {"head": " (new)", "base": " (removed)"}.get(entry.get("only_in", ""), "")


def _bold(number: int) -> str:
    return f"**{number}**" if number else "0"


def standouts(document: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """What a reviewer must see first, each with whether it fails the diff: environments not compared, stateful
    resources replaced or removed, new mandatory violations and scan findings, phases that could not run."""
    found: list[tuple[str, bool]] = []
    for env, entry in _envs(document).items():
        found += [(f"**{env} not compared:** {error}", True) for error in entry.get("errors", [])]
        if entry.get("only_in") == "head":
            found.append((f"**{env} is new in this change:** every resource of it is added.", False))
        elif entry.get("only_in") == "base":
            found.append((f"**{env} is removed by this change:** every resource of it is removed.", False))
        found += [(f"**{env} cost not estimated:** {why}", False) for why in entry.get("cost_not_made", [])]
        for change in entry.get("stateful_changes", []):
            word = "replaced" if change["action"] == REPLACE else "removed"
            why = "; ".join(f"`{p['name']}` {p['base']} → {p['head']}" for p in change["properties"][:3])
            guard = " It is `protect`ed: `pulumi up` stops here until it is unprotected." if change["protected"] else ""
            text = (
                f"**Stateful resource {word} in {env}:** `{change['type']}` `{change['name']}`"
                + (f" ({why})" if why else "")
                + f": its data is lost unless it is copied first.{guard}"
            )
            found.append((text, False))
        for v in _new(entry, "violations"):
            if v["level"] in ("mandatory", "remediate"):
                found.append(
                    (f"**New mandatory violation in {env}:** `{v['policy']}` `{v['urn']}`: {v['message']}", True)
                )
        for f in _new(entry, "scans"):
            found.append(
                (f"**New scan finding in {env}:** {f['scanner']} {f['check_id']} `{f['urn']}`: {f['title']}", True)
            )
    for f in _new(document.get(REPOSITORY, {}), "scans"):
        found.append((f"**New repository finding:** {f['scanner']} {f['check_id']} `{f['urn']}`: {f['title']}", True))
    for name, detail in document.get("failed_phases", {}).items():
        failing = name in GATE_PHASES or document["parts"] == ["cost"]
        found.append((f"**{name} could not run:** {detail}", failing))
    return found


def _standouts(document: Mapping[str, Any]) -> list[str]:
    lines = [f"- {text}" for text, _ in standouts(document)]
    return [*lines, ""] if lines else []


def _details(summary: str, body: Sequence[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _environment(env: str, entry: Mapping[str, Any], document: Mapping[str, Any]) -> list[str]:
    if entry.get("errors"):
        return []
    lines: list[str] = []
    cost = entry.get("cost")
    if cost and cost["items"]:
        body = ["| change | resource | base | head | reason |", "|---|---|---:|---:|---|"]
        for item in cost["items"]:
            urns = "<br>".join(f"`{u}`" for u in item["urns"])
            body.append(
                f"| {item['status']} | {urns} | {usd(item['base_usd'])} | {usd(item['head_usd'])} "
                f"| {_cell(item['reason'])} |"
            )
        lines += _details(f"{env}: monthly cost {money(cost)}", body)
    if entry.get("settings"):
        body = ["| setting | layers | base | head |", "|---|---|---|---|"]
        body += [
            f"| `{s['key']}` | {', '.join(s['layers'])} | `{_cell(s['base'])}` | `{_cell(s['head'])}` |"
            for s in entry["settings"]
        ]
        lines += _details(f"{env}: {len(entry['settings'])} setting(s) changed", body)
    changes = entry.get("resources") or {}
    if changes:
        body = []
        for layer, listed in changes.items():
            body += [f"**{layer}**", "", "| action | resource | type | what changes |", "|---|---|---|---|"]
            for change in listed:
                flags = " **stateful**" if change["stateful"] else ""
                props = "<br>".join(_property(p) for p in change["properties"])
                body.append(f"| {change['action']}{flags} | `{change['name']}` | `{change['type']}` | {props} |")
            body.append("")
        total = sum(len(listed) for listed in changes.values())
        lines += _details(f"{env}: {total} resource change(s)", body)
    findings = entry.get("findings", {})
    body = _finding_lines(findings)
    if body:
        lines += _details(f"{env}: findings new and resolved", body)
    return lines


def _property(prop: Mapping[str, Any]) -> str:
    """One changed input in a table cell: its values (or where they differ), its action and why."""
    if prop.get("detail"):
        values = " ".join(f"`{_cell(line)}`" for line in prop["detail"])
    else:
        values = f"`{_cell(prop['base'])}` → `{_cell(prop['head'])}`"
    return f"`{prop['name']}` {values}: {prop['action']} ({_cell(prop['why'])})"


def _finding_lines(findings: Mapping[str, Any]) -> list[str]:
    body = []
    for state in ("new", "resolved"):
        for v in findings.get("violations", {}).get(state, []):
            body.append(f"- {state}: **{v['level']}** `{v['policy']}` `{v['urn']}`: {v['message']}")
        for f in findings.get("scans", {}).get(state, []):
            body.append(f"- {state}: {f['scanner']} {f['check_id']} `{f['urn']}`: {f['title']}")
    return body


def _repository(document: Mapping[str, Any]) -> list[str]:
    body = _finding_lines(document.get(REPOSITORY, {}).get("findings", {}))
    return _details("repository: findings new and resolved", body) if body else []


def _about(document: Mapping[str, Any]) -> list[str]:
    body = [
        f"The base ({document['base']}) ran its own `stacks/` and `shared/` under this tree's offline runner; this "
        "tree's policy pack, scanners, suppressions and price file judged both sides, so the differences above are "
        "the infrastructure's. Only the stack exports that differ were judged and scanned. How a change is decided "
        "to be an update or a replacement: `docs/diff.md`.",
        "",
    ]
    for env, why in document.get("base_own_runner", {}).items():
        body += [
            f"The base's {env} ran under the base's own offline runner: this tree's could not run it ({why}). "
            "Merge the base into this branch to compare under one runner.",
            "",
        ]
    if document.get("tooling_changed"):
        body += [
            "**This change also edits what judges both sides**, so its effect does not show as a difference here "
            "(`make check` on this tree shows the new verdicts): "
            + ", ".join(f"`{path}`" for path in document["tooling_changed"]),
            "",
        ]
    if document.get("sources"):
        body += ["Sources of the update/replace decisions above:", ""]
        body += [f"- `{key}`: {text}" for key, text in document["sources"].items()]
    return _details("How this diff was made", body)


def terminal(document: Mapping[str, Any]) -> list[str]:
    """The summary ``make diff`` ends with: one column per environment, then what stands out."""
    envs = _envs(document)
    summary = document["summary"]["environments"]
    names = list(envs)
    width = max([12, *(len(n) for n in names)])

    def row(label: str, values: Iterable[str]) -> str:
        return f"  {label:<28}" + "".join(f"{value:>{width + 2}}" for value in values)

    def shown(env: str, key: str) -> str:
        return "-" if envs[env].get("errors") else str(summary[env][key])

    def cost(env: str, key: str) -> str:
        found = envs[env].get("cost")
        if not found:
            return "-"
        return signed_usd(found[key]) if key == "delta_usd" else usd(found[key])

    lines = [f"diff: {document['base']} → {document['head']}", row("", names)]
    lines.append(row("cost per month (base)", (cost(e, "base_usd") for e in names)))
    lines.append(row("cost per month (head)", (cost(e, "head_usd") for e in names)))
    lines.append(row("cost change", (cost(e, "delta_usd") for e in names)))
    if "resources" in document["parts"]:
        for action in ACTIONS:
            values = (str(summary[e]["counts"].get(action, "-")) if not envs[e].get("errors") else "-" for e in names)
            lines.append(row(f"resources {ACTION_WORDS[action]}", values))
        lines.append(row("stateful replaced/removed", (shown(e, "stateful_changes") for e in names)))
    if "findings" in document["parts"]:
        lines.append(row("new findings", (shown(e, "new_findings") for e in names)))
        lines.append(row("  of them mandatory", (shown(e, "new_mandatory") for e in names)))
        lines.append(row("resolved findings", (shown(e, "resolved_findings") for e in names)))
    for env, entry in envs.items():
        for item in (entry.get("cost") or {}).get("items", []):
            lines.append(f"  {env}: {item['reason']}  ({', '.join(item['urns'])})")
    return lines


def verdict_lines(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What fails or stands out, one line each with its status word, then the verdict."""
    lines = []
    for text, failing in standouts(document):
        plain = text.replace("**", "").replace("`", "")
        lines.append((f"{'FAIL' if failing else 'warn'} {plain}", "FAIL" if failing else "warn"))
    lines.append(("diff passed: nothing new fails", "ok") if document["ok"] else ("diff FAILED", "FAIL"))
    return lines
