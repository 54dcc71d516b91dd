"""The offline runner: real programs under Pulumi's mocks, exports as the engine writes them, loud failures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG as SECRET_SIG
from pulumi_policy.deserialize import SPECIAL_SIG_KEY as SIG_KEY

from tests.conftest import REPO_ROOT, Export, run_layer_process
from tools.schemas import deployment_errors

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def run(stacks: Path, out: Path, layer: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """One runner process for the dev stack."""
    return run_layer_process(stacks, out, layer, "dev", *extra)


def project(stacks: Path, layer: str, program: str, config: str = "") -> None:
    """A throw-away Pulumi project named like ours, so the contract's default stack names resolve."""
    folder = stacks / layer
    folder.mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text(f"name: student-helper-{layer}\nruntime: python\n")
    (folder / "Pulumi.dev.yaml").write_text(f"config:\n  aws:region: eu-west-1\n{config}")
    (folder / "__main__.py").write_text(textwrap.dedent(program))


NETWORK = """
    import pulumi, pulumi_aws as aws
    vpc = aws.ec2.Vpc("main", cidr_block="10.9.0.0/16")
    subnet = aws.ec2.Subnet("a", vpc_id=vpc.id, cidr_block="10.9.1.0/24", opts=pulumi.ResourceOptions(protect=True))
    pulumi.export("vpc_id", vpc.id)
    pulumi.export("token", pulumi.Output.secret("s3cr3t"))
    pulumi.export("settings", pulumi.Config().require_object("settings"))
"""


def test_export_records_urns_parents_dependencies_protect_and_secrets(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", NETWORK, "  student-helper-network:settings:\n    size: 3\n")
    done = run(tmp_path / "stacks", tmp_path / "out", "network")
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "out/dev/network.json").read_text())
    assert deployment_errors(document) == []
    export = Export(tmp_path / "out/dev/network.json")
    vpc, subnet = export.one("aws:ec2/vpc:Vpc"), export.one("aws:ec2/subnet:Subnet")
    assert vpc["urn"] == "urn:pulumi:dev::student-helper-network::aws:ec2/vpc:Vpc::main"
    assert vpc["id"].startswith("vpc-0") and len(vpc["id"]) == 21
    assert vpc["outputs"]["arn"] == f"arn:aws:ec2:eu-west-1:123456789012:vpc/{vpc['id']}"
    assert subnet["protect"] is True and "protect" not in vpc
    assert subnet["dependencies"] == [vpc["urn"]] and subnet["propertyDependencies"]["vpcId"] == [vpc["urn"]]
    assert (
        subnet["parent"]
        == export.resources[0]["urn"]
        == "urn:pulumi:dev::student-helper-network::pulumi:pulumi:Stack::student-helper-network-dev"
    )
    provider = export.one("pulumi:providers:aws")
    assert vpc["provider"] == f"{provider['urn']}::{provider['id']}" and provider["inputs"]["region"] == "eu-west-1"
    assert export.outputs["vpc_id"] == vpc["id"]
    assert export.outputs["token"] == {SIG_KEY: SECRET_SIG, "plaintext": '"s3cr3t"'}
    assert export.outputs["settings"] == {"size": 3}, "structured config reaches the program as the CLI passes it"


