"""Monthly cost estimate of one environment from its stack exports, priced from ``tools/report/prices.yaml``.

FinFocus (formerly pulumicost) estimates from ``pulumi preview --json``; this works on stack exports, which both
``pulumi stack export`` and our offline preview (``make preview``) write, so the estimate needs no cloud access.

Every custom resource in the exports is classified: either a handler prices it (possibly as zero lines, for
example a gateway endpoint) or it is in :data:`NO_CHARGE` with the reason it costs nothing by itself. A type in
neither is listed as *not priced*, never as $0 and never as an exception: the report names it and the total is
marked a lower bound, so a missing price can never block ``make check`` (or the deploy it gates).
Prices and usage assumptions come only from the price file; nothing here names a region or a dollar figure.

    python -m tools.report.cost build --env dev            # line items from build/dev/*.json
    python -m tools.report.cost build --env prod --json    # the CostEstimate as JSON
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from tools.report.exports import load_exports

DEFAULT_PRICES = Path(__file__).resolve().with_name("prices.yaml")
DEFAULT_BUILD = Path(__file__).resolve().parent.parent.parent / "build"
# AWS bills "GB" of storage and transfer in binary gigabytes.
GIB = 1024**3
# The order the report lists layers in; layers not named here follow in name order.
LAYER_ORDER = ("network", "data", "compute", "edge")
LOG_INGESTION_KEY = "log_ingestion_gb_per_month"


class CostError(ValueError):
    """The estimate cannot be made honestly: a bad price file, a missing price or assumption, an unknown type."""


class PriceFileError(CostError):
    """The price file is malformed; the message names the offending key."""


class MissingPriceError(CostError):
    """A resource needs a price the file does not give for the region."""


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
    """The quantity."""
    unit: str
    """The quantity's unit, e.g. ``requests/month``."""
    reason: str
    """One line on where the value comes from."""


@dataclass(frozen=True)
class PriceBook:
    """The parsed price file: prices per region and usage assumptions per environment."""

    hours_per_month: float
    """Hours billed for an always-on resource in a month (730)."""
    prices: Mapping[str, Mapping[str, Price]]
    """``{region: {key: Price}}``."""
    assumptions: Mapping[str, Mapping[str, Assumption]]
    """``{environment: {key: Assumption}}``."""


@dataclass(frozen=True)
class ExportResource:
    """A custom resource of a stack export, with the layer whose export holds it."""

    layer: str
    """The layer (network, data, compute, edge) whose export holds the resource."""
    urn: str
    """The resource URN."""
    type: str
    """The Pulumi type token, e.g. ``aws:ec2/instance:Instance``."""
    inputs: Mapping[str, Any]
    """The resource's inputs, with the engine's camelCase property names."""


@dataclass(frozen=True)
class LineItem:
    """One priced line of the estimate."""

    layer: str
    """The layer of the priced resources (``+``-joined when a usage line spans layers)."""
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
    unit_price: float
    """USD per unit, from the price file."""
    price_unit: str
    """The price file's unit text for ``unit_price``."""
    monthly_usd: float
    """``quantity * unit_price``."""
    price_key: str
    """The price file key used."""
    source: str
    """The AWS pricing page of the price."""
    assumptions: tuple[str, ...] = ()
    """The usage assumptions the quantity depends on (empty when it comes from the exports alone)."""


