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
from typing import Any, Final, Literal, TypeVar

from shared import yamlio
from shared.constants import (
    INTERFACE_ENDPOINT_SERVICES,
    LOG_RETENTION_DAYS_ALLOWED,
    PROJECT,
    RESERVED_PUBLIC_CIDR,
    SUBNET_CIDRS,
    VPC_CIDR,
)

MATRIX_PATH: Final[Path] = Path(__file__).with_name("environment_matrix.yaml")

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]*xlarge)$")
_RDS_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(micro|small|medium|large|[0-9]*xlarge)$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}")

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more config values are invalid; each line names the stack, the key, the value and what is allowed."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack '{stack}': invalid configuration ({len(problems)} problem(s)):\n{lines}")


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
        self._environment: Environment | None = None
        self.problems: list[str] = []

    def use_environment(self, environment: Environment) -> None:
        """Take defaults from ``environment`` (the stack config still wins) and judge values by its class."""
        self._environment = environment
        self._defaults = {**environment.defaults, **self._defaults}

    def use_defaults(self, defaults: Mapping[str, Any]) -> None:
        """Defaults below the environment's and the stack config's."""
        self._defaults = {**defaults, **self._defaults}

    def require(self, setting: Setting, value: Any) -> None:
        """Record a problem when ``value`` breaks what the environment's class requires of ``setting``."""
        if self._environment is None or value is None:
            return
        requirement = self._environment.environment_class.requires.get(setting.key)
        problem = requirement.problem(setting, value) if requirement else None
        if problem:
            shown = list(value) if isinstance(value, tuple) else value
            where = f"{self._environment.name} (a {self._environment.environment_class.name} environment)"
            self.problem(setting.key, shown, f"in {where}: {problem}")

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
            allowed = options[0] if len(options) == 1 else "one of " + ", ".join(options)

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
    """The environment: an entry of environment_matrix.yaml."""
    environment_class: str
    """Its class (development, preproduction, production): what it must guarantee."""
    region: str
    """The AWS region, from ``aws:region`` (never hard-coded)."""
    owner: str
    """The Owner tag: the team accountable for the stack."""
    domain: str
    """The application's base domain; CloudFront serves it when the edge layer has a certificate for it."""
    ec2_instance_type: str
    rds_instance_class: str
    rds_allocated_storage: int
    """GiB, gp3."""
    rds_multi_az: bool
    rds_backup_retention_days: int
    rds_deletion_protection: bool
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    """The SQS visibility timeout is derived from it."""
    log_retention_days: int
    """Retention for every log group the stacks create."""
    interface_endpoints: tuple[str, ...]
    """Interface VPC endpoints to create (suffixes of com.amazonaws.<region>.<suffix>)."""
    endpoint_az_count: int
    """How many AZs the private and lambda subnets, and so the interface endpoints, span."""
    subnets: SubnetPlan
    protect_stateful: bool
    """Pulumi ``protect`` (and retain-on-delete where no snapshot covers the data) on stateful resources."""
    rds_final_snapshot: bool
    rds_performance_insights: bool
    ec2_termination_protection: bool
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags from config, merged under the base tags."""

    @property
    def is_production(self) -> bool:
        """True in a production-class environment, whose validation demands every safeguard."""
        return self.environment_class == PRODUCTION


# --- The settings, as data: what docs/configuration.md tabulates and what every reader reads ------------------------

Kind = Literal[
    "string", "optional_string", "integer", "optional_integer", "one_of_ints", "boolean", "string_list", "mapping"
]


@dataclass(frozen=True)
class Setting:
    """One config key: what it means and what it accepts. Defaults come from the environment matrix (or
    ``default``); a stack file overrides them under its project's namespace."""

    key: str
    meaning: str
    kind: Kind
    allowed: str = ""
    """What is allowed, in words, for kinds whose bounds do not say it (strings, lists, mappings)."""
    pattern: re.Pattern[str] | None = None
    choices: tuple[Any, ...] = ()
    minimum: int = 0
    maximum: int = 0
    unit: str = ""
    default: Any = None
    """The value when neither the stack file nor the environment matrix sets one."""

    def describe(self) -> str:
        """What is allowed, as messages and the docs say it."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind == "integer":
            return f"an integer from {self.minimum} to {self.maximum}{unit}"
        if self.kind == "optional_integer":
            return f"an integer from {self.minimum} to {self.maximum}{unit}, or unset"
        if self.kind == "one_of_ints":
            return f"one of {', '.join(str(c) for c in self.choices)}{unit}"
        if self.kind == "boolean":
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        return self.allowed or "a non-empty string"


def read_setting(reader: ConfigReader, setting: Setting) -> Any:
    """``setting``'s value through ``reader``, problems recorded there; a class requirement is checked too."""
    key = setting.key
    value: Any
    if setting.kind == "string":
        if setting.choices:
            value = reader.string(key, setting.default, choices=setting.choices)
        else:
            value = reader.string(key, setting.default, pattern=setting.pattern, allowed=setting.describe())
    elif setting.kind == "optional_string":
        assert setting.pattern is not None, f"{key}: an optional string needs a pattern"
        value = reader.optional_string(key, pattern=setting.pattern, allowed=setting.describe())
    elif setting.kind == "integer":
        value = reader.integer(
            key, setting.default, minimum=setting.minimum, maximum=setting.maximum, unit=setting.unit
        )
    elif setting.kind == "optional_integer":
        value = reader.optional_integer(key, minimum=setting.minimum, maximum=setting.maximum, unit=setting.unit)
    elif setting.kind == "one_of_ints":
        value = reader.one_of_ints(key, setting.default, setting.choices, unit=setting.unit)
    elif setting.kind == "boolean":
        value = reader.boolean(key, setting.default)
    elif setting.kind == "string_list":
        value = reader.string_list(key, setting.default, allowed=setting.describe())
    else:
        value = reader.mapping(key, setting.default, allowed=setting.describe())
    reader.require(setting, value)
    return value


