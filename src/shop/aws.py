"""AWS clients the API function uses, built on first use and reused while the environment is warm."""

from __future__ import annotations

import time
from typing import Any

from shop.declarations import DYNAMODB_BUDGET, HEALTH_PROBE_BUDGET, ClientBudget
from shop.lazy import Lazy


def client_config(budget: ClientBudget = DYNAMODB_BUDGET) -> Any:
    """botocore settings that keep one call inside ``budget`` (shop.declarations), retries included.

    An outage or a hung endpoint becomes a quick 503, not a Lambda (or API Gateway) timeout.
    """
    from botocore.config import Config

    return Config(
        connect_timeout=budget.connect_seconds,
        read_timeout=budget.read_seconds,
        retries={"total_max_attempts": budget.attempts, "mode": "standard"},
        tcp_keepalive=True,
    )


def _dynamodb() -> Any:
    """The DynamoDB client (cart, cache, idempotency), within :data:`DYNAMODB_BUDGET` per call.

    ``AWS_ENDPOINT_URL_DYNAMODB`` (set locally) points it at the moto server; boto3 reads it.
    """
    import boto3

    return boto3.client("dynamodb", config=client_config())


dynamodb: Lazy[Any] = Lazy(_dynamodb)


def _dynamodb_probe() -> Any:
    """A DynamoDB client for the deep health check: one attempt within HEALTH_PROBE_BUDGET."""
    import boto3

    return boto3.client("dynamodb", config=client_config(HEALTH_PROBE_BUDGET))


dynamodb_probe: Lazy[Any] = Lazy(_dynamodb_probe)


def now() -> int:
    """Epoch seconds (TTL attributes)."""
    return int(time.time())
