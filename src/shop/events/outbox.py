"""The outbox writer: events are rows of ``outbox`` written in the transaction of the change.

Order transitions and low-stock crossings are written by the database (migration 0006's triggers on
``order_history`` and ``products``), so no code path can change an order or a stock level without
its event. :func:`product_changed` is the one event the application writes itself (a sale's stock
change is not a product change); it must run inside the caller's transaction.

:func:`mark` tells the request's entry point that events may be waiting, so it runs the relay once
after the response is ready (``shop.events.relay.after_commit``); the scheduled sweep catches
anything that misses.
"""

from __future__ import annotations

import threading
import uuid
from typing import Literal

from shop.db.connection import DictConnection
from shop.events import DETAIL_VERSION, DetailType

ProductChange = Literal["created", "updated", "stock", "archived"]

_PRODUCT_CHANGED_SQL = f"""
INSERT INTO outbox (id, detail_type, subject_id, detail)
SELECT %(event_id)s::uuid, '{DetailType.PRODUCT_CHANGED}', p.id, jsonb_build_object(
    'version', {DETAIL_VERSION},
    'event_id', %(event_id)s::uuid::text,
    'occurred_at', outbox_time(now()),
    'product_id', p.id::text,
    'change', %(change)s::text,
    'sku', p.sku,
    'name', p.name,
    'category', p.category,
    'price_cents', p.price_cents,
    'currency', p.currency,
    'stock', p.stock)
FROM products AS p WHERE p.id = %(product_id)s
"""

_state = threading.local()


def product_changed(conn: DictConnection, product_id: str, change: ProductChange) -> str:
    """In the caller's transaction: a ProductChanged event for the product as it is now; its id."""
    event_id = str(uuid.uuid4())
    conn.execute(_PRODUCT_CHANGED_SQL, {"event_id": event_id, "product_id": product_id, "change": change})
    mark()
    return event_id


def mark() -> None:
    """This thread's request may have written events: publish them after it (best effort)."""
    _state.pending = True


def take_mark() -> bool:
    """Whether :func:`mark` was called since the last call, and clear it."""
    pending = bool(getattr(_state, "pending", False))
    _state.pending = False
    return pending
