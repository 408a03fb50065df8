"""Least privilege in the database (issue 10 item 8): the API's role has DML on the shop's tables and
nothing else; migrations keep the privileged role. Against the session's embedded PostgreSQL, migrated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from shop.declarations import DB_APP_USER
from shop.local.services import DynamoHandle, PostgresHandle, as_app_user


@pytest.fixture
def app(postgres: PostgresHandle) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(as_app_user(postgres.url), autocommit=True) as conn:
        yield conn


def test_the_app_signs_in_as_the_application_role(app: psycopg.Connection[tuple[object, ...]]) -> None:
    row = app.execute(
        "SELECT current_user, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (DB_APP_USER, False, False, False)


@pytest.mark.parametrize(
    "ddl",
    [
        "DROP TABLE products",
        "DROP TABLE orders CASCADE",
        "CREATE TABLE intruder (id int)",
        "CREATE TEMPORARY TABLE intruder (id int)",
        "ALTER TABLE products ADD COLUMN intruder int",
        "TRUNCATE order_lines",
        "CREATE SCHEMA intruder",
        "CREATE INDEX intruder ON products (stock)",
        "DELETE FROM schema_migrations",
        "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
def test_the_application_role_cannot_change_the_schema(app: psycopg.Connection[tuple[object, ...]], ddl: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute(ddl)


def test_the_application_role_can_do_the_shops_dml(
    app: psycopg.Connection[tuple[object, ...]], postgres: PostgresHandle
) -> None:
    sku = f"ROLE-{uuid.uuid4().hex[:8]}"
    with app.transaction():
        [product] = app.execute(
            "INSERT INTO products (sku, name, category, price_cents, stock) VALUES (%s, 'Role test', 'test', 100, 3) "
            "RETURNING id",
            (sku,),
        ).fetchall()
        app.execute("UPDATE products SET stock = stock - 1 WHERE id = %s", (product[0],))
        order_id = uuid.uuid4()
        app.execute(
            "INSERT INTO orders (id, token_hash, email, cart_id, total_cents)"
            " VALUES (%s, 'h', 'a@example.com', 'c', 100)",
            (order_id,),
        )
        app.execute(
            "INSERT INTO order_lines"
            " (order_id, line_no, product_id, name, quantity, unit_price_cents, line_total_cents)"
            " VALUES (%s, 1, %s, 'Role test', 1, 100, 100)",
            (order_id, product[0]),
        )
        assert app.execute("SELECT stock FROM products WHERE id = %s", (product[0],)).fetchone() == (2,)
        app.execute("DELETE FROM orders WHERE id = %s", (order_id,))
        app.execute("DELETE FROM products WHERE id = %s", (product[0],))


def test_tables_from_later_migrations_get_the_same_grants(postgres: PostgresHandle) -> None:
    """ALTER DEFAULT PRIVILEGES: a table the migrating role creates later is DML-only for the app too."""
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute("DROP TABLE IF EXISTS later_table")
        admin.execute("CREATE TABLE later_table (id bigserial PRIMARY KEY, note text)")
    try:
        with psycopg.connect(as_app_user(postgres.url), autocommit=True) as app:
            app.execute("INSERT INTO later_table (note) VALUES ('ok')")
            assert app.execute("SELECT count(*) FROM later_table").fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("DROP TABLE later_table")
    finally:
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            admin.execute("DROP TABLE IF EXISTS later_table")


def test_migrations_keep_the_privileged_role(postgres: PostgresHandle) -> None:
    from shop.db import migrate

    # The migration path is the privileged URL, not the app role.
    assert migrate.migrate(postgres.url) == []
    with psycopg.connect(postgres.url) as admin:
        assert admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (True,)


def test_the_migration_names_the_declared_role() -> None:
    from shop.db.migrate import available

    [role] = [m for m in available() if m.name == "application_role"]
    assert f"CREATE ROLE {DB_APP_USER} LOGIN" in role.sql
    assert "GRANT rds_iam TO " + DB_APP_USER in role.sql


def test_without_a_proxy_migrations_sign_in_with_the_master_secret(
    postgres: PostgresHandle, dynamodb: DynamoHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dev migration function: DB_SECRET_ARN names the cluster's managed master secret (here in
    the moto server), and the run signs in with its user name and password."""
    import json

    import boto3

    from shop.db import migrate

    endpoint = dynamodb.endpoint_url
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="l",
        aws_secret_access_key="l",
    )
    arn = client.create_secret(
        Name=f"rds-master-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": "postgres", "password": "unused-by-trust-auth"}),
    )["ARN"]
    for key, value in {
        "DB_SECRET_ARN": arn,
        "DB_WRITER_HOST": "127.0.0.1",
        "DB_PORT": str(postgres.port),
        "DB_NAME": "shop",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "l",
        "AWS_SECRET_ACCESS_KEY": "l",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(migrate, "SECRET_SSLMODE", "disable")  # the local server has no TLS
    kwargs = migrate.secret_connect_kwargs()
    assert kwargs is not None and kwargs["user"] == "postgres" and kwargs["host"] == "127.0.0.1"
    assert migrate.SECRET_SSLMODE == "disable" and migrate.handler({}, None)["applied"] == []
    monkeypatch.undo()
    assert migrate.SECRET_SSLMODE == "require", "Aurora is reached with TLS"


def test_the_application_role_carries_the_statement_timeout(app: psycopg.Connection[tuple[object, ...]]) -> None:
    """The budget's statement timeout is the role's setting (set by every migrate run), so it holds for
    sessions RDS Proxy opens on the function's behalf; the function sends no startup option for it."""
    from shop.db.connection import STATEMENT_TIMEOUT_MS

    row = app.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'").fetchone()
    assert row is not None and int(str(row[0])) == STATEMENT_TIMEOUT_MS > 0
    with pytest.raises(psycopg.errors.QueryCanceled):
        app.execute("SELECT pg_sleep(%s)", (STATEMENT_TIMEOUT_MS / 1000 + 0.5,))


def test_the_function_sends_no_session_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.config import settings
    from shop.db.connection import Role, connect_kwargs

    monkeypatch.setenv("DATABASE_URL", "postgresql://shop_app@127.0.0.1:5432/shop")
    settings.reset()
    try:
        assert "options" not in connect_kwargs(Role.WRITER)
    finally:
        settings.reset()
