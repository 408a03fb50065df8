"""Read-through cache for hot catalog reads, in the DynamoDB cache table.

Entries live ``CACHE_TTL_SECONDS`` (``expires_at``, the table's TTL attribute; expired entries are
ignored before DynamoDB's TTL sweep removes them). Invalidation does not hunt for keys: every entry
records the catalog *epoch* it was filled under, and a write to the catalog (admin change, stock
sold at checkout) increments the epoch, which makes every older entry a miss. A read fetches its
entry and the epoch in one BatchGetItem; the epoch is read *before* the database, so a fill that
races with a write is stored under the old epoch and never served. The cache is an optimisation:
when DynamoDB fails, reads go to the database and the failure is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shop import config
from shop.api import observability as obs
from shop.aws import dynamodb, now
from shop.declarations import CACHE_TABLE

EPOCH_KEY = "catalog#epoch"
_KEY = CACHE_TABLE.hash_key.name
_TTL = CACHE_TABLE.ttl_attribute or "expires_at"


def _ttl() -> int:
    return config.settings().cache_ttl_seconds


def read_through(key: str, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The cached value for ``key`` if fresh, else ``load()`` (stored for next time)."""
    ttl = _ttl()
    if ttl <= 0:
        return load()
    from botocore.exceptions import BotoCoreError, ClientError

    table = config.settings().table(CACHE_TABLE)
    client = dynamodb()
    epoch = 0
    try:
        response = client.batch_get_item(RequestItems={table: {"Keys": [{_KEY: {"S": key}}, {_KEY: {"S": EPOCH_KEY}}]}})
        items = {item[_KEY]["S"]: item for item in response.get("Responses", {}).get(table, [])}
        if EPOCH_KEY in items:
            epoch = int(items[EPOCH_KEY]["epoch"]["N"])
        hit = items.get(key)
        if hit is not None and int(hit[_TTL]["N"]) > now() and int(hit["epoch"]["N"]) == epoch:
            obs.count("CacheHits")
            value: dict[str, Any] = json.loads(hit["value"]["S"])
            return value
    except (BotoCoreError, ClientError, KeyError, ValueError):
        obs.logger().warning("cache read failed; reading the database", extra={"cache_key": key}, exc_info=True)
        return load()
    obs.count("CacheMisses")
    value = load()
    try:
        client.put_item(
            TableName=table,
            Item={
                _KEY: {"S": key},
                "value": {"S": json.dumps(value, separators=(",", ":"))},
                "epoch": {"N": str(epoch)},
                _TTL: {"N": str(now() + ttl)},
            },
        )
    except (BotoCoreError, ClientError):
        obs.logger().warning("cache fill failed", extra={"cache_key": key}, exc_info=True)
    return value


def invalidate() -> None:
    """Make every cached catalog entry stale (after a committed catalog or stock change)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        dynamodb().update_item(
            TableName=config.settings().table(CACHE_TABLE),
            Key={_KEY: {"S": EPOCH_KEY}},
            UpdateExpression="ADD epoch :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except (BotoCoreError, ClientError):
        # Entries still expire within CACHE_TTL_SECONDS.
        obs.logger().error("cache invalidation failed; entries expire by TTL", exc_info=True)
