"""The pack over the protocol the CLI speaks: launched as the language host launches it, driven as `pulumi policy
analyze --file` drives it (tests/policies/cli_engine.py), its verdicts must equal `make policy-analyze`'s.

One pack process serves the whole module; each test configures it as the CLI would before analysing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cli_engine import Pack, PackError, Verdict
from policytest_helpers import SECRET_SIG, UNKNOWN, Res, make_export
from test_policy_mutations import MUTATIONS, Mutation

from policies.registry import BY_NAME, MANDATORY, PACK_NAME, PACK_VERSION, POLICIES, default_level
from tools.policy_analyze import analyze, parse_config

ROOT = Path(__file__).resolve().parents[2]
PACK_CONFIG = json.loads((ROOT / "policies" / "config.json").read_text())
# One mutation per mandatory policy: the first that test_policy_mutations lists for it.
MANDATORY_MUTATIONS = [next((p, m) for p, m in MUTATIONS if p == name) for name in MANDATORY]


@pytest.fixture(scope="module")
def pack() -> Iterator[Pack]:
    """The repository's pack, run by this venv's interpreter (the standalone folder has its own test)."""
    running = Pack(Path(sys.executable), Path(sys.prefix), ROOT / "policies")
    yield running
    assert running.close() == 0, running.stderr_text()
    assert "Traceback" not in running.stderr_text()


def offline(export: dict[str, Any], config: dict[str, Any]) -> list[Verdict]:
    """`make policy-analyze`'s verdicts, in the same form."""
    return sorted(
        Verdict(v.policy, v.enforcement_level, v.urn, v.message) for v in analyze(export, parse_config(config))
    )


def both(pack: Pack, export: dict[str, Any], config: dict[str, Any] | None = None) -> list[Verdict]:
    """The verdicts of both paths, asserted equal."""
    config = PACK_CONFIG if config is None else config
    pack.configure(config)
    over_grpc = pack.analyze(export)
    assert over_grpc == offline(export, config)
    return over_grpc


def test_analyzer_info_is_the_registry(pack: Pack) -> None:
    info = pack.info
    assert (info.name, info.version, info.supportsConfig) == (PACK_NAME, PACK_VERSION, True)
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    for sent in info.policies:
        policy = BY_NAME[sent.name]
        assert sent.description == policy.description
        assert sent.remediation_steps == policy.remediation_steps
        assert sent.enforcementLevel == (1 if default_level(policy).value == "mandatory" else 0), sent.name
        assert set(sent.configSchema.properties) == set(policy.config_schema.properties)  # type: ignore[union-attr]


def test_every_project_export_is_judged_alike(pack: Pack, project_exports: dict[tuple[str, str], Path]) -> None:
    assert len(project_exports) == 12
    for key, path in project_exports.items():
        export = json.loads(path.read_text())
        verdicts = both(pack, export)
        assert [v for v in verdicts if v.level == "mandatory"] == [], key


@pytest.mark.parametrize(("policy", "mutation"), MANDATORY_MUTATIONS, ids=[p for p, _ in MANDATORY_MUTATIONS])
def test_each_mandatory_violation_is_judged_alike(
    pack: Pack, project_exports: dict[tuple[str, str], Path], policy: str, mutation: Mutation
) -> None:
    # Every layer of prod (the strictest environment); tests/policies/test_policy_mutations.py covers all twelve
    # exports offline, and this test shows the offline verdicts are the CLI's.
    for layer in ("network", "data", "compute", "edge"):
        export = json.loads(project_exports[("prod", layer)].read_text())
        target = mutation(export)
        verdicts = both(pack, export)
        assert any(v.policy == policy and v.level == "mandatory" and v.urn == target for v in verdicts), (layer, target)


# --- the divergences a CLI run found, each pinned --------------------------------------------------------------------

TAGS = {"Project": "p", "Environment": "e", "Layer": "l", "ManagedBy": "m", "Owner": "o"}


def test_a_secret_the_cli_cannot_decrypt_is_judged_as_the_string_it_sees(pack: Pack) -> None:
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    encrypted = Res(
        "aws:iam/rolePolicy:RolePolicy", "sealed", {"role": "r", "policy": {**SECRET_SIG, "ciphertext": "v1:x"}}
    )
    readable = Res(
        "aws:iam/rolePolicy:RolePolicy",
        "open",
        {"role": "r", "policy": {**SECRET_SIG, "plaintext": json.dumps(json.dumps(admin))}},
    )
    verdicts = both(pack, make_export([encrypted, readable], default_tags=TAGS), {})
    assert [(v.urn.rsplit("::", 1)[1], v.level, v.message) for v in verdicts] == [
        (
            "open",
            "mandatory",
            '[wildcard-resource] policy Statement[0] allows Resource "*" for ["s3:GetObject"]: AWS lets these actions '
            'be scoped to resource ARNs (only actions that support no resource type may use "*"); name the resource '
            "ARNs.",
        ),
        ("sealed", "mandatory", '[invalid-document] policy is not a JSON policy document: "[secret]".'),
    ]


