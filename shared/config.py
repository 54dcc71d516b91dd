"""Typed, validated stack settings, read once before any resource is registered.

Every layer reads its Pulumi config through :class:`ConfigReader`, which collects *all* problems and raises one
:class:`ConfigError` whose lines each name the stack, the key, the bad value and what is allowed. Defaults per
environment come from ``environment_matrix.yaml`` (the original design's matrix); ``Pulumi.<env>.yaml``
overrides them. No secret value is ever read from config: secrets live in Secrets Manager.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from shared.constants import (
    INTERFACE_ENDPOINT_SERVICES,
    LOG_RETENTION_DAYS_ALLOWED,
    RESERVED_PUBLIC_CIDR,
    SUBNET_CIDRS,
    VPC_CIDR,
)

ENVIRONMENTS: Final[tuple[str, ...]] = ("dev", "staging", "prod")
MATRIX_PATH: Final[Path] = Path(__file__).with_name("environment_matrix.yaml")

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]*xlarge)$")
_RDS_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(micro|small|medium|large|[0-9]*xlarge)$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more config values are invalid; each line names the stack, the key, the value and what is allowed."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack '{stack}': invalid configuration ({len(problems)} problem(s)):\n{lines}")


@cache
def environment_matrix() -> dict[str, dict[str, Any]]:
    """The per-environment defaults, keyed by environment."""
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(MATRIX_PATH.read_text())
    return loaded


class ConfigReader:
    """Reads typed values from one project's config namespace and collects every validation problem.

    ``raw`` maps ``namespace:key`` (and ``aws:region``) to values as the Pulumi CLI passes them: strings, with
    structured values JSON-encoded. Reading records the key, so :meth:`finish` can reject unknown keys (typos).
    """

    def __init__(self, stack: str, namespace: str, raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
        self.stack = stack
        self.namespace = namespace
        self._raw = dict(raw)
        self._defaults = dict(defaults)
        self._read: set[str] = set()
        self.problems: list[str] = []

    def add_defaults(self, defaults: Mapping[str, Any]) -> None:
        """Use ``defaults`` for keys that neither the stack config nor earlier defaults set."""
        self._defaults = {**defaults, **self._defaults}

    def _key(self, key: str) -> str:
        return key if ":" in key else f"{self.namespace}:{key}"

    def problem(self, key: str, value: Any, allowed: str) -> None:
        """Record that ``key`` has ``value``, which is not ``allowed``."""
        self.problems.append(f"{self._key(key)} = {value!r} is invalid: allowed {allowed}")

    def _value(self, key: str, default: Any) -> tuple[Any, bool]:
        full = self._key(key)
        self._read.add(full)
        if full in self._raw:
            return self._raw[full], True
        short = key.split(":")[-1]
        if ":" not in key and short in self._defaults:
            return self._defaults[short], False
        return default, False

    def _typed(self, key: str, default: T | None, parse: Callable[[Any], T], allowed: str, required: bool) -> T | None:
        value, _ = self._value(key, default)
        if value is None:
            if required:
                self.problems.append(f"{self._key(key)} is not set: required, {allowed}")
            return None
        try:
            return parse(value)
        except (ValueError, TypeError, json.JSONDecodeError):
            self.problem(key, value, allowed)
            return None

    def string(
        self,
        key: str,
        default: str | None = None,
        *,
        pattern: re.Pattern[str] | None = None,
        choices: Iterable[str] | None = None,
        allowed: str = "a non-empty string",
        required: bool = True,
    ) -> str:
        """A string, optionally matched against ``pattern`` or ``choices``."""
        options = tuple(choices) if choices is not None else None
        if options is not None:
            allowed = "one of " + ", ".join(options)

        def parse(value: Any) -> str:
            text = str(value).strip()
            if not text or (pattern is not None and not pattern.match(text)):
                raise ValueError(text)
            if options is not None and text not in options:
                raise ValueError(text)
            return text

        return self._typed(key, default, parse, allowed, required) or ""

    def optional_string(self, key: str, *, pattern: re.Pattern[str], allowed: str) -> str | None:
        """A string that may be absent; when present it must match ``pattern``."""
        value = self._typed(key, None, lambda v: _match(pattern, str(v).strip()), allowed, required=False)
        return value or None

    def integer(self, key: str, default: int | None = None, *, minimum: int, maximum: int, unit: str = "") -> int:
        """An integer in ``[minimum, maximum]``."""
        allowed = f"an integer from {minimum} to {maximum}{' ' + unit if unit else ''}"
        result = self._typed(key, default, _bounded_int(minimum, maximum), allowed, required=True)
        return result if result is not None else minimum

    def optional_integer(self, key: str, *, minimum: int, maximum: int, unit: str = "") -> int | None:
        """An integer in ``[minimum, maximum]`` that may be absent (None): no default, no matrix entry needed."""
        allowed = f"an integer from {minimum} to {maximum}{' ' + unit if unit else ''}, or unset"
        return self._typed(key, None, _bounded_int(minimum, maximum), allowed, required=False)

    def one_of_ints(self, key: str, default: int | None, choices: Iterable[int], *, unit: str = "") -> int:
        """An integer from a fixed set (for example CloudWatch retention periods)."""
        options = tuple(choices)
        allowed = f"one of {', '.join(str(c) for c in options)}{' ' + unit if unit else ''}"

        def parse(value: Any) -> int:
            number = int(str(value).strip())
            if number not in options:
                raise ValueError(value)
            return number

        result = self._typed(key, default, parse, allowed, required=True)
        return result if result is not None else options[0]

    def boolean(self, key: str, default: bool | None = None) -> bool:
        """A boolean: true or false (the CLI passes them as strings)."""

        def parse(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("true", "false"):
                raise ValueError(value)
            return text == "true"

        return bool(self._typed(key, default, parse, "true or false", required=True))

    def string_list(self, key: str, default: list[str] | None = None, *, allowed: str) -> tuple[str, ...]:
        """A list of strings (a YAML list in the stack file, which the CLI passes as JSON)."""

        def parse(value: Any) -> tuple[str, ...]:
            items = json.loads(value) if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError(value)
            return tuple(items)

        return self._typed(key, tuple(default) if default is not None else None, parse, allowed, required=True) or ()

    def mapping(self, key: str, default: Mapping[str, Any] | None, *, allowed: str) -> dict[str, Any]:
        """An object (a YAML mapping in the stack file, which the CLI passes as JSON)."""

        def parse(value: Any) -> dict[str, Any]:
            items = json.loads(value) if isinstance(value, str) else value
            if not isinstance(items, dict):
                raise ValueError(value)
            return dict(items)

        return self._typed(key, dict(default) if default is not None else None, parse, allowed, required=True) or {}

    def finish(self) -> None:
        """Raise one :class:`ConfigError` for every problem recorded, including keys nobody reads (typos)."""
        unknown = sorted(k for k in self._raw if k.startswith(f"{self.namespace}:") and k not in self._read)
        for key in unknown:
            known = sorted(k.split(":", 1)[1] for k in self._read if k.startswith(f"{self.namespace}:"))
            self.problems.append(f"{key} is not a setting of this layer: allowed keys are {', '.join(known)}")
        if self.problems:
            raise ConfigError(self.stack, self.problems)


def _bounded_int(minimum: int, maximum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(value)
        number = int(str(value).strip())
        if not minimum <= number <= maximum:
            raise ValueError(value)
        return number

    return parse


def _match(pattern: re.Pattern[str], text: str) -> str:
    if not pattern.match(text):
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class SubnetPlan:
    """The VPC CIDR and, per subnet role, one CIDR per AZ index."""

    vpc_cidr: str
    """The VPC's IPv4 block."""
    by_role: Mapping[str, tuple[str, ...]]
    """CIDRs for the roles private, lambda and data, in AZ order."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Settings every layer shares, merged from the environment matrix and the stack's config."""

    stack: str
    """The Pulumi stack name, used in error messages."""
    environment: str
    """dev, staging or prod."""
    region: str
    """The AWS region, from ``aws:region`` (never hard-coded)."""
    owner: str
    """The Owner tag: the team accountable for the stack."""
    domain: str
    """The application's base domain; CloudFront serves it when the edge layer has a certificate for it."""
    ec2_instance_type: str
    """The backend instance type."""
    rds_instance_class: str
    """The PostgreSQL instance class."""
    rds_allocated_storage: int
    """PostgreSQL storage in GiB (gp3, 20 or more)."""
    rds_multi_az: bool
    """Whether PostgreSQL runs with a standby in a second AZ."""
    rds_backup_retention_days: int
    """Automated backup retention, 1 to 35 days."""
    rds_deletion_protection: bool
    """RDS deletion protection."""
    lambda_memory_mb: int
    """Processor Lambda memory."""
    lambda_timeout_seconds: int
    """Processor Lambda timeout; the SQS visibility timeout is derived from it."""
    log_retention_days: int
    """Retention for every log group the stacks create."""
    interface_endpoints: tuple[str, ...]
    """Interface VPC endpoints to create (suffixes of com.amazonaws.<region>.<suffix>)."""
    endpoint_az_count: int
    """How many AZs the private and lambda subnets, and so the interface endpoints, span."""
    subnets: SubnetPlan
    """The CIDR plan."""
    protect_stateful: bool
    """Pulumi ``protect`` (and retain-on-delete where no snapshot covers the data) on stateful resources."""
    rds_final_snapshot: bool
    """Take a final snapshot when the database is deleted."""
    rds_performance_insights: bool
    """Turn on Performance Insights (7-day free retention)."""
    ec2_termination_protection: bool
    """Termination protection on the backend instance."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags from config, merged under the base tags."""

    @property
    def is_production(self) -> bool:
        """True for prod, where validation demands the safeguards (protect, multi-AZ, backups, ...)."""
        return self.environment == "prod"


