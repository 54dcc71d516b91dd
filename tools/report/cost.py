"""Monthly cost estimate of one environment from its stack exports: ``rules.yaml`` says how each resource type is
priced, ``prices.yaml`` gives the prices per region and the usage assumptions per environment (docs/cost.md).

FinFocus (formerly pulumicost) estimates from ``pulumi preview --json``; this works on stack exports, which both
``pulumi stack export`` and our offline preview (``make preview``) write, so the estimate needs no cloud access.
A resource no rule prices, and every line of a region the price file has no prices for, is listed as *not
priced*, never as $0, never at another region's price and never as an exception: the total is then a lower bound.

    python -m tools.report.cost build --env dev            # line items from build/dev/*.json
    python -m tools.report.cost build --env prod --json    # the CostEstimate as JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from shared import yamlio
from tools.report.cost_formulas import FORMULAS
from tools.stack_export import LAYERS, ExportError, Resource, load_layers, walk

HERE = Path(__file__).resolve().parent
DEFAULT_PRICES, DEFAULT_RULES, DEFAULT_BUILD = HERE / "prices.yaml", HERE / "rules.yaml", HERE.parent.parent / "build"
NOT_PRICED = "not priced: no rule in tools/report/rules.yaml prices this type or configuration yet"


class CostError(ValueError):
    """The estimate cannot be made honestly: a bad price file, a missing price or assumption, an unknown type."""


class PriceFileError(CostError):
    """The price or rule file is malformed; the message names the key path."""


class MissingPriceError(CostError):
    """A resource needs a price the file does not give for a region it prices."""


class MissingAssumptionError(CostError):
    """A usage-driven line needs an assumption the file does not give for the environment."""


class UnsupportedConfigurationError(CostError):
    """A resource is configured in a way the estimator does not price (it would otherwise under-count)."""


@dataclass(frozen=True)
class Price:
    """One on-demand list price as the price file gives it."""

    key: str
    """The estimator's key, e.g. ``ec2.instance_hour.t3.micro``."""
    value: float
    """USD per unit."""
    unit: str
    """What one unit is, e.g. ``USD per instance-hour``."""
    source: str
    """The AWS pricing page the price belongs to."""
    read: datetime.date
    """When the price was read."""
    note: str = ""
    """Why the value is not simply the region's list price as read, when it is not (empty otherwise)."""


@dataclass(frozen=True)
class Assumption:
    """One usage-driven quantity for an environment, with the reason for its value."""

    key: str
    """The estimator's key, e.g. ``api_requests_per_month``."""
    value: float
    unit: str
    """The quantity's unit, e.g. ``requests/month``."""
    reason: str
    """One line on where the value comes from."""


@dataclass(frozen=True)
class PriceBook:
    """The parsed price file."""

    hours_per_month: float
    """Hours billed for an always-on resource in a month (730)."""
    prices: Mapping[str, Mapping[str, Price]]
    """``{region: {key: Price}}``."""
    assumptions: Mapping[str, Mapping[str, Assumption]]
    """``{environment: {key: Assumption}}``."""


@dataclass(frozen=True)
class Usage:
    """A monthly quantity of one price, with what uses it: a line of the estimate before it is priced."""

    layer: str
    """The layer of the resources (``+``-joined when a usage line spans layers)."""
    urns: tuple[str, ...]
    """The resources the line prices."""
    resource_type: str
    """Their Pulumi type token."""
    description: str
    """What is priced, in words."""
    quantity: float
    """How many units a month."""
    unit: str
    """The quantity's unit, e.g. ``instance-hours``."""
    price_key: str
    """The price file key it is priced at."""
    assumptions: tuple[str, ...]
    """The usage assumptions the quantity depends on (empty when it comes from the exports alone)."""


@dataclass(frozen=True)
class LineItem(Usage):
    """One priced line of the estimate."""

    unit_price_usd: float
    """USD per unit, from the price file."""
    price_unit: str
    """The price file's unit text for ``unit_price_usd``."""
    monthly_usd: float
    """``quantity * unit_price_usd``."""
    source: str
    """The AWS pricing page of the price."""


@dataclass(frozen=True)
class UnpricedResource:
    """A custom resource that has no line of its own, and why."""

    layer: str
    """The layer whose export holds the resource."""
    urn: str
    resource_type: str
    """The Pulumi type token."""
    reason: str
    """Why it has no line: free of charge, billed on another line, or not priced (no rule for it)."""

    @property
    def urns(self) -> tuple[str, ...]:
        return (self.urn,)


Line = Usage | UnpricedResource


