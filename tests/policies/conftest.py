"""Fixtures for the policy tests: the project's real exports when the offline preview can make them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policytest_helpers import Res, make_export

REPO_ROOT = Path(__file__).resolve().parents[2]


def _fixture_exports(out: Path) -> dict[tuple[str, str], Path]:
    """Hand-made exports shaped like ours, used only when no real export can be produced."""
    network = [
        Res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}),
        Res("aws:ec2/subnet:Subnet", "private-a", {"vpcId": "vpc-1", "mapPublicIpOnLaunch": False}),
        Res("aws:cloudwatch/logGroup:LogGroup", "flow-logs", {"retentionInDays": 30}),
    ]
    data = [
        Res("aws:sqs/queue:Queue", "jobs", {"sqsManagedSseEnabled": True}),
        Res("aws:rds/instance:Instance", "db", {"storageEncrypted": True, "publiclyAccessible": False}),
    ]
    paths: dict[tuple[str, str], Path] = {}
    for layer, resources in (("network", network), ("data", data)):
        path = out / "dev" / f"{layer}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(make_export(resources)))
        paths[("dev", layer)] = path
    return paths


@pytest.fixture(scope="session")
def project_exports(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Path]:
    """``{(env, layer): export}``: the lead's ``offline_exports`` when it runs; else exports already in build/.

    The fallbacks keep the mutation tests meaningful while the layers are still being written: the offline preview
    fails until every layer exists. The hand-made exports are the last resort.
    """
    try:
        exports: dict[tuple[str, str], Path] = request.getfixturevalue("offline_exports")
        return exports
    except (pytest.FixtureLookupError, AssertionError):
        pass
    built = {
        (p.parent.name, p.stem): p for p in sorted((REPO_ROOT / "build").glob("*/*.json")) if p.parent.name != "scan"
    }
    if built:
        return built
    return _fixture_exports(tmp_path_factory.mktemp("policy-exports"))
