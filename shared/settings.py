"""Each layer's own settings: the keys as data (:class:`~shared.config.Setting`), read and validated together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shared.config import SHARED_SETTINGS, ConfigReader, EnvironmentConfig, Setting, read_setting

# Bedrock embedding models we support, with the output dimensions each can produce.
# Titan Text Embeddings V2: 1024 (default), 512 or 256; Titan v1: 1536 only (Bedrock user guide,
# "Amazon Titan Embeddings Text" model parameters). Cohere Embed v3: 1024.
EMBEDDING_MODELS: Final[dict[str, tuple[int, ...]]] = {
    "amazon.titan-embed-text-v2:0": (256, 512, 1024),
    "amazon.titan-embed-text-v1": (1536,),
    "cohere.embed-english-v3": (1024,),
    "cohere.embed-multilingual-v3": (1024,),
}
# A foundation model id (provider.model) or a system-defined cross-region inference profile id, which prefixes a
# model id with its geography (Bedrock user guide, "Supported cross-Region inference profiles").
_MODEL_ID = re.compile(r"^([a-z-]+\.)?[a-z0-9-]+\.[a-z0-9][a-z0-9.:-]*$")
_PROFILE_PREFIXES: Final[tuple[str, ...]] = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


def is_inference_profile(model_id: str) -> bool:
    """True for a cross-region inference profile id such as ``au.anthropic.claude-...``."""
    return model_id.startswith(_PROFILE_PREFIXES)


# Docker/ECR tag grammar; "latest" is refused because the repositories are immutable and deploys must pin.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ACM_CLOUDFRONT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$")
# S3 Vectors index names: 3-63 characters (the API model's CreateIndex indexName), lower-case letters, digits,
# hyphens and dots, beginning and ending with a letter or digit (S3 Vectors user guide, index naming).
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def vectors_index_name(prefix: str, model_id: str, dimension: int) -> str:
    """The S3 Vectors index name for one embedding model and dimension: ``documents-amazon-titan-embed-text-v2-0-1024``.

    S3 Vectors cannot change an index's dimension (there is no UpdateIndex; pulumi-aws/terraform mark ``dimension``
    "Forces new resource"), so another model or dimension replaces the index. Pulumi replaces create-before-delete,
    and a new index under the old name collides with the one still there; a name derived from the model and the
    dimension never does, and in prod, where the old index is protected and retained, both can exist side by side.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    return f"{prefix}-{slug}-{dimension}"


@dataclass(frozen=True)
class DataSettings:
    """Settings of the data layer."""

    embedding_model_id: str
    embedding_dimension: int
    """Must be one the model produces."""
    vectors_index_name: str
    """Derived from ``vectors_index_prefix``, the model and the dimension."""
    documents_noncurrent_version_days: int
    ecr_keep_images: int
    access_log_retention_days: int
    secret_recovery_window_days: int
    db_name: str
    db_username: str
    """Its password is managed by RDS in Secrets Manager."""


DATA_SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("embedding_model_id", "The Bedrock embedding model; it fixes the index dimension.", "string",
            choices=tuple(EMBEDDING_MODELS)),
    Setting("embedding_dimension", "The vector dimension: one the model produces.", "integer", minimum=1,
            maximum=4096),
    Setting("vectors_index_prefix", "The index name's prefix; the name adds the model and dimension.", "string",
            default="documents", pattern=_INDEX_NAME, allowed="3-63 lower-case letters, digits, - or ."),
    Setting("documents_noncurrent_version_days", "Days before a replaced or deleted document version expires.",
            "integer", minimum=1, maximum=3650, unit="days"),
    Setting("ecr_keep_images", "Images each ECR repository keeps.", "integer", minimum=1, maximum=1000,
            unit="images"),
    Setting("access_log_retention_days", "Days S3 server access logs are kept.", "integer", minimum=1, maximum=3650,
            unit="days"),
    # A secret deleted with a recovery window keeps its name for that long: re-creating the environment within it
    # fails (CreateSecret: "already scheduled for deletion"). So 0 where stores are disposable, and a window where a
    # deleted key must stay recoverable (Secrets Manager API reference, DeleteSecret).
    Setting("secret_recovery_window_days", "Days a deleted API-key secret stays recoverable (0: deleted at once).",
            "integer", minimum=0, maximum=30, unit="days"),
    Setting("db_name", "The application database.", "string", default="studenthelper",
            pattern=re.compile(r"^[a-z][a-z0-9_]{0,62}$"), allowed="a PostgreSQL identifier"),
    Setting("db_username", "The master user; RDS manages its password in Secrets Manager.", "string",
            default="postgres", pattern=re.compile(r"^[a-z][a-z0-9_]{0,15}$"),
            allowed="1-16 lower-case letters, digits or _"),
)  # fmt: skip