def test_numbers_read_as_json_writes_them(pack: Pack) -> None:
    resources = [
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "ssh",
            {"securityGroupId": "sg-1", "cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"},
        ),
        Res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 7300}),
    ]
    config = {"log-retention": {"maxRetentionDays": 3653}}
    messages = [v.message for v in both(pack, make_export(resources, default_tags=TAGS), config)]
    assert "[retention] retentionInDays=7300 is more than the configured maximum of 3653 days." in messages
    assert any("(ports 22-22)" in m for m in messages), messages
    assert not any(number in m for m in messages for number in ("22.0", "3653.0", "7300.0")), messages


def test_a_stack_note_is_filed_under_the_root_stack(pack: Pack) -> None:
    bucket = Res("aws:s3/bucket:Bucket", "docs", {}, outputs={"bucket": "docs-1", "arn": "arn:aws:s3:::docs-1"})
    policy = Res(
        "aws:s3/bucketPolicy:BucketPolicy",
        "docs-policy",
        {"bucket": UNKNOWN, "policy": UNKNOWN},
        extra={"propertyDependencies": {"bucket": [bucket.urn]}},
    )
    export = make_export([bucket, policy], default_tags=TAGS)
    notes = [v for v in both(pack, export, {}) if v.policy == "s3-tls-only"]
    assert [(v.level, v.urn) for v in notes] == [
        ("advisory", "urn:pulumi:dev::student-helper-test::pulumi:pulumi:Stack::student-helper-test-dev")
    ]
    assert notes[0].message.startswith(f"can't run policy 's3-tls-only' from policy pack '{PACK_NAME}@v0.1.0'")
    # Without a root stack resource, the CLI files it under the default root stack URN all the same.
    export["deployment"]["resources"] = export["deployment"]["resources"][1:]
    assert [v.urn for v in both(pack, export, {}) if v.policy == "s3-tls-only"] == [notes[0].urn]


def test_a_computed_setting_left_out_of_a_preview_is_mandatory_over_the_protocol(pack: Pack) -> None:
    # What a real preview sends for a program that leaves encryption out: no input, and an output still unknown.
    volume = Res(
        "aws:ebs/volume:Volume",
        "vol",
        {"availabilityZone": "eu-west-1a", "size": 8, "tags": TAGS},
        outputs={"availabilityZone": "eu-west-1a", "size": 8, "tags": TAGS, "encrypted": UNKNOWN, "arn": UNKNOWN},
    )
    verdicts = both(pack, make_export([volume], default_tags=TAGS), {})
    assert [(v.policy, v.level, v.urn, v.message) for v in verdicts] == [
        (
            "encryption-at-rest",
            "mandatory",
            volume.urn,
            "[ebs] encrypted=null: the data is stored unencrypted; it must be true.",
        )
    ]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"all": "mandatory"},
        {"no-nat-gateway": "disabled", "log-retention": "remediate"},
        {
            "all": "advisory",
            "iam-least-privilege": {"enforcementLevel": "mandatory", "allowedWildcardResourceActions": []},
        },
        {"log-retention": {"maxRetentionDays": 30}, "required-tags": {"requiredTags": ["Owner", "CostCentre"]}},
    ],
    ids=["defaults", "all-mandatory", "disabled-and-remediate", "all-then-one", "properties"],
)
def test_levels_and_properties_apply_alike(pack: Pack, config: dict[str, Any]) -> None:
    resources = [
        Res("aws:ec2/natGateway:NatGateway", "nat", {}),
        # Pending deletion in the state: neither path judges it.
        Res("aws:ec2/natGateway:NatGateway", "old-nat", {}, extra={"delete": True}),
        Res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 90}),
        Res("aws:iam/policy:Policy", "p", {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*"}]})}),
    ]
    verdicts = both(pack, make_export(resources, default_tags=TAGS), config)
    assert verdicts and not any(v.urn.endswith("::old-nat") for v in verdicts)


def test_a_misspelt_property_fails_the_run_on_both_paths(pack: Pack) -> None:
    typo = {"log-retention": {"maxRetentionDay": 3}}
    with pytest.raises(Exception, match="Additional properties are not allowed"):
        parse_config(typo)
    # The CLI's own validation lets it through (its schema has no additionalProperties) ...
    pack.configure(typo)
    # ... and the pack refuses it on the first resource, which stops the CLI's run.
    with pytest.raises(grpc.RpcError) as failed:
        pack.analyze(make_export([], default_tags=TAGS))
    assert "log-retention: unknown config property 'maxRetentionDay' (allowed: exemptions, maxRetentionDays)" in str(
        failed.value.details()  # type: ignore[attr-defined]
    )
    # A value of the wrong type never gets that far: the CLI's validation refuses it.
    with pytest.raises(PackError, match="log-retention: 'x' is not of type 'integer'"):
        pack.configure({"log-retention": {"maxRetentionDays": "x"}})