@dataclass(frozen=True)
class CostEstimate:
    """The monthly estimate of one environment."""

    environment: str
    """The environment (the stack name in the URNs)."""
    region: str
    """The AWS region, from the exports' aws provider."""
    hours_per_month: float
    """Hours per month used for always-on resources."""
    line_items: tuple[LineItem, ...]
    """Every priced line, in layer order, largest first."""
    total: float
    """The sum of the line items, USD per month."""
    assumptions: tuple[Assumption, ...]
    """The usage assumptions the lines used."""
    excluded: tuple[str, ...]
    """What the estimate leaves out, and why."""
    unpriced: tuple[UnpricedResource, ...]
    """Resources without a line of their own (free, or billed on another line)."""
    price_notes: tuple[tuple[str, str], ...]
    """``(price key, note)`` for every price used whose value is not the region's list price as read."""
    not_priced: tuple[UnpricedResource, ...] = ()
    """Resources no rule prices: the total leaves them out, so it is a lower bound."""
    not_priced_lines: tuple[Usage, ...] = ()
    """Lines of a region the price file has no prices for: the total leaves them out, so it is a lower bound."""

    def by_layer(self) -> dict[str, float]:
        """Monthly USD per layer (a line spanning layers counts under its joined name)."""
        totals: dict[str, float] = {}
        for item in self.line_items:
            totals[item.layer] = totals.get(item.layer, 0.0) + item.monthly_usd
        return totals

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: amounts rounded to a hundredth of a cent."""

        def plain(value: Any, **changes: Any) -> dict[str, Any]:
            fields = {key: list(v) if isinstance(v, tuple) else v for key, v in dataclasses.asdict(value).items()}
            return {key: v for key, v in {**fields, **changes}.items() if v is not None}

        return {
            "environment": self.environment,
            "region": self.region,
            "hours_per_month": self.hours_per_month,
            "total_usd": round(self.total, 4),
            "by_layer_usd": {layer: round(amount, 4) for layer, amount in self.by_layer().items()},
            "line_items": [plain(item, monthly_usd=round(item.monthly_usd, 4)) for item in self.line_items],
            "assumptions": [plain(a) for a in self.assumptions],
            "excluded": list(self.excluded),
            "unpriced": [plain(u) for u in self.unpriced],
            "price_notes": [{"price_key": key, "note": note} for key, note in self.price_notes],
            "not_priced": [plain(u, reason=None) for u in self.not_priced],  # None: left out
            "not_priced_lines": [plain(usage) for usage in self.not_priced_lines],
        }


def _layer_rank(layer: str) -> tuple[int, str]:
    return (LAYERS.index(layer) if layer in LAYERS else len(LAYERS), layer)


@dataclass(frozen=True)
class Context:
    """What a rule or formula reads, and how it makes its lines."""

    book: PriceBook
    """The parsed price file."""
    region: str
    """The region the prices are looked up in."""
    environment: str
    assumed: Mapping[str, Assumption]
    """The environment's usage assumptions: its class's, under its own."""
    resources: tuple[Resource, ...]
    """Every custom resource of the environment, for formulas that read related resources."""

    @property
    def hours(self) -> float:
        return self.book.hours_per_month

    def of_type(self, type_token: str) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.type == type_token)

    def assumption(self, key: str, why: str) -> Assumption:
        found = self.assumed.get(key)
        if found is None:
            raise MissingAssumptionError(
                f"the price file has no assumption {key!r} for environment {self.environment} or its class "
                f"(needed for {why})"
            )
        return found

    def line(
        self,
        resources: Sequence[Resource],
        description: str,
        quantity: float,
        unit: str,
        key: str,
        assumptions: Sequence[Assumption] = (),
    ) -> Usage:
        """A line item at ``key``'s price; only the usage when the price file has no prices for the region."""
        layer = "+".join(sorted({r.layer for r in resources}, key=_layer_rank))
        urns, used = tuple(r.urn for r in resources), tuple(a.key for a in assumptions)
        usage = Usage(layer, urns, resources[0].type, description, quantity, unit, key, used)
        if self.region not in self.book.prices:
            return usage
        price = self.book.prices[self.region].get(key)
        if price is None:
            raise MissingPriceError(
                f"{resources[0].urn}: the price file has no price {key!r} for region {self.region}; "
                "add it with its source page and read date"
            )
        return LineItem(
            **vars(usage),
            unit_price_usd=price.value,
            price_unit=price.unit,
            monthly_usd=quantity * price.value,
            source=price.source,
        )

    @staticmethod
    def free(resource: Resource, reason: str) -> UnpricedResource:
        """``resource`` has no line of its own, for ``reason``."""
        return UnpricedResource(resource.layer, resource.urn, resource.type, reason)

    @staticmethod
    def required(resource: Resource, name: str) -> Any:
        """The input ``name``, which AWS does not default; a resource without it cannot be priced honestly."""
        if resource.inputs.get(name) is None:
            raise Context.unsupported(resource, f"input {name} is not set in the export")
        return resource.inputs[name]

    @staticmethod
    def unsupported(resource: Resource, why: str) -> UnsupportedConfigurationError:
        return UnsupportedConfigurationError(f"{resource.urn}: {why}, so the resource cannot be priced")