def read_data_settings(reader: ConfigReader, env: EnvironmentConfig) -> DataSettings:
    """Validate the data layer's settings, including that the embedding model and dimension agree."""
    values = {setting.key: read_setting(reader, setting) for setting in DATA_SETTINGS}
    model, dimension = values["embedding_model_id"], values["embedding_dimension"]
    if model in EMBEDDING_MODELS and dimension not in EMBEDDING_MODELS[model]:
        producers = [m for m, dims in EMBEDDING_MODELS.items() if dimension in dims]
        hint = f" ({dimension} is what {', '.join(producers)} produces)" if producers else ""
        reader.problem(
            "embedding_dimension",
            dimension,
            f"for {model}: {', '.join(str(d) for d in EMBEDDING_MODELS[model])}{hint}",
        )
    recovery = values["secret_recovery_window_days"]
    if 0 < recovery < 7:
        reader.problem("secret_recovery_window_days", recovery, "0 (delete at once) or 7 to 30 days")
    prefix = values.pop("vectors_index_prefix")
    index_name = vectors_index_name(prefix, model, dimension)
    if prefix and model and not _INDEX_NAME.match(index_name):
        reader.problem(
            "vectors_index_prefix",
            prefix,
            f"a prefix short enough that the index name '{index_name}' ({len(index_name)} characters, the prefix "
            "plus the model and dimension) stays within S3 Vectors' 63",
        )
    return DataSettings(vectors_index_name=index_name, **values)


@dataclass(frozen=True)
class ComputeSettings:
    """Settings of the compute layer."""

    backend_image_tag: str
    processor_image_tag: str
    chat_model_id: str
    processor_max_concurrency: int
    """The most processor invocations the SQS event source runs at once (its ``scaling_config``)."""
    lambda_reserved_concurrency: int | None
    """None (the default) draws from the account's unreserved pool."""
    ec2_root_volume_gb: int


def _image_tag_setting(key: str, repository: str) -> Setting:
    allowed = (
        f"an immutable image tag pushed to the {repository} ECR repository, e.g. a release or commit id "
        f"(set it with: pulumi config set {key} <tag>)"
    )
    return Setting(key, f"The {repository} image's tag (required; 'latest' is refused).", "string", allowed=allowed)


IMAGE_TAG_SETTINGS: Final[tuple[Setting, Setting]] = (
    _image_tag_setting("backend_image_tag", "backend"),
    _image_tag_setting("processor_image_tag", "processor"),
)
COMPUTE_SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("chat_model_id", "The Bedrock model the backend answers with.", "string", pattern=_MODEL_ID,
            allowed="a Bedrock foundation model id or a cross-region inference profile id (au.anthropic.claude-...)"),
    *IMAGE_TAG_SETTINGS,
    # The SQS event source's maximum concurrency is 2 to 1000 (Lambda API reference, ScalingConfig).
    Setting("processor_max_concurrency", "The most processor invocations the SQS event source runs at once.",
            "integer", minimum=2, maximum=1000, unit="(SQS event source maximum concurrency)"),
    Setting("lambda_reserved_concurrency", "Concurrency reserved for the processor (unset: none reserved).",
            "optional_integer", minimum=1, maximum=100_000),
    Setting("ec2_root_volume_gb", "The backend's root volume, gp3, encrypted.", "integer", minimum=8, maximum=16384,
            unit="GiB"),
)  # fmt: skip


def _image_tag(reader: ConfigReader, setting: Setting) -> str:
    tag: str = read_setting(reader, setting)
    if tag and (not _IMAGE_TAG.match(tag) or tag == "latest"):
        reader.problem(setting.key, tag, setting.allowed + "; 'latest' is refused: the repositories are immutable")
    return tag


def read_image_tags(reader: ConfigReader) -> tuple[str, str]:
    """The backend and processor image tags; ``make doctor`` checks them with the same rules before a deploy."""
    backend, processor = IMAGE_TAG_SETTINGS
    return _image_tag(reader, backend), _image_tag(reader, processor)