def test_runs_are_deterministic(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", NETWORK, "  student-helper-network:settings: {}\n")
    first, second = (json.loads(p.read_text()) for p in _twice(tmp_path))
    for document in (first, second):
        document["deployment"]["manifest"].pop("time")
    assert first == second


def _twice(tmp_path: Path) -> list[Path]:
    paths = []
    for out in ("a", "b"):
        assert run(tmp_path / "stacks", tmp_path / out, "network").returncode == 0
        paths.append(tmp_path / out / "dev/network.json")
    return paths


CONSUMER = """
    import pulumi
    from shared.contract import Layer, default_stack_name, open_upstream
    network = open_upstream(Layer.NETWORK, default_stack_name(Layer.NETWORK, "dev"))
    pulumi.export("seen", network.require_output("vpc_id"))
"""


def test_stack_reference_is_served_from_the_upstream_export(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", NETWORK, "  student-helper-network:settings: {}\n")
    project(tmp_path / "stacks", "data", CONSUMER)
    assert run(tmp_path / "stacks", tmp_path / "out", "network").returncode == 0
    done = run(tmp_path / "stacks", tmp_path / "out", "data")
    assert done.returncode == 0, done.stderr
    network, data = Export(tmp_path / "out/dev/network.json"), Export(tmp_path / "out/dev/data.json")
    assert data.outputs["seen"] == network.outputs["vpc_id"]
    reference = data.one("pulumi:pulumi:StackReference")
    assert reference["id"] == "organization/student-helper-network/dev"
    assert reference["outputs"]["secretOutputNames"] == ["token"]


def test_missing_upstream_output_names_layer_stack_and_output(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", "import pulumi\npulumi.export('other', 1)\n")
    project(tmp_path / "stacks", "data", CONSUMER)
    assert run(tmp_path / "stacks", tmp_path / "out", "network").returncode == 0
    done = run(tmp_path / "stacks", tmp_path / "out", "data")
    assert done.returncode == 1
    assert "network layer: stack 'organization/student-helper-network/dev' has no output 'vpc_id'" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_upstream_export_says_which_layer_to_run(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "data", CONSUMER)
    done = run(tmp_path / "stacks", tmp_path / "out", "data")
    assert done.returncode == 1
    assert "StackReference 'organization/student-helper-network/dev': no offline export" in done.stderr
    assert "Run its layer first" in done.stderr


def test_unmocked_invoke_fails_loudly(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", "import pulumi_aws as aws\naws.ec2.get_vpc(default=True)\n")
    done = run(tmp_path / "stacks", tmp_path / "out", "network")
    assert done.returncode == 1
    assert "provider function aws:ec2/getVpc:getVpc has no offline answer" in done.stderr


PREVIEWED = """
    import pulumi_aws as aws
    vpc = aws.ec2.Vpc("main", cidr_block="10.9.0.0/16")
    subnet = aws.ec2.Subnet("a", vpc_id=vpc.id, cidr_block="10.9.1.0/24", map_public_ip_on_launch=False)
    aws.ebs.Volume("plain", availability_zone="eu-west-1a", size=8)
    aws.ebs.Volume("sealed", availability_zone="eu-west-1a", size=8, encrypted=True)
"""


def test_preview_mode_leaves_computed_values_unknown(tmp_path: Path) -> None:
    project(tmp_path / "stacks", "network", PREVIEWED)
    done = run(tmp_path / "stacks", tmp_path / "out", "network", "--preview")
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "out/dev/network.json").read_text())
    assert deployment_errors(document) == []
    export = Export(tmp_path / "out/dev/network.json")
    vpc, subnet = export.one("aws:ec2/vpc:Vpc"), export.one("aws:ec2/subnet:Subnet")
    plain, sealed = export.one("aws:ebs/volume:Volume", "::plain"), export.one("aws:ebs/volume:Volume", "::sealed")
    # No ids; what the provider computes is unknown, in inputs that come from it and in outputs.
    assert vpc["id"] == "" and subnet["inputs"]["vpcId"] == UNKNOWN == subnet["outputs"]["vpcId"]
    assert vpc["outputs"]["arn"] == vpc["outputs"]["defaultSecurityGroupId"] == subnet["outputs"]["arn"] == UNKNOWN
    # What the program set is known; an optional output it did not set (instanceTenancy) stays absent.
    assert (vpc["outputs"]["cidrBlock"], subnet["outputs"]["mapPublicIpOnLaunch"]) == ("10.9.0.0/16", False)
    assert "instanceTenancy" not in vpc["outputs"]
    # A computed setting left out of the program: absent from the inputs, unknown in the outputs.
    assert "encrypted" not in plain["inputs"] and plain["outputs"]["encrypted"] == UNKNOWN
    assert sealed["inputs"]["encrypted"] is True and sealed["outputs"]["encrypted"] is True


def test_preview_mode_names_a_type_no_sdk_has(tmp_path: Path) -> None:
    program = """
        import pulumi
        class Odd(pulumi.CustomResource):
            def __init__(self, name):
                super().__init__("aws:nope/odd:Odd", name, {})
        Odd("x")
    """
    project(tmp_path / "stacks", "network", program)
    done = run(tmp_path / "stacks", tmp_path / "out", "network", "--preview")
    assert done.returncode == 1
    assert "resource 'x': unmapped resource type 'aws:nope/odd:Odd': no provider SDK here has such a resource" in (
        done.stderr
    )


def test_config_errors_fail_before_any_resource(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    (stacks / "network").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        (stacks / "network" / name).write_text((REPO_ROOT / "stacks/network" / name).read_text())
    (stacks / "network/Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: ap-southeast-2\n  student-helper-network:owner: x\n"
        "  student-helper-network:lambda_timeout_seconds: 1000\n"
    )
    done = run(stacks, tmp_path / "out", "network")
    assert done.returncode == 1
    assert "stack 'dev': invalid configuration" in done.stderr
    assert "student-helper-network:lambda_timeout_seconds = '1000' is invalid" in done.stderr
    assert not (tmp_path / "out/dev/network.json").exists()


@pytest.mark.parametrize("layer", ["nope"])
def test_unknown_layer_is_rejected(layer: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.offline", "--layers", layer, "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "unknown layer(s) nope: allowed network, data, compute, edge" in done.stderr
