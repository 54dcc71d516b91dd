"""The pack as a whole: registry, snapshot, loading, config handling, unknowns and secrets, and the CLI contract."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from policytest_helpers import SECRET_SIG, UNKNOWN, Res, make_export, messages, run, secret

from policies import registry, server
from policies.base import checks_of
from policies.registry import BY_NAME
from shared import yamlio
from tools import policy_analyze
from tools.policy_analyze import InputError, parse_config
from tools.schemas import deployment_errors

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOT = {
    "no-nat-gateway": ("high", "mandatory"),
    "private-subnets-only": ("critical", "mandatory"),
    "no-world-ingress": ("high", "advisory"),
    "imdsv2-required": ("high", "mandatory"),
    "encryption-at-rest": ("high", "mandatory"),
    "s3-tls-only": ("medium", "advisory"),
    "s3-public-access-block": ("high", "advisory"),
    "log-retention": ("low", "advisory"),
    "iam-least-privilege": ("critical", "mandatory"),
    "prod-data-protection": ("high", "advisory"),
    "required-tags": ("low", "advisory"),
}


# Exemptions name these ids, so renaming one breaks users' configs: change them only on purpose.
CHECK_IDS = {
    "no-nat-gateway": ("nat-gateway", "route-to-nat-gateway", "nat-instance-route"),
    "private-subnets-only": (
        "public-subnet",
        "internet-gateway",
        "route-to-internet-gateway",
        "public-ip",
        "elastic-ip",
        "public-load-balancer",
        "public-database",
        "public-search-domain",
        "lambda-outside-vpc",
        "public-function-url",
        "public-bucket-policy",
        "public-bucket-acl",
    ),
    "no-world-ingress": ("world-ingress",),
    "imdsv2-required": ("http-tokens", "spot-fleet-launch-specification"),
    "encryption-at-rest": (
        "database-storage",
        "ebs",
        "file-system",
        "cache",
        "stream",
        "search-domain",
        "queue",
        "encryption-type",
    ),
    "s3-tls-only": ("deny-insecure-transport",),
    "s3-public-access-block": ("public-access-block",),
    "log-retention": ("retention",),
    "iam-least-privilege": (
        "invalid-document",
        "wildcard-action",
        "not-action-or-resource",
        "wildcard-resource",
        "unknown-action",
        "admin-managed-policy",
        "open-trust",
        "github-oidc-subject",
    ),
    "prod-data-protection": (
        "protect",
        "deletion-protection",
        "multi-az",
        "backup-retention",
        "final-snapshot",
        "versioning",
    ),
    "required-tags": ("missing-tags",),
}


def test_snapshot_of_names_severities_and_levels() -> None:
    actual = {p.name: (p.severity.value, registry.default_level(p).value) for p in registry.POLICIES}  # type: ignore[union-attr]
    assert actual == SNAPSHOT
    assert {n for n, (_, level) in SNAPSHOT.items() if level == "mandatory"} == set(registry.MANDATORY)


def test_snapshot_of_check_ids() -> None:
    assert {p.name: tuple(c.id for c in checks_of(p)) for p in registry.POLICIES} == CHECK_IDS


@pytest.mark.parametrize("policy", registry.POLICIES, ids=lambda p: p.name)
def test_every_policy_carries_its_metadata(policy: pulumi_policy.Policy) -> None:
    assert policy.name == policy.name.lower() and " " not in policy.name
    assert len(policy.description) > 40 and policy.remediation_steps and len(policy.remediation_steps) > 30
    assert policy.severity is not None and policy.enforcement_level is not None
    assert policy.config_schema is not None and "exemptions" in policy.config_schema.properties


def test_registry_rejects_duplicate_names() -> None:
    with pytest.raises(registry.DuplicatePolicyError, match="'no-nat-gateway' is registered twice"):
        registry.build([*registry.POLICIES, registry.POLICIES[0]])


def test_registry_rejects_a_mandatory_stack_policy() -> None:
    mandatory_stack = copy.copy(BY_NAME["s3-tls-only"])
    mandatory_stack.enforcement_level = pulumi_policy.EnforcementLevel.MANDATORY
    with pytest.raises(registry.MandatoryStackPolicyError, match="'s3-tls-only' is mandatory but judges the stack"):
        registry.build([*registry.POLICIES[:1], mandatory_stack])


def test_server_serves_the_registry_with_the_yaml_version() -> None:
    info = server.servicer().GetAnalyzerInfo(None, None)
    assert (info.name, info.version) == (registry.PACK_NAME, "0.1.0")
    assert [p.name for p in info.policies] == list(SNAPSHOT)
    assert registry.PACK_VERSION == registry.pack_version(ROOT / "policies") == "0.1.0"


# PolicyPackProject's fields (sdk/go/common/workspace/project.go in pulumi/pulumi).
POLICY_PROJECT_FIELDS = {"runtime", "version", "main", "description", "author", "website", "license"}


def test_policy_yaml_runs_the_pack_from_its_own_venv() -> None:
    import jsonschema

    project = yamlio.load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert set(project) <= POLICY_PROJECT_FIELDS
    runtime_schema = json.loads((ROOT / "schemas" / "pulumi-project.json").read_text())["properties"]["runtime"]
    jsonschema.validate(project["runtime"], runtime_schema)
    # The Python language host's options (pulumi-language-python parseOptions): the venv, relative to the pack.
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert project["description"] and project["version"] == registry.PACK_VERSION
    # `pulumi policy publish` honours .gitignore: the venv stays out of the published pack.
    assert "venv/" in (ROOT / "policies" / ".gitignore").read_text().splitlines()


# --- config -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["advisory", "mandatory", "remediate", "disabled"])
def test_each_level_applies(level: str) -> None:
    resources = [Res("aws:ec2/natGateway:NatGateway", "nat", {})]
    found = run(resources, "no-nat-gateway", {"no-nat-gateway": level})
    if level == "disabled":
        assert found == []
    else:
        expected = "mandatory" if level == "remediate" else level
        assert [v.enforcement_level for v in found] == [expected]
    # The object form sets the same level.
    assert [
        v.enforcement_level for v in run(resources, "no-nat-gateway", {"no-nat-gateway": {"enforcementLevel": level}})
    ] == [v.enforcement_level for v in found]


def test_all_key_sets_every_level() -> None:
    settings = parse_config({"all": "mandatory", "log-retention": "disabled"})
    assert settings["required-tags"].level.value == "mandatory"
    assert settings["log-retention"].level.value == "disabled"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"no-such-policy": "mandatory"}, "unknown policy 'no-such-policy'"),
        ({"no-nat-gateway": "fatal"}, "no-nat-gateway: invalid enforcement level 'fatal'"),
        ({"no-nat-gateway": {"enforcementLevel": 3}}, "no-nat-gateway.enforcementLevel: invalid enforcement level 3"),
        ({"iam-least-privilege": {"allowedWildcardResourceActions": "s3:*"}}, "'s3:*' is not of type 'array'"),
        ({"log-retention": {"maxRetentionDay": 3}}, "Additional properties are not allowed"),
        (
            {"log-retention": {"exemptions": [{"resource": "x", "check": "retention"}]}},
            "'reason' is a required property",
        ),
        ({"log-retention": {"exemptions": [{"resource": "x", "reason": "kept for audit"}]}}, "'check' is a required"),
        (["no-nat-gateway"], "expected a JSON object"),
    ],
)
def test_bad_config_is_rejected(config: Any, error: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        parse_config(config)
    assert error in str(info.value)


def test_exemption_names_one_resource_one_check_and_a_reason() -> None:
    resources = [Res("aws:lambda/function:Function", "edge-fn", {}), Res("aws:lambda/function:Function", "fn", {})]
    config = {
        "private-subnets-only": {
            "exemptions": [
                {"resource": "edge-fn", "check": "lambda-outside-vpc", "reason": "Lambda@Edge cannot be in a VPC"}
            ]
        }
    }
    found = run(resources, "private-subnets-only", config)
    assert [v.urn.rsplit("::", 1)[1] for v in found] == ["fn"]


# --- unknowns and secrets ---------------------------------------------------------------------------------------


def test_unknown_value_is_an_advisory_note_not_a_crash() -> None:
    resources = [
        Res(
            "aws:ec2/instance:Instance",
            "i",
            {"metadataOptions": {"httpTokens": UNKNOWN}, "associatePublicIpAddress": False},
        )
    ]
    found = run(resources, "imdsv2-required")
    assert [(v.enforcement_level, v.message) for v in found] == [
        (
            "advisory",
            "can't run policy 'imdsv2-required' from policy pack 'student-helper@v0.1.0' during preview: "
            "[http-tokens] string value at "
            ".metadataOptions.httpTokens can't be known during preview; it can be checked only at apply time",
        )
    ]
    assert found[0].urn.endswith("::i")


def test_unknown_in_stack_policy_still_reports_the_rest() -> None:
    bucket = "aws:s3/bucket:Bucket"
    pending, plain = (
        Res(bucket, name, {}, outputs={"bucket": f"{name}-1", "arn": f"arn:aws:s3:::{name}-1"})
        for name in ("pending", "plain")
    )
    policy = Res(
        "aws:s3/bucketPolicy:BucketPolicy",
        "pending-policy",
        {"bucket": UNKNOWN, "policy": UNKNOWN},
        extra={"propertyDependencies": {"bucket": [pending.urn]}},
    )
    found = run([pending, plain, policy], "s3-tls-only")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [
        (
            "advisory",
            plain.urn,
            "[deny-insecure-transport] bucket 'plain' has no bucket policy, so plain-HTTP requests are not denied.",
        ),
        (
            "advisory",
            "urn:pulumi:dev::student-helper-test::pulumi:pulumi:Stack::student-helper-test-dev",
            "can't run policy 's3-tls-only' from policy pack 'student-helper@v0.1.0' during preview: "
            "[deny-insecure-transport] pending: string value at .policy can't be known during preview; it can be "
            "checked only at apply time",
        ),
    ]


def test_plaintext_secrets_are_unwrapped() -> None:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    resources = [Res("aws:iam/policy:Policy", "p", {"policy": secret(json.dumps({"Statement": [statement]}))})]
    assert messages(resources, "iam-least-privilege") == [
        '[wildcard-action] policy Statement[0] allows Action ["*"]: name the actions the workload calls.',
        '[wildcard-resource] policy Statement[0] allows Resource "*" for ["*"]: AWS lets these actions be scoped to '
        'resource ARNs (only actions that support no resource type may use "*"); name the resource ARNs.',
    ]


def test_fixture_exports_are_schema_valid() -> None:
    export = make_export(
        [
            Res("aws:iam/policy:Policy", "p", {"policy": secret("{}")}),
            Res("aws:ec2/instance:Instance", "i", {"metadataOptions": UNKNOWN}, extra={"protect": True}),
        ]
    )
    assert deployment_errors(export) == []


# --- the CLI contract -----------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the analyser as `make` does."""
    return subprocess.run(
        [sys.executable, "-m", "tools.policy_analyze", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def write(tmp_path: Path, name: str, content: Any) -> Path:
    """A file under tmp_path holding JSON (or raw text)."""
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def bad_export(tmp_path: Path) -> Path:
    """An export with one mandatory and one advisory violation."""
    return write(
        tmp_path,
        "bad.json",
        make_export(
            [
                Res("aws:ec2/natGateway:NatGateway", "nat", {}),
                Res("aws:cloudwatch/logGroup:LogGroup", "logs", {}),
            ],
            default_tags={"Project": "p", "Environment": "e", "Layer": "l", "ManagedBy": "m", "Owner": "o"},
        ),
    )


def test_cli_text_output_and_exit_status(bad_export: Path, tmp_path: Path) -> None:
    result = cli(str(bad_export))
    assert result.returncode == 1, result.stderr
    assert "MANDATORY no-nat-gateway" in result.stdout
    assert "urn:pulumi:dev::student-helper-test::aws:ec2/natGateway:NatGateway::nat" in result.stdout
    assert "[nat-gateway] NAT gateway 'nat' (aws:ec2/natGateway:NatGateway, connectivityType=public) is declared." in (
        result.stdout
    )
    assert "  no-nat-gateway           mandatory           1" in result.stdout
    assert "FAILED: 1 mandatory, 1 advisory diagnostic(s)" in result.stdout
    config = write(tmp_path, "config.json", {"no-nat-gateway": "advisory"})
    assert cli(str(bad_export), "--config", str(config)).returncode == 0


def test_cli_json_output_is_only_the_array(bad_export: Path) -> None:
    result = cli(str(bad_export), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {
            "policy": "no-nat-gateway",
            "check": "nat-gateway",
            "enforcementLevel": "mandatory",
            "urn": "urn:pulumi:dev::student-helper-test::aws:ec2/natGateway:NatGateway::nat",
            "message": "[nat-gateway] NAT gateway 'nat' (aws:ec2/natGateway:NatGateway, connectivityType=public) is "
            "declared.",
        },
        {
            "policy": "log-retention",
            "check": "retention",
            "enforcementLevel": "advisory",
            "urn": "urn:pulumi:dev::student-helper-test::aws:cloudwatch/logGroup:LogGroup::logs",
            "message": "[retention] retentionInDays=null: the log group keeps its events forever (and bills for them).",
        },
    ]


def test_cli_clean_export_exits_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "clean.json", make_export([]))
    result = cli(str(path), "--json")
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")


@pytest.mark.parametrize(
    ("content", "config", "error"),
    [
        (None, None, "no such file"),
        ("{not json", None, "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ({"version": 2, "deployment": {}}, None, "unsupported export version 2 (expected 3)"),
        ({"version": 3}, None, "no deployment object"),
        (make_export([]), {"nope": "advisory"}, "unknown policy 'nope'"),
        (make_export([]), {"no-nat-gateway": "strict"}, "invalid enforcement level 'strict'"),
        (make_export([]), "[broken", "config"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: Any, config: Any, error: str) -> None:
    export = tmp_path / "missing.json" if content is None else write(tmp_path, "export.json", content)
    args = [str(export)]
    if config is not None:
        args += ["--config", str(write(tmp_path, "config.json", config))]
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("policy-analyze: ")
    assert error in result.stderr and "Traceback" not in result.stderr


def test_cli_all_mode_analyses_every_export(tmp_path: Path, bad_export: Path) -> None:
    build = tmp_path / "build"
    (build / "dev").mkdir(parents=True)
    (build / "prod").mkdir()
    (build / "dev" / "network.json").write_text(bad_export.read_text())
    (build / "prod" / "network.json").write_text(json.dumps(make_export([], stack="prod")))
    result = cli("--all", str(build))
    assert result.returncode == 1
    assert "Policy pack student-helper: 2 export(s)" in result.stdout
    assert f"[{build / 'dev' / 'network.json'}]" in result.stdout
    result = cli("--all", str(tmp_path / "empty"))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"policy-analyze: --all {tmp_path / 'empty'}: no such directory",
    )
    assert policy_analyze.main([]) == 2


def test_cli_judges_an_encrypted_secret_as_the_cli_does_and_says_so(tmp_path: Path) -> None:
    sealed = {**SECRET_SIG, "ciphertext": "v1:abc"}
    export = write(tmp_path, "sealed.json", make_export([Res("aws:iam/policy:Policy", "p", {"policy": sealed})]))
    result = cli(str(export), "--json")
    assert result.returncode == 1
    verdicts = [(v["policy"], v["enforcementLevel"], v["message"]) for v in json.loads(result.stdout)]
    assert (
        "iam-least-privilege",
        "mandatory",
        '[invalid-document] policy is not a JSON policy document: "[secret]".',
    ) in verdicts
    assert result.stderr == (
        f"policy-analyze: warning: could not decrypt secrets in {export}; analyzing with secret values redacted "
        '("[secret]"), as `pulumi policy analyze --file` does\n'
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"plaintext": "not json"}, "a secret's plaintext is not JSON"),
        ({"value": "x"}, "malformed secret value: exactly one of ciphertext or plaintext is required"),
        ({"plaintext": "1", "ciphertext": "v1:x"}, "malformed secret value"),
    ],
    ids=["plaintext-not-json", "runtime-form", "both"],
)
def test_cli_refuses_a_secret_the_cli_could_not_read(tmp_path: Path, value: dict[str, str], error: str) -> None:
    broken = {**SECRET_SIG, **value}
    export = write(tmp_path, "bad.json", make_export([Res("aws:iam/policy:Policy", "p", {"policy": broken})]))
    result = cli(str(export))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"policy-analyze: export {export}: urn:pulumi:dev::") and error in result.stderr
