"""Edge layer components: CloudFront with Origin Access Control for the SPA, and the HTTP API over a VPC link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared.components.data import tls_only_statement
from shared.iam import objects_arn, policy_document

ORIGIN_ID = "frontend-s3"
# The browser calls the API with these; no "*" (an HTTP API answers CORS preflights itself).
API_CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
API_CORS_HEADERS = ("authorization", "content-type", "x-request-id")
# Headers a browser sends with a presigned SigV4 PUT to S3; no "*".
PRESIGNED_UPLOAD_HEADERS = ("content-type", "content-md5", "x-amz-checksum-sha256", "x-amz-sdk-checksum-algorithm")


def frontend_bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Objects readable only by this CloudFront distribution (OAC), and nothing without TLS.

    The statement is the one the CloudFront developer guide gives for OAC ("Restricting access to an Amazon S3
    origin"): the service principal, s3:GetObject, and AWS:SourceArn equal to the distribution's ARN.
    """
    return policy_document(
        [
            {
                "Sid": "AllowCloudFrontOriginAccessControl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": objects_arn(bucket_arn),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            tls_only_statement(bucket_arn),
        ]
    )


def frontend_origins(cloudfront_domain: str, domain: str, custom_domain: bool) -> list[str]:
    """The browser origins of the SPA: CloudFront's own domain, plus the configured domain when it is served."""
    origins = [f"https://{cloudfront_domain}"]
    if custom_domain:
        origins.append(f"https://{domain}")
    return origins


@dataclass(frozen=True)
class FrontendCdnArgs:
    """Inputs of :class:`FrontendCdn`."""

    name_prefix: str
    """Base of the distribution's and the bucket policy's logical names."""
    origin_access_control_name: str
    cache_policy_name: str
    """The static assets' cache policy."""
    headers_policy_name: str
    """The security headers' response headers policy."""
    environment: str
    """Shown in the distribution's comment."""
    domain: str
    """The custom domain, served (as an alias) when there is a certificate."""
    certificate_arn: str | None
    """An ACM certificate in us-east-1 for the domain; without it CloudFront serves its own domain only."""
    price_class: str
    """PriceClass_All, _200 or _100: which edges serve the viewers."""
    hsts_include_subdomains: bool
    hsts_preload: bool
    bucket_name: pulumi.Input[str]
    """The frontend bucket (from the data layer)."""
    bucket_arn: pulumi.Input[str]
    """Its ARN, for the bucket policy."""
    bucket_regional_domain_name: pulumi.Input[str]
    """Its regional endpoint, the S3 origin's domain."""


class FrontendCdn(pulumi.ComponentResource):
    """A CloudFront distribution for the single-page app, reading a private bucket through OAC (not OAI)."""

    def __init__(self, name: str, args: FrontendCdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:edge:FrontendCdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        oac = aws.cloudfront.OriginAccessControl(
            args.origin_access_control_name,
            name=args.origin_access_control_name,
            description="CloudFront reads the frontend bucket with SigV4",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        cache = aws.cloudfront.CachePolicy(
            args.cache_policy_name,
            name=args.cache_policy_name,
            comment="Static SPA assets: no cookies, headers or query strings in the key",
            default_ttl=86400,
            max_ttl=31536000,
            min_ttl=0,
            parameters_in_cache_key_and_forwarded_to_origin={
                "enable_accept_encoding_brotli": True,
                "enable_accept_encoding_gzip": True,
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
            },
            opts=child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            args.headers_policy_name,
            name=args.headers_policy_name,
            comment="HSTS, nosniff, no framing, strict referrer",
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": 63072000,
                    "include_subdomains": args.hsts_include_subdomains,
                    "preload": args.hsts_preload,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
                "xss_protection": {"protection": True, "mode_block": True, "override": True},
            },
            opts=child,
        )
        custom_domain = args.certificate_arn is not None
        viewer_certificate: aws.cloudfront.DistributionViewerCertificateArgsDict = (
            {
                "acm_certificate_arn": args.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            }
            if custom_domain
            else {"cloudfront_default_certificate": True}
        )
        default_behavior: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            "target_origin_id": ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": cache.id,
            "response_headers_policy_id": headers.id,
        }
        # Client-side routes are not objects: S3 answers 403 (OAC) or 404, and the SPA must get index.html.
        spa_fallbacks: list[aws.cloudfront.DistributionCustomErrorResponseArgsDict] = [
            {
                "error_code": code,
                "response_code": 200,
                "response_page_path": "/index.html",
                "error_caching_min_ttl": 10,
            }
            for code in (403, 404)
        ]
        origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": ORIGIN_ID,
            "domain_name": args.bucket_regional_domain_name,
            "origin_access_control_id": oac.id,
        }
        self.distribution = aws.cloudfront.Distribution(
            f"{args.name_prefix}-frontend",
            enabled=True,
            is_ipv6_enabled=True,
            comment=f"Student Helper frontend ({args.environment})",
            default_root_object="index.html",
            aliases=[args.domain] if custom_domain else None,
            origins=[origin],
            default_cache_behavior=default_behavior,
            custom_error_responses=spa_fallbacks,
            price_class=args.price_class,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=viewer_certificate,
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{args.name_prefix}-frontend-bucket-policy",
            bucket=args.bucket_name,
            policy=pulumi.Output.all(args.bucket_arn, self.distribution.arn).apply(
                lambda arns: frontend_bucket_policy(arns[0], arns[1])
            ),
            opts=child,
        )
        self.origins = self.distribution.domain_name.apply(
            lambda cf_domain: frontend_origins(cf_domain, args.domain, custom_domain)
        )
        self.register_outputs({"domain_name": self.distribution.domain_name, "arn": self.distribution.arn})


