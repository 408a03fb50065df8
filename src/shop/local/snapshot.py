"""Keep the moto server's DynamoDB items across restarts of the local platform.

moto keeps everything in memory, so the local platform saves every table's items to a JSON file in
the data directory (mode 0600 in a 0700 directory; on shutdown, and every couple of seconds while
running when something changed) and loads them back into the fresh tables on start. A SIGKILL of
the platform loses at most the changes of the last interval (``SNAPSHOT_INTERVAL_SECONDS`` in
``shop.local.__main__``); a clean stop loses nothing. Items whose TTL has passed are dropped, as
DynamoDB would eventually do. Orders live in PostgreSQL, which is on disk anyway; this keeps carts
(and idempotency records) too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from shop.declarations import CACHE_TABLE, TABLES

FORMAT_VERSION = 1
SNAPSHOT_FILE = "dynamodb.json"
# The catalog cache is disposable (and could be stale after a restart): it starts empty.
PERSISTED = tuple(spec for spec in TABLES if spec is not CACHE_TABLE)


def _encode(value: Any) -> Any:
    """DynamoDB JSON from a low-level client is JSON-safe except for binary (bytes) values."""
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _expired(item: dict[str, Any], ttl_attribute: str | None, now: float) -> bool:
    if ttl_attribute is None or ttl_attribute not in item:
        return False
    raw = item[ttl_attribute].get("N")
    try:
        return raw is not None and float(raw) < now
    except ValueError:
        return False


_written: dict[Path, str] = {}  # path → digest of the tables last written there by this process


def save(client: Any, tables: dict[str, str], path: Path) -> int:
    """Write every table's items to ``path`` atomically (0600, fsynced); return how many items were saved.

    Unchanged contents are not written again, so saving every couple of seconds costs a scan, not a
    disk write.
    """
    data: dict[str, Any] = {"version": FORMAT_VERSION, "tables": {}}
    count = 0
    for spec in PERSISTED:
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=tables[spec.logical]):
            items.extend(page.get("Items", []))
        data["tables"][spec.logical] = _encode(items)
        count += len(items)
    from shop.local.services import prepare_data_dir, write_private

    encoded = json.dumps(data, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    if _written.get(path) == digest and path.exists():
        return count
    prepare_data_dir(path.parent)
    write_private(path, encoded.encode())
    _written[path] = digest
    return count


def restore(client: Any, tables: dict[str, str], path: Path) -> int:
    """Load the items saved in ``path`` (if any) into the tables; return how many were restored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0
    if data.get("version") != FORMAT_VERSION:
        return 0
    now = time.time()
    count = 0
    for spec in PERSISTED:
        items = [
            item
            for item in _decode(data.get("tables", {}).get(spec.logical, []))
            if not _expired(item, spec.ttl_attribute, now)
        ]
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            pending: dict[str, Any] = {tables[spec.logical]: requests}
            while pending:
                response = client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
        count += len(items)
    return count
