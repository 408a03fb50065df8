"""Aurora PostgreSQL Serverless v2 and RDS Proxy, for every stack: cluster and
instance properties, placement, encryption, credentials, protection per
environment, the proxy's TLS / IAM / secret wiring and its least-privilege role,
the read-only endpoint, and the exports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.settings import PROFILES
from tests.infra.conftest import program_for
from tests.infra.harness import ACCOUNT, Program, Resource, run_program

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PROXY = "aws:rds/proxy:Proxy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def cluster(program: Program) -> Resource:
    return program.one(CLUSTER)


def proxy(program: Program) -> Resource:
    if not PROFILES[program.stack].rds_proxy:
        pytest.skip(f"{program.stack} has no RDS Proxy (see test_dev_connects_straight_to_the_cluster)")
    return program.one(PROXY)


def key_arn(program: Program) -> str:
    return str(program.one("aws:kms/key:Key", "data").outputs["arn"])


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
    expected = {"minCapacity": profile.aurora_min_acu, "maxCapacity": profile.aurora_max_acu}
    if profile.aurora_min_acu == 0:
        expected["secondsUntilAutoPause"] = profile.aurora_auto_pause_seconds
    assert c["serverlessv2ScalingConfiguration"] == expected
    assert c["databaseName"] == "shop"
    assert c["port"] == 5432


def test_cluster_is_encrypted_with_the_cmk_and_uses_iam_auth_and_a_managed_secret(program: Program) -> None:
    c = cluster(program)
    key = program.one("aws:kms/key:Key", "data")
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
        assert re.fullmatch(r"ecommerce-aurora-final-prod-[0-9a-f]{8}", c["finalSnapshotIdentifier"])
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
    expected_readers = {"dev": 0, "staging": 2, "prod": 2}[program.stack]
    assert profile.aurora_readers == expected_readers
    c = cluster(program)
    instances = program.of_type(INSTANCE)
    assert len(instances) == 1 + expected_readers
    for i in instances:
        assert i["clusterIdentifier"] == c.id
        assert i["instanceClass"] == "db.serverless"
        assert i["engine"] == c["engine"]
        assert not i.get("engineVersion"), "instances run the cluster's version (minor upgrades included)"
        assert i["autoMinorVersionUpgrade"] is True
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
    # The first reader sits in tier 1: it scales with the writer and is promoted first. Further
    # readers sit in tier 2: they idle at the minimum instead of following the writer's size.
    readers = sorted((i for i in instances if i["promotionTier"] > 0), key=lambda i: i.name)
    assert [r["promotionTier"] for r in readers] == [1, 2][: len(readers)]


def test_no_readers_means_the_reader_host_is_the_writer() -> None:
    program = run_program("staging", {"auroraReaders": "0"})
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
    # The application role: end-to-end IAM (no secret); the master user (migrations): the secret.
    assert p["defaultAuthScheme"] == "IAM_AUTH"
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
    assert set(granted) == {"secretsmanager:GetSecretValue", "kms:Decrypt", "rds-db:connect"}
    assert granted["secretsmanager:GetSecretValue"] == ([secret_arn(program)], None)
    # End-to-end IAM: the proxy signs in to the cluster as the application role, and only as it.
    resource_id = cluster(program).outputs["clusterResourceId"]
    assert granted["rds-db:connect"] == ([f"arn:aws:rds-db:us-west-2:{ACCOUNT}:dbuser:{resource_id}/shop_app"], None)
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
    """The API, migration, expiry, relay and notifier functions get the proxy's endpoint and may
    rds-db:connect as the database user on exactly this proxy."""
    functions = {
        f.name: f
        for f in program.of_type("aws:lambda/function:Function")
        if "DB_WRITER_HOST" in ((f.get("environment") or {}).get("variables") or {})
    }
    assert set(functions) == {"api", "migrate", "expire", "relay", "notifier"}
    p = proxy(program)
    endpoint = program.one("aws:rds/proxyEndpoint:ProxyEndpoint")
    assert functions["api"]["environment"]["variables"]["DB_READER_HOST"] == endpoint.outputs["endpoint"]
    proxy_id = p.outputs["arn"].rsplit(":", 1)[-1]
    assert proxy_id.startswith("prx-")
    for fn in functions.values():
        variables = fn["environment"]["variables"]
        assert variables["DB_WRITER_HOST"] == p.outputs["endpoint"]
        assert variables["DB_NAME"] == cluster(program)["databaseName"]
        # Only migrations sign in as the master user; the rest as the DML-only application role.
        expected_user = cluster(program)["masterUsername"] if fn.name == "migrate" else "shop_app"
        assert variables["DB_USER"] == expected_user, fn.name
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
    assert out["dbSecretArn"] == secret_arn(program)
    assert out["dbUser"] == "shop_app"
    if not PROFILES[program.stack].rds_proxy:
        assert out["dbWriterHost"] == out["dbReaderHost"] == c.outputs["endpoint"]
        return
    assert out["dbProxyEndpoint"] == out["dbWriterHost"] == proxy(program).outputs["endpoint"]
    assert out["dbProxyReadOnlyEndpoint"] == program.one("aws:rds/proxyEndpoint:ProxyEndpoint").outputs["endpoint"]
    assert out["dbProxyEndpoint"] != out["dbProxyReadOnlyEndpoint"]


# --------------------------------------------------------------------------- no proxy (dev: scale to zero)


def _role_statements(program: Program, fn: Resource) -> list[dict[str, Any]]:
    role = next(r for r in program.of_type(ROLE) if r.outputs["arn"] == fn["role"])
    return [
        s for rp in program.of_type(ROLE_POLICY) if rp["role"] == role.id for s in json.loads(rp["policy"])["Statement"]
    ]


def test_dev_scales_to_zero_with_no_proxy_and_no_reader(dev: Program) -> None:
    profile = PROFILES["dev"]
    assert (profile.rds_proxy, profile.aurora_readers, profile.aurora_min_acu) == (False, 0, 0)
    assert dev.of_type(PROXY) == [] and dev.of_type("aws:rds/proxyTarget:ProxyTarget") == []
    scaling = cluster(dev)["serverlessv2ScalingConfiguration"]
    assert scaling["minCapacity"] == 0 and 300 <= scaling["secondsUntilAutoPause"] <= 86_400
    assert len(dev.of_type(INSTANCE)) == 1


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_keep_the_proxy_and_two_readers_above_zero(stack: str) -> None:
    program = program_for(stack)
    assert len(program.of_type(PROXY)) == 1
    assert len([i for i in program.of_type(INSTANCE) if i["promotionTier"] > 0]) == 2
    assert cluster(program)["serverlessv2ScalingConfiguration"]["minCapacity"] >= 0.5
    assert "secondsUntilAutoPause" not in cluster(program)["serverlessv2ScalingConfiguration"]


def test_dev_connects_straight_to_the_cluster(dev: Program) -> None:
    """No proxy: the API signs in to the cluster endpoint as the application role with an IAM token for
    the cluster's resource id; the migration function with the managed master secret; the database
    security group admits the function group."""
    c = cluster(dev)
    functions = {f.name: f for f in dev.of_type("aws:lambda/function:Function") if f.name in ("api", "migrate")}
    api, migrate = functions["api"]["environment"]["variables"], functions["migrate"]["environment"]["variables"]
    assert api["DB_WRITER_HOST"] == api["DB_READER_HOST"] == c.outputs["endpoint"]
    assert (api["DB_USER"], api["DB_IAM_AUTH"]) == ("shop_app", "true")
    resource_id = c.outputs["clusterResourceId"]
    [connect] = [s for s in _role_statements(dev, functions["api"]) if s["Action"] == "rds-db:connect"]
    assert connect["Resource"] == f"arn:aws:rds-db:us-west-2:{ACCOUNT}:dbuser:{resource_id}/shop_app"

    assert migrate["DB_WRITER_HOST"] == c.outputs["endpoint"]
    assert (migrate["DB_USER"], migrate["DB_IAM_AUTH"]) == (c["masterUsername"], "false")
    assert migrate["DB_SECRET_ARN"] == secret_arn(dev)
    granted = {s["Action"]: s for s in _role_statements(dev, functions["migrate"]) if isinstance(s["Action"], str)}
    assert granted["secretsmanager:GetSecretValue"]["Resource"] == secret_arn(dev)
    assert "rds-db:connect" not in granted
    assert granted["kms:Decrypt"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}
    }

    ingress = [
        r
        for r in dev.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if sg_name(dev, r["securityGroupId"]) == "database-sg"
    ]
    peers = {sg_name(dev, r["referencedSecurityGroupId"]) for r in ingress}
    assert "function-sg" in peers and all(r["fromPort"] == r["toPort"] == 5432 for r in ingress)


# --------------------------------------------------------------------------- engine version


def test_aws_minor_upgrades_never_become_a_planned_downgrade(program: Program) -> None:
    """Auto minor upgrades are on; the cluster ignores engineVersion after creation, and the instances
    set none, so a refresh after AWS patches 16.8 to 16.9 plans no change (the provider writes the
    actual version into state when the configured one is not a prefix of it)."""
    from infra.components.database import ENGINE_MAJOR, ENGINE_VERSION, SCALE_TO_ZERO_MINIMUM_VERSION, version_tuple

    c = cluster(program)
    assert "engineVersion" in c.options["ignoreChanges"]
    assert c["engineVersion"] == ENGINE_VERSION and ENGINE_VERSION.split(".")[0] == ENGINE_MAJOR
    assert not c.get("allowMajorVersionUpgrade"), "a major upgrade is a deliberate change"
    for instance in program.of_type(INSTANCE):
        assert instance["autoMinorVersionUpgrade"] is True
        assert not instance.get("engineVersion")
    # Scale to zero needs 16.3 or later.
    assert version_tuple(ENGINE_VERSION) >= SCALE_TO_ZERO_MINIMUM_VERSION


def test_scale_to_zero_needs_no_proxy_and_a_sane_pause() -> None:
    from infra.settings import SettingsError

    with pytest.raises(SettingsError, match="rdsProxy = false"):
        run_program("staging", {"auroraMinAcu": "0"})
    with pytest.raises(SettingsError, match="auroraAutoPauseSeconds"):
        run_program("dev", {"auroraAutoPauseSeconds": "60"})
    with pytest.raises(SettingsError, match="auroraMinAcu"):
        run_program("dev", {"auroraMinAcu": "0.25"})