def read_environment(reader: ConfigReader) -> EnvironmentConfig:
    """Read and validate the shared settings. Problems are recorded on ``reader``; call ``reader.finish()``."""
    environment = reader.string("environment", reader.stack, choices=ENVIRONMENTS)
    reader.add_defaults(environment_matrix().get(environment, {}))

    region = reader.string("aws:region", pattern=_REGION, allowed="an AWS region such as ap-southeast-2")
    owner = reader.string("owner", allowed="the owning team's name, non-empty")
    domain = reader.string("domain", pattern=_DOMAIN, allowed="a lower-case DNS name such as dev.example.com")
    ec2_type = reader.string(
        "ec2_instance_type", pattern=_INSTANCE_TYPE, allowed="an EC2 instance type such as t3.small"
    )
    rds_class = reader.string(
        "rds_instance_class", pattern=_RDS_CLASS, allowed="an RDS instance class such as db.t3.medium"
    )
    storage = reader.integer("rds_allocated_storage", minimum=20, maximum=65536, unit="GiB (gp3 minimum is 20)")
    multi_az = reader.boolean("rds_multi_az")
    backups = reader.integer("rds_backup_retention_days", minimum=1, maximum=35, unit="days")
    deletion_protection = reader.boolean("rds_deletion_protection")
    memory = reader.integer("lambda_memory_mb", minimum=128, maximum=10240, unit="MB")
    timeout = reader.integer("lambda_timeout_seconds", minimum=1, maximum=900, unit="seconds (Lambda maximum)")
    retention = reader.one_of_ints("log_retention_days", None, LOG_RETENTION_DAYS_ALLOWED, unit="days")
    endpoints = reader.string_list(
        "interface_endpoints", allowed="a list drawn from " + ", ".join(INTERFACE_ENDPOINT_SERVICES)
    )
    az_count = reader.integer("endpoint_az_count", minimum=1, maximum=2, unit="AZs")
    vpc_cidr = reader.string("vpc_cidr", VPC_CIDR, allowed="an IPv4 CIDR such as 10.0.0.0/16")
    subnet_override = reader.mapping(
        "subnet_cidrs", {k: list(v) for k, v in SUBNET_CIDRS.items()}, allowed="a mapping role -> list of CIDRs"
    )
    extra_tags = reader.mapping("tags", {}, allowed="a mapping of tag key -> string value")
    safeguards = {
        key: reader.boolean(key)
        for key in ("protect_stateful", "rds_final_snapshot", "rds_performance_insights", "ec2_termination_protection")
    }

    for name in endpoints:
        if name not in INTERFACE_ENDPOINT_SERVICES:
            reader.problem(
                "interface_endpoints", name, "endpoint service names: " + ", ".join(INTERFACE_ENDPOINT_SERVICES)
            )
    if environment == "prod":
        missing = [name for name in INTERFACE_ENDPOINT_SERVICES if name not in endpoints]
        if missing:
            reader.problem(
                "interface_endpoints",
                list(endpoints),
                "in prod: every endpoint the workloads need; missing " + ", ".join(missing),
            )
        if not multi_az:
            reader.problem("rds_multi_az", multi_az, "in prod: true (a single-AZ database is an outage risk)")
        if not deletion_protection:
            reader.problem("rds_deletion_protection", deletion_protection, "in prod: true")
        if backups < 7:
            reader.problem("rds_backup_retention_days", backups, "in prod: 7 to 35 days")
        for key in ("protect_stateful", "rds_final_snapshot", "ec2_termination_protection"):
            if not safeguards[key]:
                reader.problem(key, safeguards[key], "in prod: true (prod data and the instance must survive mistakes)")
    if environment in ("staging", "prod") and az_count < 2:
        reader.problem("endpoint_az_count", az_count, f"in {environment}: 2 (endpoints must survive an AZ loss)")

    plan = _subnet_plan(reader, vpc_cidr, subnet_override, az_count)
    return EnvironmentConfig(
        stack=reader.stack,
        environment=environment,
        region=region,
        owner=owner,
        domain=domain,
        ec2_instance_type=ec2_type,
        rds_instance_class=rds_class,
        rds_allocated_storage=storage,
        rds_multi_az=multi_az,
        rds_backup_retention_days=backups,
        rds_deletion_protection=deletion_protection,
        lambda_memory_mb=memory,
        lambda_timeout_seconds=timeout,
        log_retention_days=retention,
        interface_endpoints=tuple(endpoints),
        endpoint_az_count=az_count,
        subnets=plan,
        **safeguards,
        tags={str(k): str(v) for k, v in extra_tags.items()},
    )


