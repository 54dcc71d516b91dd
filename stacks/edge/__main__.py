"""Edge layer: CloudFront (Origin Access Control) for the SPA, and the HTTP API over a VPC link and Cloud Map."""

from shared.components.edge import FrontendCdn, FrontendCdnArgs, HttpApi, HttpApiArgs, UploadCors, UploadCorsArgs
from shared.contract import Layer
from shared.settings import read_edge_settings
from shared.stack import export_layer, start_layer

ctx = start_layer(Layer.EDGE, read_edge_settings)
env, namer, settings = ctx.env, ctx.namer, ctx.settings
network = ctx.upstream(Layer.NETWORK)
data = ctx.upstream(Layer.DATA)
compute = ctx.upstream(Layer.COMPUTE)

cdn = FrontendCdn(
    "frontend-cdn",
    FrontendCdnArgs(
        env=env,
        namer=namer,
        settings=settings,
        bucket_name=data.require_output("frontend_bucket"),
        bucket_arn=data.require_output("frontend_bucket_arn"),
        bucket_regional_domain_name=data.require_output("frontend_bucket_regional_domain_name"),
    ),
)
api = HttpApi(
    "http-api",
    HttpApiArgs(
        env=env,
        namer=namer,
        settings=settings,
        subnet_ids=network.require_output("subnet_ids").apply(lambda ids: ids["private"]),
        vpc_link_security_group_id=network.require_output("security_group_ids").apply(lambda ids: ids["vpc_link"]),
        cloud_map_service_arn=compute.require_output("cloud_map_service_arn"),
        cors_origins=cdn.origins,
    ),
)
uploads = UploadCors(
    "upload-cors",
    UploadCorsArgs(namer=namer, bucket_name=data.require_output("documents_bucket"), origins=cdn.origins),
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
