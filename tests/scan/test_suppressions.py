"""The suppressions file: its rules, stale detection, and the project's exports scanning clean with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENVS, LAYERS, CheckRun
from tools.scan import aws_sdk
from tools.scan.cfn import cfn_type
from tools.scan.cli import format_report, run_scan
from tools.scan.export import load_export
from tools.scan.oracle import Oracle
from tools.scan.runners import Finding
from tools.scan.suppressions import (
    DEFAULT_FILE,
    SuppressionError,
    apply,
    load_suppressions,
    parse_suppressions,
    reason_problem,
)
from tools.scan.venv import ROOT

GOOD_REASON = "Flow logs are kept for troubleshooting only, so fourteen days are enough in dev."
URN = "urn:pulumi:dev::student-helper-network::student-helper:network:Vpc$aws:cloudwatch/logGroup:LogGroup::flow-logs"


def _finding(check: str = "CKV_AWS_338", urn: str = URN) -> Finding:
    return Finding("checkov", check, "", False, urn, "aws_cloudwatch_log_group.flow-logs", "build/dev/network.json")


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        (GOOD_REASON, True),
        ("Too short.", False),
        ("flow logs are kept for troubleshooting only so fourteen days are enough.", False),
        ("Flow logs are kept for troubleshooting only, so fourteen days are enough", False),
        ("Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", False),
        (None, False),
    ],
)
def test_reason_must_be_a_sentence(reason: Any, ok: bool) -> None:
    assert (reason_problem(reason) is None) == ok


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"check": "CKV_AWS_338", "reason": GOOD_REASON}, "no global skips"),
        ({"check": "CKV_AWS_338", "resources": [{"urn": "*"}], "reason": GOOD_REASON}, "not only"),
        ({"check": "CKV AWS", "resources": [{"urn": URN}], "reason": GOOD_REASON}, "one check id"),
        ({"check": "CKV_AWS_338", "resources": [{"name": "x"}], "reason": GOOD_REASON}, "each resource"),
        ({"check": "CKV_AWS_338", "resources": [{"urn": URN}], "reason": "Because."}, "at least 40"),
        ({"check": "CKV_AWS_338", "resources": [{"urn": URN}], "reason": GOOD_REASON, "skip": 1}, "unknown keys"),
        (
            {"check": "UNKNOWN_PREFIX", "resources": [{"urn": URN}], "reason": GOOD_REASON},
            r"^suppression #1 \(UNKNOWN_PREFIX\): a parliament entry needs `detail`",
        ),
        (
            {"check": "MALFORMED", "resources": [{"urn": URN}], "reason": GOOD_REASON},
            r"^suppression #1 \(MALFORMED\): a parliament entry needs `detail`",
        ),
        ({"check": "RESOURCE_MISMATCH", "resources": [{"urn": URN}], "detail": "**", "reason": GOOD_REASON}, "names"),
        ({"check": "CKV_AWS_338", "resources": [{"urn": URN}], "detail": 3, "reason": GOOD_REASON}, "`detail`"),
    ],
)
def test_malformed_entries_are_rejected(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SuppressionError, match=message):
        parse_suppressions({"suppressions": [entry]})


FLOW_LOGS = {"name": "flow-*", "type": "aws:cloudwatch/logGroup:LogGroup"}
# A matrix with a second development environment, as a team adds one: a class covers it with no edit.
CLASSES = {"dev": "development", "sandbox": "development", "staging": "preproduction", "prod": "production"}


@pytest.mark.parametrize(
    ("selector", "scope", "matches"),
    [
        ({"urn": "*::flow-logs"}, {}, True),
        (FLOW_LOGS, {}, True),
        (FLOW_LOGS, {"envs": ["prod"]}, False),
        (FLOW_LOGS, {"envs": ["dev"]}, True),
        (FLOW_LOGS, {"classes": ["production"]}, False),
        (FLOW_LOGS, {"classes": ["development", "preproduction"]}, True),
        ({"name": "flow-*", "type": "aws:s3/bucket:Bucket"}, {}, False),
        ({"file": "tools/*.py"}, {}, False),
    ],
)
def test_selectors(selector: dict[str, str], scope: dict[str, list[str]], matches: bool) -> None:
    entry = {"check": "CKV_AWS_338", "resources": [selector], "reason": GOOD_REASON, **scope}
    [parsed] = parse_suppressions({"suppressions": [entry]}, CLASSES)
    assert parsed.matches(_finding()) == matches


def test_a_class_covers_every_environment_of_it() -> None:
    entry = {"check": "CKV_AWS_338", "resources": [FLOW_LOGS], "classes": ["development"], "reason": GOOD_REASON}
    [parsed] = parse_suppressions({"suppressions": [entry]}, CLASSES)
    assert parsed.envs == {"dev", "sandbox"}


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"envs": ["dev"], "classes": ["development"]}, "name `envs` or `classes`, not both"),
        (
            {"classes": ["prod"]},
            "`classes` names prod, not in shared/environment_matrix.yaml (known environment "
            "classes: development, preproduction, production)",
        ),
        (
            {"envs": ["qa"]},
            "`envs` names qa, not in shared/environment_matrix.yaml (known environments: dev, sandbox, staging, prod)",
        ),
        ({"envs": []}, "`envs` must be a non-empty list of environments (dev, sandbox, staging, prod)"),
        (
            {"classes": "production"},
            "`classes` must be a non-empty list of environment classes (development, preproduction, production)",
        ),
    ],
)
def test_an_entry_names_environments_or_classes_of_the_matrix(scope: dict[str, Any], message: str) -> None:
    entry = {"check": "CKV_AWS_338", "resources": [FLOW_LOGS], "reason": GOOD_REASON, **scope}
    with pytest.raises(SuppressionError) as info:
        parse_suppressions({"suppressions": [entry]}, CLASSES)
    assert str(info.value) == f"suppression #1 (CKV_AWS_338): {message}"


def test_stale_suppressions_are_reported() -> None:
    entries = parse_suppressions(
        {
            "suppressions": [
                {"check": "CKV_AWS_338", "resources": [{"urn": URN}, {"urn": "*::gone"}], "reason": GOOD_REASON},
                {"check": "CKV_AWS_18", "resources": [{"urn": URN}], "reason": GOOD_REASON},
            ]
        }
    )
    open_, suppressed, stale = apply([_finding(), _finding("CKV_AWS_79")], entries)
    assert [f.check_id for f in open_] == ["CKV_AWS_79"]
    assert len(suppressed) == 1
    assert len(stale) == 2 and "*::gone" in stale[0] and "CKV_AWS_18" in stale[1]


POLICY_URN = (
    "urn:pulumi:dev::student-helper-compute::student-helper:compute:ServiceRole$aws:iam/rolePolicy:RolePolicy::"
    "student-helper-dev-backend-policy"
)
LOCATION = "{'line': 1, 'column': 755, 'filepath': None}"
BEDROCK_FORMATS = [
    "arn:*:bedrock:*:*:application-inference-profile/*",
    "arn:*:bedrock:*:*:async-invoke/*",
    "arn:*:bedrock:*:*:marketplace/model-endpoint/all-access",
    "arn:*:bedrock:*:*:default-prompt-router/*",
    "arn:*:bedrock:*::foundation-model/*",
    "arn:*:bedrock:*:*:imported-model/*",
    "arn:*:bedrock:*:*:inference-profile/*",
    "arn:*:bedrock:*:*:provisioned-model/*",
]


def _mismatch(*pairs: tuple[str, str]) -> str:
    """parliament's RESOURCE_MISMATCH detail as the scan report prints it."""
    return str([{"action": action, "required_format": fmt} for action, fmt in pairs]) + " " + LOCATION


