"""AWS clients the API function uses, built on first use and reused while the environment is warm.

Clients come from one botocore session (:func:`client`), not from boto3: the function calls the
low-level client API only, and ``import boto3`` (its resources layer, s3transfer and what that pulls
in) was a share of every cold start that nothing used. botocore reads the same environment as boto3
(credentials, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_<SERVICE>``), and the X-Ray SDK's botocore
patch traces these clients as it traces boto3's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shop.declarations import DYNAMODB_BUDGET, HEALTH_PROBE_BUDGET, ClientBudget
from shop.lazy import Lazy


def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


session: Lazy[Any] = Lazy(_session)
# A botocore session is not safe for concurrent client creation (its component caches); clients are.
_create_lock = threading.Lock()


def client(service: str, config: Any = None, **kwargs: Any) -> Any:
    """A low-level client for ``service`` from the shared session (``region_name``, ``endpoint_url``...)."""
    with _create_lock:
        return session().create_client(service, config=config, **kwargs)


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

    ``AWS_ENDPOINT_URL_DYNAMODB`` (set locally) points it at the moto server; botocore reads it.
    """
    return client("dynamodb", config=client_config())


dynamodb: Lazy[Any] = Lazy(_dynamodb)


def _dynamodb_probe() -> Any:
    """A DynamoDB client for the deep health check: one attempt within HEALTH_PROBE_BUDGET."""
    return client("dynamodb", config=client_config(HEALTH_PROBE_BUDGET))


dynamodb_probe: Lazy[Any] = Lazy(_dynamodb_probe)


def now() -> int:
    """Epoch seconds (TTL attributes)."""
    return int(time.time())
