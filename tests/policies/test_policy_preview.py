"""The pack on real preview-mode exports: unknown values are deferred to apply time, never a crash or a pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, run_layer_process
from tests.test_offline_runner import project

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def analyze(*paths: Path) -> tuple[int, list[dict[str, str]]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.policy_analyze",
            *map(str, paths),
            "--json",
            "--config",
            str(REPO_ROOT / "policies/config.json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_preview_exports_really_contain_unknowns(preview_exports: dict[str, Path]) -> None:
    assert set(preview_exports) == {"network", "data", "compute", "edge"}
    for layer, path in preview_exports.items():
        assert UNKNOWN in path.read_text(), f"{layer}: a preview export must carry unknown values"


def test_unknowns_are_reported_as_apply_time_checks(preview_exports: dict[str, Path]) -> None:
    code, findings = analyze(*preview_exports.values())
    assert code == 0, findings
    deferred = [f for f in findings if "it can be checked only at apply time" in f["message"]]
    assert {f["policy"] for f in deferred} >= {"iam-least-privilege"}
    for finding in deferred:
        assert finding["enforcementLevel"] == "advisory", finding
        assert finding["message"].startswith("can't run policy '"), finding
    # The flow-log delivery policy is built from the log group's ARN, unknown until the group exists.
    assert any(f["urn"].endswith("::student-helper-dev-flow-logs-delivery") for f in deferred), deferred


def test_known_values_are_still_judged_in_a_preview(preview_exports: dict[str, Path], tmp_path: Path) -> None:
    document = json.loads(preview_exports["compute"].read_text())
    for resource in document["deployment"]["resources"]:
        if resource["type"] == "aws:ec2/instance:Instance":
            resource["inputs"]["metadataOptions"]["httpTokens"] = "optional"
    broken = tmp_path / "compute.json"
    broken.write_text(json.dumps(document))
    code, findings = analyze(broken)
    assert code == 1
    assert [f["policy"] for f in findings if f["enforcementLevel"] == "mandatory"] == ["imdsv2-required"]


UNENCRYPTED = "the data is stored unencrypted; it must be true."
# Data stores that leave their encryption to the provider's default, each a computed output a real preview leaves
# unknown: judged on outputs, none of them was more than an advisory note.
UNSET_ENCRYPTION = """
    import pulumi_aws as aws
    aws.ebs.Volume("plain-volume", availability_zone="eu-west-1a", size=8)
    aws.ec2.Instance("host", ami="ami-0abc", instance_type="t3.micro", metadata_options={"http_tokens": "required"})
    aws.efs.FileSystem("files")
    aws.rds.Cluster("aurora", engine="aurora-postgresql", master_username="app", manage_master_user_password=True)
    aws.elasticache.ReplicationGroup("cache", description="sessions", node_type="cache.t4g.micro")
"""
EXPECTED = {
    "aws:ebs/volume:Volume::plain-volume": ("encrypted", f"[ebs] encrypted=null: {UNENCRYPTED}"),
    "aws:ec2/instance:Instance::host": (
        "rootBlockDevice",
        "[ebs] rootBlockDevice is not set, so the root volume follows the AMI snapshot's encryption; set "
        "encrypted=true.",
    ),
    "aws:efs/fileSystem:FileSystem::files": ("encrypted", f"[file-system] encrypted=null: {UNENCRYPTED}"),
    "aws:rds/cluster:Cluster::aurora": ("storageEncrypted", f"[database-storage] storageEncrypted=null: {UNENCRYPTED}"),
    "aws:elasticache/replicationGroup:ReplicationGroup::cache": (
        "atRestEncryptionEnabled",
        "[cache] atRestEncryptionEnabled=null (engine redis): backups and the disk used during sync and swap are "
        "unencrypted; set it to true (it cannot be changed after creation).",
    ),
}


def test_encryption_left_to_the_provider_fails_a_preview(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "data", UNSET_ENCRYPTION)
    done = run_layer_process(tmp_path / "stacks", tmp_path / "out", "data", "dev", "--preview")
    assert done.returncode == 0, done.stderr
    export = tmp_path / "out/dev/data.json"
    resources = {r["urn"].split("::", 2)[2]: r for r in json.loads(export.read_text())["deployment"]["resources"]}
    for key, (computed, _) in EXPECTED.items():
        assert computed not in resources[key]["inputs"], key
        assert resources[key]["outputs"][computed] == UNKNOWN, key
    code, findings = analyze(export)
    assert code == 1
    found = {
        f["urn"].split("::", 2)[2]: (f["enforcementLevel"], f["message"])
        for f in findings
        if f["policy"] == "encryption-at-rest"
    }
    assert found == {key: ("mandatory", message) for key, (_, message) in EXPECTED.items()}