@dataclass(frozen=True)
class UnpricedResource:
    """A custom resource that has no line of its own, and why."""

    layer: str
    """The layer whose export holds the resource."""
    urn: str
    """The resource URN."""
    resource_type: str
    """The Pulumi type token."""
    reason: str
    """Why it has no line: free of charge, billed on another line, or left out (see the exclusions)."""


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
    """Every priced line, in layer order."""
    total: float
    """The sum of the line items, USD per month."""
    assumptions: tuple[Assumption, ...]
    """The usage assumptions the line items used, with values, units and reasons."""
    excluded: tuple[str, ...]
    """What the estimate leaves out, and why."""
    unpriced: tuple[UnpricedResource, ...]
    """Resources without a line of their own (free, or billed on another line)."""
    price_notes: tuple[tuple[str, str], ...]
    """``(price key, note)`` for every price used whose value is not the region's list price as read."""
    not_priced: tuple[UnpricedResource, ...] = ()
    """Resources of a type the estimator has no rule for yet: the total leaves them out, so it is a lower bound."""

    def by_layer(self) -> dict[str, float]:
        """Monthly USD per layer (a line spanning layers counts under its joined name)."""
        totals: dict[str, float] = {}
        for item in self.line_items:
            totals[item.layer] = totals.get(item.layer, 0.0) + item.monthly_usd
        return totals

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: amounts rounded to a hundredth of a cent, dates as ISO strings."""
        return {
            "environment": self.environment,
            "region": self.region,
            "hours_per_month": self.hours_per_month,
            "total_usd": round(self.total, 4),
            "by_layer_usd": {layer: round(amount, 4) for layer, amount in self.by_layer().items()},
            "line_items": [
                {
                    "layer": item.layer,
                    "urns": list(item.urns),
                    "resource_type": item.resource_type,
                    "description": item.description,
                    "quantity": item.quantity,
                    "unit": item.unit,
                    "unit_price_usd": item.unit_price,
                    "price_unit": item.price_unit,
                    "monthly_usd": round(item.monthly_usd, 4),
                    "price_key": item.price_key,
                    "source": item.source,
                    "assumptions": list(item.assumptions),
                }
                for item in self.line_items
            ],
            "assumptions": [
                {"key": a.key, "value": a.value, "unit": a.unit, "reason": a.reason} for a in self.assumptions
            ],
            "excluded": list(self.excluded),
            "unpriced": [
                {"layer": u.layer, "urn": u.urn, "resource_type": u.resource_type, "reason": u.reason}
                for u in self.unpriced
            ],
            "price_notes": [{"price_key": key, "note": note} for key, note in self.price_notes],
            "not_priced": [{"layer": u.layer, "urn": u.urn, "resource_type": u.resource_type} for u in self.not_priced],
        }


# --- The price file ---------------------------------------------------------------------------------------------


def load_prices(path: Path = DEFAULT_PRICES) -> PriceBook:
    """Read and validate the price file."""
    return parse_prices(yaml.safe_load(path.read_text()), origin=path.name)


def parse_prices(document: Any, origin: str = "prices.yaml") -> PriceBook:
    """Validate a parsed price file; a problem raises :class:`PriceFileError` naming the key."""
    if not isinstance(document, Mapping):
        raise PriceFileError(f"{origin}: the top level must be a mapping with hours_per_month, regions, assumptions")
    hours = document.get("hours_per_month")
    if not _is_number(hours) or hours <= 0:
        raise PriceFileError(f"{origin}: hours_per_month: must be a positive number, got {hours!r}")
    regions = _mapping(document.get("regions"), origin, "regions")
    prices = {
        str(region): {
            str(key): _price(entry, origin, f"regions.{region}.{key}", str(key))
            for key, entry in _mapping(entries, origin, f"regions.{region}").items()
        }
        for region, entries in regions.items()
    }
    environments = _mapping(document.get("assumptions"), origin, "assumptions")
    assumptions = {
        str(env): {
            str(key): _assumption(entry, origin, f"assumptions.{env}.{key}", str(key))
            for key, entry in _mapping(entries, origin, f"assumptions.{env}").items()
        }
        for env, entries in environments.items()
    }
    return PriceBook(hours_per_month=float(hours), prices=prices, assumptions=assumptions)


def _is_number(value: Any) -> TypeGuard[int | float]:
    # bool is an int in Python; "true" is never a price.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mapping(value: Any, origin: str, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise PriceFileError(f"{origin}: {path}: must be a non-empty mapping")
    return value


def _text(entry: Mapping[str, Any], field: str, origin: str, path: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise PriceFileError(f"{origin}: {path}: {field} must be a non-empty string")
    return value.strip()


def _price(entry: Any, origin: str, path: str, key: str) -> Price:
    if not isinstance(entry, Mapping):
        raise PriceFileError(f"{origin}: {path}: must be a mapping with value, unit, source and read")
    value = entry.get("value")
    if not _is_number(value) or value < 0:
        raise PriceFileError(f"{origin}: {path}: value must be a number >= 0, got {value!r}")
    source = _text(entry, "source", origin, path)
    if not source.startswith("https://"):
        raise PriceFileError(f"{origin}: {path}: source must be the https:// URL of the AWS pricing page")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise PriceFileError(f"{origin}: {path}: note must be a string")
    return Price(
        key=key,
        value=float(value),
        unit=_text(entry, "unit", origin, path),
        source=source,
        read=_date(entry.get("read"), origin, path),
        note=note.strip(),
    )


def _date(value: Any, origin: str, path: str) -> datetime.date:
    # YAML turns an unquoted 2026-11-25 into a date; a quoted one stays a string.
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise PriceFileError(f"{origin}: {path}: read must be the date the price was read (YYYY-MM-DD), got {value!r}")


def _assumption(entry: Any, origin: str, path: str, key: str) -> Assumption:
    if not isinstance(entry, Mapping):
        raise PriceFileError(f"{origin}: {path}: must be a mapping with value, unit and reason")
    value = entry.get("value")
    if not _is_number(value) or value < 0:
        raise PriceFileError(f"{origin}: {path}: value must be a number >= 0, got {value!r}")
    return Assumption(
        key=key,
        value=float(value),
        unit=_text(entry, "unit", origin, path),
        reason=_text(entry, "reason", origin, path),
    )


# --- Reading the exports ----------------------------------------------------------------------------------------


def _all_resources(exports: Mapping[str, Mapping[str, Any]]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for layer, document in exports.items():
        for resource in document.get("deployment", {}).get("resources", []) or []:
            yield layer, resource


def custom_resources(exports: Mapping[str, Mapping[str, Any]]) -> tuple[ExportResource, ...]:
    """Every provider-managed resource (not the stack, components, providers or stack references)."""
    return tuple(
        ExportResource(layer=layer, urn=r["urn"], type=r["type"], inputs=r.get("inputs") or {})
        for layer, r in _all_resources(exports)
        if r.get("custom") and not str(r["type"]).startswith("pulumi:")
    )


def region_of(exports: Mapping[str, Mapping[str, Any]]) -> str:
    """The region of the exports' aws provider(s); every layer must agree."""
    regions = {
        str(r["inputs"]["region"])
        for _, r in _all_resources(exports)
        if r.get("type") == "pulumi:providers:aws" and (r.get("inputs") or {}).get("region")
    }
    if len(regions) != 1:
        found = ", ".join(sorted(regions)) or "none"
        raise CostError(f"the exports must name exactly one aws provider region (aws:region); found {found}")
    return regions.pop()