def _parliament(check: str, detail: str) -> Finding:
    return Finding("parliament", check, "", False, POLICY_URN, "policy", "build/dev/compute.json", detail)


BEDROCK = [("bedrock:InvokeModel", f) for f in BEDROCK_FORMATS]
PARLIAMENT_CASES = [
    (
        "s3vectors prefix",
        "UNKNOWN_PREFIX",
        f"Unknown prefix s3vectors {{'string': 's3vectors:QueryVectors', {LOCATION[1:]}",
        True,
    ),
    (
        "misspelled prefix",
        "UNKNOWN_PREFIX",
        f"Unknown prefix s3vector {{'string': 's3vector:QueryVectors', {LOCATION[1:]}",
        False,
    ),
    ("other prefix", "UNKNOWN_PREFIX", f"Unknown prefix sqs2 {{'string': 'sqs2:SendMessage', {LOCATION[1:]}", False),
    ("bedrock InvokeModel", "RESOURCE_MISMATCH", _mismatch(*BEDROCK), True),
    ("other action", "RESOURCE_MISMATCH", _mismatch(("s3:GetObject", "arn:*:s3:::*/*")), False),
    (
        "other action beside bedrock",
        "RESOURCE_MISMATCH",
        _mismatch(*BEDROCK[:4], ("s3:GetObject", "arn:*:s3:::*/*"), *BEDROCK[4:]),
        False,
    ),
    (
        "bedrock with one format more",
        "RESOURCE_MISMATCH",
        _mismatch(*BEDROCK, ("bedrock:InvokeModel", "arn:*:x")),
        False,
    ),
]


