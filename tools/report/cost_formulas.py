"""The quantities that need a formula, named by ``formula:`` in ``rules.yaml``; every other line is data there.

A formula takes one resource (its inputs over its rule's ``defaults``) and yields its lines, or why it has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.report.cost import Context, Line
    from tools.stack_export import Resource

# AWS bills "GB" of storage and transfer in binary gigabytes.
GIB = 1024**3


def ebs_volumes(res: Resource, ctx: Context) -> Iterator[Line]:
    volumes = [("root", ctx.required(res, "rootBlockDevice"))]
    volumes += [(str(v.get("deviceName", "data")), v) for v in res.inputs.get("ebsBlockDevices") or []]
    for label, volume in volumes:
        kind, size = volume.get("volumeType"), volume.get("volumeSize")
        if kind is None or size is None:
            raise ctx.unsupported(res, f"the {label} volume needs volumeType and volumeSize in the export")
        yield ctx.line(
            [res], f"EBS {kind} {label} volume, {size} GiB", float(size), "GB-months", f"ebs.{kind}.gb_month"
        )
        # gp3 includes 3,000 IOPS and 125 MB/s; anything above is billed per provisioned unit.
        if kind == "gp3" and int(volume.get("iops") or 3000) > 3000:
            extra = int(volume["iops"]) - 3000
            yield ctx.line([res], f"gp3 IOPS above 3,000 ({label})", extra, "IOPS-months", "ebs.gp3.iops_month")
        if kind == "gp3" and int(volume.get("throughput") or 125) > 125:
            extra, description = int(volume["throughput"]) - 125, f"gp3 throughput above 125 MB/s ({label})"
            yield ctx.line([res], description, extra, "MBps-months", "ebs.gp3.throughput_month")


def rds_instance(res: Resource, ctx: Context) -> Iterator[Line]:
    engine, instance_class = ctx.required(res, "engine"), ctx.required(res, "instanceClass")
    # Multi-AZ runs a standby in a second AZ: its instance-hours and its storage are billed too.
    copies = 2 if res.inputs["multiAz"] else 1
    description = f"RDS {engine} {instance_class}, {'Multi-AZ (primary + standby)' if copies == 2 else 'Single-AZ'}"
    key = f"rds.{engine}.instance_hour.{instance_class}"
    yield ctx.line([res], description, ctx.hours * copies, "DB instance-hours", key)
    kind, size = res.inputs["storageType"], float(ctx.required(res, "allocatedStorage"))
    description = f"RDS {kind} storage, {size:g} GiB x {copies}"
    yield ctx.line([res], description, size * copies, "GB-months", f"rds.storage.{kind}.gb_month")
    if kind == "gp3" and int(res.inputs.get("iops") or 3000) > 3000:
        extra = (int(res.inputs["iops"]) - 3000) * copies
        yield ctx.line([res], "RDS gp3 IOPS above 3,000", extra, "IOPS-months", "rds.storage.gp3.iops_month")
    # Performance Insights (now Database Insights Standard) keeps 7 days free; longer retention is per vCPU.
    if res.inputs.get("performanceInsightsEnabled") and int(res.inputs["performanceInsightsRetentionPeriod"]) > 7:
        raise ctx.unsupported(res, "Performance Insights retention above 7 days is billed per vCPU, not priced yet")


def vpc_endpoint(res: Resource, ctx: Context) -> Iterator[Line]:
    kind = res.inputs["vpcEndpointType"]
    service = str(res.inputs.get("serviceName", "")).removeprefix(f"com.amazonaws.{ctx.region}.")
    if kind == "Gateway":
        yield ctx.free(res, f"gateway endpoint ({service}): no hourly or data charge")
    elif kind != "Interface":
        # Gateway Load Balancer and resource endpoints have their own meters; the file must name them.
        key = f"vpc.{kind.lower()}_endpoint_hour"
        yield ctx.line([res], f"{kind} endpoint {service}", ctx.hours, "endpoint-hours", key)
    else:
        # An interface endpoint puts one network interface in each subnet, one subnet per AZ; each is billed.
        azs = len(set(res.inputs.get("subnetIds") or []))
        if azs == 0:
            raise ctx.unsupported(res, "an interface endpoint without subnetIds in the export")
        description = f"Interface endpoint {service} x {azs} AZ{'s' if azs > 1 else ''}"
        yield ctx.line([res], description, ctx.hours * azs, "endpoint-AZ-hours", "vpc.interface_endpoint_hour")


def lambda_duration(res: Resource, ctx: Context) -> Iterator[Line]:
    invocations = ctx.assumption("lambda_invocations_per_month", f"Lambda requests of {res.urn}")
    duration = ctx.assumption("lambda_avg_duration_seconds", f"Lambda duration of {res.urn}")
    memory_mb, architecture = float(res.inputs["memorySize"]), str(res.inputs["architectures"][0])
    seconds, used = invocations.value * duration.value, [invocations, duration]
    description, key = (
        f"Lambda {res.name} duration, {memory_mb:g} MB {architecture}",
        f"lambda.gb_second.{architecture}",
    )
    yield ctx.line([res], description, seconds * memory_mb / 1024, "GB-seconds", key, used)
    ephemeral_mb = float(res.inputs["ephemeralStorage"].get("size") or 512)
    if ephemeral_mb > 512:
        extra, description = seconds * (ephemeral_mb - 512) / 1024, "Lambda ephemeral storage above 512 MB"
        yield ctx.line([res], description, extra, "GB-seconds", "lambda.ephemeral_gb_second", used)


def vector_storage(res: Resource, ctx: Context) -> Iterator[Line]:
    dimension = int(ctx.required(res, "dimension"))
    if res.inputs["dataType"] != "float32":
        raise ctx.unsupported(res, "only float32 vectors are priced")
    stored = ctx.assumption("vectors_stored", f"S3 Vectors storage of {res.urn}")
    metadata = ctx.assumption("vector_metadata_bytes", f"S3 Vectors vector size of {res.urn}")
    written = ctx.assumption("vectors_written_per_month", f"S3 Vectors PUTs of {res.urn}")
    # The dimension comes from the export: 4 bytes per float32 component, plus key and metadata.
    gib_per_vector = (dimension * 4 + metadata.value) / GIB
    description, key = f"S3 Vectors storage, {stored.value:,.0f} x {dimension}-d vectors", "s3vectors.storage_gb_month"
    yield ctx.line([res], description, stored.value * gib_per_vector, "GB-months", key, [stored, metadata])
    description = "S3 Vectors PUT (logical GB written)"
    yield ctx.line([res], description, written.value * gib_per_vector, "GB", "s3vectors.put_gb", [written, metadata])


def ecr_storage(res: Resource, ctx: Context) -> Iterator[Line]:
    """Storage of the images a repository keeps: its lifecycle rule's count, else an assumption."""
    counts: list[int] = []
    for policy in ctx.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        if policy.inputs.get("repository") == res.inputs.get("name"):
            try:
                rules = json.loads(str(policy.inputs.get("policy") or "{}")).get("rules", [])
            except json.JSONDecodeError:
                rules = []
            selections = [rule.get("selection", {}) for rule in rules]
            counts += [int(s["countNumber"]) for s in selections if s.get("countType") == "imageCountMoreThan"]
    used = [ctx.assumption("ecr_image_gb", "ECR storage")]
    if not counts:
        used.append(ctx.assumption("ecr_images_retained", f"{res.urn} (no lifecycle rule bounds its image count)"))
    images = float(max(counts)) if counts else used[-1].value
    description = f"ECR storage, {images:g} images kept ({res.inputs.get('name', res.name)})"
    yield ctx.line([res], description, images * used[0].value, "GB-months", "ecr.storage_gb_month", used)


