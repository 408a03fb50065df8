"""Settings read at call time and lazily created AWS clients."""

from __future__ import annotations

import os
import threading
import time
from contextvars import ContextVar
from typing import Any

from shop.declarations import TableSpec

_lock = threading.Lock()
_clients: dict[str, Any] = {}

# The Lambda context of the invocation being handled (set by the handler).
lambda_context: ContextVar[Any] = ContextVar("lambda_context", default=None)


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return max(value, minimum)


def table_name(spec: TableSpec) -> str:
    """Physical name of a table, from its environment variable (read now)."""
    name = os.environ.get(spec.env)
    if not name:
        raise RuntimeError(f"environment variable {spec.env} is not set")
    return name


def now() -> int:
    return int(time.time())


def dynamodb() -> Any:
    """A DynamoDB client with short timeouts (an outage should become a quick 503, not a Lambda timeout).

    ``AWS_ENDPOINT_URL_DYNAMODB`` (set locally) points it at the moto server. Recreated if that changes.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "")
    key = f"dynamodb|{endpoint}"
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"max_attempts": 3, "mode": "standard"},
                    tcp_keepalive=True,
                )
                client = boto3.client("dynamodb", config=config)
                _clients[key] = client
    return client