@dataclass(frozen=True)
class Requirement:
    """What an environment class demands of one setting, and why."""

    key: str
    rule: Literal["equals", "minimum", "includes_all"]
    value: Any
    why: str = ""

    def problem(self, setting: Setting, value: Any) -> str | None:
        """What is allowed instead of ``value``, or None when ``value`` meets the requirement."""
        why = f" ({self.why})" if self.why else ""
        if self.rule == "equals":
            return None if value == self.value else f"{json.dumps(self.value)}{why}"
        if self.rule == "minimum":
            if value is None or value >= self.value:
                return None
            unit = f" {setting.unit}" if setting.unit else ""
            bound = f"{self.value}" if self.value == setting.maximum else f"{self.value} to {setting.maximum}"
            return f"{bound}{unit}{why}"
        missing = [name for name in self.value if name not in value]
        return f"{self.why or 'all of them'}; missing {', '.join(missing)}" if missing else None


@dataclass(frozen=True)
class EnvironmentClass:
    """What every environment of a class must guarantee: its requirements on the settings, and how the deploy
    tooling treats it."""

    name: str
    description: str
    requires: Mapping[str, Requirement]
    destroy_checks_every_layer: bool = False
    """Any protected resource in any layer stops a destroy of any layer (one layer down is an outage)."""
    team_state: bool = False
    """Its state belongs in a team backend: the embedded file backend says where the state lives."""


@dataclass(frozen=True)
class Environment:
    """One entry of the environment matrix: its class and its default settings."""

    name: str
    environment_class: EnvironmentClass
    defaults: Mapping[str, Any]
    account_id: str | None = None
    """The AWS account it lives in; the deploy targets refuse credentials for any other."""
    ci_role_arn: str | None = None
    """The role CI assumes to deploy it (else the GitHub environment's AWS_ROLE_ARN variable)."""


PRODUCTION: Final[str] = "production"


@cache
def environments() -> dict[str, Environment]:
    """Every environment, in promotion order, from ``environment_matrix.yaml`` (validated: a typo fails here)."""
    document = yamlio.load(MATRIX_PATH.read_text())
    return parse_matrix(document)