def s3_storage(res: Resource, ctx: Context) -> Iterator[Line]:
    # The bucket's role is the end of its logical name: student-helper-dev-documents -> documents.
    keys = [key for key in ctx.assumed if key.startswith("s3_gb_stored.")]
    roles = sorted((key.split(".", 1)[1] for key in keys if res.name.endswith("-" + key.split(".", 1)[1])), key=len)
    why = f"bucket {res.name}: add s3_gb_stored.<the role its name ends with>; have {', '.join(keys) or 'none'}"
    stored = ctx.assumption(f"s3_gb_stored.{roles[-1] if roles else '<role>'}", why)
    description = f"S3 Standard storage, {stored.key.split('.', 1)[1]} bucket"
    yield ctx.line([res], description, stored.value, "GB-months", "s3.standard.gb_month", [stored])


def secret_copies(res: Resource, ctx: Context) -> Iterator[Line]:
    # Each replica region stores (and bills) another copy of the secret.
    copies = 1 + len(res.inputs.get("replicas") or [])
    description = f"Secret {res.inputs.get('name', res.name)}"
    yield ctx.line([res], description, float(copies), "secret-months", "secretsmanager.secret_month")


def api_stage_metrics(res: Resource, ctx: Context) -> Iterator[Line]:
    if not (res.inputs.get("defaultRouteSettings") or {}).get("detailedMetricsEnabled"):
        yield ctx.free(res, "stages have no charge; requests are billed on the API")
        return
    routes = ctx.of_type("aws:apigatewayv2/route:Route")
    count = sum(1 for route in routes if route.inputs.get("apiId") == res.inputs.get("apiId"))
    per_route = ctx.assumption("apigw_detailed_metrics_per_route", f"detailed metrics on {res.urn}")
    description = f"API Gateway detailed metrics, {count} route(s)"
    yield ctx.line([res], description, count * per_route.value, "metric-months", "cloudwatch.metric_month", [per_route])


FORMULAS: dict[str, Callable[[Resource, Context], Iterator[Line]]] = {
    formula.__name__: formula
    for formula in (
        ebs_volumes,
        rds_instance,
        vpc_endpoint,
        lambda_duration,
        vector_storage,
        ecr_storage,
        s3_storage,
        secret_copies,
        api_stage_metrics,
    )
}
