"""Aurora PostgreSQL Serverless v2 and RDS Proxy, for every stack: cluster and
instance properties, placement, encryption, credentials, protection per
environment, the proxy's TLS / IAM / secret wiring and its least-privilege role,
the read-only endpoint, and the exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import PROFILES
from tests.infra.harness import ACCOUNT, Program, Resource, run_program

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PROXY = "aws:rds/proxy:Proxy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def cluster(program: Program) -> Resource:
    return program.one(CLUSTER)


def proxy(program: Program) -> Resource:
    return program.one(PROXY)


def key_arn(program: Program) -> str:
    return str(program.one("aws:kms/key:Key").outputs["arn"])


def secret_arn(program: Program) -> str:
    return str(cluster(program).outputs["masterUserSecrets"][0]["secretArn"])


def tier_ids(program: Program, tier: str) -> set[str]:
    return {s.id for s in program.of_type("aws:ec2/subnet:Subnet") if s["tags"].get("Tier") == tier}


def sg_name(program: Program, sg_id: str) -> str:
    return program.by_id(sg_id).name


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- cluster


def test_cluster_is_aurora_postgresql_16_serverless_v2_sized_by_the_profile(program: Program) -> None:
    profile = PROFILES[program.stack]
    c = cluster(program)
    assert c["engine"] == "aurora-postgresql"
    assert c["engineVersion"].split(".")[0] == "16"
    assert c["engineMode"] == "provisioned"
    assert c["serverlessv2ScalingConfiguration"] == {
        "minCapacity": profile.aurora_min_acu,
        "maxCapacity": profile.aurora_max_acu,
    }
    assert c["databaseName"] == "shop"
    assert c["port"] == 5432


def test_cluster_is_encrypted_with_the_cmk_and_uses_iam_auth_and_a_managed_secret(program: Program) -> None:
    c = cluster(program)
    key = program.one("aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    assert c["storageEncrypted"] is True
    assert c["kmsKeyId"] == key_arn(program)
    assert c["iamDatabaseAuthenticationEnabled"] is True
    assert c["manageMasterUserPassword"] is True
    assert c["masterUserSecretKmsKeyId"] == key_arn(program)
    assert not c.get("masterPassword") and not c.get("masterPasswordWo"), "a password in the program"
    assert c["enabledCloudwatchLogsExports"] == ["postgresql"]


def test_cluster_lives_in_the_database_subnets_behind_the_database_group(program: Program) -> None:
    c = cluster(program)
    groups = [g for g in program.of_type("aws:rds/subnetGroup:SubnetGroup") if g["name"] == c["dbSubnetGroupName"]]
    assert len(groups) == 1
    assert set(groups[0]["subnetIds"]) == tier_ids(program, "database")
    assert [sg_name(program, g) for g in c["vpcSecurityGroupIds"]] == ["database-sg"]


def test_backups_and_protection_follow_the_environment(program: Program) -> None:
    profile = PROFILES[program.stack]
    c = cluster(program)
    assert c["backupRetentionPeriod"] == profile.db_backup_retention_days
    if program.stack == "prod":
        assert c["deletionProtection"] is True
        assert c["skipFinalSnapshot"] is False
        assert c["finalSnapshotIdentifier"] == "ecommerce-aurora-final-prod"
        assert c.options["protect"] is True
    else:
        # Clean teardown outside prod.
        assert c["deletionProtection"] is False
        assert c["skipFinalSnapshot"] is True
        assert not c.get("finalSnapshotIdentifier")
        assert c.options["protect"] is False


def test_postgresql_logs_land_in_an_encrypted_group_with_retention(program: Program) -> None:
    c = cluster(program)
    name = f"/aws/rds/cluster/{c['clusterIdentifier']}/postgresql"  # where RDS exports them
    [group] = [g for g in program.of_type("aws:cloudwatch/logGroup:LogGroup") if g["name"] == name]
    assert group["retentionInDays"] == PROFILES[program.stack].log_retention_days
    assert group["kmsKeyId"] == key_arn(program)
    assert group.urn in c.dependencies, "the cluster would create the group itself, unencrypted"


# --------------------------------------------------------------------------- instances


def test_one_writer_and_the_profiles_readers_spread_across_azs(program: Program) -> None:
    profile = PROFILES[program.stack]
    expected_readers = {"dev": 1, "staging": 2, "prod": 2}[program.stack]
    assert profile.aurora_readers == expected_readers
    c = cluster(program)
    instances = program.of_type(INSTANCE)
    assert len(instances) == 1 + expected_readers
    for i in instances:
        assert i["clusterIdentifier"] == c.id
        assert i["instanceClass"] == "db.serverless"
        assert (i["engine"], i["engineVersion"]) == (c["engine"], c["engineVersion"])
        assert i["publiclyAccessible"] is False
        assert i["dbSubnetGroupName"] == c["dbSubnetGroupName"]
    zones = [i["availabilityZone"] for i in instances]
    assert len(set(zones)) == len(zones), f"instances share an AZ: {zones}"
    database_zones = {
        s["availabilityZone"] for s in program.of_type("aws:ec2/subnet:Subnet") if s.id in tier_ids(program, "database")
    }
    assert set(zones) <= database_zones
    writers = [i for i in instances if i["promotionTier"] == 0]
    assert len(writers) == 1
    # Readers sit in tiers 0-1 so they scale with the writer and are promoted first.
    assert all(i["promotionTier"] <= 1 for i in instances)


def test_no_readers_means_the_reader_host_is_the_writer() -> None:
    program = run_program("dev", {"auroraReaders": "0"})
    assert len(program.of_type(INSTANCE)) == 1
    functions = program.of_type("aws:lambda/function:Function")
    api = [f for f in functions if "DB_READER_HOST" in ((f.get("environment") or {}).get("variables") or {})]
    if not api:
        pytest.skip("no API function in the program yet")
    variables = api[0]["environment"]["variables"]
    assert variables["DB_READER_HOST"] == proxy(program).outputs["endpoint"]


# --------------------------------------------------------------------------- proxy


def test_proxy_requires_tls_and_iam_and_signs_in_with_the_cluster_secret(program: Program) -> None:
    p = proxy(program)
    assert p["engineFamily"] == "POSTGRESQL"
    assert p["requireTls"] is True
    assert p.get("debugLogging") is not True, "debug logging writes SQL text to the logs"
    [auth] = p["auths"]
    assert auth["authScheme"] == "SECRETS"
    assert auth["iamAuth"] == "REQUIRED"
    assert auth["secretArn"] == secret_arn(program)
    assert set(p["vpcSubnetIds"]) == tier_ids(program, "private")
    assert [sg_name(program, g) for g in p["vpcSecurityGroupIds"]] == ["proxy-sg"]


def test_proxy_role_reads_only_the_cluster_secret(program: Program) -> None:
    p = proxy(program)
    role = next(r for r in program.of_type(ROLE) if r.outputs["arn"] == p["roleArn"])
    [trust] = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "rds.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT

    attached = [
        a
        for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["role"] in (role.id, role["name"])
    ]
    assert attached == [], "the proxy role carries a managed policy"
    inline = [r for r in program.of_type(ROLE_POLICY) if r["role"] == role.id]
    assert len(inline) == 1
    statements = json.loads(inline[0]["policy"])["Statement"]
    granted = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in as_list(s["Action"]):
            granted[action] = (as_list(s["Resource"]), s.get("Condition"))
    assert set(granted) == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    assert granted["secretsmanager:GetSecretValue"] == ([secret_arn(program)], None)
    kms_resources, kms_condition = granted["kms:Decrypt"]
    assert kms_resources == [key_arn(program)]
    assert kms_condition == {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}


def test_default_target_group_points_at_the_cluster(program: Program) -> None:
    p = proxy(program)
    group = program.one("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup")
    assert group["dbProxyName"] == p["name"]
    pool = group["connectionPoolConfig"]
    assert 1 <= pool["maxConnectionsPercent"] <= 100
    target = program.one("aws:rds/proxyTarget:ProxyTarget")
    assert target["dbProxyName"] == p["name"]
    assert target["targetGroupName"] == group.outputs["name"] == "default"
    assert target["dbClusterIdentifier"] == cluster(program)["clusterIdentifier"]
    assert not target.get("dbInstanceIdentifier")
    # Registered once the instances exist.
    writer = next(i for i in program.of_type(INSTANCE) if i["promotionTier"] == 0)
    assert writer.urn in target.dependencies


def test_read_only_endpoint_serves_the_readers_from_the_private_subnets(program: Program) -> None:
    p = proxy(program)
    endpoint = program.one("aws:rds/proxyEndpoint:ProxyEndpoint")
    assert endpoint["dbProxyName"] == p["name"]
    assert endpoint["targetRole"] == "READ_ONLY"
    assert set(endpoint["vpcSubnetIds"]) == tier_ids(program, "private")
    assert [sg_name(program, g) for g in endpoint["vpcSecurityGroupIds"]] == ["proxy-sg"]


def test_the_functions_connect_through_the_proxy_with_an_iam_token(program: Program) -> None:
    """The API, migration and expiry functions get the proxy's endpoint and may
    rds-db:connect as the database user on exactly this proxy."""
    functions = {
        f.name: f
        for f in program.of_type("aws:lambda/function:Function")
        if "DB_WRITER_HOST" in ((f.get("environment") or {}).get("variables") or {})
    }
    assert set(functions) == {"api", "migrate", "expire"}
    p = proxy(program)
    endpoint = program.one("aws:rds/proxyEndpoint:ProxyEndpoint")
    assert functions["api"]["environment"]["variables"]["DB_READER_HOST"] == endpoint.outputs["endpoint"]
    proxy_id = p.outputs["arn"].rsplit(":", 1)[-1]
    assert proxy_id.startswith("prx-")
    for fn in functions.values():
        variables = fn["environment"]["variables"]
        assert variables["DB_WRITER_HOST"] == p.outputs["endpoint"]
        assert variables["DB_NAME"] == cluster(program)["databaseName"]
        assert variables["DB_USER"] == cluster(program)["masterUsername"]
        assert variables["DB_IAM_AUTH"] == "true"

        connect_arn = f"arn:aws:rds-db:us-west-2:{ACCOUNT}:dbuser:{proxy_id}/{variables['DB_USER']}"
        role = next(r for r in program.of_type(ROLE) if r.outputs["arn"] == fn["role"])
        connect = [
            s
            for rp in program.of_type(ROLE_POLICY)
            if rp["role"] == role.id
            for s in json.loads(rp["policy"])["Statement"]
            if "rds-db:connect" in as_list(s["Action"])
        ]
        assert len(connect) == 1, fn.name
        assert as_list(connect[0]["Resource"]) == [connect_arn], fn.name


# --------------------------------------------------------------------------- exports


def test_database_exports_resolve_to_the_resources(program: Program) -> None:
    out = program.outputs
    c = cluster(program)
    assert out["auroraClusterId"] == c["clusterIdentifier"] == f"ecommerce-aurora-{program.stack}"
    assert out["auroraClusterArn"] == c.outputs["arn"]
    assert out["dbProxyEndpoint"] == proxy(program).outputs["endpoint"]
    assert out["dbProxyReadOnlyEndpoint"] == program.one("aws:rds/proxyEndpoint:ProxyEndpoint").outputs["endpoint"]
    assert out["dbSecretArn"] == secret_arn(program)
    assert out["dbProxyEndpoint"] != out["dbProxyReadOnlyEndpoint"]
