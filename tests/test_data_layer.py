"""The data layer, asserted on the real offline exports: every correction of the original design."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import clock
from shared.components.data import FILTERABLE_METADATA_KEYS, final_snapshot_identifier, stateful
from shared.config import ConfigError, ConfigReader, read_environment
from shared.constants import sqs_visibility_timeout
from shared.settings import read_data_settings, vectors_index_name
from tests.conftest import ENVS, Export, run_variant
from tools.offline.schedule import canonical_export

BUCKET = "aws:s3/bucket:Bucket"


@pytest.fixture(params=ENVS)
def layer(request: pytest.FixtureRequest, exports: dict[tuple[str, str], Export]) -> tuple[str, Export]:
    return request.param, exports[(request.param, "data")]


def for_bucket(export: Export, type_token: str, bucket: dict[str, Any]) -> dict[str, Any]:
    """The one per-bucket resource (versioning, encryption, ...) that names ``bucket``."""
    found = [r for r in export.of_type(type_token) if r["inputs"]["bucket"] == bucket["id"]]
    assert len(found) == 1, f"{bucket['urn']}: expected one {type_token}, got {len(found)}"
    return found[0]


def test_documents_bucket(layer: tuple[str, Export]) -> None:
    env, export = layer
    bucket = export.one(BUCKET, f"student-helper-{env}-documents")
    assert bucket["inputs"]["bucket"] == f"student-helper-{env}-documents-123456789012", bucket["urn"]
    versioning = for_bucket(export, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled", versioning["urn"]
    encryption = for_bucket(
        export, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket
    )
    rule = encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "AES256", encryption["urn"]
    block = for_bucket(export, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block["inputs"][flag] is True, f"{block['urn']}: {flag}"
    policy = json.loads(for_bucket(export, "aws:s3/bucketPolicy:BucketPolicy", bucket)["inputs"]["policy"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket["outputs"]["arn"], f"{bucket['outputs']['arn']}/*"]
    lifecycle = for_bucket(export, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket)
    expiry = [r for r in lifecycle["inputs"]["rules"] if "noncurrentVersionExpiration" in r]
    assert expiry[0]["noncurrentVersionExpiration"]["noncurrentDays"] == {"dev": 30, "staging": 30, "prod": 90}[env]
    assert export.of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration") == [], (
        "the documents bucket's CORS rule is the edge layer's: only it knows the SPA's origin"
    )
    logging = for_bucket(export, "aws:s3/bucketLogging:BucketLogging", bucket)
    assert logging["inputs"]["targetBucket"] == export.one(BUCKET, "access-logs")["id"], logging["urn"]


def test_frontend_bucket_is_private_and_its_policy_belongs_to_the_edge(layer: tuple[str, Export]) -> None:
    env, export = layer
    bucket = export.one(BUCKET, f"student-helper-{env}-frontend")
    block = for_bucket(export, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    assert all(block["inputs"][flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy")), block["urn"]
    for_bucket(export, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)
    ownership = for_bucket(export, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
    assert ownership["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced", ownership["urn"]
    policies = [r for r in export.of_type("aws:s3/bucketPolicy:BucketPolicy") if r["inputs"]["bucket"] == bucket["id"]]
    assert policies == [], "the edge layer owns the frontend bucket policy (a bucket has exactly one)"


def test_access_log_bucket_accepts_only_our_buckets_logs(layer: tuple[str, Export]) -> None:
    env, export = layer
    bucket = export.one(BUCKET, "access-logs")
    policy = json.loads(for_bucket(export, "aws:s3/bucketPolicy:BucketPolicy", bucket)["inputs"]["policy"])
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert sorted(allow["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        f"arn:aws:s3:::student-helper-{env}-{name}-123456789012" for name in ("documents", "frontend")
    ]


def test_vectors_use_s3_vectors_not_a_plain_bucket(layer: tuple[str, Export]) -> None:
    _, export = layer
    assert not [b for b in export.of_type(BUCKET) if "vectors" in b["urn"]], "the vector store is not an S3 bucket"
    vector_bucket = export.one("aws:s3/vectorsVectorBucket:VectorsVectorBucket")
    index = export.one("aws:s3/vectorsIndex:VectorsIndex")
    assert index["inputs"]["vectorBucketName"] == vector_bucket["outputs"]["vectorBucketName"], index["urn"]
    assert index["inputs"]["distanceMetric"] == "cosine", index["urn"]
    assert index["inputs"]["dataType"] == "float32", index["urn"]
    assert index["inputs"]["dimension"] == 1024, f"{index['urn']}: Titan Text Embeddings V2 gives 1024, not 1536"
    # S3 Vectors makes every metadata key filterable unless listed as non-filterable.
    assert index["inputs"]["metadataConfiguration"] == {"nonFilterableMetadataKeys": ["text_content"]}, index["urn"]
    assert not set(FILTERABLE_METADATA_KEYS) & set(
        index["inputs"]["metadataConfiguration"]["nonFilterableMetadataKeys"]
    )
    assert FILTERABLE_METADATA_KEYS == ("document_id", "session_id", "page_number")
    assert export.outputs["embedding_model_id"] == "amazon.titan-embed-text-v2:0"
    # Named after the model and dimension it was built for: another model creates another index, never a collision.
    assert index["inputs"]["indexName"] == "documents-amazon-titan-embed-text-v2-0-1024", index["urn"]
    assert export.outputs["vectors_index"] == index["inputs"]["indexName"]


def test_postgres(layer: tuple[str, Export], exports: dict[tuple[str, str], Export]) -> None:
    env, export = layer
    db = export.one("aws:rds/instance:Instance")
    inputs = db["inputs"]
    expected = {
        "engine": "postgres",
        "engineVersion": "16",
        "storageType": "gp3",
        "storageEncrypted": True,
        "manageMasterUserPassword": True,
        "publiclyAccessible": False,
        "copyTagsToSnapshot": True,
        "autoMinorVersionUpgrade": True,
        "multiAz": env == "prod",
        "deletionProtection": env == "prod",
        "backupRetentionPeriod": {"dev": 1, "staging": 7, "prod": 7}[env],
        "allocatedStorage": {"dev": 20, "staging": 20, "prod": 50}[env],
        "instanceClass": {"dev": "db.t4g.micro", "staging": "db.t4g.micro", "prod": "db.t4g.medium"}[env],
        "skipFinalSnapshot": env == "dev",
    }
    assert {k: inputs.get(k) for k in expected} == expected, db["urn"]
    assert "password" not in inputs, f"{db['urn']}: the master password must never be in state or config"
    assert "postgresql" in inputs["enabledCloudwatchLogsExports"], db["urn"]
    # One name per incarnation of the database (its creation time), so the next destroy cannot collide; named in dev
    # too, so turning final snapshots on later never meets a null name. Offline, the clock stands at a fixed instant.
    assert inputs["finalSnapshotIdentifier"] == f"student-helper-{env}-postgres-final-20260101000000", db["urn"]
    params = export.one("aws:rds/parameterGroup:ParameterGroup")
    assert params["inputs"]["family"] == "postgres16", params["urn"]
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"} in params["inputs"]["parameters"]
    assert inputs["parameterGroupName"] == params["outputs"]["name"], db["urn"]
    network = exports[(env, "network")].outputs
    subnet_group = export.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group["inputs"]["subnetIds"] == network["subnet_ids"]["data"], subnet_group["urn"]
    assert inputs["vpcSecurityGroupIds"] == [network["security_group_ids"]["database"]], db["urn"]
    assert export.outputs["rds_master_secret_arn"] == db["outputs"]["masterUserSecrets"][0]["secretArn"]


def test_app_secrets_have_no_values(layer: tuple[str, Export]) -> None:
    env, export = layer
    secrets = {s["inputs"]["name"]: s for s in export.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {f"student-helper/{env}/google-api-key", f"student-helper/{env}/anthropic-api-key"}
    assert export.of_type("aws:secretsmanager/secretVersion:SecretVersion") == [], "secret values are set out of band"
    for secret in secrets.values():
        # Outside prod a deleted secret frees its name at once, so a destroyed environment can be re-created.
        assert secret["inputs"]["recoveryWindowInDays"] == (30 if env == "prod" else 0), secret["urn"]
    assert set(export.outputs["app_secret_arns"]) == {"google-api-key", "anthropic-api-key"}


def test_queue_and_dlq(layer: tuple[str, Export], exports: dict[tuple[str, str], Export]) -> None:
    env, export = layer
    queue = export.one("aws:sqs/queue:Queue", "doc-processor")
    dlq = export.one("aws:sqs/queue:Queue", "doc-processor-dlq")
    function = exports[(env, "compute")].one("aws:lambda/function:Function")
    timeout = function["inputs"]["timeout"]
    assert queue["inputs"]["visibilityTimeoutSeconds"] >= 6 * timeout, (
        f"{queue['urn']}: AWS asks for a visibility timeout of at least 6x the function timeout ({timeout} s); "
        "the original's 360 s for a 300 s timeout was wrong"
    )
    assert queue["inputs"]["visibilityTimeoutSeconds"] == 1800
    assert queue["inputs"]["messageRetentionSeconds"] == 1_209_600, queue["urn"]
    assert dlq["inputs"]["messageRetentionSeconds"] == 1_209_600, f"{dlq['urn']}: the DLQ keeps messages 14 days"
    redrive = json.loads(queue["inputs"]["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq["outputs"]["arn"], "maxReceiveCount": 3}, queue["urn"]
    for q in (queue, dlq):
        assert q["inputs"]["sqsManagedSseEnabled"] is True, q["urn"]
    allow = export.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow["inputs"]["queueUrl"] == dlq["id"], allow["urn"]
    assert json.loads(allow["inputs"]["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [queue["outputs"]["arn"]],
    }


@pytest.mark.parametrize(("timeout", "visibility"), [(300, 1800), (30, 180), (900, 5400), (1, 6)])
def test_visibility_timeout_is_six_times_the_function_timeout(timeout: int, visibility: int) -> None:
    assert sqs_visibility_timeout(timeout) == visibility


def test_container_repositories(layer: tuple[str, Export]) -> None:
    env, export = layer
    repositories = {r["inputs"]["name"]: r for r in export.of_type("aws:ecr/repository:Repository")}
    assert set(repositories) == {f"student-helper-{env}-backend", f"student-helper-{env}-processor"}
    for repository in repositories.values():
        inputs = repository["inputs"]
        assert inputs["imageTagMutability"] == "IMMUTABLE", repository["urn"]
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repository["urn"]
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}], repository["urn"]
    keep = {"dev": 10, "staging": 10, "prod": 30}[env]
    for lifecycle in export.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        (rule,) = json.loads(lifecycle["inputs"]["policy"])["rules"]
        assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}
        assert rule["action"] == {"type": "expire"}
    assert export.outputs["lambda_ecr_repository"].endswith(f"/student-helper-{env}-processor")


STATEFUL = {
    ("aws:rds/instance:Instance", "postgres"),
    (BUCKET, "documents"),
    ("aws:s3/vectorsVectorBucket:VectorsVectorBucket", "vectors"),
    ("aws:s3/vectorsIndex:VectorsIndex", "vectors-index"),
    ("aws:sqs/queue:Queue", "doc-processor-dlq"),
}


@pytest.mark.parametrize(("type_token", "suffix"), sorted(STATEFUL))
def test_stateful_resources_are_protected_in_prod_only(
    exports: dict[tuple[str, str], Export], type_token: str, suffix: str
) -> None:
    for env in ENVS:
        resource = exports[(env, "data")].one(type_token, f"student-helper-{env}-{suffix}")
        assert resource.get("protect", False) is (env == "prod"), f"{resource['urn']}: protect in {env}"


RETAINED = {
    (BUCKET, "documents"),
    (BUCKET, "frontend"),
    (BUCKET, "access-logs"),
    ("aws:s3/vectorsVectorBucket:VectorsVectorBucket", "vectors"),
    ("aws:s3/vectorsIndex:VectorsIndex", "vectors-index"),
    # The image history a rollback or a rebuilt environment deploys.
    ("aws:ecr/repository:Repository", "backend"),
    ("aws:ecr/repository:Repository", "processor"),
}


def test_prod_retains_the_data_no_snapshot_covers(
    exports: dict[tuple[str, str], Export], offline_exports: dict[tuple[str, str], Path]
) -> None:
    # retainOnDelete has no field in Pulumi's export schema; the runner writes it to options/<layer>.json.
    for env in ENVS:
        options_path = offline_exports[(env, "data")].parent / "options" / "data.json"
        options = json.loads(options_path.read_text())
        retained = {urn for urn, opts in options.items() if opts.get("retainOnDelete")}
        expected = {
            exports[(env, "data")].one(type_token, f"student-helper-{env}-{suffix}")["urn"]
            for type_token, suffix in RETAINED
        }
        assert retained == (expected if env == "prod" else set()), env


def test_retain_on_delete_only_for_data_no_snapshot_covers() -> None:
    # retainOnDelete is not part of Pulumi's export schema, so it is checked on the options themselves.
    prod, dev = _env("prod"), _env("dev")
    assert stateful(prod.protect_stateful, retain=True, parent=None).retain_on_delete is True
    assert stateful(prod.protect_stateful, retain=True, parent=None).protect is True
    assert stateful(prod.protect_stateful, retain=False, parent=None).retain_on_delete is False
    assert stateful(dev.protect_stateful, retain=True, parent=None).protect is False
    assert stateful(dev.protect_stateful, retain=True, parent=None).retain_on_delete is False


def _env(stack: str) -> Any:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-data:owner": "data",
        "student-helper-data:environment": stack,
    }
    reader = ConfigReader(stack, "student-helper-data", raw, {})
    return read_environment(reader)


@pytest.mark.parametrize(
    ("model", "dimension", "message"),
    [
        (
            "amazon.titan-embed-text-v2:0",
            "1536",
            "embedding_dimension = 1536 is invalid: allowed for "
            "amazon.titan-embed-text-v2:0: 256, 512, 1024 (1536 is what amazon.titan-embed-text-v1 produces)",
        ),
        ("amazon.titan-embed-text-v1", "1024", "allowed for amazon.titan-embed-text-v1: 1536"),
        ("openai.ada-002", "1536", "embedding_model_id = 'openai.ada-002' is invalid: allowed one of"),
    ],
)
def test_embedding_model_and_dimension_must_agree(model: str, dimension: str, message: str) -> None:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-data:owner": "data",
        "student-helper-data:embedding_model_id": model,
        "student-helper-data:embedding_dimension": dimension,
    }
    reader = ConfigReader("dev", "student-helper-data", raw, {})
    env = read_environment(reader)
    read_data_settings(reader, env)
    with pytest.raises(ConfigError) as caught:
        reader.finish()
    assert message in str(caught.value)


@pytest.mark.parametrize("dimension", [256, 512, 1024])
def test_titan_v2_dimensions_are_accepted(dimension: int) -> None:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-data:owner": "d",
        "student-helper-data:embedding_dimension": str(dimension),
    }
    reader = ConfigReader("dev", "student-helper-data", raw, {})
    settings = read_data_settings(reader, read_environment(reader))
    reader.finish()
    assert settings.embedding_dimension == dimension


def test_inconsistent_embedding_fails_the_real_program(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, export = run_variant(tmp_path, offline_exports, "data", "dev", set_config={"embedding_dimension": 1536})
    assert done.returncode == 1
    assert "stack 'dev': invalid configuration" in done.stderr
    assert (
        "student-helper-data:embedding_dimension = 1536 is invalid: allowed for amazon.titan-embed-text-v2:0: "
        "256, 512, 1024 (1536 is what amazon.titan-embed-text-v1 produces)"
    ) in done.stderr
    assert not export.exists(), "nothing is registered when config is invalid"


def test_prod_secret_recovery_window_is_required() -> None:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-data:owner": "d",
        "student-helper-data:secret_recovery_window_days": "0",
    }
    reader = ConfigReader("prod", "student-helper-data", {**raw, "student-helper-data:environment": "prod"}, {})
    read_data_settings(reader, read_environment(reader))
    expected = "secret_recovery_window_days = 0 is invalid: allowed in prod (a production environment): 7 to 30"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        reader.finish()


@pytest.mark.parametrize("env", ENVS)
def test_only_unprotected_stores_are_emptied_by_a_destroy(env: str, exports: dict[tuple[str, str], Export]) -> None:
    # Outside prod a confirmed destroy must not stop half way at the first bucket holding objects; in prod the
    # stores are protected and retained, so their contents are never part of a destroy.
    disposable = env != "prod"
    data = exports[(env, "data")]
    stores = [
        *((r, "forceDestroy") for r in data.of_type(BUCKET)),
        *((r, "forceDestroy") for r in data.of_type("aws:s3/vectorsVectorBucket:VectorsVectorBucket")),
        *((r, "forceDelete") for r in data.of_type("aws:ecr/repository:Repository")),
    ]
    assert len(stores) == 6, [r["urn"] for r, _ in stores]
    for resource, flag in stores:
        assert resource["inputs"].get(flag, False) is disposable, f"{resource['urn']}: {flag}"


# RDS: 1-255 letters, digits or hyphens, starting with a letter, no two hyphens in a row, not ending with one
# (RDS API reference, DeleteDBInstance FinalDBSnapshotIdentifier).
RDS_SNAPSHOT_ID = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (datetime(2026, 11, 30, 9, 5, 7, tzinfo=UTC), "student-helper-staging-postgres-final-20261130090507"),
        # Named in UTC whatever the clock's zone: two machines never name one incarnation differently.
        (datetime.fromisoformat("2026-11-30T20:05:07+11:00"), "student-helper-staging-postgres-final-20261130090507"),
        (datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), "student-helper-staging-postgres-final-20270102030405"),
    ],
)
def test_each_database_incarnation_names_its_own_final_snapshot(created_at: datetime, expected: str) -> None:
    name = final_snapshot_identifier("student-helper-staging-postgres", created_at)
    assert name == expected
    assert RDS_SNAPSHOT_ID.match(name), name


def test_a_final_snapshot_name_is_set_once_and_the_index_is_replaced_safely(
    offline_exports: dict[tuple[str, str], Path], exports: dict[tuple[str, str], Export]
) -> None:
    # Resource options have no field in Pulumi's export schema; the runner writes them to options/<layer>.json.
    for env in ENVS:
        options = json.loads((offline_exports[(env, "data")].parent / "options" / "data.json").read_text())
        db = exports[(env, "data")].one("aws:rds/instance:Instance")["urn"]
        index = exports[(env, "data")].one("aws:s3/vectorsIndex:VectorsIndex")["urn"]
        # A later run's time must not rename the final snapshot of a database that already exists.
        assert options.get(db, {}).get("ignoreChanges") == ["finalSnapshotIdentifier"], db
        # Outside prod the old index goes first, so even a replacement that keeps the name deploys; in prod the
        # index is protected and retained instead (docs/deploying.md, "Prod").
        assert options.get(index, {}).get("deleteBeforeReplace", False) is (env != "prod"), index


@pytest.mark.parametrize(
    ("prefix", "model", "dimension", "expected"),
    [
        ("documents", "amazon.titan-embed-text-v2:0", 1024, "documents-amazon-titan-embed-text-v2-0-1024"),
        ("documents", "amazon.titan-embed-text-v2:0", 512, "documents-amazon-titan-embed-text-v2-0-512"),
        ("documents", "amazon.titan-embed-text-v1", 1536, "documents-amazon-titan-embed-text-v1-1536"),
        ("chunks", "cohere.embed-multilingual-v3", 1024, "chunks-cohere-embed-multilingual-v3-1024"),
    ],
)
def test_the_index_name_follows_the_model_and_dimension(prefix: str, model: str, dimension: int, expected: str) -> None:
    assert vectors_index_name(prefix, model, dimension) == expected


def _data_settings(stack: str, **config: str) -> tuple[ConfigReader, Any]:
    raw = {
        "aws:region": "ap-southeast-2",
        "student-helper-data:owner": "d",
        "student-helper-data:environment": stack,
        **{f"student-helper-data:{key}": value for key, value in config.items()},
    }
    reader = ConfigReader(stack, "student-helper-data", raw, {})
    return reader, read_data_settings(reader, read_environment(reader))


def test_a_prefix_that_would_make_the_index_name_too_long_is_refused() -> None:
    reader, _ = _data_settings("dev", vectors_index_prefix="a" * 30)
    with pytest.raises(ConfigError) as caught:
        reader.finish()
    assert (
        f"student-helper-data:vectors_index_prefix = '{'a' * 30}' is invalid: allowed a prefix short enough that the "
        f"index name '{'a' * 30}-amazon-titan-embed-text-v2-0-1024' (64 characters, the prefix plus the model and "
        "dimension) stays within S3 Vectors' 63"
    ) in str(caught.value)


@pytest.mark.parametrize(
    ("stack", "window", "problem"),
    [
        ("dev", "0", None),
        ("staging", "7", None),
        ("staging", "3", "secret_recovery_window_days = 3 is invalid: allowed 0 (delete at once) or 7 to 30 days"),
        ("prod", "30", None),
        (
            "prod",
            "0",
            "secret_recovery_window_days = 0 is invalid: allowed in prod (a production environment): 7 to 30 days",
        ),
    ],
)
def test_secret_recovery_windows(stack: str, window: str, problem: str | None) -> None:
    reader, settings = _data_settings(stack, secret_recovery_window_days=window)
    assert settings.secret_recovery_window_days == int(window)
    if problem is None:
        assert reader.problems == []
    else:
        (found,) = reader.problems
        assert problem in found


def test_another_embedding_model_deploys_a_new_index_beside_the_old(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    done, path = run_variant(
        tmp_path, offline_exports, "data", "staging", set_config={"embedding_model_id": "cohere.embed-english-v3"}
    )
    assert done.returncode == 0, done.stderr
    index = Export(path).one("aws:s3/vectorsIndex:VectorsIndex")
    assert index["inputs"]["indexName"] == "documents-cohere-embed-english-v3-1024", index["urn"]
    assert Export(path).outputs["embedding_model_id"] == "cohere.embed-english-v3"


def test_a_second_run_of_the_data_layer_writes_the_same_export(
    tmp_path: Path, offline_exports: dict[tuple[str, str], Path]
) -> None:
    # The layer cache and reviewers' diffs rely on it; the final-snapshot name is the one input made from the clock.
    done, export = run_variant(tmp_path, offline_exports, "data", "staging")
    assert done.returncode == 0, done.stderr
    # As the cache compares them: registration order and the manifest's time are not content.
    assert canonical_export(offline_exports[("staging", "data")]) == canonical_export(export)


@pytest.mark.parametrize(
    ("fixed", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-11-30T20:05:07+11:00", datetime(2026, 11, 30, 9, 5, 7, tzinfo=UTC)),
    ],
)
def test_the_clock_is_fixed_only_when_the_offline_runner_says_so(
    monkeypatch: pytest.MonkeyPatch, fixed: str, expected: datetime
) -> None:
    monkeypatch.setenv(clock.FIXED_TIME_VARIABLE, fixed)
    assert clock.now() == expected
    monkeypatch.delenv(clock.FIXED_TIME_VARIABLE)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
