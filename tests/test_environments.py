"""Adding an environment is data only: everything that lists environments follows the matrix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared import config, yamlio
from tools import pack_config


@pytest.fixture
def perf_and_prod_eu(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The matrix with a perf environment (staging's settings) and a second production one, prod-eu."""
    document = yamlio.load(config.MATRIX_PATH.read_text())
    environments = document["environments"]
    ordered = {}
    for name, entry in environments.items():
        ordered[name] = entry
        if name == "staging":
            ordered["perf"] = {**copy.deepcopy(entry), "account_id": "444455556666"}
    ordered["prod-eu"] = copy.deepcopy(environments["prod"])
    document["environments"] = ordered
    monkeypatch.setattr(pack_config, "environments", lambda: config.parse_matrix(document))
    return document


def test_the_pack_config_is_generated_from_the_matrix() -> None:
    assert pack_config.main(["--check"]) == 0, "stale: run `make docs`"


def test_a_new_environment_gets_its_exemption_and_a_production_one_its_protection(
    perf_and_prod_eu: dict[str, Any],
) -> None:
    generated = pack_config.render()
    exempt = [e["resource"] for e in generated["s3-tls-only"]["exemptions"]]
    assert exempt == [f"student-helper-{env}-frontend" for env in ("dev", "staging", "perf", "prod", "prod-eu")]
    assert {e["check"] for e in generated["s3-tls-only"]["exemptions"]} == {"deny-insecure-transport"}
    assert generated["prod-data-protection"]["productionStacks"] == ["prod", "prod-eu"]
