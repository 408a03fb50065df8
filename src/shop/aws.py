"""AWS clients the API function uses, built on first use and reused while the environment is warm."""

from __future__ import annotations

import time
from typing import Any

from shop.lazy import Lazy


def _dynamodb() -> Any:
    """A DynamoDB client with short timeouts (an outage should become a quick 503, not a Lambda timeout).

    ``AWS_ENDPOINT_URL_DYNAMODB`` (set locally) points it at the moto server; boto3 reads it.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 3, "mode": "standard"},
        tcp_keepalive=True,
    )
    return boto3.client("dynamodb", config=config)


dynamodb: Lazy[Any] = Lazy(_dynamodb)


def now() -> int:
    """Epoch seconds (TTL attributes)."""
    return int(time.time())