@dataclass(frozen=True)
class HttpApiArgs:
    """Inputs of :class:`HttpApi`."""

    name_prefix: str
    """Base of the integration's, route's, stage's and access logs' logical names."""
    vpc_link_name: str
    api_name: str
    access_log_group_name: str
    """The stage's access log group."""
    log_retention_days: int
    """Retention of the access logs."""
    throttling_burst_limit: int
    """The stage's burst limit (requests)."""
    throttling_rate_limit: int
    """The stage's steady-state limit (requests per second)."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The private subnets for the VPC link's ENIs."""
    vpc_link_security_group_id: pulumi.Input[str]
    """The network layer's VPC-link group (8000 out to the backend only)."""
    cloud_map_service_arn: pulumi.Input[str]
    """The backend's Cloud Map service: the private integration's target."""
    cors_origins: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The frontend origins allowed by CORS (never "*")."""


class HttpApi(pulumi.ComponentResource):
    """An HTTP API whose only route proxies to the backend through a VPC link and Cloud Map."""

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:edge:HttpApi", name, None, opts)
        prefix = args.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        vpc_link = aws.apigatewayv2.VpcLink(
            args.vpc_link_name,
            name=args.vpc_link_name,
            subnet_ids=args.subnet_ids,
            security_group_ids=[args.vpc_link_security_group_id],
            opts=child,
        )
        self.api = aws.apigatewayv2.Api(
            args.api_name,
            name=args.api_name,
            protocol_type="HTTP",
            cors_configuration={
                "allow_origins": args.cors_origins,
                "allow_methods": list(API_CORS_METHODS),
                "allow_headers": list(API_CORS_HEADERS),
                "max_age": 3600,
            },
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{prefix}-backend-integration",
            api_id=self.api.id,
            integration_type="HTTP_PROXY",
            integration_method="ANY",
            # A private integration targets a Cloud Map service ARN, not an instance IP (API Gateway developer
            # guide, "Create private integrations for HTTP APIs"); 1.0 is the only payload format it supports.
            integration_uri=args.cloud_map_service_arn,
            connection_type="VPC_LINK",
            connection_id=vpc_link.id,
            payload_format_version="1.0",
            opts=child,
        )
        aws.apigatewayv2.Route(
            f"{prefix}-proxy-route",
            api_id=self.api.id,
            route_key="ANY /{proxy+}",
            target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            opts=child,
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{prefix}-api-access-logs",
            name=args.access_log_group_name,
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        aws.apigatewayv2.Stage(
            f"{prefix}-api-default-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_burst_limit": args.throttling_burst_limit,
                "throttling_rate_limit": args.throttling_rate_limit,
                "detailed_metrics_enabled": True,
            },
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": ACCESS_LOG_FORMAT,
            },
            opts=child,
        )
        self.register_outputs({"api_endpoint": self.api.api_endpoint})


# One JSON object per request, from API Gateway's $context variables (HTTP API access logging reference).
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",'
    '"httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
    '"integrationStatus":"$context.integrationStatus","integrationError":"$context.integrationErrorMessage",'
    '"latency":"$context.responseLatency"}'
)


@dataclass(frozen=True)
class UploadCorsArgs:
    """Inputs of :class:`UploadCors`."""

    name_prefix: str
    """Base of the CORS configuration's logical name."""
    bucket_name: pulumi.Input[str]
    """The documents bucket (from the data layer)."""
    origins: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The SPA's origins: the CloudFront domain, plus the custom domain when it is served."""


class UploadCors(pulumi.ComponentResource):
    """The documents bucket's CORS rule for presigned uploads from the SPA, and nothing else.

    It lives here, not in the data layer, because the SPA's origin is CloudFront's generated domain unless a
    certificate is configured, and only this layer knows it (the same reason the frontend bucket policy is here).
    """

    def __init__(self, name: str, args: UploadCorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:edge:UploadCors", name, None, opts)
        aws.s3.BucketCorsConfiguration(
            f"{args.name_prefix}-documents-cors",
            bucket=args.bucket_name,
            cors_rules=[
                {
                    "allowed_methods": ["PUT", "GET", "HEAD"],
                    "allowed_origins": args.origins,
                    "allowed_headers": list(PRESIGNED_UPLOAD_HEADERS),
                    "expose_headers": ["ETag"],
                    "max_age_seconds": 3000,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