# --- The price and rule files -----------------------------------------------------------------------------------


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((HERE / f"{name}.schema.json").read_text())
    if name == "rules":  # formulas are code: a rule may name only the ones that exist
        schema["$defs"]["line"]["properties"]["formula"]["enum"] = list(FORMULAS)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _validated(name: str, document: Any, origin: str) -> Any:
    """``document`` as JSON (YAML dates as ISO strings) once it matches ``<name>.schema.json``; else every error,
    each naming its key path and the schema's ``errorMessage`` for it."""
    document = json.loads(json.dumps(document, default=str))
    problems = []
    for error in sorted(_validator(name).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        path, schema = [str(p) for p in error.absolute_path], error.schema
        if error.validator == "required":
            missing = [key for key in error.validator_value if key not in error.instance]
            props = schema.get("properties", {})
            text = "; ".join(props.get(key, schema).get("errorMessage", f"{key} is required") for key in missing)
            text += f" (missing {', '.join(missing)})"
        elif error.validator == "additionalProperties" and schema.get("additionalProperties") is False:
            unknown = sorted(set(error.instance) - set(schema["properties"]))
            text = f"unknown key {', '.join(unknown)} (allowed: {', '.join(schema['properties'])})"
        else:
            text = f"{schema.get('errorMessage', error.message)}, got {error.instance!r}"
            text += f" (allowed: {', '.join(map(str, error.validator_value))})" if error.validator == "enum" else ""
        if path and text.startswith(f"{path[-1]} "):
            path = path[:-1]  # the message names its key
        problems.append(f"{origin}: {'.'.join(path) + ': ' if path else ''}{text}")
    if problems:
        raise PriceFileError("\n".join(problems))
    return document


def load_prices(path: Path = DEFAULT_PRICES) -> PriceBook:
    """A price file, its assumption sets checked against the matrix: each is a class's or an environment's."""
    from shared.config import environments

    book = parse_prices(yamlio.load(path.read_text()), origin=path.name)
    known = {name: env.environment_class.name for name, env in environments().items()}
    allowed = [*dict.fromkeys(known.values()), *known]
    unknown = [key for key in book.assumptions if key not in allowed]
    if unknown:
        raise PriceFileError(
            f"{path.name}: assumptions.{unknown[0]} names no environment class or environment of "
            f"shared/environment_matrix.yaml (allowed: {', '.join(allowed)})"
        )
    return book


def parse_prices(document: Any, origin: str = "prices.yaml") -> PriceBook:
    """Validate a parsed price file; a problem raises :class:`PriceFileError` naming the key path."""
    valid = _validated("prices", document, origin)

    def entry(key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        read = {"read": datetime.date.fromisoformat(fields["read"])} if "read" in fields else {}
        return {"key": key, **fields, "value": float(fields["value"]), **read}

    return PriceBook(
        float(valid["hours_per_month"]),
        {region: {k: Price(**entry(k, e)) for k, e in p.items()} for region, p in valid["regions"].items()},
        {env: {k: Assumption(**entry(k, e)) for k, e in a.items()} for env, a in valid["assumptions"].items()},
    )


@functools.cache
def load_rules(path: Path = DEFAULT_RULES) -> Mapping[str, Any]:
    return parse_rules(yamlio.load(path.read_text()), origin=path.name)


def parse_rules(document: Any, origin: str = "rules.yaml") -> Mapping[str, Any]:
    """Validate a parsed rule file; a problem raises :class:`PriceFileError` naming the key path."""
    rules: Mapping[str, Any] = _validated("rules", document, origin)
    return rules


# --- Reading the exports ----------------------------------------------------------------------------------------


def custom_resources(exports: Mapping[str, Mapping[str, Any]]) -> tuple[Resource, ...]:
    """Every provider-managed resource (not the stack, components, providers or stack references)."""
    return tuple(r for r in walk(exports) if r.is_managed)


def _one(kind: str, found: set[str]) -> str:
    if len(found) != 1:
        raise CostError(f"the exports must name exactly one {kind}; found {', '.join(sorted(found)) or 'none'}")
    return found.pop()


def region_of(exports: Mapping[str, Mapping[str, Any]]) -> str:
    """The region of the exports' aws provider(s); every layer must agree."""
    providers = [r for r in walk(exports) if r.type == "pulumi:providers:aws"]
    return _one(
        "aws provider region (aws:region)", {str(r.inputs["region"]) for r in providers if r.inputs.get("region")}
    )


def environment_of(exports: Mapping[str, Mapping[str, Any]]) -> str:
    """The stack name in the exports' URNs (``urn:pulumi:<stack>::...``); every layer must agree."""
    return _one(
        "stack in their URNs",
        {r.stack for r in walk(exports)},
    )


# --- Pricing ----------------------------------------------------------------------------------------------------


def _applies(entry: Mapping[str, Any], resource: Resource) -> bool:
    """Whether a line's ``when`` inputs all match the resource's, and its ``unless`` inputs do not."""

    def equal(wanted: Mapping[str, Any]) -> bool:
        return all(resource.inputs.get(key) == value for key, value in wanted.items())

    return equal(entry.get("when", {})) and not ("unless" in entry and equal(entry["unless"]))


def _data_line(
    entry: Mapping[str, Any], rule: Mapping[str, Any], group: Sequence[Resource], ctx: Context
) -> Line | None:
    """A data line of ``rules.yaml`` for ``group``; ``None`` when it is optional and lacks an assumption."""
    quantity, used = 1.0, []
    for factor in entry["quantity"]:
        if isinstance(factor, int | float):
            quantity *= factor
        elif factor == "hours":
            quantity *= ctx.hours
        elif entry.get("optional") and factor not in ctx.assumed:
            return None
        else:
            used.append(ctx.assumption(factor, f"{entry['description']} ({group[0].urn})"))
            quantity *= used[-1].value
    res = group[0]
    names = {**res.inputs, "name": res.inputs.get("name", res.name), "logical": res.name} if len(group) == 1 else {}
    names["count"] = len(group)
    renamed = {key: rule.get("price_names", {}).get(str(value), str(value).lower()) for key, value in names.items()}
    try:
        description, key = entry["description"].format_map(names), entry["price"].format_map(renamed)
    except KeyError as missing:
        raise ctx.unsupported(res, f"input {missing.args[0]} is not set in the export") from None
    return ctx.line(group, description, quantity / entry.get("divide_by", 1), entry["unit"], key, used)


def _price_type(rule: Mapping[str, Any], group: Sequence[Resource], ctx: Context) -> list[Line]:
    """One type's lines: for each resource its lines and formulas in order, then the per-type lines; a resource
    none of them covers gets the rule's ``otherwise`` reason, or is not priced."""
    if "free" in rule:
        return [ctx.free(res, rule["free"]) for res in group]
    defaults = rule.get("defaults", {})
    group = [
        dataclasses.replace(res, inputs={**defaults, **{k: v for k, v in res.inputs.items() if v is not None}})
        for res in group
    ]
    lines: list[Line] = []
    for res in group:
        for entry in rule["lines"]:
            if entry.get("per") == "type" or not _applies(entry, res):
                continue
            if "formula" in entry:
                lines += FORMULAS[entry["formula"]](res, ctx)
            elif line := _data_line(entry, rule, [res], ctx):
                lines.append(line)
    for entry in (e for e in rule["lines"] if e.get("per") == "type"):
        matching = [res for res in group if _applies(entry, res)]
        if matching and (line := _data_line(entry, rule, matching, ctx)):
            lines.append(line)
    covered = {urn for line in lines for urn in line.urns}
    return lines + [ctx.free(res, rule.get("otherwise", NOT_PRICED)) for res in group if res.urn not in covered]


def _class_of(env: str) -> str:
    from shared.config import environments

    known = environments().get(env)
    return known.environment_class.name if known else ""


def estimate(
    exports: Mapping[str, Mapping[str, Any]],
    prices: PriceBook,
    environment: str | None = None,
    rules: Mapping[str, Any] | None = None,
    environment_class: str | None = None,
) -> CostEstimate:
    """Estimate one environment's monthly cost from ``{layer: parsed stack export}``.

    The region comes from the exports' aws provider, the environment from their URNs unless given. A resource no
    rule prices, and every line when the price file has no prices for the region, is listed as not priced (the
    total leaves it out). A region the file prices but without a price a line needs raises
    :class:`MissingPriceError`; a missing usage assumption raises :class:`MissingAssumptionError`. The usage
    assumptions are the environment class's (``environment_class``, else the matrix's class of the environment),
    with the environment's own set, if the file has one, over them.
    """
    rules = rules or load_rules()
    region, env = region_of(exports), environment or environment_of(exports)
    assumed = {**prices.assumptions.get(environment_class or _class_of(env), {}), **prices.assumptions.get(env, {})}
    ctx = Context(book=prices, region=region, environment=env, assumed=assumed, resources=custom_resources(exports))
    groups: dict[str, list[Resource]] = {}
    for resource in ctx.resources:
        groups.setdefault(resource.type, []).append(resource)
    lines = [
        line
        for type_token, group in groups.items()
        for line in _price_type(rules["types"].get(type_token, {"free": NOT_PRICED}), group, ctx)
    ]
    # Layer order first, then the largest lines first; ties keep the order the rules produced.
    usages = sorted(
        (line for line in lines if isinstance(line, Usage)),
        key=lambda u: (_layer_rank(u.layer.split("+", 1)[0]), -u.monthly_usd if isinstance(u, LineItem) else 0.0),
    )
    items = [usage for usage in usages if isinstance(usage, LineItem)]
    unpriced = [line for line in lines if isinstance(line, UnpricedResource)]
    notes = {item.price_key: prices.prices[region][item.price_key].note for item in items}
    return CostEstimate(
        environment=env,
        region=region,
        hours_per_month=prices.hours_per_month,
        line_items=tuple(items),
        total=sum(item.monthly_usd for item in items),
        assumptions=tuple(assumed[key] for key in dict.fromkeys(k for usage in usages for k in usage.assumptions)),
        excluded=tuple(
            x["text"].format(environment=env) for x in rules["exclusions"] if x.get("unless_assumed") not in assumed
        ),
        unpriced=tuple(u for u in unpriced if u.reason != NOT_PRICED),
        price_notes=tuple((key, note) for key, note in notes.items() if note),
        not_priced=tuple(u for u in unpriced if u.reason == NOT_PRICED),
        not_priced_lines=tuple(usage for usage in usages if not isinstance(usage, LineItem)),
    )


# --- Command line -----------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def render(result: CostEstimate) -> str:
    """A plain-text report: line items, totals per layer, assumptions, exclusions, not-priced lines, price notes."""
    out = [f"Monthly cost estimate: {result.environment} in {result.region} ({result.hours_per_month:g} h/month)", ""]
    width = max((len(item.description) for item in result.line_items), default=20)
    for item in result.line_items:
        out.append(
            f"  {item.layer:<8} {item.description:<{width}}  {_number(item.quantity):>10} {item.unit:<18}"
            f" x {item.unit_price_usd:<12.6g} = ${item.monthly_usd:>9,.2f}"
        )
    out += ["", *(f"  {layer:<10} ${amount:>9,.2f}" for layer, amount in result.by_layer().items())]
    out += [f"  {'total':<10} ${result.total:>9,.2f}", "", "Usage assumptions:"]
    out += [f"  {a.key} = {_number(a.value)} {a.unit}: {a.reason}" for a in result.assumptions]
    out += ["", "Left out:", *(f"  - {text}" for text in result.excluded)]
    if result.not_priced:
        out += ["", "Not priced (no rule for the type yet; the total leaves them out):"]
        out += [f"  {u.resource_type}: {u.urn}" for u in result.not_priced]
    if result.not_priced_lines:
        out += ["", f"Not priced (the price file has no prices for {result.region}; the total leaves them out):"]
        out += [
            f"  {u.layer:<8} {u.description}: {_number(u.quantity)} {u.unit} at {u.price_key}"
            for u in result.not_priced_lines
        ]
    if result.price_notes:
        out += ["", "Price notes (values that are not the region's list price as read):"]
        out += [f"  {key}: {note}" for key, note in result.price_notes]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """``build --env <env>``: estimate from ``build/<env>/*.json`` and print the report (or ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m tools.report.cost", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="estimate one environment from the offline exports")
    build.add_argument("--env", required=True, help="dev, staging or prod")
    build.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD, help="where make preview wrote the exports")
    build.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="the price file")
    build.add_argument("--json", action="store_true", help="print the estimate as JSON")
    args = parser.parse_args(argv)
    try:
        result = estimate(load_layers(args.build_dir, args.env), load_prices(args.prices), args.env)
    except (CostError, ExportError) as error:
        print(f"cost: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
