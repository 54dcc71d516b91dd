"""encryption-at-rest, s3-tls-only, s3-public-access-block, log-retention, prod-data-protection, required-tags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policytest_helpers import UNKNOWN, Res, messages, run

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
AES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def tls_only(bucket_name: str, resources: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    """A bucket policy document whose one statement denies plain HTTP on ``bucket_name`` and its objects."""
    statement = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources or [f"arn:aws:s3:::{bucket_name}", f"arn:aws:s3:::{bucket_name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        **changes,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


FLAGS = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}


def bucket(name: str, bucket_name: str | None = None) -> Res:
    """A v7 bucket whose name exists only in outputs, as in a real export."""
    actual = bucket_name or f"{name}-123"
    return Res(
        BUCKET, name, {"forceDestroy": False}, outputs={"id": actual, "bucket": actual, "arn": f"arn:aws:s3:::{actual}"}
    )


def linked(type_: str, name: str, target: Res, props: dict[str, Any], by: str = "dependency") -> Res:
    """A bucket sub-resource pointing at ``target`` by property dependency (preview) or by value (literal name)."""
    value = "04da6b54-80e4-46f7-96ec-b56ff0331ba9" if by == "dependency" else target.outputs["bucket"]  # type: ignore[index]
    extra = (
        {"propertyDependencies": {"bucket": [target.urn]}, "dependencies": [target.urn]} if by == "dependency" else {}
    )
    return Res(type_, name, {"bucket": value, **props}, outputs={"bucket": value, **props}, extra=extra)


ENCRYPTED_ROOT = {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"encrypted": True}]}
ENCRYPTED_MAPPINGS = {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]}


def uses(template: Res) -> dict[str, Any]:
    """The export fields that make an instance's launchTemplate depend on ``template``."""
    return {"propertyDependencies": {"launchTemplate": [template.urn]}}


def compliant_data() -> list[Res]:
    """Every data store the policy covers, encrypted in each spelling the providers accept."""
    docs, front, legacy = (
        bucket("documents"),
        bucket("frontend"),
        Res("aws:s3/bucketV2:BucketV2", "legacy", outputs={"id": "legacy-1", "bucket": "legacy-1"}),
    )
    return [
        docs,
        front,
        legacy,
        linked(SSE, "documents-sse", docs, {"rules": AES}),
        linked(
            SSE,
            "frontend-sse",
            front,
            {
                "rules": [
                    {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "alias/x"}}
                ]
            },
            by="value",
        ),
        Res(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "legacy-sse",
            {"bucket": "legacy-1", "rules": AES},
        ),
        Res("aws:rds/instance:Instance", "ok-db", {"storageEncrypted": True}),
        Res("aws:rds/cluster:Cluster", "cluster", {"storageEncrypted": True}),
        Res("aws-native:rds:DbInstance", "aurora-member", {"dbClusterIdentifier": "c1"}),
        Res(
            "aws:ec2/instance:Instance",
            "host",
            {
                "rootBlockDevice": {"encrypted": True},
                "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
            },
        ),
        Res("aws:ebs/volume:Volume", "vol", {"encrypted": True}),
        # An instance that names a template but declares its own encrypted root device: the template does not decide.
        Res("aws:ec2/instance:Instance", "own-root", {"launchTemplate": {"name": "web-lt"}, **ENCRYPTED_ROOT}),
        Res("aws:ec2/launchTemplate:LaunchTemplate", "named-lt", {"name": "web-lt", **ENCRYPTED_MAPPINGS}),
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "ok-lt",
            {
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}},  # pulumi-aws spells it as a string
                    {"deviceName": "/dev/sdb", "virtualName": "ephemeral0"},
                ]
            },
        ),
        Res(
            "aws-native:ec2:LaunchTemplate",
            "nlt",
            {"launchTemplateData": {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]}},
        ),
        Res("aws:sqs/queue:Queue", "queue", {"sqsManagedSseEnabled": True}),
        Res("aws:sqs/queue:Queue", "queue-default", {}),
        Res("aws:sqs/queue:Queue", "queue-kms", {"sqsManagedSseEnabled": False, "kmsMasterKeyId": "alias/aws/sqs"}),
        Res("aws:ecr/repository:Repository", "ecr", {"encryptionConfigurations": [{"encryptionType": "AES256"}]}),
        Res("aws:ecr/repository:Repository", "ecr-default", {}),
        Res("aws:s3/vectorsVectorBucket:VectorsVectorBucket", "vectors", {}),
        Res("aws-native:s3vectors:VectorBucket", "nvectors", {"encryptionConfiguration": {"sseType": "AES256"}}),
        Res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30}),
        Res("aws:secretsmanager/secret:Secret", "secret", {}),
        *compliant_neighbours(),
    ]


