"""The local stand-ins: embedded PostgreSQL lifecycle and DynamoDB tables built from the declarations."""

from __future__ import annotations

import boto3
import psycopg

from shop.declarations import TABLES, Env
from shop.local.services import (
    DynamoHandle,
    PostgresHandle,
    app_environment,
    ensure_tables,
    start_postgres,
)


def test_tables_follow_the_declarations(dynamodb: DynamoHandle) -> None:
    names = ensure_tables(dynamodb.endpoint_url, suffix="svc")
    assert names == {spec.logical: f"ecommerce-{spec.logical}-svc" for spec in TABLES}
    assert ensure_tables(dynamodb.endpoint_url, suffix="svc") == names  # idempotent
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    for spec in TABLES:
        table = client.describe_table(TableName=names[spec.logical])["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys["HASH"] == spec.hash_key.name
        assert keys.get("RANGE") == (spec.range_key.name if spec.range_key else None)
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        assert types == {a.name: a.type for a in spec.attributes}
        ttl = client.describe_time_to_live(TableName=names[spec.logical])["TimeToLiveDescription"]
        if spec.ttl_attribute:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == spec.ttl_attribute
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_app_environment_names_every_table_and_the_database(postgres: PostgresHandle) -> None:
    tables = {spec.logical: f"t-{spec.logical}" for spec in TABLES}
    env = app_environment(postgres.url, "http://127.0.0.1:9", tables)
    for spec in TABLES:
        assert env[spec.env] == f"t-{spec.logical}"
    # The API signs in as the application role, on the same server and database.
    assert env[Env.DATABASE_URL] == postgres.url.replace("postgres@", "shop_app@") == env[Env.DATABASE_READER_URL]
    assert env[Env.DB_IAM_AUTH] == "false"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:9"
    assert set(env) >= {str(name) for name in (Env.CACHE_TTL_SECONDS, Env.CART_TTL_SECONDS, Env.ENVIRONMENT)}


def test_start_postgres_reuses_a_running_server(postgres: PostgresHandle) -> None:
    again = start_postgres(postgres.data_dir)
    assert again.port == postgres.port
    with psycopg.connect(again.url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("shop",)
        assert conn.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchone() == (1,)


def test_postgres_restarts_on_its_initialised_data_dir() -> None:
    import shutil
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="shop-test-restart-"))
    try:
        first = start_postgres(root / "data", stop_at_exit=False)
        with psycopg.connect(first.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE marker (x int)")
        first.stop()
        assert not first.is_running()
        second = start_postgres(root / "data", stop_at_exit=False)
        try:
            with psycopg.connect(second.url) as conn:
                assert conn.execute("SELECT count(*) FROM marker").fetchone() == (0,)
        finally:
            second.stop()
        assert not second.is_running()
    finally:
        shutil.rmtree(root, ignore_errors=True)