@pytest.mark.parametrize(
    ("check", "detail", "suppressed"), [c[1:] for c in PARLIAMENT_CASES], ids=[c[0] for c in PARLIAMENT_CASES]
)
def test_parliament_entries_suppress_only_the_reviewed_detail(check: str, detail: str, suppressed: bool) -> None:
    open_, done, _ = apply([_parliament(check, detail)], load_suppressions(DEFAULT_FILE))
    assert (len(done), len(open_)) == ((1, 0) if suppressed else (0, 1))


def test_stale_check_counts_only_findings_whose_detail_matches() -> None:
    entries = parse_suppressions(
        {
            "suppressions": [
                {
                    "check": "UNKNOWN_PREFIX",
                    "resources": [{"urn": POLICY_URN}],
                    "detail": "Unknown prefix s3vectors *",
                    "reason": GOOD_REASON,
                }
            ]
        }
    )
    open_, suppressed, stale = apply([_parliament("UNKNOWN_PREFIX", "Unknown prefix sqs2 {}")], entries)
    assert (len(open_), suppressed) == (1, [])
    assert stale == [
        f"suppression #1 (UNKNOWN_PREFIX) matches no finding for {POLICY_URN} with detail 'Unknown prefix s3vectors *'"
    ]


def test_the_suppressions_file_is_valid() -> None:
    entries = load_suppressions(DEFAULT_FILE)
    assert all(reason_problem(e.reason) is None for e in entries)


# The tests below use the real offline exports of every environment (the lead's `offline_exports` fixture).


def test_mapping_covers_every_type_in_our_exports(request: pytest.FixtureRequest, oracle: Oracle) -> None:
    exports: dict[tuple[str, str], Path] = request.getfixturevalue("offline_exports")
    types: set[str] = set()
    for path in exports.values():
        types |= set(re.findall(r"aws(?:-native)?:[a-zA-Z0-9]+/?[a-zA-Z0-9]*:[A-Za-z0-9]+", path.read_text()))
        types |= {r.type for r in load_export(path).resources}
    assert types, "the exports hold no AWS resources"
    for token in sorted(types):
        if token.startswith("aws-native:"):
            assert cfn_type(token, oracle).startswith("AWS::")
        elif token in aws_sdk.resource_files():
            tf = aws_sdk.tf_type(token, oracle.tf_types)
            # checkov knows every Terraform type our exports use, or the type is newer than checkov's list.
            assert tf in oracle.tf_types or tf.startswith("aws_s3vectors_"), f"{token} → {tf} is unknown to checkov"


def test_make_scan_passes_on_our_exports_with_no_stale_suppressions(
    checked: CheckRun, scan_venv: Path, tmp_path: Path
) -> None:
    # make scan's job on a copy of the session's make check run: its findings cache spares the scanners.
    out = checked.copy(tmp_path / "build")
    exports = sorted(out / env / f"{layer}.json" for env in ENVS for layer in LAYERS)
    report = run_scan(exports, out / "scan", load_suppressions(DEFAULT_FILE), ROOT, scan_venv)
    text = format_report(report, check_stale=True)
    assert not report.open, text
    assert not report.stale, text
    assert all(f.urn.startswith("urn:pulumi:") for f in report.findings if f.scanner in ("checkov", "cfn-lint"))
    assert {Path(f.source).parent.parent for f in report.findings if f.urn.startswith("urn:")} == {out}