def parse_matrix(document: Any) -> dict[str, Environment]:
    """The environments of a parsed matrix; raises ValueError naming every problem."""
    from shared.settings import ALL_SETTINGS

    known = {s.key: s for s in ALL_SETTINGS}
    problems: list[str] = []
    if not isinstance(document, dict) or set(document) != {"owners", "classes", "environments"}:
        raise ValueError(f"{MATRIX_PATH.name}: the top level must have exactly 'owners', 'classes' and 'environments'")
    classes: dict[str, EnvironmentClass] = {}
    class_keys = {"description", "requires", "destroy_checks_every_layer", "team_state"}
    for name, entry in (document["classes"] or {}).items():
        requires: dict[str, Requirement] = {}
        for key, rule in (entry.get("requires") or {}).items():
            rules: list[Literal["equals", "minimum", "includes_all"]] = [
                r for r in ("equals", "minimum", "includes_all") if r in rule
            ]
            if key not in known or len(rules) != 1 or set(rule) - {*rules, "why"}:
                problems.append(f"classes.{name}.requires.{key}: a setting, with one of equals, minimum, includes_all")
                continue
            value = rule[rules[0]]
            if rules[0] == "includes_all":
                value = tuple(known[key].choices)
            requires[key] = Requirement(key, rules[0], value, str(rule.get("why", "")))
        flags = {flag: entry.get(flag, False) for flag in ("destroy_checks_every_layer", "team_state")}
        if (
            set(entry) - class_keys
            or not entry.get("description")
            or not all(isinstance(v, bool) for v in flags.values())
        ):
            problems.append(f"classes.{name}: a description, and optionally requires, {', '.join(flags)} (true/false)")
        classes[name] = EnvironmentClass(name, str(entry.get("description", "")), requires, **flags)
    if PRODUCTION not in classes:
        problems.append(f"classes: a '{PRODUCTION}' class (the protections prod-like environments get)")
    found: dict[str, Environment] = {}
    environment_keys = {"class", "settings", "account_id", "ci_role_arn"}
    for name, entry in (document["environments"] or {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", str(name)):
            problems.append(f"environments.{name}: a name of lower-case letters, digits and '-' (a stack name)")
        if not isinstance(entry, dict) or entry.get("class") not in classes or set(entry) - environment_keys:
            problems.append(
                f"environments.{name}: class (one of {', '.join(classes)}), settings, account_id, ci_role_arn"
            )
            continue
        settings = dict(entry.get("settings") or {})
        for key in settings:
            if key not in known:
                problems.append(f"environments.{name}.settings.{key}: not a setting (see docs/configuration.md)")
        account = entry.get("account_id")
        account = None if account is None else str(account)
        if account is not None and not _ACCOUNT_ID.fullmatch(account):
            problems.append(f"environments.{name}.account_id: 12 digits, quoted (got {entry.get('account_id')!r})")
        role = entry.get("ci_role_arn")
        role_account = _ROLE_ARN.fullmatch(str(role)) if role is not None else None
        if role is not None and (role_account is None or (account and role_account.group("account") != account)):
            problems.append(f"environments.{name}.ci_role_arn: an IAM role ARN in the environment's account_id")
        found[str(name)] = Environment(str(name), classes[entry["class"]], settings, account, role)
    if problems:
        raise ValueError(f"{MATRIX_PATH.name}: " + "; ".join(problems))
    return found


@dataclass(frozen=True)
class Owners:
    """Who owns what: each layer's team (its resources' Owner tag and the reviewers of its code) and the team that
    owns everything else; teams are GitHub team slugs of ``github_organization``."""

    github_organization: str
    default: str
    layers: Mapping[str, str]

    def handle(self, team: str) -> str:
        """The team as CODEOWNERS names it: ``@<org>/<team>``."""
        return f"@{self.github_organization}/{team}"


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,38}")


@cache
def owners() -> Owners:
    """The ``owners`` entry of ``environment_matrix.yaml``, validated."""
    return parse_owners(yamlio.load(MATRIX_PATH.read_text()).get("owners"))


def parse_owners(entry: Any) -> Owners:
    """The owners of a parsed matrix; raises ValueError naming the problem."""
    from shared.contract import LAYER_ORDER

    layers = [layer.value for layer in LAYER_ORDER]
    if (
        not isinstance(entry, dict)
        or set(entry) != {"github_organization", "default", "layers"}
        or not isinstance(entry["layers"], dict)
        or set(entry["layers"]) != set(layers)
        or not all(
            _SLUG.fullmatch(str(t)) for t in [entry["github_organization"], entry["default"], *entry["layers"].values()]
        )
    ):
        raise ValueError(
            f"{MATRIX_PATH.name}: owners must have github_organization, default and layers ({', '.join(layers)}), "
            "each a GitHub organization or team slug (lower-case letters, digits and '-')"
        )
    return Owners(
        str(entry["github_organization"]), str(entry["default"]), {k: str(v) for k, v in entry["layers"].items()}
    )


def environment_matrix() -> dict[str, dict[str, Any]]:
    """The per-environment default settings, keyed by environment."""
    return {name: dict(env.defaults) for name, env in environments().items()}


_CIDR = "an IPv4 CIDR such as 10.0.0.0/16"
SHARED_SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("owner", "The Owner tag: the team accountable for the stack (default: the layer's team in `owners`).",
            "string", allowed="the owning team's name, non-empty"),
    Setting("domain", "Base domain; CloudFront serves it (and CORS allows it) when certificate_arn is set.", "string",
            pattern=_DOMAIN, allowed="a lower-case DNS name such as dev.example.com"),
    Setting("ec2_instance_type", "The backend instance type.", "string", pattern=_INSTANCE_TYPE,
            allowed="an EC2 instance type such as t3.small"),
    Setting("rds_instance_class", "The PostgreSQL instance class.", "string", pattern=_RDS_CLASS,
            allowed="an RDS instance class such as db.t3.medium"),
    Setting("rds_allocated_storage", "PostgreSQL storage, gp3.", "integer", minimum=20, maximum=65536,
            unit="GiB (gp3 minimum is 20)"),
    Setting("rds_multi_az", "A standby database in a second AZ.", "boolean"),
    Setting("rds_backup_retention_days", "Automated backup retention.", "integer", minimum=1, maximum=35, unit="days"),
    Setting("rds_deletion_protection", "RDS deletion protection.", "boolean"),
    Setting("lambda_memory_mb", "Processor Lambda memory.", "integer", minimum=128, maximum=10240, unit="MB"),
    Setting("lambda_timeout_seconds", "Processor Lambda timeout; the queue's visibility timeout is 6 times it.",
            "integer", minimum=1, maximum=900, unit="seconds (Lambda maximum)"),
    Setting("log_retention_days", "Retention of every log group the stacks create.", "one_of_ints",
            choices=LOG_RETENTION_DAYS_ALLOWED, unit="days"),
    Setting("interface_endpoints", "Interface VPC endpoints to create: without NAT, each one a workload path needs.",
            "string_list", choices=tuple(INTERFACE_ENDPOINT_SERVICES),
            allowed="a list drawn from " + ", ".join(INTERFACE_ENDPOINT_SERVICES)),
    Setting("endpoint_az_count", "AZs for the private and lambda subnets, and so the interface endpoints.",
            "integer", minimum=1, maximum=2, unit="AZs"),
    Setting("vpc_cidr", "The VPC's IPv4 block.", "string", default=VPC_CIDR, allowed=_CIDR),
    Setting("subnet_cidrs", "The CIDR plan by role (private, lambda, data): inside the VPC, none overlapping.",
            "mapping", default={k: list(v) for k, v in SUBNET_CIDRS.items()},
            allowed="a mapping role -> list of CIDRs"),
    Setting("tags", "Extra tags, merged under the base tags.", "mapping", default={},
            allowed="a mapping of tag key -> string value"),
    Setting("protect_stateful", "Pulumi protect (and retain-on-delete) on the stateful resources.", "boolean"),
    Setting("rds_final_snapshot", "A final snapshot when the database is deleted.", "boolean"),
    Setting("rds_performance_insights", "Performance Insights on the database (7-day free retention).", "boolean"),
    Setting("ec2_termination_protection", "Termination protection on the backend instance.", "boolean"),
)  # fmt: skip