def compliant_neighbours() -> list[Res]:
    """The other stores encryption-at-rest judges, encrypted, in both providers."""
    return [
        Res("aws:efs/fileSystem:FileSystem", "efs", {"encrypted": True}),
        Res("aws-native:efs:FileSystem", "native-efs", {"encrypted": True, "kmsKeyId": "k"}),
        Res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", {"atRestEncryptionEnabled": True}),
        Res("aws:elasticache/replicationGroup:ReplicationGroup", "valkey", {"engine": "valkey"}),  # Valkey default
        Res(
            "aws-native:elasticache:ReplicationGroup",
            "native-redis",
            {"engine": "redis", "atRestEncryptionEnabled": True, "clusterMode": "enabled", "numNodeGroups": 3},
        ),
        Res("aws:elasticache/cluster:Cluster", "member", {"replicationGroupId": "redis"}),
        Res("aws:elasticache/cluster:Cluster", "memcached", {"engine": "memcached"}),
        Res("aws-native:elasticache:CacheCluster", "native-memcached", {"engine": "memcached"}),
        Res("aws:kinesis/stream:Stream", "stream", {"encryptionType": "KMS", "kmsKeyId": "alias/aws/kinesis"}),
        Res(
            "aws-native:kinesis:Stream", "native-stream", {"streamEncryption": {"encryptionType": "KMS", "keyId": "k"}}
        ),
        Res("aws:opensearch/domain:Domain", "ok-search", {"encryptAtRest": {"enabled": True}}),
        Res("aws-native:opensearchservice:Domain", "native-search", {"encryptionAtRestOptions": {"enabled": True}}),
        Res("aws:neptune/cluster:Cluster", "graph", {"storageEncrypted": True}),
        Res("aws-native:neptune:DbCluster", "native-graph", {"storageEncrypted": True}),
        Res("aws:docdb/cluster:Cluster", "docs", {"storageEncrypted": True}),
        Res("aws:redshift/cluster:Cluster", "warehouse", {"encrypted": "true"}),  # pulumi-aws 7 takes a string
        Res("aws-native:redshift:Cluster", "native-warehouse", {"encrypted": True}),
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "ok-lc", ENCRYPTED_ROOT),
        Res(
            "aws-native:autoscaling:LaunchConfiguration",
            "native-lc",
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]},
        ),
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "ok-spot", ENCRYPTED_ROOT),
        Res(
            "aws:ec2/spotFleetRequest:SpotFleetRequest",
            "ok-fleet",
            {"launchSpecifications": [{"ami": "ami-1", "rootBlockDevices": [{"encrypted": True}]}]},
        ),
        Res(
            "aws-native:ec2:SpotFleet",
            "native-fleet",
            {
                "spotFleetRequestConfigData": {
                    "launchSpecifications": [
                        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]}
                    ]
                }
            },
        ),
        Res(
            "aws-native:ec2:SpotFleet", "template-fleet", {"spotFleetRequestConfigData": {"launchTemplateConfigs": []}}
        ),
    ]


def test_compliant_data_is_encrypted() -> None:
    assert messages(compliant_data(), "encryption-at-rest") == []


