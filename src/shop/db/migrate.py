"""Apply pending SQL migrations: ``python -m shop.db.migrate [--database-url URL]``.

Migrations are the files ``migrations/NNNN_<name>.sql`` in this package, applied in version order,
each in its own transaction together with its row in ``schema_migrations`` (version, name, checksum,
applied_at). Running it again applies nothing. A session advisory lock serialises concurrent runs
(two deploy steps, or the local platform and a test session). A migration whose file changed after
it was applied is an error: write a new migration instead.

Without ``--database-url`` the connection settings come from the environment: the master secret with
``DB_SECRET_ARN`` (no proxy), else like the API's writer connection (``DATABASE_URL`` locally; RDS
Proxy + IAM token with ``DB_IAM_AUTH=true``), as the migration function's user (``DB_USER``). As a deploy
step in AWS, invoke the function image with the command ``shop.db.migrate.handler``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from shop.db.wakeup import MIGRATION_BUDGET_SECONDS, connect_until_ready
from shop.declarations import DB_APP_USER, DB_NAME, DB_PORT, Env

# An arbitrary constant shared by every migrate run: pg_advisory_lock key.
ADVISORY_LOCK_KEY = 0x5E0C0_0001
# Per attempt; connect_until_ready retries within the run's wait budget.
CONNECT_TIMEOUT_SECONDS = 10
SECRET_SSLMODE = "require"
_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """Every migration shipped in ``shop.db.migrations``, in version order."""
    found: list[Migration] = []
    for entry in resources.files("shop.db.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def _connect(database_url: str | None, budget_seconds: float = 0) -> psycopg.Connection[tuple[object, ...]]:
    """A connection as the migrating (privileged) user; with a budget, waits that long for the database."""
    secret = None if database_url else secret_connect_kwargs()
    return connect_until_ready(lambda: _connect_once(database_url, secret), budget_seconds=budget_seconds)


def secret_connect_kwargs() -> dict[str, Any] | None:
    """Without a proxy (dev) the migration function signs in to the cluster as the master user with the
    password RDS keeps in Secrets Manager (``DB_SECRET_ARN``), read once per run; TLS required."""
    arn = os.environ.get(Env.DB_SECRET_ARN)
    if not arn:
        return None
    import boto3

    secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    return {
        "host": os.environ[Env.DB_WRITER_HOST],
        "port": int(os.environ.get(Env.DB_PORT) or DB_PORT),
        "dbname": os.environ.get(Env.DB_NAME) or DB_NAME,
        "user": secret["username"],
        "password": secret["password"],
        "sslmode": SECRET_SSLMODE,
    }


def _connect_once(database_url: str | None, secret: dict[str, Any] | None) -> psycopg.Connection[tuple[object, ...]]:
    if database_url:
        return psycopg.connect(database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    if secret is not None:
        return psycopg.connect(autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS, **secret)
    from shop.db.connection import Role, connect_kwargs

    kwargs = connect_kwargs(Role.WRITER)
    kwargs.pop("row_factory", None)
    conninfo = kwargs.pop("conninfo", "")
    return psycopg.connect(conninfo, **kwargs)


def migrate(database_url: str | None = None, *, wait_seconds: float = 0) -> list[str]:
    """Apply pending migrations; return the ``NNNN_name`` of each one applied (empty when up to date).

    ``wait_seconds``: how long to keep retrying while the database refuses connections."""
    applied_now: list[str] = []
    with _connect(database_url, wait_seconds) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            done = {
                int(str(row[0])): str(row[1])
                for row in conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
            }
            for migration in available():
                label = f"{migration.version:04d}_{migration.name}"
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise RuntimeError(f"migration {label} changed after it was applied; add a new migration")
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied_now.append(label)
            _set_app_role_timeout(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def _set_app_role_timeout(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Give the application role its statement timeout (``STATEMENT_TIMEOUT_MS``), on every run, so a
    changed budget reaches the database with the next deploy. Sessions that start afterwards get it."""
    from psycopg import sql

    from shop.db.connection import STATEMENT_TIMEOUT_MS

    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_APP_USER,)).fetchone() is None:
        return
    conn.execute(
        sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
            sql.Identifier(DB_APP_USER), sql.Literal(f"{STATEMENT_TIMEOUT_MS}ms")
        )
    )


def current_version(database_url: str | None = None) -> int:
    """Highest applied version (0 when none)."""
    with _connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        return int(str(row[0])) if row else 0


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point for the deploy step (infra/components/migrations.py): the API image
    with its command set to ``shop.db.migrate.handler`` (same VPC, proxy and IAM settings)
    applies pending migrations when ``pulumi up`` invokes it. On the first deploy the proxy's target
    may not be available yet: the run waits for it (``MIGRATION_BUDGET_SECONDS``, well under the
    function's timeout) instead of failing the update.
    """
    applied = migrate(None, wait_seconds=MIGRATION_BUDGET_SECONDS)
    return {"applied": applied, "version": current_version(None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.db.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="libpq URL (default: the API's writer settings from the environment)")
    args = parser.parse_args(argv)
    try:
        applied = migrate(args.database_url)
        version = current_version(args.database_url)
    except CLI_ERRORS as error:
        return fail(parser.prog, error)
    if applied:
        for label in applied:
            print(f"applied {label}")
    else:
        print("schema up to date")
    print(f"schema version {version}")
    return 0


# What a command-line run reports as one line instead of a traceback: no or a bad connection
# setting, an unreachable or refusing server, a failing migration.
CLI_ERRORS: tuple[type[Exception], ...] = (psycopg.Error, RuntimeError, ValueError)


def fail(prog: str, error: BaseException) -> int:
    """Print ``prog: error: <one line>`` on stderr; the exit status for it."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    message = lines[0] if lines else type(error).__name__
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
