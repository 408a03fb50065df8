"""Health of the function's dependencies, for the deep health check (``/api/health?deep=1``).

The plain health check (the ALB's and API Gateway's) touches nothing: a target stays healthy while
a store is down, and requests get 503s that say which. The deep check is for operators and the
local platform: it probes PostgreSQL (``SELECT 1`` on the writer) and DynamoDB (one ``GetItem`` on
the sessions table, which the function's role may call) concurrently, each with one attempt and
:data:`shop.declarations.HEALTH_PROBE_BUDGET`, and reports each one as ``ok``, ``unavailable`` or
``timeout``.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

from shop import aws, config
from shop.api.errors import ApiError
from shop.declarations import HEALTH_PROBE_BUDGET, SESSIONS_TABLE
from shop.lazy import Lazy

Status = Literal["ok", "unavailable", "timeout"]
PROBE_KEY = "health-probe"


class DependencyUnhealthyError(ApiError, status=503, code="service_unavailable"):
    """A backing store failed its probe (details: the status of each)."""


# One long-lived thread per probe: its database connection (thread-local) is reused by the next
# check, and a probe stuck on a hung store only makes the following checks report a timeout.
_executors: dict[str, Lazy[ThreadPoolExecutor]] = {
    name: Lazy(lambda name=name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"probe-{name}"))  # type: ignore[misc]
    for name in ("database", "dynamodb")
}


def _database() -> None:
    from shop.db.connection import Role, run

    run(Role.WRITER, lambda conn: conn.execute("SELECT 1").fetchone())


def _dynamodb() -> None:
    table = config.settings().table(SESSIONS_TABLE)
    aws.dynamodb_probe().get_item(TableName=table, Key={SESSIONS_TABLE.hash_key.name: {"S": PROBE_KEY}})


def _is_timeout(error: Exception) -> bool:
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

    if isinstance(error, (TimeoutError, ConnectTimeoutError, ReadTimeoutError)):
        return True
    return "timeout expired" in str(error) or "statement timeout" in str(error)  # psycopg's connect/statement


PROBES = {"database": _database, "dynamodb": _dynamodb}


def check() -> dict[str, Literal["ok"]]:
    """Probe every dependency; ``{name: status}``. Raises DependencyUnhealthyError unless all are ok."""
    futures: dict[str, Future[Any]] = {name: _executors[name]().submit(probe) for name, probe in PROBES.items()}
    deadline = time.monotonic() + HEALTH_PROBE_BUDGET.worst_case_seconds
    results: dict[str, Status] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timeout"
        except Exception as error:
            results[name] = "timeout" if _is_timeout(error) else "unavailable"
    if any(status != "ok" for status in results.values()):
        raise DependencyUnhealthyError("a backing service is unhealthy", dict(results))
    return dict.fromkeys(results, "ok")