ENCRYPTION_CASES = [
    (
        "rds unencrypted",
        [Res("aws:rds/instance:Instance", "x", {"storageEncrypted": False})],
        ["[database-storage] storageEncrypted=false: the data is stored unencrypted; it must be true."],
    ),
    (
        "rds unset",
        [Res("aws:rds/instance:Instance", "x", {}, outputs={})],
        ["[database-storage] storageEncrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "cluster unset",
        [Res("aws:rds/cluster:Cluster", "x", {})],
        ["[database-storage] storageEncrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "native db",
        [Res("aws-native:rds:DbInstance", "x", {"storageEncrypted": False})],
        ["[database-storage] storageEncrypted=false: the data is stored unencrypted; it must be true."],
    ),
    (
        "native cluster",
        [Res("aws-native:rds:DbCluster", "x", {})],
        ["[database-storage] storageEncrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "root device unset",
        [Res("aws:ec2/instance:Instance", "x", {})],
        [
            "[ebs] rootBlockDevice is not set, so the root volume follows the AMI snapshot's encryption; set "
            "encrypted=true."
        ],
    ),
    (
        "root device plain",
        [Res("aws:ec2/instance:Instance", "x", {"rootBlockDevice": {"volumeSize": 8}})],
        ["[ebs] rootBlockDevice.encrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "extra device",
        [
            Res(
                "aws:ec2/instance:Instance",
                "x",
                {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"encrypted": False}]},
            )
        ],
        ["[ebs] ebsBlockDevices.0.encrypted=false: the data is stored unencrypted; it must be true."],
    ),
    (
        "volume",
        [Res("aws:ebs/volume:Volume", "x", {"size": 10})],
        ["[ebs] encrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "native volume",
        [Res("aws-native:ec2:Volume", "x", {"encrypted": False})],
        ["[ebs] encrypted=false: the data is stored unencrypted; it must be true."],
    ),
    (
        "template string false",
        [Res("aws:ec2/launchTemplate:LaunchTemplate", "x", {"blockDeviceMappings": [{"ebs": {"encrypted": "false"}}]})],
        ['[ebs] blockDeviceMappings.0.ebs.encrypted="false": the data is stored unencrypted; it must be true.'],
    ),
    (
        "template no mappings",
        [Res("aws:ec2/launchTemplate:LaunchTemplate", "x", {"imageId": "ami-1"})],
        [
            "[ebs] blockDeviceMappings is not set, so the root volume follows the AMI snapshot's encryption; declare "
            "it "
            "encrypted."
        ],
    ),
    (
        "native instance mapping",
        [Res("aws-native:ec2:Instance", "x", {"blockDeviceMappings": [{"ebs": {}}]})],
        ["[ebs] blockDeviceMappings.0.ebs.encrypted=null: the data is stored unencrypted; it must be true."],
    ),
    (
        "sqs off",
        [Res("aws:sqs/queue:Queue", "x", {"sqsManagedSseEnabled": False})],
        ["[queue] sqsManagedSseEnabled=false and no kmsMasterKeyId: messages are stored unencrypted."],
    ),
    (
        "native sqs off",
        [Res("aws-native:sqs:Queue", "x", {"sqsManagedSseEnabled": False})],
        ["[queue] sqsManagedSseEnabled=false and no kmsMasterKeyId: messages are stored unencrypted."],
    ),
    (
        "ecr bad type",
        [Res("aws:ecr/repository:Repository", "x", {"encryptionConfigurations": [{"encryptionType": "NONE"}]})],
        [
            "[encryption-type] encryptionConfigurations[0].encryptionType=\"NONE\" is not one of ['AES256', 'KMS', "
            "'KMS_DSSE']."
        ],
    ),
    (
        "vectors kms without key",
        [
            Res(
                "aws:s3/vectorsVectorBucket:VectorsVectorBucket",
                "x",
                {"encryptionConfigurations": [{"sseType": "aws:kms"}]},
            )
        ],
        ['[encryption-type] encryptionConfigurations[0].sseType="aws:kms" without kmsKeyArn: name the KMS key.'],
    ),
    (
        "native vectors bad type",
        [Res("aws-native:s3vectors:Index", "x", {"encryptionConfiguration": {"sseType": "NONE", "kmsKeyArn": "k"}})],
        ["[encryption-type] encryptionConfiguration[0].sseType=\"NONE\" is not one of ['AES256', 'aws:kms']."],
    ),
]


UNENCRYPTED = "the data is stored unencrypted; it must be true."
ENCRYPTION_CASES += [
    *[
        (
            f"efs {kind}",
            [Res(kind, "x", props)],
            [f"[file-system] encrypted={value}: {UNENCRYPTED}"],
        )
        for kind, props, value in [
            ("aws:efs/fileSystem:FileSystem", {}, "null"),
            ("aws-native:efs:FileSystem", {"encrypted": False}, "false"),
        ]
    ],
    (
        "replication group, redis by default",
        [Res("aws:elasticache/replicationGroup:ReplicationGroup", "x", {"description": "cache"})],
        [
            "[cache] atRestEncryptionEnabled=null (engine redis): backups and the disk used during sync and swap are "
            "unencrypted; set it to true (it cannot be changed after creation)."
        ],
    ),
    (
        "replication group, cluster mode, off",
        [
            Res(
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "x",
                {"engine": "redis", "clusterMode": "enabled", "numNodeGroups": 2, "atRestEncryptionEnabled": False},
            )
        ],
        [
            "[cache] atRestEncryptionEnabled=false (engine redis): backups and the disk used during sync and swap are "
            "unencrypted; set it to true (it cannot be changed after creation)."
        ],
    ),
    (
        "valkey turned off",
        [
            Res(
                "aws-native:elasticache:ReplicationGroup",
                "x",
                {"engine": "valkey", "atRestEncryptionEnabled": False},
            )
        ],
        [
            "[cache] atRestEncryptionEnabled=false (engine valkey): backups and the disk used during sync and swap "
            "are unencrypted; set it to true (it cannot be changed after creation)."
        ],
    ),
    (
        "native replication group unset",
        [Res("aws-native:elasticache:ReplicationGroup", "x", {"engine": "redis"})],
        [
            "[cache] atRestEncryptionEnabled=null (engine redis): backups and the disk used during sync and swap are "
            "unencrypted; set it to true (it cannot be changed after creation)."
        ],
    ),
    (
        "standalone redis cluster",
        [Res("aws:elasticache/cluster:Cluster", "x", {"engine": "redis", "numCacheNodes": 1})],
        [
            '[cache] engine "redis" without a replication group cannot encrypt at rest: create a replication group '
            "with atRestEncryptionEnabled=true instead of a standalone cluster."
        ],
    ),
    (
        "native standalone valkey cluster",
        [Res("aws-native:elasticache:CacheCluster", "x", {"engine": "valkey"})],
        [
            '[cache] engine "valkey" without a replication group cannot encrypt at rest: create a replication group '
            "with atRestEncryptionEnabled=true instead of a standalone cluster."
        ],
    ),
    (
        "kinesis default",
        [Res("aws:kinesis/stream:Stream", "x", {"shardCount": 1})],
        ['[stream] encryptionType=null: records are stored unencrypted; set it to "KMS".'],
    ),
    (
        "kinesis none",
        [Res("aws:kinesis/stream:Stream", "x", {"encryptionType": "NONE"})],
        ['[stream] encryptionType="NONE": records are stored unencrypted; set it to "KMS".'],
    ),
    (
        "native kinesis",
        [Res("aws-native:kinesis:Stream", "x", {})],
        ['[stream] streamEncryption.encryptionType=null: records are stored unencrypted; set it to "KMS".'],
    ),
    (
        "opensearch unset",
        [Res("aws:opensearch/domain:Domain", "x", {"engineVersion": "OpenSearch_2.13"})],
        [f"[search-domain] encryptAtRest.enabled=null: {UNENCRYPTED}"],
    ),
    (
        "elasticsearch off",
        [Res("aws:elasticsearch/domain:Domain", "x", {"encryptAtRest": {"enabled": False}})],
        [f"[search-domain] encryptAtRest.enabled=false: {UNENCRYPTED}"],
    ),
    (
        "native opensearch",
        [Res("aws-native:opensearchservice:Domain", "x", {"encryptionAtRestOptions": {}})],
        [f"[search-domain] encryptionAtRestOptions.enabled=null: {UNENCRYPTED}"],
    ),
    *[
        (f"database {kind}", [Res(kind, "x", props)], [f"[database-storage] {message}: {UNENCRYPTED}"])
        for kind, props, message in [
            ("aws:neptune/cluster:Cluster", {}, "storageEncrypted=null"),
            ("aws-native:neptune:DbCluster", {"storageEncrypted": False}, "storageEncrypted=false"),
            ("aws:docdb/cluster:Cluster", {"engine": "docdb"}, "storageEncrypted=null"),
            ("aws:redshift/cluster:Cluster", {"encrypted": "false"}, 'encrypted="false"'),
            ("aws-native:redshift:Cluster", {}, "encrypted=null"),
        ]
    ],
    (
        "launch configuration without root device",
        [Res("aws:ec2/launchConfiguration:LaunchConfiguration", "x", {"imageId": "ami-1"})],
        [
            "[ebs] rootBlockDevice is not set, so the root volume follows the AMI snapshot's encryption; set "
            "encrypted=true."
        ],
    ),
    (
        "launch configuration plain root",
        [Res("aws:ec2/launchConfiguration:LaunchConfiguration", "x", {"rootBlockDevice": {"volumeSize": 20}})],
        [f"[ebs] rootBlockDevice.encrypted=null: {UNENCRYPTED}"],
    ),
    (
        "launch configuration plain extra device",
        [
            Res(
                "aws:ec2/launchConfiguration:LaunchConfiguration",
                "x",
                {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"deviceName": "/dev/sdf"}]},
            )
        ],
        [f"[ebs] ebsBlockDevices.0.encrypted=null: {UNENCRYPTED}"],
    ),
    (
        "native launch configuration",
        [
            Res(
                "aws-native:autoscaling:LaunchConfiguration",
                "x",
                {"blockDeviceMappings": [{"ebs": {"encrypted": False}}]},
            )
        ],
        [f"[ebs] blockDeviceMappings.0.ebs.encrypted=false: {UNENCRYPTED}"],
    ),
    (
        "spot request plain root",
        [Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "x", {"rootBlockDevice": {"encrypted": False}})],
        [f"[ebs] rootBlockDevice.encrypted=false: {UNENCRYPTED}"],
    ),
    (
        "spot fleet without root devices",
        [Res("aws:ec2/spotFleetRequest:SpotFleetRequest", "x", {"launchSpecifications": [{"ami": "ami-1"}]})],
        [
            "[ebs] launchSpecifications[0].rootBlockDevices is not set, so the root volume follows the AMI snapshot's "
            "encryption; declare it encrypted."
        ],
    ),
    (
        "spot fleet plain extra device",
        [
            Res(
                "aws:ec2/spotFleetRequest:SpotFleetRequest",
                "x",
                {"launchSpecifications": [{"rootBlockDevices": [{"encrypted": True}], "ebsBlockDevices": [{}]}]},
            )
        ],
        [f"[ebs] launchSpecifications[0].ebsBlockDevices[0].encrypted=null: {UNENCRYPTED}"],
    ),
    (
        "native spot fleet",
        [
            Res(
                "aws-native:ec2:SpotFleet",
                "x",
                {"spotFleetRequestConfigData": {"launchSpecifications": [{"imageId": "ami-1"}]}},
            )
        ],
        [
            "[ebs] spotFleetRequestConfigData.launchSpecifications.0.blockDeviceMappings is not set, so the root "
            "volume follows the AMI snapshot's encryption; declare it encrypted."
        ],
    ),
]


