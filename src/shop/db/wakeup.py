"""Connecting to a database that is not accepting connections yet.

Two cases wait for the database rather than fail:

- the first ``pulumi up``: ``aws.rds.ProxyTarget`` returns before the proxy's target is AVAILABLE, so
  the migration function's first attempts are refused or time out (``MIGRATION_BUDGET_SECONDS``);
- a dev cluster at 0 ACU: Aurora Serverless v2 resumes a paused instance when a connection arrives,
  which takes about 15 s; until then connection attempts time out or are refused
  (``API_BUDGET_SECONDS``).

:func:`connect_until_ready` retries ``connect`` on ``psycopg.OperationalError`` with capped
exponential backoff and jitter until a budget runs out, then raises the last error. Any other error
(a bad password, a missing database, a programming error) propagates at once: waiting would not fix it.

The budgets nest inside the callers' timeouts (tests/app/test_wakeup.py and tests/infra check them):
the API's 20 s leaves API Gateway's 29 s integration timeout room for the request's own work; the
migration's 120 s (plus one attempt) stays under half the migration function's 300 s timeout.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

T = TypeVar("T")

log = logging.getLogger(__name__)

# Longest time the API waits for a (resuming) database before answering 503.
API_BUDGET_SECONDS = 20.0
# Longest time a migration run waits for the database (first deploy: the proxy target registering).
MIGRATION_BUDGET_SECONDS = 120.0
# Locally nothing pauses: a server that is down stays down, so answer 503 quickly.
LOCAL_BUDGET_SECONDS = 1.0
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 5.0


def budget_seconds(*, iam_auth: bool) -> float:
    """How long the API waits for the database: in AWS (IAM auth) long enough for a resume."""
    return API_BUDGET_SECONDS if iam_auth else LOCAL_BUDGET_SECONDS


def connect_until_ready(
    connect: Callable[[], T],
    *,
    budget_seconds: float,
    first_delay: float = FIRST_DELAY_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``connect()``, retried on ``psycopg.OperationalError`` until ``budget_seconds`` have passed."""
    deadline = clock() + budget_seconds
    delay = first_delay
    attempt = 1
    while True:
        try:
            return connect()
        except psycopg.OperationalError as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                raise
            pause = min(delay * random.uniform(0.5, 1.0), remaining)  # jitter, not security
            log.warning("database not ready (attempt %d, %s); retrying in %.2f s", attempt, exc, pause)
            sleep(pause)
            delay = min(delay * 2, max_delay)
            attempt += 1