def reserved_concurrency_problem(reserved: int | None, max_concurrency: int) -> str | None:
    """What is allowed instead of ``reserved``, when a reservation would throttle the SQS event source.

    Unset is the default and always fine: Lambda refuses any reservation that leaves fewer than 100 unreserved
    executions, and new accounts start with a total of 10 ("You can reserve up to the Unreserved account
    concurrency value, minus 100", Lambda developer guide, configuration-concurrency). A reservation below the event
    source's maximum concurrency throttles messages back to the queue ("make sure that your function's reserved
    concurrency is greater than or equal to the total maximum concurrency", services-sqs-scaling).
    """
    if reserved is None or reserved >= max_concurrency:
        return None
    return (
        f"unset (the default), or at least processor_max_concurrency ({max_concurrency}): a smaller reservation "
        "throttles the SQS event source's invocations"
    )


def read_compute_settings(reader: ConfigReader, env: EnvironmentConfig) -> ComputeSettings:
    """Validate the compute layer's settings. A missing image tag fails here, offline and in a real deploy."""
    backend_tag, processor_tag = read_image_tags(reader)
    values = {s.key: read_setting(reader, s) for s in COMPUTE_SETTINGS if s not in IMAGE_TAG_SETTINGS}
    problem = reserved_concurrency_problem(values["lambda_reserved_concurrency"], values["processor_max_concurrency"])
    if problem:
        reader.problem("lambda_reserved_concurrency", values["lambda_reserved_concurrency"], problem)
    return ComputeSettings(backend_image_tag=backend_tag, processor_image_tag=processor_tag, **values)


@dataclass(frozen=True)
class EdgeSettings:
    """Settings of the edge layer."""

    api_throttling_burst_limit: int
    """Requests."""
    api_throttling_rate_limit: int
    """Requests per second."""
    certificate_arn: str | None
    """Without it CloudFront serves its own domain."""
    cloudfront_price_class: str
    hsts_include_subdomains: bool
    hsts_preload: bool


EDGE_SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("api_throttling_burst_limit", "API Gateway stage burst limit (requests).", "integer", minimum=1,
            maximum=10000),
    Setting("api_throttling_rate_limit", "API Gateway stage steady-state limit (requests per second).", "integer",
            minimum=1, maximum=10000),
    Setting("certificate_arn", "An ACM certificate in us-east-1 for the domain; unset, CloudFront serves its own.",
            "optional_string", pattern=_ACM_CLOUDFRONT_ARN,
            allowed="an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from us-east-1), or unset"),
    # PriceClass_100 serves only from North American and European edges, PriceClass_200 adds most of Asia, and only
    # PriceClass_All includes Australia and New Zealand (CloudFront developer guide, "Choosing the price class").
    Setting("cloudfront_price_class", "The CloudFront edges that serve the SPA: students near an excluded edge are "
            "served from a distant one.", "string", default="PriceClass_All",
            choices=("PriceClass_All", "PriceClass_200", "PriceClass_100")),
    # HSTS with includeSubDomains binds every subdomain of the domain to HTTPS in the browsers that saw it, and preload
    # asks to be built into browsers: a decision for the domain's owner, so both are off unless a stack sets them.
    Setting("hsts_include_subdomains", "HSTS's includeSubDomains: every subdomain of the domain must be HTTPS too.",
            "boolean", default=False),
    Setting("hsts_preload", "HSTS's preload directive (needs hsts_include_subdomains; see hstspreload.org).",
            "boolean", default=False),
)  # fmt: skip


def read_edge_settings(reader: ConfigReader, env: EnvironmentConfig) -> EdgeSettings:
    """Validate the edge layer's settings."""
    values = {setting.key: read_setting(reader, setting) for setting in EDGE_SETTINGS}
    if values["hsts_preload"] and not values["hsts_include_subdomains"]:
        # The preload list refuses a header without includeSubDomains (hstspreload.org, "Submission Requirements").
        reader.problem("hsts_preload", True, "true only together with hsts_include_subdomains: true")
    return EdgeSettings(**values)


def no_settings(reader: ConfigReader, env: EnvironmentConfig) -> None:
    """For layers with no settings beyond the shared ones."""
    return None


# Every key of every layer, in the order docs/configuration.md lists them.
ALL_SETTINGS: Final[tuple[Setting, ...]] = (*SHARED_SETTINGS, *DATA_SETTINGS, *COMPUTE_SETTINGS, *EDGE_SETTINGS)