@pytest.mark.parametrize(
    ("resources", "expected"), [c[1:] for c in ENCRYPTION_CASES], ids=[c[0] for c in ENCRYPTION_CASES]
)
def test_encryption_violations(resources: list[Res], expected: list[str]) -> None:
    assert messages([*compliant_data(), *resources], "encryption-at-rest") == expected


NOTE = "can't run policy 'encryption-at-rest' from policy pack 'student-helper@v0.1.0' during preview: "
TEMPLATE_NOTE_CASES = [
    (
        "aws instance, template by id",
        Res("aws:ec2/instance:Instance", "web", {"launchTemplate": {"id": "lt-0abc", "version": "$Latest"}}),
        '"lt-0abc"',
    ),
    (
        "aws instance, template id unknown in a preview",
        Res(
            "aws:ec2/instance:Instance",
            "web",
            {"launchTemplate": {"id": UNKNOWN}},
            extra=uses(Res("aws:ec2/launchTemplate:LaunchTemplate", "ok-lt")),
        ),
        "(its id is known only at apply time)",
    ),
    (
        "spot request, template by name",
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "web", {"launchTemplate": {"name": "spot-lt"}}),
        '"spot-lt"',
    ),
]


@pytest.mark.parametrize(
    ("instance", "label"), [c[1:] for c in TEMPLATE_NOTE_CASES], ids=[c[0] for c in TEMPLATE_NOTE_CASES]
)
def test_instance_whose_root_device_comes_from_a_template_gets_an_advisory_note(instance: Res, label: str) -> None:
    # A resource policy sees one resource: the template is judged as its own resource, the instance gets a note.
    found = run([*compliant_data(), instance], "encryption-at-rest")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [
        (
            "advisory",
            instance.urn,
            f"{NOTE}[ebs] rootBlockDevice is not set, so 'web' takes its root volume from launch template {label}; "
            "encryption-at-rest checks that template's block device mappings where it is defined.",
        )
    ]