def read_environment(reader: ConfigReader) -> EnvironmentConfig:
    """Read and validate the shared settings. Problems are recorded on ``reader``; call ``reader.finish()``."""
    known = environments()
    # A stack of the matrix reads its own entry: a stack file copied from another environment and left naming it
    # would deploy with that environment's settings. A stack outside the matrix (a personal one) names an entry.
    own = [reader.stack] if reader.stack in known else known
    name = reader.string("environment", reader.stack, choices=own)
    environment = known.get(name)
    if environment is not None:
        reader.use_environment(environment)
    region = reader.string("aws:region", pattern=_REGION, allowed="an AWS region such as ap-southeast-2")
    layer = reader.namespace.removeprefix(f"{PROJECT}-")
    if layer in owners().layers:  # the Owner tag is the layer's team unless its stack file says otherwise
        reader.use_defaults({"owner": owners().layers[layer]})
    values = {setting.key: read_setting(reader, setting) for setting in SHARED_SETTINGS}
    for service in values["interface_endpoints"]:
        if service not in INTERFACE_ENDPOINT_SERVICES:
            reader.problem(
                "interface_endpoints", service, "endpoint service names: " + ", ".join(INTERFACE_ENDPOINT_SERVICES)
            )
    plan = _subnet_plan(reader, values.pop("vpc_cidr"), values.pop("subnet_cidrs"), values["endpoint_az_count"])
    values["interface_endpoints"] = tuple(values["interface_endpoints"])
    values["tags"] = {str(k): str(v) for k, v in values["tags"].items()}
    return EnvironmentConfig(
        stack=reader.stack,
        environment=name,
        environment_class=environment.environment_class.name if environment else "",
        region=region,
        subnets=plan,
        **values,
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

    from shared.sdk_internals import program_config

    return ConfigReader(pulumi.get_stack(), pulumi.get_project(), program_config(), {})
