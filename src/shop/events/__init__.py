"""Order, stock and product events (issue 14): the one declaration app and infra share.

What every part must agree on lives here: the detail types, the EventBridge source, the detail
version, the bus name, the status → detail type pairs (migration 0006's trigger holds the same
pairs; a test keeps them equal), which events send which e-mail, and the JSON Schema of each
detail (``shop/events/schemas/<DetailType>.json``, JSON Schema draft 4, the dialect EventBridge's
schema registry takes). The infra program registers those schemas; the tests validate every emitted
event against them.

Imports nothing heavy: the API function, the relay and notifier functions and the Pulumi program all
import this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from shop.declarations import physical_name

# EventBridge: every event the shop publishes has this source; ``detail-type`` is a DetailType.
SOURCE = "ecommerce.shop"
# The version of every detail document (``detail.version``); a breaking change is a new version
# and a new schema version in the registry, announced before the old one goes.
DETAIL_VERSION = 1
# PutEvents takes at most 10 entries per call (EventBridge API reference, PutEvents).
PUT_EVENTS_MAX_ENTRIES = 10
# An entry is at most 256 KB (EventBridge quotas); a detail here is well under 2 KB.
PUT_EVENTS_MAX_ENTRY_BYTES = 256 * 1024
# The relay's backstop schedule (EventBridge Scheduler's finest rate is one minute).
RELAY_INTERVAL_SECONDS = 60
# Published rows are deleted after this long (the bus's archive keeps the events for replay).
OUTBOX_RETENTION_DAYS = 7
# The archive keeps every event the bus receives for this long (replay after a consumer bug).
ARCHIVE_RETENTION_DAYS = 30
# A message that failed this many times goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5


class DetailType(StrEnum):
    ORDER_PLACED = "OrderPlaced"
    ORDER_PAID = "OrderPaid"
    ORDER_FULFILLED = "OrderFulfilled"
    ORDER_CANCELLED = "OrderCancelled"
    ORDER_REFUNDED = "OrderRefunded"
    STOCK_LOW = "StockLow"
    PRODUCT_CHANGED = "ProductChanged"


# Order status reached by a transition → the event it emits (every status has one).
ORDER_EVENTS: dict[str, DetailType] = {
    "pending_payment": DetailType.ORDER_PLACED,
    "paid": DetailType.ORDER_PAID,
    "fulfilled": DetailType.ORDER_FULFILLED,
    "cancelled": DetailType.ORDER_CANCELLED,
    "refunded": DetailType.ORDER_REFUNDED,
    "partially_refunded": DetailType.ORDER_REFUNDED,
}


class Template(StrEnum):
    """The customer e-mails (``shop.events.templates``)."""

    CONFIRMATION = "order_confirmation"
    SHIPPED = "order_shipped"
    CANCELLED = "order_cancelled"
    REFUNDED = "order_refunded"


# Which events e-mail the customer, and with what. The notifier's rule matches exactly these.
NOTIFICATIONS: dict[DetailType, Template] = {
    DetailType.ORDER_PAID: Template.CONFIRMATION,
    DetailType.ORDER_FULFILLED: Template.SHIPPED,
    DetailType.ORDER_CANCELLED: Template.CANCELLED,
    DetailType.ORDER_REFUNDED: Template.REFUNDED,
}


@dataclass(frozen=True)
class EventSpec:
    """One detail type for the docs: when it is emitted (ARCHITECTURE.md "Events" lists these)."""

    detail_type: DetailType
    when: str


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(DetailType.ORDER_PLACED, "checkout placed the order (pending_payment, stock reserved)"),
    EventSpec(DetailType.ORDER_PAID, "the payment succeeded (Stripe webhook or replay)"),
    EventSpec(DetailType.ORDER_FULFILLED, "the shop shipped the order (carrier and tracking reference)"),
    EventSpec(DetailType.ORDER_CANCELLED, "shopper, admin or the expiry job cancelled the order (stock released)"),
    EventSpec(DetailType.ORDER_REFUNDED, "the order was refunded in full or in part"),
    EventSpec(DetailType.STOCK_LOW, "a stock change took a product from at or above its threshold to below it"),
    EventSpec(DetailType.PRODUCT_CHANGED, "the back office created or changed a product or set its stock"),
)

# Logical names (physical: ``physical_name(<logical>, suffix)``) of the notification resources.
NOTIFY_QUEUE = "notifications"
NOTIFY_DLQ = "notifications-dlq"
NOTIFY_RULE = "notify"
SCHEMA_REGISTRY = "events"


EVENT_BUS = "events"


def bus_name(suffix: str) -> str:
    """The custom event bus, by the physical-name rule: ``ecommerce-events-<suffix>`` (one bus per copy
    of the platform; the issue's ``ecommerce-<suffix>`` with the rule's resource segment)."""
    return physical_name(EVENT_BUS, suffix)


def schema_name(detail_type: DetailType | str) -> str:
    """The logical name of a detail type's schema in the registry: ``OrderPlaced`` → ``order-placed``."""
    value = DetailType(detail_type).value
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in value).lstrip("-")


def resource_name(logical: str, suffix: str) -> str:
    return physical_name(logical, suffix)


@cache
def schema(detail_type: DetailType | str) -> dict[str, Any]:
    """The JSON Schema (draft 4) of ``detail_type``'s detail, from ``shop/events/schemas``."""
    text = resources.files("shop.events").joinpath("schemas", f"{DetailType(detail_type)}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def envelope_schema(detail_type: DetailType | str) -> dict[str, Any]:
    """The whole EventBridge event for the schema registry: source, detail-type and the detail."""
    kind = DetailType(detail_type)
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": kind.value,
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": {"type": "string", "enum": [SOURCE]},
            "detail-type": {"type": "string", "enum": [kind.value]},
            "detail": {key: value for key, value in schema(kind).items() if key != "$schema"},
        },
    }


def notification_pattern() -> dict[str, Any]:
    """The notifier rule's event pattern: the shop's events that e-mail the customer."""
    return {"source": [SOURCE], "detail-type": sorted(t.value for t in NOTIFICATIONS)}