def test_native_instance_from_a_template_gets_an_advisory_note() -> None:
    instance = Res("aws-native:ec2:Instance", "web", {"launchTemplate": {"launchTemplateName": "nlt", "version": "3"}})
    found = run([*compliant_data(), instance], "encryption-at-rest")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [
        (
            "advisory",
            instance.urn,
            f"{NOTE}[ebs] blockDeviceMappings is not set, so 'web' takes its root volume from launch template "
            '"nlt"; encryption-at-rest checks that template\'s block device mappings where it is defined.',
        )
    ]


def test_an_instance_from_a_template_still_has_its_own_devices_judged() -> None:
    instance = Res("aws:ec2/instance:Instance", "web", {"launchTemplate": {"name": "web-lt"}, "ebsBlockDevices": [{}]})
    found = run([*compliant_data(), instance], "encryption-at-rest")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [
        ("mandatory", instance.urn, f"[ebs] ebsBlockDevices.0.encrypted=null: {UNENCRYPTED}"),
        (
            "advisory",
            instance.urn,
            f"{NOTE}[ebs] rootBlockDevice is not set, so 'web' takes its root volume from launch template "
            '"web-lt"; encryption-at-rest checks that template\'s block device mappings where it is defined.',
        ),
    ]


BAD_TEMPLATE_CASES = [
    (
        "by name, encrypted false",
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "bad-lt",
            {"name": "bad", "blockDeviceMappings": [{"ebs": {"encrypted": "false"}}]},
        ),
        Res("aws:ec2/instance:Instance", "web", {"launchTemplate": {"name": "bad"}}),
        f'[ebs] blockDeviceMappings.0.ebs.encrypted="false": {UNENCRYPTED}',
    ),
    (
        "by dependency, no mappings",
        Res("aws:ec2/launchTemplate:LaunchTemplate", "bare-lt", {"imageId": "ami-1"}),
        Res(
            "aws:ec2/instance:Instance",
            "web",
            {"launchTemplate": {"id": UNKNOWN}},
            extra=uses(Res("aws:ec2/launchTemplate:LaunchTemplate", "bare-lt")),
        ),
        "[ebs] blockDeviceMappings is not set, so the root volume follows the AMI snapshot's encryption; declare it "
        "encrypted.",
    ),
    (
        "spot request, by name",
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "spot-lt",
            {"name": "spot-lt", "blockDeviceMappings": [{"ebs": {"encrypted": "false"}}]},
        ),
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "spot", {"launchTemplate": {"name": "spot-lt"}}),
        f'[ebs] blockDeviceMappings.0.ebs.encrypted="false": {UNENCRYPTED}',
    ),
    (
        "native instance, native template",
        Res(
            "aws-native:ec2:LaunchTemplate",
            "nbad",
            {"launchTemplateName": "nbad", "launchTemplateData": {"blockDeviceMappings": [{"ebs": {}}]}},
        ),
        Res("aws-native:ec2:Instance", "web", {"launchTemplate": {"launchTemplateName": "nbad"}}),
        f"[ebs] launchTemplateData.blockDeviceMappings.0.ebs.encrypted=null: {UNENCRYPTED}",
    ),
]


@pytest.mark.parametrize(
    ("template", "instance", "expected"), [c[1:] for c in BAD_TEMPLATE_CASES], ids=[c[0] for c in BAD_TEMPLATE_CASES]
)
def test_an_unencrypted_template_in_the_same_stack_is_a_mandatory_violation_on_the_template(
    template: Res, instance: Res, expected: str
) -> None:
    found = run([*compliant_data(), template, instance], "encryption-at-rest")
    assert [(v.enforcement_level, v.urn) for v in found] == [("mandatory", template.urn), ("advisory", instance.urn)]
    assert found[0].message == expected