def environment_of(exports: Mapping[str, Mapping[str, Any]]) -> str:
    """The stack name in the exports' URNs (``urn:pulumi:<stack>::...``); every layer must agree."""
    stacks = {str(r["urn"]).split("::", 1)[0].removeprefix("urn:pulumi:") for _, r in _all_resources(exports)}
    if len(stacks) != 1:
        raise CostError(f"the exports must come from one stack; their URNs name {', '.join(sorted(stacks)) or 'none'}")
    return stacks.pop()


# --- Pricing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every handler reads: the price book, the region and environment, and all resources."""

    book: PriceBook
    """The parsed price file."""
    region: str
    """The region the prices are looked up in."""
    environment: str
    """The environment the usage assumptions are looked up in."""
    resources: tuple[ExportResource, ...]
    """Every custom resource of the environment, for handlers that read related resources."""

    @property
    def hours(self) -> float:
        return self.book.hours_per_month

    def price(self, key: str, resources: Sequence[ExportResource]) -> Price:
        found = self.book.prices.get(self.region, {}).get(key)
        if found is None:
            raise MissingPriceError(
                f"{resources[0].urn}: the price file has no price {key!r} for region {self.region}; "
                "add it with its source page and read date"
            )
        return found

    def assumption(self, key: str, why: str) -> Assumption:
        found = self.book.assumptions.get(self.environment, {}).get(key)
        if found is None:
            raise MissingAssumptionError(
                f"the price file has no assumption {key!r} for environment {self.environment} (needed for {why})"
            )
        return found

    def optional_assumption(self, key: str) -> Assumption | None:
        return self.book.assumptions.get(self.environment, {}).get(key)

    def of_type(self, type_token: str) -> tuple[ExportResource, ...]:
        return tuple(r for r in self.resources if r.type == type_token)


Priced = LineItem | UnpricedResource
Handler = Callable[[Sequence[ExportResource], _Context], list[Priced]]


def _line(
    ctx: _Context,
    resources: Sequence[ExportResource],
    description: str,
    quantity: float,
    unit: str,
    price_key: str,
    assumptions: Sequence[Assumption] = (),
) -> LineItem:
    price = ctx.price(price_key, resources)
    layers = sorted({r.layer for r in resources}, key=_layer_rank)
    return LineItem(
        layer="+".join(layers),
        urns=tuple(r.urn for r in resources),
        resource_type=resources[0].type,
        description=description,
        quantity=quantity,
        unit=unit,
        unit_price=price.value,
        price_unit=price.unit,
        monthly_usd=quantity * price.value,
        price_key=price_key,
        source=price.source,
        assumptions=tuple(a.key for a in assumptions),
    )


def _free(resource: ExportResource, reason: str) -> UnpricedResource:
    return UnpricedResource(layer=resource.layer, urn=resource.urn, resource_type=resource.type, reason=reason)


def _layer_rank(layer: str) -> tuple[int, str]:
    return (LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER), layer)


def _required(resource: ExportResource, *path: str) -> Any:
    value: Any = resource.inputs
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        raise UnsupportedConfigurationError(
            f"{resource.urn}: input {'.'.join(path)} is not set in the export, so the resource cannot be priced"
        )
    return value


def _name(resource: ExportResource) -> str:
    """The resource's logical name (the URN's last segment)."""
    return resource.urn.rsplit("::", 1)[-1]


