"""EnvironmentConfig: defaults from the matrix, overrides from the stack file, and one message per bad value."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from shared import config, yamlio
from shared.config import (
    MATRIX_PATH,
    SHARED_SETTINGS,
    ConfigError,
    ConfigReader,
    EnvironmentConfig,
    environment_matrix,
    environments,
    parse_matrix,
    read_environment,
)
from shared.constants import INTERFACE_ENDPOINT_SERVICES
from shared.settings import ALL_SETTINGS, read_edge_settings
from tools import reference_docs

NS = "student-helper-network"


def load(stack: str = "dev", **overrides: Any) -> EnvironmentConfig:
    """Read the shared settings from a CLI-shaped config map: strings, structured values JSON-encoded."""
    raw: dict[str, Any] = {"aws:region": "ap-southeast-2", f"{NS}:environment": stack, f"{NS}:owner": "platform"}
    for key, value in overrides.items():
        full = key if ":" in key else f"{NS}:{key}"
        raw[full] = value if isinstance(value, str) else json.dumps(value)
    reader = ConfigReader(stack, NS, raw, {})
    env = read_environment(reader)
    reader.finish()
    return env


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_defaults_come_from_the_environment_matrix(stack: str) -> None:
    env = load(stack)
    matrix = environment_matrix()[stack]
    assert env.environment == stack
    assert env.region == "ap-southeast-2"
    assert env.ec2_instance_type == matrix["ec2_instance_type"]
    assert env.rds_instance_class == matrix["rds_instance_class"]
    assert env.rds_allocated_storage == matrix["rds_allocated_storage"]
    assert env.rds_multi_az is matrix["rds_multi_az"]
    assert env.rds_backup_retention_days == matrix["rds_backup_retention_days"]
    assert env.lambda_timeout_seconds == 300
    assert set(env.interface_endpoints) == set(INTERFACE_ENDPOINT_SERVICES)


def test_matrix_values() -> None:
    # The original design's matrix, with the sizes the cost estimate chose (docs/sizing.md).
    dev, staging, prod = load("dev"), load("staging"), load("prod")
    assert (dev.ec2_instance_type, staging.ec2_instance_type, prod.ec2_instance_type) == (
        "t3.micro",
        "t3.micro",
        "t3.small",
    )
    assert (dev.rds_instance_class, staging.rds_instance_class, prod.rds_instance_class) == (
        "db.t4g.micro",
        "db.t4g.micro",
        "db.t4g.medium",
    )
    assert (dev.rds_allocated_storage, staging.rds_allocated_storage, prod.rds_allocated_storage) == (20, 20, 50)
    assert (dev.lambda_memory_mb, prod.lambda_memory_mb) == (512, 1024)
    assert prod.rds_multi_az and prod.rds_deletion_protection and not dev.rds_deletion_protection
    assert (dev.endpoint_az_count, staging.endpoint_az_count, prod.endpoint_az_count) == (1, 2, 2)
    assert (prod.domain, dev.domain) == ("studenthelper.com", "dev.studenthelper.com")


def test_stack_file_overrides_the_matrix() -> None:
    env = load("dev", rds_allocated_storage="100", rds_multi_az="true", ec2_instance_type="m7i.large")
    assert (env.rds_allocated_storage, env.rds_multi_az, env.ec2_instance_type) == (100, True, "m7i.large")


# Each case: stack, overrides, the exact fragment the error must contain (key, bad value and what is allowed).
BAD_VALUES = [
    pytest.param(
        "dev",
        {"environment": "qa"},
        f"{NS}:environment = 'qa' is invalid: allowed dev",
        id="unknown-environment",
    ),
    pytest.param(
        "staging",  # a stack file copied from dev's and left naming it would deploy with dev's settings
        {"environment": "dev"},
        f"{NS}:environment = 'dev' is invalid: allowed staging",
        id="a-copied-stack-file-names-another-environment",
    ),
    pytest.param(
        "dev",
        {"rds_allocated_storage": "10"},
        f"{NS}:rds_allocated_storage = '10' is invalid: allowed an integer from 20 to 65536 GiB",
        id="storage-below-20",
    ),
    pytest.param(
        "dev",
        {"rds_allocated_storage": "lots"},
        f"{NS}:rds_allocated_storage = 'lots' is invalid",
        id="storage-not-a-number",
    ),
    pytest.param(
        "dev",
        {"lambda_timeout_seconds": "901"},
        f"{NS}:lambda_timeout_seconds = '901' is invalid: allowed an integer from 1 to 900 seconds",
        id="lambda-timeout-above-900",
    ),
    pytest.param(
        "dev",
        {"lambda_memory_mb": "64"},
        f"{NS}:lambda_memory_mb = '64' is invalid: allowed an integer from 128 to 10240 MB",
        id="lambda-memory-too-small",
    ),
    pytest.param(
        "prod",
        {"rds_multi_az": "false"},
        f"{NS}:rds_multi_az = False is invalid: allowed in prod (a production environment): true",
        id="prod-without-multi-az",
    ),
    pytest.param(
        "prod",
        {"rds_deletion_protection": "false"},
        f"{NS}:rds_deletion_protection = False is invalid: allowed in prod (a production environment): true",
        id="prod-without-deletion-protection",
    ),
    pytest.param(
        "prod",
        {"rds_backup_retention_days": "3"},
        f"{NS}:rds_backup_retention_days = 3 is invalid: allowed in prod (a production environment): 7 to 35 days",
        id="prod-backups-too-short",
    ),
    pytest.param(
        "dev",
        {"rds_backup_retention_days": "0"},
        f"{NS}:rds_backup_retention_days = '0' is invalid: allowed an integer from 1 to 35 days",
        id="backup-retention-zero",
    ),
    pytest.param(
        "dev",
        {"rds_backup_retention_days": "36"},
        f"{NS}:rds_backup_retention_days = '36' is invalid: allowed an integer from 1 to 35 days",
        id="backup-retention-above-35",
    ),
    pytest.param(
        "dev",
        {"ec2_instance_type": "t3-micro"},
        f"{NS}:ec2_instance_type = 't3-micro' is invalid: allowed an EC2 instance type such as t3.small",
        id="malformed-instance-type",
    ),
    pytest.param(
        "dev",
        {"rds_instance_class": "t3.micro"},
        f"{NS}:rds_instance_class = 't3.micro' is invalid: allowed an RDS instance class such as db.t3.medium",
        id="rds-class-without-db-prefix",
    ),
    pytest.param(
        "dev",
        {"interface_endpoints": ["sqs", "dynamo"]},
        f"{NS}:interface_endpoints = 'dynamo' is invalid: allowed endpoint service names: ecr.api, ecr.dkr",
        id="unknown-endpoint-service",
    ),
    pytest.param(
        "prod",
        {"interface_endpoints": ["sqs", "logs"]},
        "allowed in prod (a production environment): every endpoint the workloads need; missing ecr.api, ecr.dkr, ssm",
        id="prod-missing-endpoints",
    ),
    pytest.param(
        "prod",
        {"protect_stateful": "false"},
        f"{NS}:protect_stateful = False is invalid: allowed in prod (a production environment): true",
        id="prod-without-protect",
    ),
    pytest.param(
        "prod",
        {"rds_final_snapshot": "false"},
        f"{NS}:rds_final_snapshot = False is invalid: allowed in prod (a production environment): true",
        id="prod-without-final-snapshot",
    ),
    pytest.param(
        "prod",
        {"ec2_termination_protection": "false"},
        f"{NS}:ec2_termination_protection = False is invalid: allowed in prod (a production environment): true",
        id="prod-without-termination-protection",
    ),
    pytest.param(
        "staging",
        {"endpoint_az_count": "1"},
        f"{NS}:endpoint_az_count = 1 is invalid: allowed in staging (a preproduction environment): 2",
        id="staging-single-az-endpoints",
    ),
    pytest.param(
        "dev",
        {
            "subnet_cidrs": {
                "private": ["10.1.1.0/24"],
                "lambda": ["10.0.2.0/24"],
                "data": ["10.0.3.0/24", "10.0.4.0/24"],
            }
        },
        "'10.1.1.0/24' is invalid: allowed a CIDR inside the VPC 10.0.0.0/16 for role 'private'",
        id="cidr-outside-vpc",
    ),
    pytest.param(
        "dev",
        {
            "subnet_cidrs": {
                "private": ["10.0.2.0/25"],
                "lambda": ["10.0.2.0/24"],
                "data": ["10.0.3.0/24", "10.0.4.0/24"],
            }
        },
        "'10.0.2.0/24' is invalid: allowed a CIDR for role 'lambda' that does not overlap the private 10.0.2.0/25",
        id="overlapping-cidrs",
    ),
    pytest.param(
        "dev",
        {
            "subnet_cidrs": {
                "private": ["10.0.0.0/24"],
                "lambda": ["10.0.2.0/24"],
                "data": ["10.0.3.0/24", "10.0.4.0/24"],
            }
        },
        "does not overlap the reserved public subnet",
        id="reserved-public-cidr",
    ),
    pytest.param(
        "dev",
        {"subnet_cidrs": {"private": ["10.0.1.0/24"], "lambda": ["10.0.2.0/24"], "data": ["10.0.3.0/24"]}},
        "allowed at least 2 CIDR(s) for role 'data'",
        id="one-data-subnet",
    ),
    pytest.param(
        "dev",
        {"vpc_cidr": "10.0.0.0/33"},
        f"{NS}:vpc_cidr = '10.0.0.0/33' is invalid: allowed an IPv4 CIDR",
        id="bad-vpc-cidr",
    ),
    pytest.param(
        "dev",
        {"log_retention_days": "10"},
        f"{NS}:log_retention_days = '10' is invalid: allowed one of 1, 3, 5, 7, 14",
        id="log-retention-not-a-cloudwatch-value",
    ),
    pytest.param(
        "dev",
        {"rds_multi_az": "yes"},
        f"{NS}:rds_multi_az = 'yes' is invalid: allowed true or false",
        id="bool-not-true-false",
    ),
    pytest.param(
        "dev",
        {"domain": "Not A Domain"},
        f"{NS}:domain = 'Not A Domain' is invalid: allowed a lower-case DNS name",
        id="bad-domain",
    ),
    pytest.param(
        "dev",
        {"aws:region": "sydney"},
        "aws:region = 'sydney' is invalid: allowed an AWS region such as ap-southeast-2",
        id="bad-region",
    ),
    pytest.param(
        "dev",
        {"owner": " "},
        f"{NS}:owner = ' ' is invalid: allowed the owning team's name, non-empty",
        id="blank-owner",
    ),
    pytest.param(
        "dev",
        {"rds_multiaz": "true"},
        f"{NS}:rds_multiaz is not a setting of this layer: allowed keys are",
        id="typo-in-key",
    ),
]


@pytest.mark.parametrize(("stack", "overrides", "message"), BAD_VALUES)
def test_bad_value_names_stack_key_value_and_allowed(stack: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(stack, **overrides)
    text = str(caught.value)
    assert text.startswith(f"stack '{stack}': invalid configuration"), text
    assert message in text, text


def test_missing_region_is_reported() -> None:
    reader = ConfigReader("dev", NS, {f"{NS}:owner": "platform"}, {})
    read_environment(reader)
    with pytest.raises(ConfigError, match="aws:region is not set: required"):
        reader.finish()


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load("prod", rds_multi_az="false", rds_deletion_protection="false", lambda_timeout_seconds="1000")
    assert len(caught.value.problems) == 3, caught.value.problems


# --- environments as data ---------------------------------------------------------------------------------------------

MATRIX = yamlio.load(MATRIX_PATH.read_text())


def _matrix(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(MATRIX)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environments.dev.settings.rds_multiaz": True}, "environments.dev.settings.rds_multiaz: not a setting"),
        ({"environments.dev.class": "sandbox"}, "environments.dev: class (one of development, preproduction"),
        ({"environments.dev.region": "us-east-1"}, "environments.dev: class (one of"),
        (
            {"classes.production.requires.rds_multiaz": {"equals": True}},
            "classes.production.requires.rds_multiaz: a setting",
        ),
        (
            {"classes.production.requires.rds_multi_az": {"at_least": True}},
            "requires.rds_multi_az: a setting, with one of",
        ),
        ({"classes.development.description": ""}, "classes.development: a description"),
        ({"environments.Perf EU": {"class": "production"}}, "environments.Perf EU: a name of lower-case letters"),
        ({"promotion": ["dev"]}, "the top level must have exactly 'owners', 'classes' and 'environments'"),
        ({"environments.prod.account_id": 1234}, "environments.prod.account_id: 12 digits, quoted (got 1234)"),
        (
            {
                "environments.prod.account_id": "111122223333",
                "environments.prod.ci_role_arn": "arn:aws:iam::999988887777:role/d",
            },
            "environments.prod.ci_role_arn: an IAM role ARN in the environment's account_id",
        ),
        ({"environments.prod.ci_role_arn": "deployer"}, "environments.prod.ci_role_arn: an IAM role ARN"),
        ({"classes.production.team_state": "yes"}, "classes.production: a description, and optionally requires"),
    ],
)
def test_a_bad_matrix_fails_naming_the_entry(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_matrix(_matrix(**changes))


def test_an_environment_may_name_its_account_and_ci_role() -> None:
    document = _matrix(
        **{
            "environments.prod.account_id": "111122223333",
            "environments.prod.ci_role_arn": "arn:aws:iam::111122223333:role/deploy-prod",
        }
    )
    prod = parse_matrix(document)["prod"]
    assert (prod.account_id, prod.ci_role_arn) == ("111122223333", "arn:aws:iam::111122223333:role/deploy-prod")
    assert parse_matrix(_matrix())["dev"].account_id is None


def test_environments_are_in_promotion_order_with_their_class() -> None:
    found = environments()
    assert [(name, env.environment_class.name) for name, env in found.items()] == [
        ("dev", "development"),
        ("staging", "preproduction"),
        ("prod", "production"),
    ]


def test_safety_follows_the_class_not_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # A second production environment gets every production requirement; a copy of staging under another name gets
    # staging's, and nothing of production's.
    document = _matrix()
    document["environments"]["prod-eu"] = copy.deepcopy(document["environments"]["prod"])
    document["environments"]["perf"] = copy.deepcopy(document["environments"]["staging"])
    monkeypatch.setattr(config, "environments", lambda: parse_matrix(document))
    assert load("prod-eu").is_production
    with pytest.raises(ConfigError) as caught:
        load("prod-eu", rds_multi_az="false", protect_stateful="false", endpoint_az_count="1")
    problems = caught.value.problems
    assert (
        f"{NS}:rds_multi_az = False is invalid: allowed in prod-eu (a production environment): true "
        "(a single-AZ database is an outage risk)" in problems
    )
    assert any(
        p.startswith(f"{NS}:protect_stateful = False is invalid: allowed in prod-eu (a production environment): true")
        for p in problems
    )
    assert (
        f"{NS}:endpoint_az_count = 1 is invalid: allowed in prod-eu (a production environment): 2 AZs "
        "(endpoints must survive an AZ loss)" in problems
    )
    perf = load("perf", rds_multi_az="false", protect_stateful="false")
    assert not perf.is_production and perf.environment_class == "preproduction"
    with pytest.raises(ConfigError, match="allowed in perf \\(a preproduction environment\\): 2 AZs"):
        load("perf", endpoint_az_count="1")


def test_every_setting_reaches_its_reader_and_every_matrix_key_is_a_setting() -> None:
    assert {f.name for f in fields(EnvironmentConfig)} - {
        "stack",
        "environment",
        "environment_class",
        "region",
        "subnets",
    } == {s.key for s in SHARED_SETTINGS} - {"vpc_cidr", "subnet_cidrs"}
    keys = [s.key for s in ALL_SETTINGS]
    assert len(keys) == len(set(keys)), "a key is declared twice"
    for env in environments().values():
        assert set(env.defaults) <= set(keys), env.name


def test_the_reference_tables_are_generated_from_the_code(build_dir: Path) -> None:
    # docs/configuration.md, outputs.md and sizing.md (the estimate of this run's exports): `make docs` rewrites them.
    assert reference_docs.main(["--check", "--build", str(build_dir)]) == 0, "stale: run `make docs`"


def test_hsts_preload_needs_include_subdomains() -> None:
    reader = ConfigReader("prod", "student-helper-edge", {"student-helper-edge:hsts_preload": "true"}, {})
    read_edge_settings(reader, load("prod"))
    assert (
        "student-helper-edge:hsts_preload = True is invalid: allowed true only together with hsts_include_subdomains: "
        "true"
    ) in reader.problems