def _subnet_plan(reader: ConfigReader, vpc_cidr: str, override: Mapping[str, Any], az_count: int) -> SubnetPlan:
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr)
    except ValueError:
        reader.problem("vpc_cidr", vpc_cidr, "an IPv4 CIDR such as 10.0.0.0/16")
        return SubnetPlan(vpc_cidr, {k: tuple(v) for k, v in SUBNET_CIDRS.items()})
    problems = subnet_plan_problems(vpc, override, az_count)
    for value, allowed in problems:
        reader.problem("subnet_cidrs", value, allowed)
    return SubnetPlan(vpc_cidr, {role: tuple(override.get(role, ())) for role in SUBNET_CIDRS})


def subnet_plan_problems(
    vpc: ipaddress.IPv4Network, by_role: Mapping[str, Any], az_count: int
) -> list[tuple[Any, str]]:
    """Pure CIDR checks: every role present with enough CIDRs, each inside the VPC, none overlapping."""
    problems: list[tuple[Any, str]] = []
    needed = {"private": az_count, "lambda": az_count, "data": 2}
    seen: list[tuple[str, ipaddress.IPv4Network]] = [("reserved public", ipaddress.IPv4Network(RESERVED_PUBLIC_CIDR))]
    for role in by_role:
        if role not in needed:
            problems.append((role, "subnet roles: " + ", ".join(needed)))
    for role, count in needed.items():
        cidrs = by_role.get(role)
        if not isinstance(cidrs, list | tuple) or len(cidrs) < count:
            problems.append(({role: cidrs}, f"at least {count} CIDR(s) for role '{role}'"))
            continue
        for text in cidrs[:count]:
            try:
                net = ipaddress.IPv4Network(str(text))
            except ValueError:
                problems.append((text, f"an IPv4 CIDR for role '{role}'"))
                continue
            if not net.subnet_of(vpc):
                problems.append((text, f"a CIDR inside the VPC {vpc} for role '{role}'"))
                continue
            clash = next((name for name, other in seen if net.overlaps(other)), None)
            if clash:
                problems.append((text, f"a CIDR for role '{role}' that does not overlap the {clash} subnet"))
            seen.append((f"{role} {text}", net))
    return problems


def pulumi_config_reader() -> ConfigReader:
    """A reader over the running program's config, exactly as the Pulumi CLI passed it."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return ConfigReader(pulumi.get_stack(), pulumi.get_project(), raw, {})
