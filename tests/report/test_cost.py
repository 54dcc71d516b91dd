"""The monthly cost estimator: hand-made exports priced from a hand-made price book, then the real exports."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import yamlio
from shared.config import environment_matrix, environments
from tests.conftest import ENVS, Export
from tools.check import summary
from tools.report.cost import (
    DEFAULT_PRICES,
    DEFAULT_RULES,
    Assumption,
    CostEstimate,
    MissingAssumptionError,
    MissingPriceError,
    PriceFileError,
    UnsupportedConfigurationError,
    estimate,
    load_prices,
    load_rules,
    main,
    parse_prices,
    parse_rules,
    render,
)
from tools.report.cost_formulas import FORMULAS

REGION = "ap-southeast-2"
HOURS = 730
RULES = load_rules()["types"]
PRICED = {type_token for type_token, rule in RULES.items() if "free" not in rule}
NO_CHARGE = {type_token for type_token, rule in RULES.items() if "free" in rule}


def _price(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "USD per unit", "source": "https://aws.amazon.com/pricing/", "read": "2026-11-25"}


def _assume(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "units", "reason": "test"}


# Round numbers, so every expected amount below can be checked by eye.
PRICES: dict[str, float] = {
    "ec2.instance_hour.t3.micro": 0.01,
    "ebs.gp3.gb_month": 0.1,
    "ebs.gp3.iops_month": 0.005,
    "cloudwatch.metric_month": 0.3,
    "cloudwatch.logs_ingest_gb": 0.5,
    "vpc.public_ipv4_hour": 0.005,
    "vpc.interface_endpoint_hour": 0.01,
    "vpc.interface_endpoint_gb": 0.01,
    "rds.postgres.instance_hour.db.t3.micro": 0.02,
    "rds.storage.gp3.gb_month": 0.1,
    "secretsmanager.secret_month": 0.4,
    "secretsmanager.api_calls_10k": 0.05,
    "lambda.requests_million": 0.2,
    "lambda.gb_second.x86_64": 0.00002,
    "lambda.gb_second.arm64": 0.00001,
    "xray.traces_million": 5.0,
    "sqs.standard_requests_million": 0.4,
    "sqs.fifo_requests_million": 0.5,
    "ssm.advanced_parameter_month": 0.05,
    "apigateway.http_requests_million": 1.0,
    "cloudfront.data_out_gb.na_eu": 0.1,
    "cloudfront.https_requests_10k.na_eu": 0.01,
    "cloudmap.registered_resource_month": 0.1,
    "cloudmap.discovery_calls_million": 1.0,
    "ecr.storage_gb_month": 0.1,
    "s3.standard.gb_month": 0.02,
    "s3.standard.put_requests_1k": 0.005,
    "s3.standard.get_requests_1k": 0.0004,
    "s3vectors.storage_gb_month": 0.06,
    "s3vectors.put_gb": 0.2,
    "s3vectors.query_million": 2.5,
}
ASSUMPTIONS: dict[str, float] = {
    "ec2_detailed_monitoring_metrics": 7,
    "endpoint_gb_processed_per_month": 10,
    "lambda_invocations_per_month": 1_000_000,
    "lambda_avg_duration_seconds": 2,
    "xray_traced_fraction": 0.5,
    "sqs_requests_per_month": 2_000_000,
    "sqs_fifo_requests_per_month": 1_000_000,
    "secrets_api_calls_per_month": 20_000,
    "s3_gb_stored.documents": 50,
    "s3_put_requests_per_month": 10_000,
    "s3_get_requests_per_month": 100_000,
    "vectors_stored": 1_048_576,
    "vector_metadata_bytes": 0,
    "vectors_written_per_month": 262_144,
    "vector_queries_per_month": 2_000_000,
    "ecr_image_gb": 0.5,
    "cloudfront_gb_out_per_month": 100,
    "cloudfront_requests_per_month": 1_000_000,
    "api_requests_per_month": 3_000_000,
    "apigw_detailed_metrics_per_route": 6,
    "cloudmap_discovery_calls_per_month": 2_000_000,
}


def _book_document(
    prices: Mapping[str, float] = PRICES, assumptions: Mapping[str, float] = ASSUMPTIONS
) -> dict[str, Any]:
    return {
        "hours_per_month": HOURS,
        "regions": {REGION: {key: _price(value) for key, value in prices.items()}},
        "assumptions": {"dev": {key: _assume(value) for key, value in assumptions.items()}},
    }


BOOK = parse_prices(_book_document())


def _export(*resources: dict[str, Any], stack: str = "dev", region: str = REGION) -> dict[str, Any]:
    provider = {
        "urn": f"urn:pulumi:{stack}::student-helper-test::pulumi:providers:aws::default",
        "type": "pulumi:providers:aws",
        "custom": True,
        "inputs": {"region": region},
    }
    return {"version": 3, "deployment": {"resources": [provider, *resources]}}


def _resource(type_token: str, name: str, inputs: Mapping[str, Any], stack: str = "dev") -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:{stack}::student-helper-test::{type_token}::{name}",
        "type": type_token,
        "custom": True,
        "inputs": dict(inputs),
    }


def _estimate(*resources: dict[str, Any], book: Any = BOOK) -> CostEstimate:
    return estimate({"test": _export(*resources)}, book)


def _lines(result: CostEstimate) -> list[tuple[str, float, float]]:
    return sorted((item.price_key, item.quantity, round(item.monthly_usd, 6)) for item in result.line_items)


EC2 = "aws:ec2/instance:Instance"
RDS = "aws:rds/instance:Instance"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSTANCE_INPUTS = {"instanceType": "t3.micro", "rootBlockDevice": {"volumeType": "gp3", "volumeSize": 20}}
RDS_INPUTS = {
    "engine": "postgres",
    "instanceClass": "db.t3.micro",
    "allocatedStorage": 20,
    "storageType": "gp3",
    "multiAz": False,
}

# (case id, resources, expected (price key, quantity, monthly USD) lines)
CASES: list[tuple[str, list[dict[str, Any]], list[tuple[str, float, float]]]] = [
    (
        "ec2 instance with root volume",
        [_resource(EC2, "backend", INSTANCE_INPUTS)],
        [("ebs.gp3.gb_month", 20, 2.0), ("ec2.instance_hour.t3.micro", 730, 7.3)],
    ),
    (
        "ec2 detailed monitoring, public IP, extra gp3 IOPS",
        [
            _resource(
                EC2,
                "backend",
                {
                    "instanceType": "t3.micro",
                    "monitoring": True,
                    "associatePublicIpAddress": True,
                    "rootBlockDevice": {"volumeType": "gp3", "volumeSize": 10, "iops": 4000},
                },
            )
        ],
        [
            ("cloudwatch.metric_month", 7, 2.1),
            ("ebs.gp3.gb_month", 10, 1.0),
            ("ebs.gp3.iops_month", 1000, 5.0),
            ("ec2.instance_hour.t3.micro", 730, 7.3),
            ("vpc.public_ipv4_hour", 730, 3.65),
        ],
    ),
    (
        "rds single-AZ with a managed master password",
        [_resource(RDS, "db", {**RDS_INPUTS, "manageMasterUserPassword": True})],
        [
            ("rds.postgres.instance_hour.db.t3.micro", 730, 14.6),
            ("rds.storage.gp3.gb_month", 20, 2.0),
            ("secretsmanager.secret_month", 1, 0.4),
        ],
    ),
    (
        "rds multi-AZ bills the standby's hours and storage",
        [_resource(RDS, "db", {**RDS_INPUTS, "multiAz": True})],
        [("rds.postgres.instance_hour.db.t3.micro", 1460, 29.2), ("rds.storage.gp3.gb_month", 40, 4.0)],
    ),
    (
        "interface endpoint in two AZs, gateway endpoint free",
        [
            _resource(ENDPOINT, "sqs", {"vpcEndpointType": "Interface", "subnetIds": ["subnet-a", "subnet-b"]}),
            _resource(ENDPOINT, "s3", {"vpcEndpointType": "Gateway", "serviceName": f"com.amazonaws.{REGION}.s3"}),
        ],
        [("vpc.interface_endpoint_gb", 10, 0.1), ("vpc.interface_endpoint_hour", 1460, 14.6)],
    ),
    (
        "lambda arm64 with active tracing",
        [
            _resource(
                "aws:lambda/function:Function",
                "fn",
                {"memorySize": 1024, "architectures": ["arm64"], "tracingConfig": {"mode": "Active"}},
            )
        ],
        # 1M invocations x 2 s x 1 GB = 2,000,000 GB-s; half the invocations traced.
        [
            ("lambda.gb_second.arm64", 2_000_000, 20.0),
            ("lambda.requests_million", 1, 0.2),
            ("xray.traces_million", 0.5, 2.5),
        ],
    ),
    (
        "two sqs queues share one request line",
        [_resource("aws:sqs/queue:Queue", "q", {}), _resource("aws:sqs/queue:Queue", "dlq", {})],
        [("sqs.standard_requests_million", 2, 0.8)],
    ),
    (
        "a FIFO queue has its own request line and assumption",
        [_resource("aws:sqs/queue:Queue", "q", {}), _resource("aws:sqs/queue:Queue", "f", {"fifoQueue": True})],
        [("sqs.fifo_requests_million", 1, 0.5), ("sqs.standard_requests_million", 2, 0.8)],
    ),
    (
        "lambda defaults: 128 MB x86_64, no tracing",
        [_resource("aws:lambda/function:Function", "fn", {})],
        # 1M invocations x 2 s x 0.125 GB = 250,000 GB-s.
        [("lambda.gb_second.x86_64", 250_000, 5.0), ("lambda.requests_million", 1, 0.2)],
    ),
    (
        "an advanced ssm parameter",
        [_resource("aws:ssm/parameter:Parameter", "param", {"tier": "Advanced"})],
        [("ssm.advanced_parameter_month", 1, 0.05)],
    ),
    (
        "secrets manager secret and its API calls",
        [_resource("aws:secretsmanager/secret:Secret", "key", {"name": "app/key"})],
        [("secretsmanager.api_calls_10k", 2, 0.1), ("secretsmanager.secret_month", 1, 0.4)],
    ),
    (
        "s3 bucket storage by role, requests across buckets",
        [_resource("aws:s3/bucket:Bucket", "student-helper-dev-documents", {})],
        [
            ("s3.standard.gb_month", 50, 1.0),
            ("s3.standard.get_requests_1k", 100, 0.04),
            ("s3.standard.put_requests_1k", 10, 0.05),
        ],
    ),
    (
        "s3 vectors index sized by its dimension",
        [_resource("aws:s3/vectorsIndex:VectorsIndex", "idx", {"dimension": 1024, "dataType": "float32"})],
        # 1,048,576 vectors x 4 KiB = 4 GiB stored; a quarter of that written; 2M queries.
        [("s3vectors.put_gb", 1, 0.2), ("s3vectors.query_million", 2, 5.0), ("s3vectors.storage_gb_month", 4, 0.24)],
    ),
    (
        "ecr repository sized by its lifecycle rule",
        [
            _resource("aws:ecr/repository:Repository", "repo", {"name": "backend"}),
            _resource(
                "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                "repo-lifecycle",
                {
                    "repository": "backend",
                    "policy": json.dumps(
                        {"rules": [{"selection": {"countType": "imageCountMoreThan", "countNumber": 12}}]}
                    ),
                },
            ),
        ],
        [("ecr.storage_gb_month", 6, 0.6)],
    ),
    (
        "cloudfront PriceClass_100",
        [_resource("aws:cloudfront/distribution:Distribution", "cdn", {"priceClass": "PriceClass_100"})],
        [("cloudfront.data_out_gb.na_eu", 100, 10.0), ("cloudfront.https_requests_10k.na_eu", 100, 1.0)],
    ),
    (
        "http api with a detailed-metrics stage over two routes",
        [
            _resource("aws:apigatewayv2/api:Api", "api", {"protocolType": "HTTP"}),
            _resource(
                "aws:apigatewayv2/stage:Stage",
                "stage",
                {"apiId": "a1", "defaultRouteSettings": {"detailedMetricsEnabled": True}},
            ),
            _resource("aws:apigatewayv2/route:Route", "r1", {"apiId": "a1"}),
            _resource("aws:apigatewayv2/route:Route", "r2", {"apiId": "a1"}),
        ],
        [("apigateway.http_requests_million", 3, 3.0), ("cloudwatch.metric_month", 12, 3.6)],
    ),
    (
        "cloud map instance and discovery calls",
        [
            _resource("aws:servicediscovery/instance:Instance", "reg", {}),
            _resource("aws:servicediscovery/service:Service", "svc", {}),
            _resource("aws:servicediscovery/httpNamespace:HttpNamespace", "ns", {}),
        ],
        [("cloudmap.discovery_calls_million", 2, 2.0), ("cloudmap.registered_resource_month", 1, 0.1)],
    ),
    (
        "log groups and standard parameters have no line by default",
        [
            _resource("aws:cloudwatch/logGroup:LogGroup", "logs", {}),
            _resource("aws:ssm/parameter:Parameter", "param", {"type": "String"}),
        ],
        [],
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_priced_type(resources: list[dict[str, Any]], expected: list[tuple[str, float, float]]) -> None:
    result = _estimate(*resources)
    assert _lines(result) == sorted((key, pytest.approx(qty), pytest.approx(usd)) for key, qty, usd in expected)
    assert result.total == pytest.approx(sum(usd for _, _, usd in expected))
    # Every resource has a line or a reason it has none.
    covered = {urn for item in result.line_items for urn in item.urns} | {u.urn for u in result.unpriced}
    assert covered == {r["urn"] for r in resources}


def test_an_unknown_type_is_listed_as_not_priced_and_makes_the_total_a_lower_bound() -> None:
    mystery = _resource("aws:ec2/natGateway:NatGateway", "nat", {})
    result = _estimate(_resource(EC2, "backend", INSTANCE_INPUTS), mystery)
    assert [(u.resource_type, u.urn) for u in result.not_priced] == [("aws:ec2/natGateway:NatGateway", mystery["urn"])]
    assert result.total == pytest.approx(_estimate(_resource(EC2, "backend", INSTANCE_INPUTS)).total)
    as_dict = result.to_dict()
    assert as_dict["not_priced"] == [
        {"layer": "test", "urn": mystery["urn"], "resource_type": "aws:ec2/natGateway:NatGateway"}
    ]
    assert summary.is_lower_bound(as_dict)
    assert summary.monthly(as_dict).startswith("≥ $")
    entry = summary.environment_entry("dev", {}, [], {}, {}, [], as_dict, None, [])
    report = summary.render_markdown(entry)
    assert "### Not priced" in report
    assert f"- `aws:ec2/natGateway:NatGateway` `{mystery['urn']}`" in report
    assert "some resources are not priced (listed below)" in report


def test_components_providers_and_stack_references_are_not_classified() -> None:
    component = {"urn": "urn:pulumi:dev::p::student-helper:compute:Thing::x", "type": "student-helper:compute:Thing"}
    reference = {
        "urn": "urn:pulumi:dev::p::pulumi:pulumi:StackReference::r",
        "type": "pulumi:pulumi:StackReference",
        "custom": True,
    }
    assert _estimate(component, reference).line_items == ()


def test_multi_az_doubles_the_instance_line() -> None:
    single = _estimate(_resource(RDS, "db", RDS_INPUTS))
    multi = _estimate(_resource(RDS, "db", {**RDS_INPUTS, "multiAz": True}))

    def instance(result: CostEstimate) -> float:
        return next(i.monthly_usd for i in result.line_items if i.price_key.startswith("rds.postgres.instance_hour"))

    assert instance(multi) == pytest.approx(2 * instance(single))
    assert multi.total == pytest.approx(2 * single.total)


@pytest.mark.parametrize("azs", [1, 2, 3])
def test_interface_endpoint_hours_scale_with_azs(azs: int) -> None:
    subnets = [f"subnet-{n}" for n in range(azs)]
    result = _estimate(_resource(ENDPOINT, "ssm", {"vpcEndpointType": "Interface", "subnetIds": subnets}))
    hourly = next(i for i in result.line_items if i.price_key == "vpc.interface_endpoint_hour")
    assert hourly.quantity == HOURS * azs
    assert hourly.monthly_usd == pytest.approx(PRICES["vpc.interface_endpoint_hour"] * HOURS * azs)


def test_missing_price_names_the_key_and_resource() -> None:
    nano = _resource(EC2, "backend", {**INSTANCE_INPUTS, "instanceType": "t3.nano"})
    with pytest.raises(MissingPriceError, match=r"ec2\.instance_hour\.t3\.nano") as raised:
        _estimate(nano)
    assert nano["urn"] in str(raised.value)


def test_price_class_without_a_price_fails() -> None:
    cdn = _resource("aws:cloudfront/distribution:Distribution", "cdn", {"priceClass": "PriceClass_300"})
    with pytest.raises(MissingPriceError, match=r"cloudfront\.data_out_gb\.priceclass_300"):
        _estimate(cdn)


def test_missing_assumption_names_the_key() -> None:
    book = parse_prices(_book_document(assumptions={k: v for k, v in ASSUMPTIONS.items() if k != "vectors_stored"}))
    index = _resource("aws:s3/vectorsIndex:VectorsIndex", "idx", {"dimension": 8})
    with pytest.raises(MissingAssumptionError, match="vectors_stored"):
        _estimate(index, book=book)


def test_bucket_without_a_storage_assumption_fails() -> None:
    with pytest.raises(MissingAssumptionError, match="student-helper-dev-mystery"):
        _estimate(_resource("aws:s3/bucket:Bucket", "student-helper-dev-mystery", {}))


def test_long_performance_insights_retention_is_not_silently_free() -> None:
    db = _resource(
        RDS, "db", {**RDS_INPUTS, "performanceInsightsEnabled": True, "performanceInsightsRetentionPeriod": 731}
    )
    with pytest.raises(UnsupportedConfigurationError, match="Performance Insights"):
        _estimate(db)


def test_log_ingestion_is_priced_only_when_configured() -> None:
    logs = [_resource("aws:cloudwatch/logGroup:LogGroup", f"logs-{n}", {}) for n in range(3)]
    left_out = _estimate(*logs)
    assert left_out.line_items == ()
    assert any("log_ingestion_gb_per_month" in text for text in left_out.excluded)

    book = parse_prices(_book_document(assumptions={**ASSUMPTIONS, "log_ingestion_gb_per_month": 4}))
    priced = _estimate(*logs, book=book)
    assert _lines(priced) == [("cloudwatch.logs_ingest_gb", 4, 2.0)]
    assert not any("log_ingestion_gb_per_month" in text for text in priced.excluded)


def test_region_comes_from_the_exports() -> None:
    assert estimate({"test": _export(region="eu-west-1")}, BOOK).region == "eu-west-1"
    with pytest.raises(ValueError, match="exactly one aws provider region"):
        estimate({"a": _export(), "b": _export(region="eu-west-1")}, BOOK)


def test_estimate_reports_assumptions_used_and_exclusions() -> None:
    result = _estimate(_resource("aws:sqs/queue:Queue", "q", {}), _resource(EC2, "backend", INSTANCE_INPUTS))
    assert result.environment == "dev"
    assert result.region == REGION
    assert [(a.key, a.value, a.unit) for a in result.assumptions] == [("sqs_requests_per_month", 2_000_000, "units")]
    assert any("Bedrock" in text for text in result.excluded)
    assert any("Free Tier" in text for text in result.excluded)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["total_usd"] == pytest.approx(result.total, abs=1e-4)
    assert {item["price_key"] for item in document["line_items"]} == {i.price_key for i in result.line_items}


def test_priced_and_free_types_do_not_overlap() -> None:
    assert not set(PRICED) & set(NO_CHARGE)


# --- A region the price file has no prices for ------------------------------------------------------------------

UNPRICED_REGION_RESOURCES = [
    _resource(EC2, "backend", INSTANCE_INPUTS),
    _resource(ENDPOINT, "s3", {"vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.eu-west-1.s3"}),
    _resource("aws:ec2/vpc:Vpc", "vpc", {}),
    _resource("aws:sqs/queue:Queue", "q", {}),
    _resource("aws:ec2/natGateway:NatGateway", "nat", {}),
]


def test_a_region_without_prices_lists_each_line_as_not_priced() -> None:
    result = estimate({"test": _export(*UNPRICED_REGION_RESOURCES, region="eu-west-1")}, BOOK)
    backend, gateway, vpc, queue, nat = (r["urn"] for r in UNPRICED_REGION_RESOURCES)
    # Nothing is priced at another region's price: there is no line item and no total.
    assert (result.region, result.line_items, result.total, result.price_notes) == ("eu-west-1", (), 0, ())
    assert [(u.price_key, u.quantity, u.urns) for u in result.not_priced_lines] == [
        ("ec2.instance_hour.t3.micro", HOURS, (backend,)),
        ("ebs.gp3.gb_month", 20, (backend,)),
        ("sqs.standard_requests_million", 2, (queue,)),
    ]
    # Free resources stay free in any region; a type without a rule stays not priced.
    assert {u.urn for u in result.unpriced} == {gateway, vpc}
    assert [u.urn for u in result.not_priced] == [nat]
    assert [a.key for a in result.assumptions] == ["sqs_requests_per_month"]

    as_dict = json.loads(json.dumps(result.to_dict()))
    assert all("unit_price_usd" not in line for line in as_dict["not_priced_lines"])
    assert summary.monthly(as_dict) == "≥ $0.00"
    report = summary.render_markdown(summary.environment_entry("dev", {}, [], {}, {}, [], as_dict, None, []))
    assert "the price file has no prices for eu-west-1" in report
    assert "### Not priced in eu-west-1" in report
    assert f"at `ec2.instance_hour.t3.micro` `{backend}`" in report
    assert "Not priced (the price file has no prices for eu-west-1" in render(result)


def test_each_region_is_priced_from_its_own_prices() -> None:
    document = _book_document()
    document["regions"]["eu-west-1"] = {key: _price(2 * value) for key, value in PRICES.items()}
    book = parse_prices(document)
    backend = _resource(EC2, "backend", INSTANCE_INPUTS)
    sydney, ireland = (estimate({"test": _export(backend, region=r)}, book) for r in (REGION, "eu-west-1"))
    assert ireland.total == pytest.approx(2 * sydney.total)
    assert ireland.not_priced_lines == ()


# --- The rule file ----------------------------------------------------------------------------------------------


def test_every_formula_is_named_by_a_rule() -> None:
    named = {entry["formula"] for rule in RULES.values() for entry in rule.get("lines", []) if "formula" in entry}
    assert named == set(FORMULAS)


def _rules(*lines: dict[str, Any], otherwise: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"lines": list(lines), **({"otherwise": otherwise} if otherwise else {})}
    return parse_rules({"types": {"aws:ssm/parameter:Parameter": rule}, "exclusions": []})


ADVANCED_ONLY = {
    "when": {"tier": "Advanced"},
    "description": "SSM {tier} parameter",
    "quantity": [1],
    "unit": "parameter-months",
    "price": "ssm.advanced_parameter_month",
}


def test_a_resource_no_line_matches_is_not_priced_unless_the_rule_says_why() -> None:
    standard = _resource("aws:ssm/parameter:Parameter", "param", {"tier": "Standard"})
    silent = estimate({"test": _export(standard)}, BOOK, rules=_rules(ADVANCED_ONLY))
    assert [u.urn for u in silent.not_priced] == [standard["urn"]]
    explained = estimate({"test": _export(standard)}, BOOK, rules=_rules(ADVANCED_ONLY, otherwise="free tier"))
    assert [(u.urn, u.reason) for u in explained.unpriced] == [(standard["urn"], "free tier")]
    assert explained.not_priced == ()


def test_a_placeholder_the_resource_lacks_is_an_unsupported_configuration() -> None:
    line = {key: value for key, value in ADVANCED_ONLY.items() if key != "when"}
    rules = _rules({**line, "description": "SSM {dataType} parameter"})
    with pytest.raises(UnsupportedConfigurationError, match="input dataType is not set"):
        estimate(
            {"test": _export(_resource("aws:ssm/parameter:Parameter", "p", {"tier": "Advanced"}))}, BOOK, rules=rules
        )


def _real_rules() -> dict[str, Any]:
    loaded: dict[str, Any] = yamlio.load(DEFAULT_RULES.read_text())
    return loaded


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("|")
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if value is None:
        del document[last]
    else:
        document[last] = value


QUEUE = "types|aws:sqs/queue:Queue"
QUEUE_LINE = f"{QUEUE}|lines|0"
RULE_ERRORS: list[tuple[str, Any, str]] = [
    (
        "types|aws:ec2/vpc:Vpc|otherwise",
        "x",
        "rules.yaml: types.aws:ec2/vpc:Vpc: a free type has its reason and nothing else, got "
        "{'free': 'VPCs have no charge', 'otherwise': 'x'}",
    ),
    (
        f"{QUEUE_LINE}|descripton",
        "x",
        "rules.yaml: types.aws:sqs/queue:Queue.lines.0: unknown key descripton (allowed: formula, per, when, "
        "unless, optional, description, quantity, divide_by, unit, price)",
    ),
    (
        f"{QUEUE_LINE}|price",
        None,
        "rules.yaml: types.aws:sqs/queue:Queue.lines.0: a data line needs description, quantity, unit and price "
        "(missing price)",
    ),
    (
        f"{QUEUE_LINE}|per",
        "queue",
        "rules.yaml: types.aws:sqs/queue:Queue.lines.0: per is one line per resource, or one for the type, "
        "got 'queue' (allowed: resource, type)",
    ),
    (
        f"{QUEUE_LINE}|quantity",
        ["Hours!"],
        "rules.yaml: types.aws:sqs/queue:Queue.lines.0.quantity.0: a factor is a number >= 0, hours, or an "
        "assumption key, got 'Hours!'",
    ),
    (
        "types|aws:ecr/repository:Repository|lines|0|formula",
        "ecr_storrage",
        "rules.yaml: types.aws:ecr/repository:Repository.lines.0: formula must name a function of "
        f"tools/report/cost_formulas.py, got 'ecr_storrage' (allowed: {', '.join(FORMULAS)})",
    ),
    (
        "types|aws:ecr/repository:Repository|lines|0|unit",
        "GB",
        "rules.yaml: types.aws:ecr/repository:Repository.lines.0: a formula line makes its own description, "
        "quantity, unit and price, got 'unit' (allowed: formula, when, unless)",
    ),
    (
        f"{QUEUE}|default",
        {},
        "rules.yaml: types.aws:sqs/queue:Queue: unknown key default (allowed: free, defaults, price_names, lines, "
        "otherwise)",
    ),
    (
        "types|ec2 instance",
        {"free": "x"},
        "rules.yaml: types are Pulumi type tokens such as aws:ec2/instance:Instance, got 'ec2 instance'",
    ),
    (
        "exclusions|0|txt",
        "x",
        "rules.yaml: exclusions.0: unknown key txt (allowed: text, unless_assumed)",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), RULE_ERRORS, ids=[e[0] for e in RULE_ERRORS])
def test_rule_file_errors_name_the_key_path(path: str, value: Any, message: str) -> None:
    document = _real_rules()
    _set(document, path, value)
    with pytest.raises(PriceFileError) as raised:
        parse_rules(document)
    assert str(raised.value) == message


# --- The price file ---------------------------------------------------------------------------------------------


def _broken(path: str, field: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(_book_document())
    section, scope, key = path.split("|")
    entry = document[section][scope][key]
    if value is None:
        del entry[field]
    else:
        entry[field] = value
    return document


@pytest.mark.parametrize(
    ("path", "field", "value", "message"),
    [
        (f"regions|{REGION}|ebs.gp3.gb_month", "value", -0.1, "value must be a number >= 0"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "value", True, "value must be a number >= 0"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "value", "cheap", "value must be a number >= 0"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "unit", None, "unit must be a non-empty string"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "source", None, "source must be a non-empty string"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "source", "http://aws.amazon.com/ebs/pricing/", "https://"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "read", None, "read must be the date"),
        (f"regions|{REGION}|ebs.gp3.gb_month", "read", "last week", "read must be the date"),
        ("assumptions|dev|vectors_stored", "reason", None, "reason must be a non-empty string"),
        ("assumptions|dev|vectors_stored", "value", -5, "value must be a number >= 0"),
    ],
)
def test_price_file_validation_names_the_key(path: str, field: str, value: Any, message: str) -> None:
    key = ".".join(path.split("|"))
    with pytest.raises(PriceFileError) as raised:
        parse_prices(_broken(path, field, value), origin="prices.yaml")
    assert key in str(raised.value)
    assert message in str(raised.value)


PRICE_FILE_TYPOS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "unknown key in a price",
        lambda d: d["regions"][REGION]["ebs.gp3.gb_month"].update(valeu=1),
        f"prices.yaml: regions.{REGION}.ebs.gp3.gb_month: unknown key valeu (allowed: value, unit, source, read, note)",
    ),
    (
        "unknown key in an assumption",
        lambda d: d["assumptions"]["dev"]["vectors_stored"].update(reasn="x"),
        "prices.yaml: assumptions.dev.vectors_stored: unknown key reasn (allowed: value, unit, reason)",
    ),
    (
        "unknown top-level key",
        lambda d: d.update(hours_per_mont=730),
        "prices.yaml: unknown key hours_per_mont (allowed: hours_per_month, regions, assumptions)",
    ),
    (
        "misspelt region",
        lambda d: d["regions"].update({"apsoutheast-2": d["regions"][REGION]}),
        "prices.yaml: regions are AWS region names such as ap-southeast-2, got 'apsoutheast-2'",
    ),
    (
        "price key not in lower case",
        lambda d: d["regions"][REGION].update({"EBS.gp3.gb_month": _price(0.1)}),
        f"prices.yaml: regions.{REGION}: price keys look like <service>.<meter>[.<variant>], in lower case, "
        "got 'EBS.gp3.gb_month'",
    ),
    (
        "note not text",
        lambda d: d["regions"][REGION]["ebs.gp3.gb_month"].update(note=5),
        f"prices.yaml: regions.{REGION}.ebs.gp3.gb_month: note must be a string, got 5",
    ),
    (
        "two problems, both reported",
        lambda d: d["regions"][REGION]["ebs.gp3.gb_month"].update(value=-1, unit=""),
        f"prices.yaml: regions.{REGION}.ebs.gp3.gb_month: unit must be a non-empty string, got ''\n"
        f"prices.yaml: regions.{REGION}.ebs.gp3.gb_month: value must be a number >= 0, got -1",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [c[1:] for c in PRICE_FILE_TYPOS], ids=[c[0] for c in PRICE_FILE_TYPOS])
def test_price_file_typos_are_rejected_naming_the_key_path(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = _book_document()
    mutate(document)
    with pytest.raises(PriceFileError) as raised:
        parse_prices(document)
    assert str(raised.value) == message


def test_price_file_structure_errors() -> None:
    with pytest.raises(PriceFileError, match="hours_per_month"):
        parse_prices({**_book_document(), "hours_per_month": 0})
    with pytest.raises(PriceFileError, match="regions"):
        parse_prices({**_book_document(), "regions": {}})
    with pytest.raises(PriceFileError, match="top level"):
        parse_prices(["not", "a", "mapping"])


def test_the_real_price_file_loads_and_every_price_is_sourced() -> None:
    book = load_prices()
    assert book.hours_per_month == HOURS
    assert REGION in book.prices
    for region, prices in book.prices.items():
        for key, price in prices.items():
            assert price.source.startswith("https://aws.amazon.com/"), f"{region}.{key}: {price.source}"
            assert price.read.isoformat() in ("2026-11-25", "2026-11-30"), f"{region}.{key}: read on a known day"
    classes = {environment.environment_class.name for environment in environments().values()}
    assert set(book.assumptions) == classes, "one set per class of the matrix, none per environment yet"
    for name in classes:
        assert all(a.reason for a in book.assumptions[name].values())


def test_the_real_price_file_is_one_yaml_document() -> None:
    assert isinstance(yamlio.load(DEFAULT_PRICES.read_text()), dict)


# --- The real exports -------------------------------------------------------------------------------------------


def _documents(exports: Mapping[tuple[str, str], Export], env: str) -> dict[str, dict[str, Any]]:
    return {layer: export.document for (e, layer), export in exports.items() if e == env}


@pytest.fixture(scope="module")
def estimates(exports: Mapping[tuple[str, str], Export]) -> dict[str, CostEstimate]:
    book = load_prices()
    return {env: estimate(_documents(exports, env), book) for env in ENVS}


def test_prod_costs_more_than_staging_more_than_dev(estimates: Mapping[str, CostEstimate]) -> None:
    assert estimates["prod"].total > estimates["staging"].total > estimates["dev"].total


def test_total_is_the_sum_of_the_line_items(estimates: Mapping[str, CostEstimate]) -> None:
    for result in estimates.values():
        assert result.total == pytest.approx(sum(item.monthly_usd for item in result.line_items))
        assert sum(result.by_layer().values()) == pytest.approx(result.total)
        assert all(item.monthly_usd >= 0 for item in result.line_items)


def test_every_custom_resource_is_priced_or_explained(
    exports: Mapping[tuple[str, str], Export], estimates: Mapping[str, CostEstimate]
) -> None:
    for env, result in estimates.items():
        covered = {urn for item in result.line_items for urn in item.urns} | {u.urn for u in result.unpriced}
        for (e, _), export in exports.items():
            if e != env:
                continue
            for resource in export.custom():
                assert resource["type"] in PRICED or resource["type"] in NO_CHARGE, resource["urn"]
                assert resource["urn"] in covered, f"{resource['urn']} has no line and no reason"


def test_interface_endpoints_are_priced_per_az(
    exports: Mapping[tuple[str, str], Export], estimates: Mapping[str, CostEstimate]
) -> None:
    for env, result in estimates.items():
        endpoints = exports[(env, "network")].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        interface = [e for e in endpoints if e["inputs"].get("vpcEndpointType") == "Interface"]
        lines = {i.urns[0]: i for i in result.line_items if i.price_key == "vpc.interface_endpoint_hour"}
        azs = environment_matrix()[env]["endpoint_az_count"]
        assert len(lines) == len(interface) == len(environment_matrix()[env]["interface_endpoints"]), env
        for endpoint in interface:
            line = lines[endpoint["urn"]]
            assert len(endpoint["inputs"]["subnetIds"]) == azs, endpoint["urn"]
            assert line.quantity == HOURS * azs, endpoint["urn"]
        # The S3 gateway endpoint is free, and says so.
        gateway = [e["urn"] for e in endpoints if e["inputs"].get("vpcEndpointType") == "Gateway"]
        assert gateway and all(u in {x.urn for x in result.unpriced} for u in gateway)


def test_real_lines_are_price_times_quantity(estimates: Mapping[str, CostEstimate]) -> None:
    book = load_prices()
    prices = book.prices[REGION]
    dev = estimates["dev"]
    assert dev.region == REGION
    ec2 = next(i for i in dev.line_items if i.price_key == "ec2.instance_hour.t3.micro")
    assert ec2.monthly_usd == pytest.approx(prices["ec2.instance_hour.t3.micro"].value * HOURS)
    assert ec2.monthly_usd == pytest.approx(9.636)
    endpoint_lines = [i for i in dev.line_items if i.price_key == "vpc.interface_endpoint_hour"]
    assert sum(i.monthly_usd for i in endpoint_lines) == pytest.approx(10 * 0.013 * HOURS)

    prod = estimates["prod"]
    rds = next(i for i in prod.line_items if i.price_key == "rds.postgres.instance_hour.db.t4g.medium")
    assert rds.quantity == 2 * HOURS  # prod is Multi-AZ
    storage = next(i for i in prod.line_items if i.price_key == "rds.storage.gp3.gb_month")
    assert storage.quantity == 2 * 50
    assert storage.monthly_usd == pytest.approx(2 * 50 * prices["rds.storage.gp3.gb_month"].value)


def test_real_estimates_report_their_assumptions_and_notes(estimates: Mapping[str, CostEstimate]) -> None:
    for env, result in estimates.items():
        used = {key for item in result.line_items for key in item.assumptions}
        assert {a.key for a in result.assumptions} == used, env
        assert "api_requests_per_month" in used
        noted = dict(result.price_notes)
        assert "vpc.interface_endpoint_hour" in noted


def _write_build(tmp_path: Path, exports: Mapping[tuple[str, str], Export], env: str) -> Path:
    for (e, layer), export in exports.items():
        if e == env:
            (tmp_path / env).mkdir(parents=True, exist_ok=True)
            (tmp_path / env / f"{layer}.json").write_text(json.dumps(export.document))
    return tmp_path


def test_cli_prints_the_report(
    tmp_path: Path, exports: Mapping[tuple[str, str], Export], capsys: pytest.CaptureFixture[str]
) -> None:
    build = _write_build(tmp_path, exports, "staging")
    assert main(["build", "--env", "staging", "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert "staging in ap-southeast-2" in out
    assert "Interface endpoint" in out and "total" in out and "Left out:" in out

    assert main(["build", "--env", "staging", "--build-dir", str(build), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["environment"] == "staging" and document["total_usd"] > 0


def test_cli_fails_cleanly_without_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--env", "dev", "--build-dir", str(tmp_path)]) == 1
    assert "make preview" in capsys.readouterr().err


def test_an_environment_uses_its_class_usage_under_its_own(
    exports: Mapping[tuple[str, str], Export], estimates: Mapping[str, CostEstimate]
) -> None:
    book = load_prices()
    documents = _documents(exports, "staging")
    by_class = estimate(documents, book, "staging")
    assert {a.key: a.value for a in by_class.assumptions}.items() <= {
        k: a.value for k, a in book.assumptions["preproduction"].items()
    }.items()
    # An entry of its own, on one key, wins over the class's for that key alone.
    own = Assumption("api_requests_per_month", 400000, "requests/month", "A load test every week.")
    tuned = estimate(documents, dataclasses.replace(book, assumptions={**book.assumptions, "staging": {own.key: own}}))
    used = {a.key: a for a in tuned.assumptions}
    assert used[own.key] == own and used["vectors_stored"] == book.assumptions["preproduction"]["vectors_stored"]
    assert tuned.total > by_class.total == estimates["staging"].total
    # The class can also be named, as make check and the diff do for an environment of another checkout's matrix.
    assert estimate(documents, book, "staging", environment_class="production").total > by_class.total


def test_an_assumption_set_must_name_a_class_or_an_environment_of_the_matrix(tmp_path: Path) -> None:
    document = yamlio.load(DEFAULT_PRICES.read_text())
    document["assumptions"]["prdo"] = document["assumptions"]["production"]
    typo = tmp_path / "prices.yaml"
    typo.write_text(yaml.safe_dump(document))
    with pytest.raises(PriceFileError) as info:
        load_prices(typo)
    assert str(info.value) == (
        "prices.yaml: assumptions.prdo names no environment class or environment of shared/environment_matrix.yaml "
        "(allowed: development, preproduction, production, dev, staging, prod)"
    )