# What a real `pulumi preview` hands the pack when the program leaves a computed setting out: no input, and an output
# the provider has not computed yet. Judged on outputs, each was only an advisory "can't be known during preview" note.
PREVIEW_SHAPED = [
    (
        Res("aws:ebs/volume:Volume", "vol", {"availabilityZone": "eu-west-1a", "size": 8}),
        "encrypted",
        f"[ebs] encrypted=null: {UNENCRYPTED}",
    ),
    (
        Res("aws:ec2/instance:Instance", "host", {"ami": "ami-1", "instanceType": "t3.micro"}),
        "rootBlockDevice",
        "[ebs] rootBlockDevice is not set, so the root volume follows the AMI snapshot's encryption; set "
        "encrypted=true.",
    ),
    (Res("aws:efs/fileSystem:FileSystem", "efs", {}), "encrypted", f"[file-system] encrypted=null: {UNENCRYPTED}"),
    (
        Res("aws:rds/cluster:Cluster", "aurora", {"engine": "aurora-postgresql"}),
        "storageEncrypted",
        f"[database-storage] storageEncrypted=null: {UNENCRYPTED}",
    ),
    (
        Res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", {"description": "c"}),
        "atRestEncryptionEnabled",
        "[cache] atRestEncryptionEnabled=null (engine redis): backups and the disk used during sync and swap are "
        "unencrypted; set it to true (it cannot be changed after creation).",
    ),
]


@pytest.mark.parametrize(
    ("resource", "computed", "expected"), PREVIEW_SHAPED, ids=[f"{c[0].type} {c[1]}" for c in PREVIEW_SHAPED]
)
def test_a_computed_setting_left_out_of_a_preview_is_a_mandatory_violation(
    resource: Res, computed: str, expected: str
) -> None:
    previewed = Res(
        resource.type, resource.name, resource.inputs, {**resource.inputs, computed: UNKNOWN, "arn": UNKNOWN}
    )
    found = run([previewed], "encryption-at-rest")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [("mandatory", previewed.urn, expected)]


def test_encryption_reports_the_offending_urn() -> None:
    plain_db = Res("aws:rds/instance:Instance", "plain", {"storageEncrypted": False})
    found = run([*compliant_data(), plain_db], "encryption-at-rest")
    assert [(v.urn, v.check, v.enforcement_level) for v in found] == [(plain_db.urn, "database-storage", "mandatory")]


def test_buckets_pass_without_an_encryption_configuration() -> None:
    # S3 encrypts every new object with SSE-S3 since 5 January 2023 and it cannot be turned off, so a bucket that
    # declares nothing (pulumi-aws or aws-native), or a configuration without a default algorithm, is encrypted.
    weak = bucket("weak")
    resources = [
        bucket("orphan"),
        weak,
        linked(SSE, "weak-sse", weak, {"rules": [{"bucketKeyEnabled": True}]}),
        Res("aws-native:s3:Bucket", "native", {}),
        Res("aws:dynamodb/table:Table", "table", {"serverSideEncryption": {"enabled": False}}),  # AWS-owned key
        Res("aws-native:dynamodb:Table", "native-table", {}),
        Res("aws:elasticache/serverlessCache:ServerlessCache", "serverless", {"engine": "valkey"}),
        Res("aws-native:elasticache:ServerlessCache", "native-serverless", {"engine": "redis"}),
    ]
    assert messages(resources, "encryption-at-rest") == []


