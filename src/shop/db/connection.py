"""PostgreSQL connections for the API function.

In AWS (``DB_IAM_AUTH=true``) the function connects to the RDS Proxy endpoints (``DB_WRITER_HOST`` for
writes, ``DB_READER_HOST`` for catalog reads) with TLS and an IAM authentication token as password. A
token is valid for 15 minutes; it is generated when a connection is opened and cached until shortly
before it expires. Locally, ``DATABASE_URL`` / ``DATABASE_READER_URL`` are plain libpq URLs.

Connections are kept per role and per thread (one thread per Lambda execution environment; the
local server and the tests use threads) and reused across warm invocations. A reused connection that
turns out to be closed or broken is reopened once. Settings come from ``shop.config`` (parsed once).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from shop.config import settings
from shop.declarations import DATABASE_BUDGET, Env
from shop.lazy import Lazy

T = TypeVar("T")

# Within DATABASE_BUDGET (shop.declarations): libpq's connect_timeout takes whole seconds, and the
# server cancels any statement that runs longer than statement_timeout. The timeout is a setting of
# the application role (``ALTER ROLE ... SET``, applied by every ``shop.db.migrate`` run), not a
# startup option: RDS Proxy multiplexes client sessions over its own backend connections, which
# take the role's settings when they sign in, and a startup option is session state the proxy
# would have to forward or pin a backend for.
CONNECT_TIMEOUT_SECONDS = max(1, int(DATABASE_BUDGET.connect_seconds))
STATEMENT_TIMEOUT_MS = int(DATABASE_BUDGET.read_seconds * 1000)
# IAM auth tokens live 15 minutes; stop handing one out well before that.
TOKEN_REUSE_SECONDS = 10 * 60

# psycopg is imported on the first database call, not with this module: a cold start that serves
# a cached catalog read or a cart never pays for it.
if TYPE_CHECKING:
    import psycopg

    DictConnection = psycopg.Connection[dict[str, Any]]
else:
    DictConnection = Any


class Role(StrEnum):
    WRITER = "writer"
    READER = "reader"


class DatabaseNotConfiguredError(RuntimeError):
    """Neither IAM settings nor a DATABASE_URL are present."""


_local = threading.local()
_token_lock = threading.Lock()
_token_cache: dict[tuple[str, int, str, str], tuple[str, float]] = {}


def _rds_client() -> Any:
    from shop import aws

    return aws.client("rds", region_name=settings().database.region or None)


rds: Lazy[Any] = Lazy(_rds_client)


def auth_token(host: str, port: int, user: str, region: str) -> str:
    """An RDS IAM authentication token for ``user`` at ``host:port``, cached until shortly before expiry."""
    key = (host, port, user, region)
    now = time.monotonic()
    with _token_lock:
        cached = _token_cache.get(key)
        if cached is not None and now - cached[1] < TOKEN_REUSE_SECONDS:
            return cached[0]
    token: str = rds().generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
    with _token_lock:
        _token_cache[key] = (token, now)
    return token


def connect_kwargs(role: Role) -> dict[str, Any]:
    """psycopg.connect() arguments for ``role``, from the settings."""
    db = settings().database
    from psycopg.rows import dict_row

    common: dict[str, Any] = {
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": settings().service_name,
        "row_factory": dict_row,
    }
    if db.iam_auth:
        if not db.writer_host or not db.user:
            raise DatabaseNotConfiguredError(f"{Env.DB_IAM_AUTH}=true needs {Env.DB_WRITER_HOST} and {Env.DB_USER}")
        host = (db.reader_host or db.writer_host) if role is Role.READER else db.writer_host
        return {
            **common,
            "host": host,
            "port": db.port,
            "dbname": db.name,
            "user": db.user,
            "password": auth_token(host, db.port, db.user, db.region),
            "sslmode": "require",
        }
    url = db.url
    if role is Role.READER:
        url = db.reader_url or url
    if not url:
        raise DatabaseNotConfiguredError(
            f"set {Env.DATABASE_URL} (locally) or {Env.DB_IAM_AUTH}=true with the proxy settings"
        )
    return {**common, "conninfo": url}


def _open(role: Role) -> DictConnection:
    from shop.db import wakeup  # with psycopg: on the first database call, not at cold start

    budget = wakeup.budget_seconds(iam_auth=settings().database.iam_auth)
    return wakeup.connect_until_ready(lambda: _open_once(role), budget_seconds=budget)


def _open_once(role: Role) -> DictConnection:
    import psycopg

    kwargs = connect_kwargs(role)
    conninfo = kwargs.pop("conninfo", "")
    conn: DictConnection = psycopg.connect(conninfo, **kwargs)
    return conn


def _slot() -> dict[Role, DictConnection]:
    slot: dict[Role, DictConnection] | None = getattr(_local, "connections", None)
    if slot is None:
        slot = {}
        _local.connections = slot
    return slot


def get_connection(role: Role) -> tuple[DictConnection, bool]:
    """This thread's connection for ``role`` (opened if needed) and whether it was reused."""
    slot = _slot()
    conn = slot.get(role)
    if conn is not None and not conn.closed and not conn.broken:
        return conn, True
    if conn is not None:
        discard(role)
    conn = _open(role)
    slot[role] = conn
    return conn, False


def discard(role: Role) -> None:
    """Close and forget this thread's connection for ``role``."""
    conn = _slot().pop(role, None)
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def close_all() -> None:
    """Close this thread's connections (tests, shutdown)."""
    for role in list(_slot()):
        discard(role)


def run(role: Role, work: Callable[[DictConnection], T]) -> T:
    """Run ``work`` with this thread's connection for ``role``.

    If a *reused* connection fails with an OperationalError (the proxy or server closed it while the
    environment was frozen), it is discarded and ``work`` runs once more on a fresh connection. Work
    that writes must do so in one transaction so that a failed attempt leaves nothing behind. A
    failure on a fresh connection propagates (the API maps it to 503).
    """
    import psycopg

    conn, reused = get_connection(role)
    try:
        return work(conn)
    except psycopg.OperationalError:
        discard(role)
        if not reused:
            raise
    conn, _ = get_connection(role)
    try:
        return work(conn)
    except psycopg.OperationalError:
        discard(role)
        raise
