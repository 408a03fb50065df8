"""Migrations as a deploy step: the same image runs shop.db.migrate.handler during `pulumi up`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.components.migrations import COMMAND, MIGRATIONS_DIR, migrations_digest
from infra.settings import PROFILES
from shop.declarations import Env
from tests.infra.harness import Program, Resource

FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"


def functions(program: Program) -> tuple[Resource, Resource]:
    by_name = {f.name: f for f in program.of_type(FUNCTION) if f.provider is None or "us-east-1" not in f.provider}
    return by_name["api"], by_name["migrate"]


def test_the_migration_function_runs_the_api_image_with_the_migrate_command(program: Program) -> None:
    api, migrate = functions(program)
    assert migrate["packageType"] == "Image"
    assert migrate["imageUri"] == api["imageUri"]
    assert "@sha256:" in migrate["imageUri"]
    assert migrate["imageConfig"]["commands"] == [COMMAND]
    assert migrate["architectures"] == api["architectures"] == ["arm64"]
    assert migrate["timeout"] <= 900


def test_it_reaches_the_database_exactly_as_the_api_does(program: Program) -> None:
    api, migrate = functions(program)
    assert migrate["vpcConfig"] == api["vpcConfig"]
    api_env, env = api["environment"]["variables"], migrate["environment"]["variables"]
    for name in (Env.DB_WRITER_HOST, Env.DB_PORT, Env.DB_NAME):
        assert env[name] == api_env[name], name
    # As the privileged master user, not the API's DML-only role: with an IAM token through the
    # proxy, or with the managed master secret straight to the cluster (no proxy).
    assert env[Env.DB_USER] == "shop_admin" != api_env[Env.DB_USER]
    proxied = PROFILES[program.stack].rds_proxy
    assert env[Env.DB_IAM_AUTH] == ("true" if proxied else "false")
    assert (Env.DB_SECRET_ARN in env) is not proxied
    # No table names: it has no business with DynamoDB.
    assert not {Env.SESSIONS_TABLE, Env.CACHE_TABLE, Env.IDEMPOTENCY_TABLE} & env.keys()


def env_secret(program: Program) -> str:
    _, migrate = functions(program)
    return str(migrate["environment"]["variables"][Env.DB_SECRET_ARN])


def test_its_role_may_connect_log_and_attach_to_the_vpc_only(program: Program) -> None:
    _, migrate = functions(program)
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == migrate["role"])
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    [policy] = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    base = {"OwnLogGroup", "VpcNetworkInterfacesNoResourceLevelPermissions"}
    if not PROFILES[program.stack].rds_proxy:
        assert set(statements) == base | {"ReadTheDatabaseSecret", "DecryptItThroughSecretsManager"}
        assert statements["ReadTheDatabaseSecret"]["Action"] == "secretsmanager:GetSecretValue"
        assert statements["ReadTheDatabaseSecret"]["Resource"] == env_secret(program)
    else:
        assert set(statements) == base | {"DatabaseIamSignIn"}
        assert statements["DatabaseIamSignIn"]["Action"] == "rds-db:connect"
        # The master user on the same proxy as the API's application role.
        proxy_id = program.one("aws:rds/proxy:Proxy").outputs["arn"].rsplit(":", 1)[-1]
        assert statements["DatabaseIamSignIn"]["Resource"].endswith(f":dbuser:{proxy_id}/shop_admin")
    log_group = program.one("aws:cloudwatch/logGroup:LogGroup", "migrate")
    assert log_group["name"] == f"/aws/lambda/{migrate['name']}"
    assert statements["OwnLogGroup"]["Resource"] == f"{log_group.outputs['arn']}:*"
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
    assert statements["VpcNetworkInterfacesNoResourceLevelPermissions"]["Resource"] == "*"
    assert log_group["retentionInDays"] == PROFILES[program.stack].log_retention_days
    assert log_group["kmsKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]


def test_deploy_invokes_it_when_migrations_or_the_image_change(program: Program) -> None:
    _, migrate = functions(program)
    invocation = program.one(INVOCATION)
    assert invocation["functionName"] == migrate["name"]
    assert invocation["triggers"] == {"migrations": migrations_digest(), "image": migrate["imageUri"]}
    assert json.loads(invocation["input"]) == {"migrationsDigest": migrations_digest()}


def test_the_invocation_waits_for_the_database(program: Program) -> None:
    invocation = program.one(INVOCATION)
    instances = program.of_type("aws:rds/clusterInstance:ClusterInstance")
    if PROFILES[program.stack].rds_proxy:
        assert program.one("aws:rds/proxyTarget:ProxyTarget").urn in invocation.dependencies
    assert all(instance.urn in invocation.dependencies for instance in instances)


def test_the_digest_follows_every_migration_file(tmp_path: Path) -> None:
    for source in sorted(MIGRATIONS_DIR.glob("*.sql")):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    assert migrations_digest(tmp_path) == migrations_digest()
    (tmp_path / "9999_more.sql").write_text("SELECT 1;\n")
    added = migrations_digest(tmp_path)
    assert added != migrations_digest()
    (tmp_path / "9999_more.sql").write_text("SELECT 2;\n")
    assert migrations_digest(tmp_path) not in (added, migrations_digest())
    with pytest.raises(ValueError, match="no migrations"):
        migrations_digest(tmp_path / "empty")