def s3_hardened() -> list[Res]:
    """Buckets with TLS-only policies and full public access blocks, linked both ways."""
    docs, front = bucket("documents"), bucket("frontend")
    return [
        docs,
        front,
        linked(
            "aws:s3/bucketPolicy:BucketPolicy", "docs-policy", docs, {"policy": json.dumps(tls_only("documents-123"))}
        ),
        # The document as an object, not a string, and the deny split over two statements (every bucket's objects).
        linked(
            "aws:s3/bucketPolicy:BucketPolicy",
            "front-policy",
            front,
            {
                "policy": {
                    "Statement": [
                        *tls_only("frontend-123", ["arn:aws:s3:::frontend-123"])["Statement"],
                        *tls_only("frontend-123", ["arn:aws:s3:::*"])["Statement"],
                    ]
                }
            },
            by="value",
        ),
        linked("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "docs-pab", docs, FLAGS),
        linked("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "front-pab", front, FLAGS, by="value"),
    ]


@pytest.mark.parametrize("policy", ["s3-tls-only", "s3-public-access-block"])
def test_hardened_buckets_pass(policy: str) -> None:
    assert messages(s3_hardened(), policy) == []


def test_s3_tls_only_violations() -> None:
    plain_bucket = bucket("plain")
    allow_only = bucket("allow-only")
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::allow-only/*",
                }
            ]
        }
    )
    found = messages(
        [
            plain_bucket,
            allow_only,
            linked("aws:s3/bucketPolicy:BucketPolicy", "allow-policy", allow_only, {"policy": policy}),
        ],
        "s3-tls-only",
    )
    assert found == [
        "[deny-insecure-transport] bucket 'plain' has no bucket policy, so plain-HTTP requests are not denied.",
        "[deny-insecure-transport] bucket 'allow-only' policy (allow-policy) has no Deny of s3:* to everyone when "
        'aws:SecureTransport is false on both the bucket and its objects ("allow-only-123" and "allow-only-123/*"), '
        "so plain-HTTP requests are allowed.",
    ]


NO_TLS_DENY = (
    'no Deny of s3:* to everyone when aws:SecureTransport is false on both the bucket and its objects ("site-1" and '
    '"site-1/*"), so plain-HTTP requests are allowed.'
)
# Ways a document can fail to deny plain HTTP on a bucket and everything in it.
INCOMPLETE_DENIES = [
    ("objects only", tls_only("site-1", ["arn:aws:s3:::site-1/*"])),
    ("bucket only", tls_only("site-1", ["arn:aws:s3:::site-1"])),
    ("one prefix of objects", tls_only("site-1", ["arn:aws:s3:::site-1", "arn:aws:s3:::site-1/uploads/*"])),
    ("another bucket", tls_only("other-bucket")),
    ("allow instead of deny", tls_only("site-1", Effect="Allow")),
    ("one principal", tls_only("site-1", Principal={"AWS": "arn:aws:iam::123456789012:root"})),
    ("some actions", tls_only("site-1", Action="s3:GetObject")),
    ("no condition", tls_only("site-1", Condition={"Bool": {"aws:SecureTransport": "true"}})),
    ("no statement", {"Version": "2012-10-17", "Statement": []}),
]


@pytest.mark.parametrize("document", [c[1] for c in INCOMPLETE_DENIES], ids=[c[0] for c in INCOMPLETE_DENIES])
def test_a_bucket_policy_must_deny_plain_http_on_the_bucket_and_all_its_objects(document: dict[str, Any]) -> None:
    site = bucket("site", "site-1")
    policy = linked("aws:s3/bucketPolicy:BucketPolicy", "site-policy", site, {"policy": json.dumps(document)})
    found = run([site, policy], "s3-tls-only")
    assert [(v.urn, v.message) for v in found] == [
        (site.urn, f"[deny-insecure-transport] bucket 'site' policy (site-policy) has {NO_TLS_DENY}")
    ]


def elsewhere(document: Any, bucket_name: Any = "site-1") -> Res:
    """A bucket policy for a bucket another stack declares (its name read from a StackReference)."""
    return Res("aws:s3/bucketPolicy:BucketPolicy", "site-policy", {"bucket": bucket_name, "policy": document})


def test_a_bucket_policy_for_a_bucket_of_another_stack_passes_on_its_own_document() -> None:
    for document in (json.dumps(tls_only("site-1")), tls_only("site-1", ["arn:aws:s3:::site-1*"])):
        assert messages([elsewhere(document)], "s3-tls-only") == []


@pytest.mark.parametrize("document", [c[1] for c in INCOMPLETE_DENIES], ids=[c[0] for c in INCOMPLETE_DENIES])
def test_a_bucket_policy_for_a_bucket_of_another_stack_is_judged_on_its_document(document: dict[str, Any]) -> None:
    policy = elsewhere(json.dumps(document))
    found = run([policy], "s3-tls-only")
    assert [(v.urn, v.message) for v in found] == [
        (
            policy.urn,
            "[deny-insecure-transport] bucket policy 'site-policy' is for bucket \"site-1\", which is not in this "
            f"stack, and has {NO_TLS_DENY}",
        )
    ]


def test_a_bucket_policy_for_an_unknown_bucket_waits_for_apply_time() -> None:
    found = run([elsewhere(json.dumps(tls_only("site-1")), UNKNOWN)], "s3-tls-only")
    assert [(v.enforcement_level, v.message) for v in found] == [
        (
            "advisory",
            "can't run policy 's3-tls-only' from policy pack 'student-helper@v0.1.0' during preview: "
            "[deny-insecure-transport] site-policy: string value at .bucket can't be known during preview; it can be "
            "checked only at apply time",
        )
    ]


def test_s3_public_access_block_violations() -> None:
    open_bucket, half = bucket("open"), bucket("half")
    found = messages(
        [
            open_bucket,
            half,
            linked(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "half-pab",
                half,
                {"blockPublicAcls": True, "ignorePublicAcls": True},
            ),
        ],
        "s3-public-access-block",
    )
    assert found == [
        "[public-access-block] public access block 'half-pab' leaves blockPublicPolicy, restrictPublicBuckets unset "
        "or false: the bucket "
        "can be made public.",
        "[public-access-block] bucket 'open' has no BucketPublicAccessBlock whose bucket property names it.",
    ]


LOG_CASES = [
    ("unset", {}, "[retention] retentionInDays=null: the log group keeps its events forever (and bills for them)."),
    (
        "zero",
        {"retentionInDays": 0},
        "[retention] retentionInDays=0: the log group keeps its events forever (and bills for them).",
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), [c[1:] for c in LOG_CASES], ids=[c[0] for c in LOG_CASES])
def test_log_retention_violations(inputs: dict[str, Any], expected: str) -> None:
    resources = [
        Res("aws:cloudwatch/logGroup:LogGroup", "ok", {"retentionInDays": 14}),
        Res("aws:cloudwatch/logGroup:LogGroup", "x", inputs),
    ]
    assert messages(resources, "log-retention") == [expected]
    assert messages([Res("aws-native:logs:LogGroup", "n", inputs)], "log-retention") == [expected]


def test_log_retention_maximum_is_configurable() -> None:
    resources = [Res("aws:cloudwatch/logGroup:LogGroup", "x", {"retentionInDays": 3653})]
    assert messages(resources, "log-retention") == []
    assert messages(resources, "log-retention", {"log-retention": {"maxRetentionDays": 365}}) == [
        "[retention] retentionInDays=3653 is more than the configured maximum of 365 days."
    ]


PROD_DB = {"deletionProtection": True, "multiAz": True, "backupRetentionPeriod": 7, "storageEncrypted": True}


def prod_compliant() -> list[Res]:
    """Production data with every protection on."""
    docs = bucket("documents")
    protect = {"protect": True}
    return [
        Res(docs.type, docs.name, docs.inputs, docs.outputs, extra=protect),
        linked(
            "aws:s3/bucketVersioning:BucketVersioning",
            "docs-versioning",
            docs,
            {"versioningConfiguration": {"status": "Enabled"}},
            by="value",
        ),  # URNs here are dev's
        Res("aws:rds/instance:Instance", "db", PROD_DB, extra=protect),
        Res(
            "aws:rds/cluster:Cluster",
            "cluster",
            {"deletionProtection": True, "backupRetentionPeriod": 14},
            extra=protect,
        ),
        Res("aws:s3/vectorsVectorBucket:VectorsVectorBucket", "vectors", {}, extra=protect),
        Res("aws:secretsmanager/secret:Secret", "secret", {}, extra=protect),
        Res("aws:ecr/repository:Repository", "repo", {}, extra=protect),
        Res("aws:sqs/queue:Queue", "queue", {}),  # transient messages: not stateful for this rule
    ]


def test_prod_compliant_passes_and_dev_is_not_judged() -> None:
    assert messages(prod_compliant(), "prod-data-protection", stack="prod") == []
    unprotected = [Res("aws:rds/instance:Instance", "db", {})]
    assert messages(unprotected, "prod-data-protection", stack="dev") == []


PROD_CASES = [
    (
        "not protected",
        Res("aws:secretsmanager/secret:Secret", "s", {}),
        [
            "[protect] 's' (aws:secretsmanager/secret:Secret) holds data but is not protect=True: a deploy or destroy "
            "can delete it."
        ],
    ),
    (
        "weak database",
        Res(
            "aws:rds/instance:Instance",
            "db2",
            {"backupRetentionPeriod": 1, "skipFinalSnapshot": True},
            extra={"protect": True},
        ),
        [
            "[deletion-protection] deletionProtection=null: the database can be deleted by a deploy.",
            "[multi-az] multiAz=null: one AZ failure takes the database down.",
            "[backup-retention] backupRetentionPeriod=1: keep automated backups at least 7 days.",
            "[final-snapshot] skipFinalSnapshot=true: deleting the database leaves no final snapshot.",
        ],
    ),
    (
        "native cluster",
        Res("aws-native:rds:DbCluster", "c", {"deletionProtection": True}, extra={"protect": True}),
        ["[backup-retention] backupRetentionPeriod=null: keep automated backups at least 7 days."],
    ),
    (
        "unversioned bucket",
        Res(BUCKET, "b", {}, outputs={"bucket": "b-1"}, extra={"protect": True}),
        ["[versioning] bucket 'b' has no BucketVersioning with status Enabled naming it."],
    ),
    (
        "suspended versioning",
        Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "v",
            {"bucket": "documents-123", "versioningConfiguration": {"status": "Suspended"}},
        ),
        ['[versioning] versioningConfiguration.status="Suspended": it must be "Enabled".'],
    ),
    (
        "native bucket",
        Res("aws-native:s3:Bucket", "nb", {}, extra={"protect": True}),
        ['[versioning] versioningConfiguration.status=null: it must be "Enabled".'],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in PROD_CASES], ids=[c[0] for c in PROD_CASES])
def test_prod_data_protection_violations(resource: Res, expected: list[str]) -> None:
    assert messages([*prod_compliant(), resource], "prod-data-protection", stack="prod") == expected


TAGS = {"Project": "student-helper", "Environment": "dev", "Layer": "data", "ManagedBy": "pulumi", "Owner": "platform"}


def test_required_tags_counts_provider_default_tags() -> None:
    resources = [
        Res("aws:sqs/queue:Queue", "q", {}),
        Res("aws:s3/bucket:Bucket", "b", {"tags": {"Owner": "me"}}),
        Res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "not-taggable", {}),
    ]
    assert messages(resources, "required-tags", default_tags=TAGS) == []


REQUIRED_TAG_CASES = [
    (
        "no tags",
        {},
        None,
        "[missing-tags] tags (with the provider's defaultTags) lack Project, Environment, Layer, ManagedBy, Owner; it "
        "has no tags.",
    ),
    (
        "empty value",
        {"tags": {"Owner": " "}},
        {k: v for k, v in TAGS.items() if k != "Owner"},
        "[missing-tags] tags (with the provider's defaultTags) lack Owner; it has Environment, Layer, ManagedBy, "
        "Owner, Project.",
    ),
]


@pytest.mark.parametrize(
    ("inputs", "default_tags", "expected"), [c[1:] for c in REQUIRED_TAG_CASES], ids=[c[0] for c in REQUIRED_TAG_CASES]
)
def test_required_tags_violations(inputs: dict[str, Any], default_tags: dict[str, str] | None, expected: str) -> None:
    assert messages([Res("aws:sqs/queue:Queue", "q", inputs)], "required-tags", default_tags=default_tags) == [expected]


def test_required_tags_reads_native_tag_lists_and_config() -> None:
    native = Res("aws-native:sqs:Queue", "q", {"tags": [{"key": "Team", "value": "platform"}]})
    assert messages([native], "required-tags", {"required-tags": {"requiredTags": ["Team"]}}) == []
