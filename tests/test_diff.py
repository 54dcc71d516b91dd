"""make diff: what a change costs and breaks against another commit, on a small git history of this repository.

The history is a copy of the repository's tracked files (commit ``base``) and one branch per case on top of it. Every
case diffs its branch against ``base`` in one build directory, seeded with the session's offline runs: the cache keys
do not depend on where a checkout lives, so a layer whose inputs are unchanged is copied, never run, and each case
runs only the layers its change reaches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import yamlio
from tests import fakes
from tests.conftest import ENVS, LAYERS, REPO_ROOT
from tools.checkout import copy_checkout
from tools.diff import compare, github, render
from tools.diff.replacements import MAY_REPLACE, REPLACE, UPDATE, decide, load_rules
from tools.offline.schedule import input_key, upstream_of
from tools.scan import aws_sdk
from tools.scan.oracle import load_oracle

GIT = ["git", "-c", "user.name=diff-test", "-c", "user.email=diff-test@example.com", "-c", "commit.gpgsign=false"]
PROD_BACKEND = (
    "urn:pulumi:prod::student-helper-compute::student-helper:compute:BackendInstance$aws:ec2/instance:Instance"
    "::student-helper-prod-backend"
)
INSTANCE = "aws:ec2/instance:Instance"
DATABASE = "aws:rds/instance:Instance"
SAMPLE = (REPO_ROOT / "docs" / "diff.md").read_text()
README = (REPO_ROOT / "README.md").read_text()

# --- the replacement rules -------------------------------------------------------------------------------------------


def _schema_has(schema: dict[str, Any], path: list[str]) -> bool:
    """Whether a CloudFormation schema has the property path ``A/B`` (following ``$ref`` into its definitions)."""
    node: dict[str, Any] | None = schema
    for name in path:
        while node is not None and "$ref" in node:
            node = schema.get("definitions", {}).get(node["$ref"].rsplit("/", 1)[-1])
        found = (node or {}).get("properties", {})
        if name not in found:
            return False
        node = found[name]
    return True


def test_every_rule_names_real_cloudformation_properties_and_real_pulumi_aws_inputs() -> None:
    rules, oracle = load_rules(), load_oracle()
    assert rules.types, "no rules at all would decide nothing"
    for token, rule in rules.types.items():
        schema = oracle.cfn_schema(rule.cloudformation)
        assert schema is not None, f"{token}: cfn-lint has no schema for {rule.cloudformation}"
        inputs = set(aws_sdk.resource_props(token))
        for prop, path in rule.renames.items():
            assert prop in inputs, f"{token}: {prop} is not an input of the pulumi-aws resource"
            assert _schema_has(schema, path.split("/")), f"{token}: {rule.cloudformation} has no {path}"
        for prop in rule.overrides:
            assert prop in inputs, f"{token}: override of {prop}, which is not an input"


@pytest.mark.parametrize(
    ("token", "prop", "inputs", "action", "source"),
    [
        (DATABASE, "dbName", {}, REPLACE, "tf-rds-instance"),
        (DATABASE, "engine", {}, REPLACE, "tf-rds-engine"),
        (DATABASE, "identifier", {}, UPDATE, "tf-rds-identifier"),
        (DATABASE, "instanceClass", {}, UPDATE, "tf-rds-instance"),
        (DATABASE, "allocatedStorage", {}, UPDATE, "cloudformation:AWS::RDS::DBInstance"),
        (DATABASE, "tags", {}, UPDATE, "always-update"),
        ("aws:ec2/instance:Instance", "ami", {}, REPLACE, "cloudformation:AWS::EC2::Instance"),
        ("aws:ec2/instance:Instance", "instanceType", {}, UPDATE, "sdk-ec2-instance"),
        ("aws:ec2/instance:Instance", "userData", {"userDataReplaceOnChange": True}, REPLACE, "sdk-ec2-instance"),
        ("aws:ec2/instance:Instance", "userData", {}, UPDATE, "sdk-ec2-instance"),
        ("aws:ec2/instance:Instance", "rootBlockDevice", {}, MAY_REPLACE, "none"),
        ("aws:ec2/instance:Instance", "ebsOptimized", {}, MAY_REPLACE, "cloudformation:AWS::EC2::Instance"),
        ("aws:s3/bucket:Bucket", "bucket", {}, REPLACE, "cloudformation:AWS::S3::Bucket"),
        ("aws:s3/bucket:Bucket", "forceDestroy", {}, UPDATE, "sdk-delete-time"),
        ("aws:sqs/queue:Queue", "name", {}, REPLACE, "cloudformation:AWS::SQS::Queue"),
        ("aws:sqs/queue:Queue", "visibilityTimeoutSeconds", {}, UPDATE, "cloudformation:AWS::SQS::Queue"),
        (
            "aws:cloudfront/distribution:Distribution",
            "origins",
            {},
            UPDATE,
            "cloudformation:AWS::CloudFront::Distribution",
        ),
        ("aws-native:s3vectors:Index", "dimension", {}, REPLACE, "cloudformation:AWS::S3Vectors::Index"),
        ("aws-native:s3vectors:Index", "tags", {}, UPDATE, "always-update"),
        ("aws:s3/bucketVersioning:BucketVersioning", "bucket", {}, MAY_REPLACE, "none"),
    ],
)
def test_a_change_is_an_update_or_a_replacement_from_a_named_source(
    token: str, prop: str, inputs: dict[str, Any], action: str, source: str
) -> None:
    decision = decide(token, prop, inputs)
    assert (decision.action, decision.source) == (action, source), decision.why


# --- resources, cost and findings, on hand-made exports --------------------------------------------------------------

STACK = "urn:pulumi:dev::student-helper-data::"
STATEFUL = frozenset({DATABASE})


def _resource(name: str, token: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"urn": f"{STACK}{token}::{name}", "type": token, "custom": True, "inputs": inputs, **extra}


def _export(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"resources": list(resources)}}


def test_resource_changes_name_the_action_the_stateful_data_and_the_cascade_of_a_replacement() -> None:
    db = _resource("db", DATABASE, {"dbName": "app", "instanceClass": "db.t4g.micro"}, protect=True)
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"hunter2"'}
    param = _resource("settings", "aws:ssm/parameter:Parameter", {"insecureValue": "host", "value": secret})
    base = _export(db, param, _resource("old-queue", "aws:sqs/queue:Queue", {"name": "q"}))
    new_db = _resource("db", DATABASE, {"dbName": "other", "instanceClass": "db.t4g.micro"}, protect=True)
    new_param = {**param, "inputs": {**param["inputs"], "value": {**secret, "plaintext": '"hunter3"'}}}
    new_param["propertyDependencies"] = {"insecureValue": [db["urn"]]}
    head = _export(new_db, new_param, _resource("logs", "aws:cloudwatch/logGroup:LogGroup", {"name": "l"}))
    changes = {c["name"]: c for c in compare.resource_changes(base, head, STATEFUL)}
    assert {name: c["action"] for name, c in changes.items()} == {
        "db": REPLACE,
        "settings": UPDATE,
        "logs": "add",
        "old-queue": "remove",
    }
    assert changes["db"]["stateful"] and changes["db"]["protected"]
    (db_name,) = changes["db"]["properties"]
    assert (db_name["name"], db_name["base"], db_name["head"]) == ("dbName", "app", "other")
    cascade = {p["name"]: p for p in changes["settings"]["properties"]}
    assert "db, which is replaced" in cascade["insecureValue"]["why"], "the replaced database's new address"
    assert cascade["value"]["base"] == cascade["value"]["head"] == "[secret]", "a secret is never shown"
    assert "hunter" not in json.dumps(changes)


def test_a_resource_whose_urn_changes_is_a_replacement() -> None:
    moved = _resource("db", DATABASE, {"dbName": "app"})
    moved["urn"] = f"{STACK}student-helper:data:Database${DATABASE}::db"
    (change,) = compare.resource_changes(
        _export(_resource("db", DATABASE, {"dbName": "app"})), _export(moved), STATEFUL
    )
    assert (change["action"], change["urn"], change["stateful"]) == (REPLACE, moved["urn"], True)
    assert change["properties"][0]["source"] == compare.URN_SOURCE


@dataclass(frozen=True)
class Line:
    urns: tuple[str, ...]
    monthly_usd: float
    description: str
    price_key: str
    quantity: float = 730.0
    unit: str = "instance-hours"


@dataclass(frozen=True)
class Estimate:
    line_items: tuple[Line, ...]
    not_priced: tuple[Any, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.line_items)


def test_a_cost_change_is_named_on_the_resource_with_the_setting_that_caused_it() -> None:
    urn = f"{STACK}aws:ec2/instance:Instance::backend"
    queues = (f"{STACK}aws:sqs/queue:Queue::a", f"{STACK}aws:sqs/queue:Queue::b")
    base = Estimate((Line((urn,), 19.27, "EC2 t3.small", "ec2.t3.small"), Line(queues, 0.28, "SQS", "sqs.requests")))
    head = Estimate((Line((urn,), 38.54, "EC2 t3.medium", "ec2.t3.medium"), Line(queues, 0.28, "SQS", "sqs.requests")))
    change = {
        "urn": urn,
        "action": UPDATE,
        "properties": [{"name": "instanceType", "base": "t3.small", "head": "t3.medium", "detail": []}],
    }
    setting = compare.Setting("ec2_instance_type", ("compute",), "t3.small", "t3.medium")
    found = compare.cost_changes(base, head, {urn: change}, [setting])
    assert (found["base_usd"], found["head_usd"], found["delta_usd"]) == (19.55, 38.82, 19.27)
    (item,) = found["items"]
    assert item["urns"] == [urn]
    assert item["reason"] == "ec2_instance_type t3.small → t3.medium: +$19.27"


def test_a_changed_setting_is_listed_by_name_and_a_secure_value_is_never_shown() -> None:
    base = {"data": {"db_name": "app", "api_key": {"secure": "v1:abc"}}, "compute": {"db_name": "app"}}
    head = {"data": {"db_name": "renamed", "api_key": {"secure": "v1:xyz"}}, "compute": {"db_name": "renamed"}}
    found = {s.key: s for s in compare.settings_changes(base, head)}
    assert found["db_name"].layers == ("data", "compute")
    assert compare.show(found["api_key"].base) == compare.show(found["api_key"].head) == "[secret]"


def test_findings_are_new_or_resolved_and_a_moved_line_is_neither() -> None:
    finding = {"scanner": "checkov", "check_id": "CKV_AWS_3", "urn": "u", "detail": "", "resource": "r:1"}
    moved = {**finding, "resource": "r:9"}
    other = {**finding, "check_id": "CKV_AWS_8"}
    new, resolved = compare.finding_changes([finding, other], [moved, moved])
    assert (new, resolved) == ([moved], [other])


# --- the pull-request comment --------------------------------------------------------------------------------------


@dataclass
class Gh:
    """The stand-in gh on PATH, with the comment pages it answers and the calls it records."""

    record: Path
    answers: Path

    def pages(self, *pages: list[dict[str, Any]]) -> None:
        (self.answers / "comments.json").write_text(json.dumps(list(pages)))

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()] if self.record.exists() else []


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Gh:
    stand_in = Gh(tmp_path / "calls.jsonl", tmp_path / "answers")
    stand_in.answers.mkdir()
    monkeypatch.setenv("PATH", f"{fakes.install(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_RECORD", str(stand_in.record))
    monkeypatch.setenv("STANDIN_DIR", str(stand_in.answers))
    return stand_in


def _comment(comment_id: int, body: str, login: str = "github-actions[bot]") -> dict[str, Any]:
    kind = "Bot" if login.endswith("[bot]") else "User"
    return {"id": comment_id, "body": body, "user": {"login": login, "type": kind}}


def test_every_push_updates_the_one_diff_comment_instead_of_adding_another(gh: Gh) -> None:
    # The earlier diff comment is on the second page; a person's or another app's quote of the marker is not it.
    gh.pages(
        [_comment(1, "looks good"), _comment(2, f"{github.MARKER} quoted", "octocat")],
        [_comment(3, f"{github.MARKER} relayed", "some-app[bot]")],
        [_comment(7, f"{github.MARKER}\nold")],
    )
    assert github.post("owner/repo", "42", "## new diff") == "updated comment 7"
    listing, edit = gh.calls()
    assert listing["args"] == ["api", "--paginate", "repos/owner/repo/issues/42/comments"]
    assert edit["args"][:4] == ["api", "--method", "PATCH", "repos/owner/repo/issues/comments/7"]
    assert edit["body"] == {"body": f"{github.MARKER}\n## new diff"}


def test_the_first_push_creates_the_diff_comment(gh: Gh) -> None:
    gh.pages([_comment(1, "looks good")])
    assert github.post("owner/repo", "42", "## diff") == "created a comment"
    assert gh.calls()[-1]["args"][:4] == ["api", "--method", "POST", "repos/owner/repo/issues/42/comments"]


def test_a_report_over_githubs_limit_is_cut_and_says_so() -> None:
    body = github.comment_body("x" * 100_000)
    assert len(body) <= github.MAX_BODY and body.startswith(github.MARKER)
    assert "job summary" in body[-200:]


def test_a_cost_increase_above_the_repository_threshold_is_a_warning() -> None:
    document = {"environments": {"dev": {"cost": {"delta_usd": 5.0}}, "prod": {"cost": {"delta_usd": 148.92}}}}
    assert github.threshold("") == github.DEFAULT_WARN_USD
    (line,) = github.warnings(document, github.threshold("100"))
    assert line.startswith("::warning title=Cost increase in prod::prod costs $148.92 more a month")
    assert len(github.warnings(document, github.threshold("1"))) == 2
    with pytest.raises(github.GitHubError, match="COST_INCREASE_WARN_USD='lots' is not a number"):
        github.threshold("lots")


# --- the cache key -------------------------------------------------------------------------------------------------


def test_the_same_layer_in_two_checkouts_has_one_cache_key(tmp_path: Path) -> None:
    checkouts = [tmp_path / "a" / "repo", tmp_path / "elsewhere" / "b"]
    for root in checkouts:
        for part in ("stacks/data", "shared", "policies"):
            shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    out = tmp_path / "out"

    def key(root: Path) -> str:
        return input_key("data", "dev", out, root / "stacks", False, upstream_of("data"), source_root=root)

    assert key(checkouts[0]) == key(checkouts[1])
    other_stack = checkouts[1] / "stacks" / "data" / "Pulumi.prod.yaml"
    other_stack.write_text(other_stack.read_text() + "# prod only\n")
    assert key(checkouts[0]) == key(checkouts[1]), "a dev run does not read prod's stack file"
    taggable = checkouts[1] / "policies" / "taggable_types.json"
    taggable.write_text(taggable.read_text().replace('"map"', '"list"', 1))
    assert key(checkouts[0]) != key(checkouts[1]), "the tagging data the program reads is an input"


def test_another_checkouts_program_runs_with_that_checkouts_shared_library(tmp_path: Path) -> None:
    # The base's copy of the matrix puts dev's endpoints in two AZs: its network has staging's 49 resources, not 45.
    checkout = tmp_path / "checkout"
    for part in ("stacks/network", "shared", "policies"):
        shutil.copytree(REPO_ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    matrix = checkout / "shared" / "environment_matrix.yaml"
    document = yamlio.load(matrix.read_text())
    document["environments"]["dev"]["settings"]["endpoint_az_count"] = 2
    matrix.write_text(yaml.safe_dump(document))
    program = (
        "import sys, json; from pathlib import Path; from tools.offline.schedule import run_all; "
        "root, out = Path(sys.argv[1]), Path(sys.argv[2]); "
        "done = run_all({'dev': ['network']}, out, stacks_dir=root / 'stacks', source_root=root); "
        "print(json.dumps([(o.resources, o.error) for o in done]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(checkout), str(tmp_path / "out")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [[49, ""]], done.stdout + done.stderr


# --- make diff on a history ----------------------------------------------------------------------------------------


def test_the_make_targets_run_the_diff_with_base_and_say_when_it_is_missing() -> None:
    def dry(*args: str) -> str:
        done = subprocess.run(["make", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        return done.stdout

    every = dry("diff", "BASE=origin/main")
    assert (
        '-m tools.diff --base "origin/main" --out build ' in every and '--policy-config "policies/config.json"' in every
    )
    assert "--envs" not in every  # every environment of the matrix
    assert '--envs "prod" --cost-only' in dry("cost-diff", "BASE=origin/main", "ENVS=prod")
    done = subprocess.run(
        [sys.executable, "-m", "tools.diff", "--base", "", "--cost-only"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "BASE is required: make diff BASE=<git ref>" in done.stderr


@dataclass
class History:
    """A git repository holding this repository's files at ``base`` and one branch per case."""

    root: Path

    def git(self, *args: str) -> str:
        return subprocess.run([*GIT, *args], cwd=self.root, capture_output=True, text=True, check=True).stdout

    def branch(self, name: str, edits: dict[str, str]) -> None:
        """A branch off ``base`` whose commit appends each text to its file (a new file is created)."""
        self.git("checkout", "--quiet", "-B", name, "base")
        for path, text in edits.items():
            with (self.root / path).open("a") as handle:
                handle.write(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", name)

    def diff(self, case: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """``make diff`` of ``case`` against ``base`` (the tool itself, run from the case's checkout)."""
        self.git("checkout", "--quiet", case)
        command = [sys.executable, "-m", "tools.diff", "--base", "base", "--out", str(self.root / "build"), *args]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        name = "cost-diff" if "--cost-only" in args else "diff"
        report = self.root / "build" / f"{name}.json"
        return done, json.loads(report.read_text()) if report.exists() else {}


def new_environment(name: str, copies: str) -> dict[str, str]:
    """The edits that add an environment as docs/configuration.md says: a matrix entry (appended under
    ``environments``, the file's last key) and a stack file per layer, each a copy of ``copies``'s."""
    matrix = yamlio.load((REPO_ROOT / "shared" / "environment_matrix.yaml").read_text())
    entry = yaml.safe_dump({name: matrix["environments"][copies]}, sort_keys=False)
    edits = {"shared/environment_matrix.yaml": "".join(f"  {line}\n" for line in entry.splitlines())}
    for layer in LAYERS:
        text = (REPO_ROOT / "stacks" / layer / f"Pulumi.{copies}.yaml").read_text()
        edits[f"stacks/{layer}/Pulumi.{name}.yaml"] = text.replace(f":environment: {copies}", f":environment: {name}")
    return edits


CASES = {
    "prod-instance": {"stacks/compute/Pulumi.prod.yaml": "  student-helper-compute:ec2_instance_type: t3.medium\n"},
    # A scratch instance (IMDSv2, private, encrypted root) with an unencrypted EBS data volume.
    "unencrypted-volume": {
        "stacks/compute/__main__.py": """
aws.ec2.Instance(
    "scratch",
    ami="ami-0123456789abcdef0",
    instance_type="t3.micro",
    associate_public_ip_address=False,
    metadata_options={"http_tokens": "required"},
    root_block_device={"volume_type": "gp3", "volume_size": 8, "encrypted": True},
    ebs_block_devices=[{"device_name": "/dev/sdf", "volume_type": "gp3", "volume_size": 8}],
)
"""
    },
    "database-name": {"stacks/data/Pulumi.dev.yaml": "  student-helper-data:db_name: renamed\n"},
    "readme": {"README.md": "\nA line about nothing in the infrastructure.\n"},
    "new-environment": new_environment("qa", copies="dev"),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, build_dir: Path) -> Iterator[History]:
    """The history, and a build directory holding the session's offline runs of ``base`` (as make check leaves it)."""
    root = tmp_path_factory.mktemp("history") / "repo"
    copy_checkout(REPO_ROOT, root)
    found = History(root)
    found.git("init", "--quiet", "--initial-branch=base")
    found.git("add", "--all")
    found.git("commit", "--quiet", "--message", "base")
    for case, edits in CASES.items():
        found.branch(case, edits)
    # As in a clone after `make scan-setup`: the CloudFormation schemas that decide updates are in .venv-scan.
    (root / ".venv-scan").symlink_to(REPO_ROOT / ".venv-scan")
    build = root / "build"
    for env in ENVS:
        shutil.copytree(build_dir / env, build / env)
    shutil.copytree(build_dir / ".cache", build / ".cache", ignore=shutil.ignore_patterns("*.cwasm"))
    yield found


def test_a_commit_that_changes_no_infrastructure_has_an_empty_diff_and_runs_no_layer(history: History) -> None:
    done, document = history.diff("readme", "--no-scans")
    assert done.returncode == 0, done.stdout + done.stderr
    # Every layer of both sides came from the cache: the base's were copied from the seeded build directory.
    assert " ok " not in done.stdout and done.stdout.count("cached ") == 2 * len(ENVS) * len(LAYERS), done.stdout
    for env, entry in document["environments"].items():
        assert entry["cost"]["delta_usd"] == 0 and entry["cost"]["items"] == [], env
        assert entry["resources"] == {} and entry["settings"] == [], env
        assert entry["findings"]["violations"] == {"new": [], "resolved": []}, env
    assert document["ok"] is True
    assert "diff passed: nothing new fails" in done.stdout


def test_a_prod_instance_type_changes_the_cost_of_prod_alone_named_on_the_instance(history: History) -> None:
    done, document = history.diff("prod-instance", "--cost-only")
    assert done.returncode == 0, done.stdout + done.stderr
    ran = {tuple(line.split()[2:4]) for line in done.stdout.splitlines() if line.startswith("head ok ")}
    assert ran == {("compute", "prod"), ("edge", "prod")}, "only prod's compute layer and the one that reads it"
    costs = {env: entry["cost"] for env, entry in document["environments"].items()}
    assert {env: cost["delta_usd"] for env, cost in costs.items() if env != "prod"} == {"dev": 0, "staging": 0}
    (item,) = costs["prod"]["items"]
    assert item["urns"] == [PROD_BACKEND]
    assert item["reason"].startswith("ec2_instance_type t3.small → t3.medium: +$")
    assert costs["prod"]["delta_usd"] == item["delta_usd"] > 0
    assert f"prod: {item['reason']}" in done.stdout
    # docs/diff.md's sample is this output.
    assert f"`{item['reason']}` on `student-helper-prod-backend`" in SAMPLE
    assert f"| prod | {render.money(costs['prod'])} |" in SAMPLE
    assert f"> | prod | {render.money(costs['prod'])} |" in README
    report = (history.root / "build" / "cost-diff.md").read_text()
    assert report.index("| prod |") < report.index("<details>"), "the summary table comes first, the detail folded"


def test_an_unencrypted_volume_is_a_new_mandatory_finding_and_fails_the_diff(history: History) -> None:
    done, document = history.diff("unencrypted-volume", "--envs", "dev", "--no-scans")
    assert done.returncode == 1, done.stdout + done.stderr
    dev = document["environments"]["dev"]
    assert not dev["errors"], done.stdout
    (added,) = dev["resources"]["compute"]
    assert (added["action"], added["type"], added["name"]) == ("add", INSTANCE, "scratch")
    (new,) = dev["findings"]["violations"]["new"]
    assert (new["policy"], new["level"], new["urn"]) == ("encryption-at-rest", "mandatory", added["urn"])
    assert "[ebs] ebsBlockDevices.0.encrypted" in new["message"]
    assert dev["findings"]["violations"]["resolved"] == []
    assert f"FAIL New mandatory violation in dev: encryption-at-rest {added['urn']}" in done.stdout
    assert "diff FAILED" in done.stdout


def test_a_database_property_that_forces_replacement_stands_out_as_a_stateful_replacement(history: History) -> None:
    done, document = history.diff("database-name", "--envs", "dev", "--no-scans")
    assert done.returncode == 0, done.stdout + done.stderr
    dev = document["environments"]["dev"]
    (replaced,) = dev["stateful_changes"]
    assert (replaced["action"], replaced["type"], replaced["stateful"]) == (REPLACE, DATABASE, True)
    (db_name,) = replaced["properties"]
    assert (db_name["name"], db_name["head"], db_name["action"]) == ("dbName", "renamed", REPLACE)
    assert document["sources"][db_name["source"]].startswith("hashicorp/terraform-provider-aws")
    assert {"key": "db_name", "layers": ["data"], "base": "(unset)", "head": "renamed"} in dev["settings"]
    report = (history.root / "build" / "diff.md").read_text()
    standout = f"- **Stateful resource replaced in dev:** `{DATABASE}` `{replaced['name']}`"
    assert standout in report
    # docs/diff.md's sample is this output.
    for line in report.splitlines():
        if line.startswith(("| dev |", standout)):
            assert f"> {line}" in SAMPLE.splitlines(), line
            assert f"> {line}" in README.splitlines(), line  # the README's excerpt too
    assert f"warn Stateful resource replaced in dev: {DATABASE} {replaced['name']}" in done.stdout
    # The base's checkout is gone, and git no longer lists it.
    assert not (history.root / "build" / "diff" / "checkout").exists()
    assert history.git("worktree", "list").count("\n") == 1


def test_a_change_that_adds_an_environment_shows_it_added_and_passes(history: History) -> None:
    done, document = history.diff("new-environment", "--no-scans")
    assert done.returncode == 0, done.stdout + done.stderr
    qa = document["environments"]["qa"]
    assert qa["errors"] == [] and qa["only_in"] == "head"
    added = [c for changes in qa["resources"].values() for c in changes]
    assert added and {c["action"] for c in added} == {"add"}
    assert qa["cost"]["base_usd"] == 0 and qa["cost"]["head_usd"] > 0
    # The others are unchanged, and their layers were not run again: only qa's own matrix entry is new.
    for env in ENVS:
        assert "only_in" not in document["environments"][env] and document["summary"]["environments"][env]["counts"]
        assert not document["environments"][env].get("resources"), env
    assert not re.search(r"^(base |head )?ok \w+\s+(dev|staging|prod)\s", done.stdout, re.M), done.stdout
    report = (history.root / "build" / "diff.md").read_text()
    assert "| qa (new) |" in report and "- **qa is new in this change:** every resource of it is added." in report