def _price_ec2_instances(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        instance_type = str(_required(res, "instanceType"))
        lines.append(
            _line(
                ctx,
                [res],
                f"EC2 {instance_type} on-demand, always on",
                ctx.hours,
                "instance-hours",
                f"ec2.instance_hour.{instance_type}",
            )
        )
        volumes = [("root", _required(res, "rootBlockDevice"))]
        volumes += [(str(v.get("deviceName", "data")), v) for v in res.inputs.get("ebsBlockDevices") or []]
        for label, volume in volumes:
            volume_type = volume.get("volumeType")
            size = volume.get("volumeSize")
            if volume_type is None or size is None:
                raise UnsupportedConfigurationError(
                    f"{res.urn}: the {label} volume needs volumeType and volumeSize in the export to be priced"
                )
            lines.append(
                _line(
                    ctx,
                    [res],
                    f"EBS {volume_type} {label} volume, {size} GiB",
                    float(size),
                    "GB-months",
                    f"ebs.{volume_type}.gb_month",
                )
            )
            # gp3 includes 3,000 IOPS and 125 MB/s; anything above is billed per provisioned unit.
            if volume_type == "gp3" and int(volume.get("iops") or 3000) > 3000:
                extra = int(volume["iops"]) - 3000
                lines.append(
                    _line(ctx, [res], f"gp3 IOPS above 3,000 ({label})", extra, "IOPS-months", "ebs.gp3.iops_month")
                )
            if volume_type == "gp3" and int(volume.get("throughput") or 125) > 125:
                extra = int(volume["throughput"]) - 125
                lines.append(
                    _line(
                        ctx,
                        [res],
                        f"gp3 throughput above 125 MB/s ({label})",
                        extra,
                        "MBps-months",
                        "ebs.gp3.throughput_month",
                    )
                )
        if res.inputs.get("monitoring"):
            metrics = ctx.assumption("ec2_detailed_monitoring_metrics", f"detailed monitoring on {res.urn}")
            lines.append(
                _line(
                    ctx,
                    [res],
                    "EC2 detailed monitoring (1-minute metrics)",
                    metrics.value,
                    "metric-months",
                    "cloudwatch.metric_month",
                    [metrics],
                )
            )
        if res.inputs.get("associatePublicIpAddress"):
            lines.append(_line(ctx, [res], "Public IPv4 address", ctx.hours, "address-hours", "vpc.public_ipv4_hour"))
    return lines


def _price_rds_instances(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        engine = str(_required(res, "engine"))
        instance_class = str(_required(res, "instanceClass"))
        # Multi-AZ runs a standby in a second AZ: its instance-hours and its storage are billed too.
        copies = 2 if res.inputs.get("multiAz") else 1
        deployment = "Multi-AZ (primary + standby)" if copies == 2 else "Single-AZ"
        lines.append(
            _line(
                ctx,
                [res],
                f"RDS {engine} {instance_class}, {deployment}",
                ctx.hours * copies,
                "DB instance-hours",
                f"rds.{engine}.instance_hour.{instance_class}",
            )
        )
        storage_type = str(res.inputs.get("storageType") or "gp2")
        storage = float(_required(res, "allocatedStorage"))
        lines.append(
            _line(
                ctx,
                [res],
                f"RDS {storage_type} storage, {storage:g} GiB x {copies}",
                storage * copies,
                "GB-months",
                f"rds.storage.{storage_type}.gb_month",
            )
        )
        if storage_type == "gp3" and int(res.inputs.get("iops") or 3000) > 3000:
            extra = (int(res.inputs["iops"]) - 3000) * copies
            lines.append(
                _line(ctx, [res], "RDS gp3 IOPS above 3,000", extra, "IOPS-months", "rds.storage.gp3.iops_month")
            )
        # Performance Insights (now Database Insights Standard) keeps 7 days free; longer retention is per vCPU.
        if (
            res.inputs.get("performanceInsightsEnabled")
            and int(res.inputs.get("performanceInsightsRetentionPeriod") or 7) > 7
        ):
            raise UnsupportedConfigurationError(
                f"{res.urn}: Performance Insights retention above 7 days is billed per vCPU; the estimator "
                "does not price it yet"
            )
        if res.inputs.get("manageMasterUserPassword"):
            lines.append(
                _line(
                    ctx,
                    [res],
                    "Secrets Manager secret RDS creates for the master password",
                    1.0,
                    "secret-months",
                    "secretsmanager.secret_month",
                )
            )
    return lines


def _price_vpc_endpoints(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    interface: list[ExportResource] = []
    for res in group:
        kind = str(res.inputs.get("vpcEndpointType") or "Gateway")
        service = str(res.inputs.get("serviceName", "")).removeprefix(f"com.amazonaws.{ctx.region}.")
        if kind == "Gateway":
            lines.append(_free(res, f"gateway endpoint ({service}): no hourly or data charge"))
            continue
        if kind != "Interface":
            # Gateway Load Balancer and resource endpoints have their own meters; the file must name them.
            lines.append(
                _line(
                    ctx,
                    [res],
                    f"{kind} endpoint {service}",
                    ctx.hours,
                    "endpoint-hours",
                    f"vpc.{kind.lower()}_endpoint_hour",
                )
            )
            continue
        # An interface endpoint puts one network interface in each subnet, one subnet per AZ; each is billed.
        azs = len(set(res.inputs.get("subnetIds") or []))
        if azs == 0:
            raise UnsupportedConfigurationError(f"{res.urn}: interface endpoint without subnetIds in the export")
        interface.append(res)
        lines.append(
            _line(
                ctx,
                [res],
                f"Interface endpoint {service} x {azs} AZ{'s' if azs > 1 else ''}",
                ctx.hours * azs,
                "endpoint-AZ-hours",
                "vpc.interface_endpoint_hour",
            )
        )
    if interface:
        gb = ctx.assumption("endpoint_gb_processed_per_month", "interface endpoint data processing")
        lines.append(
            _line(
                ctx,
                interface,
                "Data processed by interface endpoints",
                gb.value,
                "GB",
                "vpc.interface_endpoint_gb",
                [gb],
            )
        )
    return lines


def _price_lambda_functions(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        invocations = ctx.assumption("lambda_invocations_per_month", f"Lambda requests of {res.urn}")
        duration = ctx.assumption("lambda_avg_duration_seconds", f"Lambda duration of {res.urn}")
        memory_mb = float(res.inputs.get("memorySize") or 128)
        architecture = str((res.inputs.get("architectures") or ["x86_64"])[0])
        ephemeral_mb = float((res.inputs.get("ephemeralStorage") or {}).get("size") or 512)
        lines.append(
            _line(
                ctx,
                [res],
                f"Lambda {_name(res)} requests",
                invocations.value / 1e6,
                "million requests",
                "lambda.requests_million",
                [invocations],
            )
        )
        gb_seconds = invocations.value * duration.value * memory_mb / 1024
        lines.append(
            _line(
                ctx,
                [res],
                f"Lambda {_name(res)} duration, {memory_mb:g} MB {architecture}",
                gb_seconds,
                "GB-seconds",
                f"lambda.gb_second.{architecture}",
                [invocations, duration],
            )
        )
        if ephemeral_mb > 512:
            extra = invocations.value * duration.value * (ephemeral_mb - 512) / 1024
            lines.append(
                _line(
                    ctx,
                    [res],
                    "Lambda ephemeral storage above 512 MB",
                    extra,
                    "GB-seconds",
                    "lambda.ephemeral_gb_second",
                    [invocations, duration],
                )
            )
        if (res.inputs.get("tracingConfig") or {}).get("mode") == "Active":
            fraction = ctx.assumption("xray_traced_fraction", f"X-Ray active tracing on {res.urn}")
            traces = invocations.value * fraction.value
            lines.append(
                _line(
                    ctx,
                    [res],
                    f"X-Ray traces recorded for {_name(res)}",
                    traces / 1e6,
                    "million traces",
                    "xray.traces_million",
                    [invocations, fraction],
                )
            )
    return lines


def _price_sqs_queues(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    requests = ctx.assumption("sqs_requests_per_month", "SQS requests")
    fifo = any(res.inputs.get("fifoQueue") for res in group)
    key = "sqs.fifo_requests_million" if fifo else "sqs.standard_requests_million"
    return [
        _line(
            ctx,
            group,
            f"SQS requests across {len(group)} queue(s)",
            requests.value / 1e6,
            "million requests",
            key,
            [requests],
        )
    ]


def _price_secrets(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        # Each replica region stores (and bills) another copy of the secret.
        copies = 1 + len(res.inputs.get("replicas") or [])
        lines.append(
            _line(
                ctx,
                [res],
                f"Secret {res.inputs.get('name', _name(res))}",
                float(copies),
                "secret-months",
                "secretsmanager.secret_month",
            )
        )
    calls = ctx.assumption("secrets_api_calls_per_month", "Secrets Manager API calls")
    lines.append(
        _line(
            ctx,
            group,
            "Secrets Manager API calls",
            calls.value / 1e4,
            "10,000 calls",
            "secretsmanager.api_calls_10k",
            [calls],
        )
    )
    return lines


def _price_s3_buckets(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    prefix = "s3_gb_stored."
    roles = [
        key.removeprefix(prefix) for key in ctx.book.assumptions.get(ctx.environment, {}) if key.startswith(prefix)
    ]
    for res in group:
        # The bucket's role is the end of its logical name: student-helper-dev-documents -> documents.
        matches = sorted((role for role in roles if _name(res).endswith(f"-{role}")), key=len, reverse=True)
        if not matches:
            raise MissingAssumptionError(
                f"{res.urn}: no s3_gb_stored.<role> assumption for environment {ctx.environment} matches bucket "
                f"{_name(res)} (have: {', '.join(sorted(roles)) or 'none'})"
            )
        stored = ctx.assumption(prefix + matches[0], f"S3 storage of {res.urn}")
        lines.append(
            _line(
                ctx,
                [res],
                f"S3 Standard storage, {matches[0]} bucket",
                stored.value,
                "GB-months",
                "s3.standard.gb_month",
                [stored],
            )
        )
    puts = ctx.assumption("s3_put_requests_per_month", "S3 PUT requests")
    gets = ctx.assumption("s3_get_requests_per_month", "S3 GET requests")
    lines.append(
        _line(
            ctx,
            group,
            "S3 PUT, COPY, POST and LIST requests",
            puts.value / 1e3,
            "1,000 requests",
            "s3.standard.put_requests_1k",
            [puts],
        )
    )
    lines.append(
        _line(
            ctx,
            group,
            "S3 GET and other requests",
            gets.value / 1e3,
            "1,000 requests",
            "s3.standard.get_requests_1k",
            [gets],
        )
    )
    return lines


def _price_vector_indexes(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        dimension = int(_required(res, "dimension"))
        if str(res.inputs.get("dataType", "float32")) != "float32":
            raise UnsupportedConfigurationError(f"{res.urn}: only float32 vectors are priced")
        stored = ctx.assumption("vectors_stored", f"S3 Vectors storage of {res.urn}")
        metadata = ctx.assumption("vector_metadata_bytes", f"S3 Vectors vector size of {res.urn}")
        written = ctx.assumption("vectors_written_per_month", f"S3 Vectors PUTs of {res.urn}")
        queries = ctx.assumption("vector_queries_per_month", f"S3 Vectors queries of {res.urn}")
        # The dimension comes from the export: 4 bytes per float32 component, plus key and metadata.
        bytes_per_vector = dimension * 4 + metadata.value
        lines.append(
            _line(
                ctx,
                [res],
                f"S3 Vectors storage, {stored.value:,.0f} x {dimension}-d vectors",
                stored.value * bytes_per_vector / GIB,
                "GB-months",
                "s3vectors.storage_gb_month",
                [stored, metadata],
            )
        )
        lines.append(
            _line(
                ctx,
                [res],
                "S3 Vectors PUT (logical GB written)",
                written.value * bytes_per_vector / GIB,
                "GB",
                "s3vectors.put_gb",
                [written, metadata],
            )
        )
        lines.append(
            _line(
                ctx,
                [res],
                "S3 Vectors QueryVectors calls",
                queries.value / 1e6,
                "million calls",
                "s3vectors.query_million",
                [queries],
            )
        )
    return lines


def _ecr_images_kept(repo: ExportResource, ctx: _Context) -> tuple[float, Assumption | None]:
    """How many images a repository keeps: its lifecycle rule's count, else an assumption."""
    counts: list[int] = []
    for policy in ctx.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        if policy.inputs.get("repository") != repo.inputs.get("name"):
            continue
        try:
            rules = json.loads(str(policy.inputs.get("policy") or "{}")).get("rules", [])
        except json.JSONDecodeError:
            rules = []
        counts += [
            int(rule["selection"]["countNumber"])
            for rule in rules
            if rule.get("selection", {}).get("countType") == "imageCountMoreThan"
        ]
    if counts:
        return float(max(counts)), None
    kept = ctx.assumption("ecr_images_retained", f"{repo.urn} (no lifecycle rule bounds its image count)")
    return kept.value, kept


def _price_ecr_repositories(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    size = ctx.assumption("ecr_image_gb", "ECR storage")
    for res in group:
        images, kept = _ecr_images_kept(res, ctx)
        used = [size] if kept is None else [size, kept]
        lines.append(
            _line(
                ctx,
                [res],
                f"ECR storage, {images:g} images kept ({res.inputs.get('name', _name(res))})",
                images * size.value,
                "GB-months",
                "ecr.storage_gb_month",
                used,
            )
        )
    return lines


def _price_distributions(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    # PriceClass_100 serves only from North American and European edges, so viewers anywhere are billed there.
    zones = {"PriceClass_100": "na_eu"}
    for res in group:
        price_class = str(res.inputs.get("priceClass") or "PriceClass_All")
        zone = zones.get(price_class, price_class.lower())
        gb = ctx.assumption("cloudfront_gb_out_per_month", f"CloudFront transfer of {res.urn}")
        requests = ctx.assumption("cloudfront_requests_per_month", f"CloudFront requests of {res.urn}")
        lines.append(
            _line(
                ctx,
                [res],
                f"CloudFront data transfer out ({price_class})",
                gb.value,
                "GB",
                f"cloudfront.data_out_gb.{zone}",
                [gb],
            )
        )
        lines.append(
            _line(
                ctx,
                [res],
                f"CloudFront HTTPS requests ({price_class})",
                requests.value / 1e4,
                "10,000 requests",
                f"cloudfront.https_requests_10k.{zone}",
                [requests],
            )
        )
    return lines


def _price_http_apis(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        protocol = str(res.inputs.get("protocolType") or "HTTP")
        requests = ctx.assumption("api_requests_per_month", f"API Gateway requests of {res.urn}")
        key = "apigateway.http_requests_million" if protocol == "HTTP" else f"apigateway.{protocol.lower()}_million"
        lines.append(
            _line(
                ctx,
                [res],
                f"API Gateway {protocol} API requests",
                requests.value / 1e6,
                "million requests",
                key,
                [requests],
            )
        )
    return lines


def _price_api_stages(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    routes = ctx.of_type("aws:apigatewayv2/route:Route")
    for res in group:
        if not (res.inputs.get("defaultRouteSettings") or {}).get("detailedMetricsEnabled"):
            lines.append(_free(res, "stages have no charge; requests are billed on the API"))
            continue
        count = sum(1 for route in routes if route.inputs.get("apiId") == res.inputs.get("apiId"))
        per_route = ctx.assumption("apigw_detailed_metrics_per_route", f"detailed metrics on {res.urn}")
        lines.append(
            _line(
                ctx,
                [res],
                f"API Gateway detailed metrics, {count} route(s)",
                count * per_route.value,
                "metric-months",
                "cloudwatch.metric_month",
                [per_route],
            )
        )
    return lines


def _price_cloud_map_instances(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    return [
        _line(
            ctx,
            [res],
            f"Cloud Map registered instance {_name(res)}",
            1.0,
            "instance-months",
            "cloudmap.registered_resource_month",
        )
        for res in group
    ]


def _price_cloud_map_services(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    calls = ctx.assumption("cloudmap_discovery_calls_per_month", "Cloud Map discovery calls")
    return [
        _line(
            ctx,
            group,
            "Cloud Map DiscoverInstances calls (API Gateway private integration)",
            calls.value / 1e6,
            "million calls",
            "cloudmap.discovery_calls_million",
            [calls],
        )
    ]


def _price_log_groups(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    ingestion = ctx.optional_assumption(LOG_INGESTION_KEY)
    if ingestion is None:
        return [_free(res, f"log ingestion left out: {LOG_INGESTION_KEY} is not configured") for res in group]
    return [
        _line(
            ctx,
            group,
            f"CloudWatch Logs ingestion across {len(group)} log group(s)",
            ingestion.value,
            "GB",
            "cloudwatch.logs_ingest_gb",
            [ingestion],
        )
    ]


def _price_ssm_parameters(group: Sequence[ExportResource], ctx: _Context) -> list[Priced]:
    lines: list[Priced] = []
    for res in group:
        if str(res.inputs.get("tier") or "Standard") == "Standard":
            lines.append(_free(res, "Standard-tier parameters are free"))
        else:
            lines.append(
                _line(
                    ctx,
                    [res],
                    f"SSM {res.inputs.get('tier')} parameter",
                    1.0,
                    "parameter-months",
                    "ssm.advanced_parameter_month",
                )
            )
    return lines


PRICED: Mapping[str, Handler] = {
    "aws:ec2/instance:Instance": _price_ec2_instances,
    "aws:rds/instance:Instance": _price_rds_instances,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _price_vpc_endpoints,
    "aws:lambda/function:Function": _price_lambda_functions,
    "aws:sqs/queue:Queue": _price_sqs_queues,
    "aws:secretsmanager/secret:Secret": _price_secrets,
    "aws:s3/bucket:Bucket": _price_s3_buckets,
    "aws:s3/vectorsIndex:VectorsIndex": _price_vector_indexes,
    "aws:ecr/repository:Repository": _price_ecr_repositories,
    "aws:cloudfront/distribution:Distribution": _price_distributions,
    "aws:apigatewayv2/api:Api": _price_http_apis,
    "aws:apigatewayv2/stage:Stage": _price_api_stages,
    "aws:servicediscovery/instance:Instance": _price_cloud_map_instances,
    "aws:servicediscovery/service:Service": _price_cloud_map_services,
    "aws:cloudwatch/logGroup:LogGroup": _price_log_groups,
    "aws:ssm/parameter:Parameter": _price_ssm_parameters,
}
"""Types a handler prices; a handler may still answer "no charge" for some configurations."""

NOT_PRICED = "not priced: the estimator has no rule for this type yet (add a handler and its prices)"
NO_CHARGE: Mapping[str, str] = {
    "aws:ec2/vpc:Vpc": "VPCs have no charge",
    "aws:ec2/subnet:Subnet": "subnets have no charge",
    "aws:ec2/routeTable:RouteTable": "route tables have no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route table associations have no charge",
    "aws:ec2/securityGroup:SecurityGroup": "security groups have no charge",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups have no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security group rules have no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security group rules have no charge",
    "aws:ec2/flowLog:FlowLog": "billed as CloudWatch Logs (vended) ingestion: see the log line or the exclusions",
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM has no charge",
    "aws:iam/instanceProfile:InstanceProfile": "IAM has no charge",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings have no charge",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings have no charge",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "SSE-S3 encryption has no charge"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "noncurrent versions are counted in the bucket's stored GB",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "expiration rules have no charge",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket policies have no charge",
    "aws:s3/bucketLogging:BucketLogging": "log objects are counted in the access-logs bucket's stored GB",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "bucket settings have no charge",
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": "a vector bucket is a container: its index lines price it",
    "aws:rds/parameterGroup:ParameterGroup": "parameter groups have no charge",
    "aws:rds/subnetGroup:SubnetGroup": "subnet groups have no charge",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "no charge; its kept-image count sizes the repository's storage line",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "repository policies have no charge",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "queue settings have no charge",
    "aws:servicediscovery/httpNamespace:HttpNamespace": "HTTP namespaces have no hosted zone and no charge",
    "aws:ssm/association:Association": "State Manager associations on EC2 have no charge",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "polling is billed as SQS requests on the queue line",
    "aws:apigatewayv2/vpcLink:VpcLink": "HTTP API VPC links have no charge (no load balancer needed)",
    "aws:apigatewayv2/integration:Integration": "integrations have no charge; requests are billed on the API",
    "aws:apigatewayv2/route:Route": "routes have no charge; requests are billed on the API",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "CloudFront settings have no charge",
    "aws:cloudfront/cachePolicy:CachePolicy": "CloudFront settings have no charge",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "CloudFront settings have no charge",
}
"""Types that cost nothing by themselves, with the reason (or where their cost is counted instead)."""

STATIC_EXCLUSIONS: tuple[str, ...] = (
    "Amazon Bedrock model invocations (Claude chat and Titan embedding tokens): priced per token and likely the "
    "largest variable cost; not estimated.",
    "Data transfer out to the internet other than CloudFront (API Gateway responses), cross-AZ traffic and "
    "inter-region transfer.",
    "The AWS Free Tier (Lambda, SQS, CloudFront, X-Ray, CloudWatch, new-account EC2/RDS hours) is not applied, "
    "so small usage lines are upper bounds.",
    "Taxes (Australian GST) and AWS Support plans.",
    "T3/T4g Unlimited surplus CPU credits beyond the instance baseline.",
    "RDS backup storage beyond the free allowance (100% of provisioned storage) and manual snapshots; "
    "Performance Insights / Database Insights Standard with 7-day retention is free.",
    "KMS: only AWS-managed keys are used (no monthly key fee); their request charges are not priced.",
    "S3 Vectors per-TB query data processing, S3 lifecycle transitions and retrievals.",
    "Route 53 (no hosted zone in the exports) and ACM certificates (free).",
)
"""What every estimate leaves out."""


def _log_exclusion(environment: str) -> str:
    return (
        "CloudWatch Logs ingestion and storage (VPC flow logs, RDS log exports and Enhanced Monitoring, Lambda, "
        f"API access logs, backend container logs): {LOG_INGESTION_KEY} is not configured for {environment} "
        "in prices.yaml."
    )


def estimate(
    exports: Mapping[str, Mapping[str, Any]], prices: PriceBook, environment: str | None = None
) -> CostEstimate:
    """Estimate one environment's monthly cost from ``{layer: parsed stack export}``.

    The region comes from the exports' aws provider, the environment from their URNs unless given. A resource type
    that is neither priced nor free is listed as not priced (the total then leaves it out). Raises
    :class:`MissingPriceError` / :class:`MissingAssumptionError` when the price file lacks what a line needs.
    """
    region = region_of(exports)
    env = environment or environment_of(exports)
    if region not in prices.prices:
        raise MissingPriceError(f"the price file has no prices for region {region}")
    resources = custom_resources(exports)
    ctx = _Context(book=prices, region=region, environment=env, resources=resources)

    groups: dict[str, list[ExportResource]] = {}
    for resource in resources:
        groups.setdefault(resource.type, []).append(resource)
    items: list[LineItem] = []
    unpriced: list[UnpricedResource] = []
    not_priced: list[UnpricedResource] = []
    for type_token, group in groups.items():
        if type_token in NO_CHARGE:
            unpriced += [_free(res, NO_CHARGE[type_token]) for res in group]
            continue
        if type_token not in PRICED:
            not_priced += [_free(res, NOT_PRICED) for res in group]
            continue
        for result in PRICED[type_token](group, ctx):
            if isinstance(result, LineItem):
                items.append(result)
            else:
                unpriced.append(result)
    # Layer order first, then the largest lines first; ties keep the order the handlers produced.
    items.sort(key=lambda item: (_layer_rank(item.layer.split("+", 1)[0]), -item.monthly_usd))

    used_keys = list(dict.fromkeys(key for item in items for key in item.assumptions))
    env_assumptions = prices.assumptions.get(env, {})
    price_notes = {
        item.price_key: prices.prices[region][item.price_key].note
        for item in items
        if prices.prices[region][item.price_key].note
    }
    excluded = list(STATIC_EXCLUSIONS)
    if LOG_INGESTION_KEY not in env_assumptions:
        excluded.insert(1, _log_exclusion(env))
    return CostEstimate(
        environment=env,
        region=region,
        hours_per_month=prices.hours_per_month,
        line_items=tuple(items),
        total=sum(item.monthly_usd for item in items),
        assumptions=tuple(env_assumptions[key] for key in used_keys),
        excluded=tuple(excluded),
        unpriced=tuple(unpriced),
        price_notes=tuple(price_notes.items()),
        not_priced=tuple(not_priced),
    )


# --- Command line -----------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def render(result: CostEstimate) -> str:
    """A plain-text report: line items, totals per layer, assumptions, exclusions and price notes."""
    out = [f"Monthly cost estimate: {result.environment} in {result.region} ({result.hours_per_month:g} h/month)", ""]
    width = max((len(item.description) for item in result.line_items), default=20)
    for item in result.line_items:
        out.append(
            f"  {item.layer:<8} {item.description:<{width}}  {_number(item.quantity):>10} {item.unit:<18}"
            f" x {item.unit_price:<12.6g} = ${item.monthly_usd:>9,.2f}"
        )
    out += ["", *(f"  {layer:<10} ${amount:>9,.2f}" for layer, amount in result.by_layer().items())]
    out += [f"  {'total':<10} ${result.total:>9,.2f}", "", "Usage assumptions:"]
    out += [f"  {a.key} = {_number(a.value)} {a.unit}: {a.reason}" for a in result.assumptions]
    out += ["", "Left out:", *(f"  - {text}" for text in result.excluded)]
    if result.not_priced:
        out += ["", "Not priced (no rule for the type yet; the total leaves them out):"]
        out += [f"  {u.resource_type}: {u.urn}" for u in result.not_priced]
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
        result = estimate(load_exports(args.build_dir, args.env), load_prices(args.prices), args.env)
    except (CostError, FileNotFoundError) as error:
        print(f"cost: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
