"""Edge layer: CloudFront (Origin Access Control) for the SPA, and the HTTP API over a VPC link and Cloud Map."""

from shared.components import edge as components
from shared.contract import Layer
from shared.settings import read_edge_settings
from shared.stack import export_layer, start_layer

ctx = start_layer(Layer.EDGE, read_edge_settings)
env, namer, settings = ctx.env, ctx.namer, ctx.settings
network = ctx.upstream(Layer.NETWORK)
data = ctx.upstream(Layer.DATA)
compute = ctx.upstream(Layer.COMPUTE)

cdn = components.FrontendCdn(
    "frontend-cdn",
    components.FrontendCdnArgs(
        name_prefix=namer.prefix,
        origin_access_control_name=namer.name("frontend-oac"),
        cache_policy_name=namer.name("frontend-cache"),
        headers_policy_name=namer.name("security-headers"),
        environment=env.environment,
        domain=env.domain,
        certificate_arn=settings.certificate_arn,
        price_class=settings.cloudfront_price_class,
        hsts_include_subdomains=settings.hsts_include_subdomains,
        hsts_preload=settings.hsts_preload,
        bucket_name=data.require_output("frontend_bucket"),
        bucket_arn=data.require_output("frontend_bucket_arn"),
        bucket_regional_domain_name=data.require_output("frontend_bucket_regional_domain_name"),
    ),
)
api = components.HttpApi(
    "http-api",
    components.HttpApiArgs(
        name_prefix=namer.prefix,
        vpc_link_name=namer.name("vpc-link"),
        api_name=namer.name("api"),
        access_log_group_name=f"/aws/apigateway/{namer.name('api')}",
        log_retention_days=env.log_retention_days,
        throttling_burst_limit=settings.api_throttling_burst_limit,
        throttling_rate_limit=settings.api_throttling_rate_limit,
        subnet_ids=network.require_output("subnet_ids").apply(lambda ids: ids["private"]),
        vpc_link_security_group_id=network.require_output("security_group_ids").apply(lambda ids: ids["vpc_link"]),
        cloud_map_service_arn=compute.require_output("cloud_map_service_arn"),
        cors_origins=cdn.origins,
    ),
)
uploads = components.UploadCors(
    "upload-cors",
    components.UploadCorsArgs(
        name_prefix=namer.prefix, bucket_name=data.require_output("documents_bucket"), origins=cdn.origins
    ),
)

export_layer(
    Layer.EDGE,
    {
        "api_endpoint": api.api.api_endpoint,
        "api_id": api.api.id,
        "cloudfront_domain": cdn.distribution.domain_name,
        "cloudfront_distribution_id": cdn.distribution.id,
        "cloudfront_distribution_arn": cdn.distribution.arn,
        "frontend_origin": cdn.origins.apply(lambda origins: origins[-1]),
    },
)
