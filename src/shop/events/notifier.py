"""The notifier: SQS messages (EventBridge events of the shop) in, customer e-mails out through SES.

``handler`` is the Lambda entry point (the API image with the command ``shop.events.notifier.handler``,
an SQS event source mapping with ``ReportBatchItemFailures``): each record is processed on its own, and
the ids of the ones that failed go back in ``batchItemFailures`` so only those are retried (then,
after ``MAX_RECEIVE_COUNT`` receives, the dead-letter queue).

Per event, one transaction on the writer:

1. ``INSERT INTO sent_emails (event_id, ...) ON CONFLICT DO NOTHING``: a redelivered message (SQS
   and the relay are both at least once) finds the row and sends nothing; a concurrent duplicate
   waits on the key until the first delivery commits (then it sends nothing) or rolls back (then it
   sends).
2. Read the order by id (the event carries no personal data), render the template.
3. ``SendRawEmail`` (text and HTML parts), then commit with SES's message id.

A crash between SES accepting the e-mail and the commit sends it again on redelivery: at least once,
the one duplicate this design admits. Logs name the event id, the order id and the template; never
the address or the contents.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from shop import config
from shop.db.connection import DictConnection, Role, run
from shop.domain.orders import ORDER_ITEMS_SQL
from shop.events import DETAIL_VERSION, NOTIFICATIONS, SOURCE, DetailType, Template
from shop.events import templates as rendering
from shop.lazy import Lazy

log = logging.getLogger("shop.events.notifier")

_CLAIM_SQL = """
INSERT INTO sent_emails (event_id, order_id, template) VALUES (%s, %s, %s)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""
_SENT_SQL = "UPDATE sent_emails SET message_id = %s WHERE event_id = %s"
_ORDER_SQL = (
    """
SELECT o.id::text AS id, o.status, o.email, o.total_cents, o.currency, o.shipping_cents, o.refunded_cents,
       o.shipping_address, o.carrier, o.tracking_reference,
"""
    + ORDER_ITEMS_SQL
    + "WHERE o.id = %s GROUP BY o.id"
)


class UnsupportedEventError(ValueError):
    """Not an event this notifier understands (wrong source, a newer detail version, no ids)."""


def _ses() -> Any:
    from shop.aws import client, client_config

    return client("ses", config=client_config())


ses: Lazy[Any] = Lazy(_ses)


def _parse(envelope: dict[str, Any]) -> tuple[Template | None, dict[str, Any]]:
    if envelope.get("source") != SOURCE:
        raise UnsupportedEventError(f"source {envelope.get('source')!r} is not {SOURCE!r}")
    try:
        detail_type = DetailType(str(envelope.get("detail-type")))
    except ValueError:
        raise UnsupportedEventError(f"unknown detail type {envelope.get('detail-type')!r}") from None
    detail = envelope.get("detail")
    if not isinstance(detail, dict) or detail.get("version") != DETAIL_VERSION:
        raise UnsupportedEventError(f"{detail_type} detail is not version {DETAIL_VERSION}")
    if not detail.get("event_id") or (not detail.get("order_id") and detail_type in NOTIFICATIONS):
        raise UnsupportedEventError(f"{detail_type} detail lacks event_id or order_id")
    return NOTIFICATIONS.get(detail_type), detail


def notify(envelope: dict[str, Any]) -> str:
    """Send the e-mail ``envelope`` (one EventBridge event) calls for, once; the outcome's name."""
    template, detail = _parse(envelope)
    if template is None:
        return "ignored"
    settings = config.settings()
    sender = settings.sender_email
    if not sender:
        raise RuntimeError("SENDER_EMAIL is not set")
    event_id, order_id = str(detail["event_id"]), str(detail["order_id"])

    def work(conn: DictConnection) -> str:
        with conn.transaction():
            if conn.execute(_CLAIM_SQL, (event_id, order_id, template.value)).fetchone() is None:
                return "duplicate"
            order = conn.execute(_ORDER_SQL, (order_id,)).fetchone()
            if order is None:
                return "unknown_order"  # the claim commits: a redelivery changes nothing
            message = rendering.mime(rendering.render(template, order), sender, order["email"], event_id)
            answer = ses().send_raw_email(
                Source=sender, Destinations=[order["email"]], RawMessage={"Data": message.as_bytes()}
            )
            conn.execute(_SENT_SQL, (answer.get("MessageId"), event_id))
            return "sent"

    outcome = run(Role.WRITER, work)
    log.info(
        "notification %s",
        outcome,
        extra={"event_id": event_id, "order_id": order_id, "template": template.value, "outcome": outcome},
    )
    return outcome


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch in; ``batchItemFailures`` out (only the failed records are retried)."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId", ""))
        try:
            notify(json.loads(record["body"]))
        except Exception as error:
            # The type and message id only: an exception's text could quote the order or address.
            log.error("notification failed", extra={"message_id": message_id, "error": type(error).__name__})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
