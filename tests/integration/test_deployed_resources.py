"""The deployed resources exist with the settings the program promises (boto3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Outputs

# Every check here only describes resources: the pipeline's smoke subset after each update.
pytestmark = pytest.mark.smoke

Aws = Callable[..., Any]

TABLE_OUTPUTS = ("sessionsTableName", "cacheTableName", "idempotencyTableName")


@pytest.mark.parametrize("output", TABLE_OUTPUTS)
def test_tables_are_encrypted_with_the_key_and_recoverable(outputs: Outputs, aws: Aws, output: str) -> None:
    name, key_arn = outputs.need(output, "kmsKeyArn")
    ddb = aws("dynamodb")
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    sse = table["SSEDescription"]
    assert sse["Status"] == "ENABLED" and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyArn"] == key_arn
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert table.get("DeletionProtectionEnabled", False) is outputs.is_prod
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


def test_the_cluster_is_encrypted_and_protected_per_environment(outputs: Outputs, aws: Aws) -> None:
    cluster_id, key_arn = outputs.need("auroraClusterId", "kmsKeyArn")
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    assert cluster["Status"] == "available"
    assert cluster["StorageEncrypted"] is True
    assert cluster["KmsKeyId"] == key_arn
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"] >= 0.5
    assert cluster["DeletionProtection"] is outputs.is_prod
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    members = cluster["DBClusterMembers"]
    assert sum(m["IsClusterWriter"] for m in members) == 1
    # Staging and prod: a writer and readers; dev (scale to zero, no proxy): the writer alone.
    assert len(members) >= (2 if outputs.get("dbProxyName") else 1), "a writer and at least one reader"


def test_the_proxy_requires_tls_and_iam(outputs: Outputs, aws: Aws) -> None:
    proxy_name = outputs.need("dbProxyName")
    rds = aws("rds")
    proxy = rds.describe_db_proxies(DBProxyName=proxy_name)["DBProxies"][0]
    assert proxy["Status"] == "available"
    assert proxy["RequireTLS"] is True
    assert proxy.get("DefaultAuthScheme") == "IAM_AUTH" or all(a["IAMAuth"] == "REQUIRED" for a in proxy["Auth"])
    endpoints = rds.describe_db_proxy_endpoints(DBProxyName=proxy_name)["DBProxyEndpoints"]
    assert any(e.get("TargetRole") == "READ_ONLY" for e in endpoints), "a read-only endpoint for the readers"
    targets = rds.describe_db_proxy_targets(DBProxyName=proxy_name)["Targets"]
    assert targets and all(t["TargetHealth"]["State"] == "AVAILABLE" for t in targets if t["Type"] == "RDS_INSTANCE")


@pytest.mark.parametrize("output", ["staticBucketName", "logsBucketName", "artifactsBucketName"])
def test_buckets_are_private_and_encrypted(outputs: Outputs, aws: Aws, output: str) -> None:
    bucket = outputs.need(output)
    s3 = aws("s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    algorithms = {r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
    assert algorithms <= {"aws:kms", "aws:kms:dsse", "AES256"} and algorithms
    if _has_policy(s3, bucket):
        assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False


def _has_policy(s3: Any, bucket: str) -> bool:
    try:
        s3.get_bucket_policy(Bucket=bucket)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return False
        raise
    return True


def test_the_alarm_topic_is_encrypted_and_the_alarms_point_at_it(outputs: Outputs, aws: Aws) -> None:
    topic_arn, suffix = outputs.need("alarmTopicArn", "environmentSuffix")
    attributes = aws("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes.get("KmsMasterKeyId")
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix="ecommerce-")["MetricAlarms"]
    ours = [a for a in alarms if a["AlarmName"].endswith(f"-{suffix}")]
    assert len(ours) >= 8, [a["AlarmName"] for a in ours]
    for alarm in ours:
        assert topic_arn in alarm["AlarmActions"], alarm["AlarmName"]
        assert alarm.get("TreatMissingData") in ("breaching", "notBreaching", "ignore", "missing"), alarm["AlarmName"]


def test_the_dashboard_exists_with_widgets(outputs: Outputs, aws: Aws) -> None:
    name = outputs.need("dashboardName")
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    assert len(body["widgets"]) >= 10


@pytest.mark.parametrize("output", ["apiLogGroupName", "flowLogGroupName", "apiAccessLogGroupName"])
def test_log_groups_have_retention_and_the_key(outputs: Outputs, aws: Aws, output: str) -> None:
    name, key_arn = outputs.need(output, "kmsKeyArn")
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    group = next(g for g in groups if g["logGroupName"] == name)
    assert group.get("retentionInDays", 0) > 0
    assert group.get("kmsKeyId") == key_arn


def test_the_function_runs_arm64_in_the_vpc(outputs: Outputs, aws: Aws) -> None:
    name = outputs.need("apiFunctionName")
    config = aws("lambda").get_function_configuration(FunctionName=name)
    assert config["Architectures"] == ["arm64"]
    assert config["PackageType"] == "Image"
    assert len(config["VpcConfig"]["SubnetIds"]) == 3
    assert config["State"] == "Active"
    assert config["TracingConfig"]["Mode"] == "Active"
