"""Each layer's own settings, read through the same validating :class:`~shared.config.ConfigReader`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shared.config import ConfigReader, EnvironmentConfig

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
    """The Bedrock embedding model the processor uses; fixes the index dimension."""
    embedding_dimension: int
    """Vector dimension; must be one the model produces."""
    vectors_index_name: str
    """The S3 Vectors index name, derived from ``vectors_index_prefix``, the model and the dimension."""
    documents_noncurrent_version_days: int
    """Days before a replaced or deleted document version expires."""
    ecr_keep_images: int
    """Images kept per ECR repository."""
    access_log_retention_days: int
    """Days S3 server access logs are kept."""
    secret_recovery_window_days: int
    """Days a deleted secret stays recoverable (0 deletes at once, the default outside prod; 7-30 in prod)."""
    db_name: str
    """The application database."""
    db_username: str
    """The master user; its password is managed by RDS in Secrets Manager."""


def read_data_settings(reader: ConfigReader, env: EnvironmentConfig) -> DataSettings:
    """Validate the data layer's settings, including that the embedding model and dimension agree."""
    model = reader.string("embedding_model_id", choices=EMBEDDING_MODELS)
    dimension = reader.integer("embedding_dimension", minimum=1, maximum=4096)
    if model in EMBEDDING_MODELS and dimension not in EMBEDDING_MODELS[model]:
        producers = [m for m, dims in EMBEDDING_MODELS.items() if dimension in dims]
        hint = f" ({dimension} is what {', '.join(producers)} produces)" if producers else ""
        reader.problem(
            "embedding_dimension",
            dimension,
            f"for {model}: {', '.join(str(d) for d in EMBEDDING_MODELS[model])}{hint}",
        )
    # A secret deleted with a recovery window keeps its name for that long: re-creating the environment within it
    # fails (CreateSecret: "already scheduled for deletion"). So 0 outside prod (the matrix default), and a window
    # in prod, where a deleted key must stay recoverable (Secrets Manager API reference, DeleteSecret).
    recovery = reader.integer("secret_recovery_window_days", minimum=0, maximum=30, unit="days")
    if 0 < recovery < 7:
        reader.problem("secret_recovery_window_days", recovery, "0 (delete at once) or 7 to 30 days")
    if env.is_production and recovery < 7:
        reader.problem("secret_recovery_window_days", recovery, "in prod: 7 to 30 days (deleted keys stay recoverable)")
    prefix = reader.string(
        "vectors_index_prefix", "documents", pattern=_INDEX_NAME, allowed="3-63 lower-case letters, digits, - or ."
    )
    index_name = vectors_index_name(prefix, model, dimension)
    if prefix and model and not _INDEX_NAME.match(index_name):
        reader.problem(
            "vectors_index_prefix",
            prefix,
            f"a prefix short enough that the index name '{index_name}' ({len(index_name)} characters, the prefix "
            "plus the model and dimension) stays within S3 Vectors' 63",
        )
    return DataSettings(
        embedding_model_id=model,
        embedding_dimension=dimension,
        vectors_index_name=index_name,
        documents_noncurrent_version_days=reader.integer(
            "documents_noncurrent_version_days", minimum=1, maximum=3650, unit="days"
        ),
        ecr_keep_images=reader.integer("ecr_keep_images", minimum=1, maximum=1000, unit="images"),
        access_log_retention_days=reader.integer("access_log_retention_days", minimum=1, maximum=3650, unit="days"),
        secret_recovery_window_days=recovery,
        db_name=reader.string(
            "db_name", "studenthelper", pattern=re.compile(r"^[a-z][a-z0-9_]{0,62}$"), allowed="a PostgreSQL identifier"
        ),
        db_username=reader.string(
            "db_username",
            "postgres",
            pattern=re.compile(r"^[a-z][a-z0-9_]{0,15}$"),
            allowed="1-16 lower-case letters, digits or _",
        ),
    )


@dataclass(frozen=True)
class ComputeSettings:
    """Settings of the compute layer."""

    backend_image_tag: str
    """The backend image tag in its ECR repository (immutable; required)."""
    processor_image_tag: str
    """The processor Lambda image tag in its ECR repository (immutable; required)."""
    chat_model_id: str
    """The Bedrock model the backend invokes for answers."""
    processor_max_concurrency: int
    """The most processor invocations the SQS event source runs at once (its ``scaling_config``)."""
    lambda_reserved_concurrency: int | None
    """Concurrency reserved for the processor; None (the default) draws from the account's unreserved pool."""
    ec2_root_volume_gb: int
    """Backend root volume size (gp3, encrypted)."""


def _image_tag(reader: ConfigReader, key: str, repository: str) -> str:
    allowed = (
        f"an immutable image tag pushed to the {repository} ECR repository, e.g. a release or commit id "
        f"(set it with: pulumi config set {key} <tag>)"
    )
    tag = reader.string(key, allowed=allowed)
    if tag and (not _IMAGE_TAG.match(tag) or tag == "latest"):
        reader.problem(key, tag, allowed + "; 'latest' is refused: the repositories are immutable")
    return tag


def read_image_tags(reader: ConfigReader) -> tuple[str, str]:
    """The backend and processor image tags; ``make doctor`` checks them with the same rules before a deploy."""
    return _image_tag(reader, "backend_image_tag", "backend"), _image_tag(reader, "processor_image_tag", "processor")


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
    chat_model = reader.string(
        "chat_model_id",
        pattern=_MODEL_ID,
        allowed="a Bedrock foundation model id or a cross-region inference profile id (au.anthropic.claude-...)",
    )
    backend_tag, processor_tag = read_image_tags(reader)
    # The SQS event source's maximum concurrency is 2 to 1000 (Lambda API reference, ScalingConfig).
    max_concurrency = reader.integer(
        "processor_max_concurrency", minimum=2, maximum=1000, unit="(SQS event source maximum concurrency)"
    )
    reserved = reader.optional_integer("lambda_reserved_concurrency", minimum=1, maximum=100_000)
    problem = reserved_concurrency_problem(reserved, max_concurrency)
    if problem:
        reader.problem("lambda_reserved_concurrency", reserved, problem)
    return ComputeSettings(
        backend_image_tag=backend_tag,
        processor_image_tag=processor_tag,
        chat_model_id=chat_model,
        processor_max_concurrency=max_concurrency,
        lambda_reserved_concurrency=reserved,
        ec2_root_volume_gb=reader.integer("ec2_root_volume_gb", minimum=8, maximum=16384, unit="GiB"),
    )


@dataclass(frozen=True)
class EdgeSettings:
    """Settings of the edge layer."""

    api_throttling_burst_limit: int
    """API Gateway stage burst limit (requests)."""
    api_throttling_rate_limit: int
    """API Gateway stage steady-state limit (requests per second)."""
    certificate_arn: str | None
    """An ACM certificate in us-east-1 for the custom domain; without it CloudFront serves its own domain."""


def read_edge_settings(reader: ConfigReader, env: EnvironmentConfig) -> EdgeSettings:
    """Validate the edge layer's settings."""
    return EdgeSettings(
        api_throttling_burst_limit=reader.integer("api_throttling_burst_limit", minimum=1, maximum=10000),
        api_throttling_rate_limit=reader.integer("api_throttling_rate_limit", minimum=1, maximum=10000),
        certificate_arn=reader.optional_string(
            "certificate_arn",
            pattern=_ACM_CLOUDFRONT_ARN,
            allowed="an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from us-east-1)",
        ),
    )


def no_settings(reader: ConfigReader, env: EnvironmentConfig) -> None:
    """For layers with no settings beyond the shared ones."""
    return None
