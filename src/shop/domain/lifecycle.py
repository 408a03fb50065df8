"""The order lifecycle (issue 12): every change of status is one guarded statement plus its history row.

States and the allowed pairs are ``shop.declarations.ORDER_TRANSITIONS``; the database holds the same
pairs (``order_transitions``, migration 0004) and its trigger refuses any other change, whoever
writes. :func:`move` is the only way the application changes an order's status::

    UPDATE orders SET status = <to> WHERE id = <id> AND status = <expected>   -- the guard
    INSERT INTO order_history (order_id, from_status, to_status, cause) ...   -- same statement

and, through the history row's trigger (migration 0006), its event in the outbox (``shop.events``);
so a concurrent change (a webhook racing the expiry job, two admins) makes exactly one of them win;
the loser sees ``False`` and decides from the order's new status. Stock goes back at most once
(``orders.stock_released``, :func:`release_stock`).

Causes are short strings: ``checkout``, ``shopper``, ``admin``, ``expiry``, ``stripe:<event id>``,
``migration:0004``.
"""

from __future__ import annotations

from typing import Any

from shop.api.errors import InvalidTransitionError
from shop.db.connection import DictConnection
from shop.declarations import ORDER_TRANSITIONS
from shop.events import outbox

_MOVE_SQL = """
WITH moved AS (
    UPDATE orders SET status = %(to)s, updated_at = now(){extra}
    WHERE id = %(id)s AND status = %(expected)s
    RETURNING id
)
INSERT INTO order_history (order_id, from_status, to_status, cause)
SELECT id, %(expected)s, %(to)s, %(cause)s FROM moved
RETURNING id
"""

_RELEASE_SQL = """
WITH released AS (
    UPDATE orders SET stock_released = true WHERE id = %(id)s AND NOT stock_released RETURNING id
), restocked AS (
    UPDATE products AS p SET stock = p.stock + l.quantity, updated_at = now()
    FROM order_lines AS l, released
    WHERE l.order_id = released.id AND p.id = l.product_id
    RETURNING p.id
)
SELECT (SELECT count(*) FROM released) AS released, (SELECT count(*) FROM restocked) AS lines
"""

# Column assignments a transition may carry, by name (never from input keys).
_EXTRA_COLUMNS = ("carrier", "tracking_reference", "refunded_cents")


def allowed(current: str, wanted: str) -> bool:
    return (current, wanted) in ORDER_TRANSITIONS


def move(conn: DictConnection, order_id: str, expected: str, to: str, cause: str, **columns: Any) -> bool:
    """Move the order from ``expected`` to ``to`` with its history row; False if it was not in ``expected``.

    Refuses a pair outside the lifecycle before asking the database (which would refuse it too).
    ``columns`` (carrier, tracking_reference, refunded_cents) are set in the same UPDATE.
    """
    if not allowed(expected, to):
        raise InvalidTransitionError(f"an order cannot go from {expected} to {to}", {"status": expected, "wanted": to})
    unknown = set(columns) - set(_EXTRA_COLUMNS)
    if unknown:
        raise ValueError(f"not a transition column: {sorted(unknown)}")
    extra = "".join(f", {name} = %({name})s" for name in _EXTRA_COLUMNS if name in columns)
    params = {"id": order_id, "expected": expected, "to": to, "cause": cause[:255], **columns}
    moved = conn.execute(_MOVE_SQL.format(extra=extra), params).fetchone() is not None
    if moved:
        outbox.mark()  # its event row was written by the history row's trigger (migration 0006)
    return moved


def release_stock(conn: DictConnection, order_id: str) -> bool:
    """Put the order's lines back into stock, once per order; True if this call released them."""
    row = conn.execute(_RELEASE_SQL, {"id": order_id}).fetchone()
    return bool(row and row["released"])


def status_of(conn: DictConnection, order_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The order's status and payment columns (``FOR UPDATE`` with ``lock``), or None."""
    query = (
        "SELECT id::text AS id, status, total_cents, refunded_cents, payment_intent_id, stock_released,"
        " carrier, tracking_reference, created_at FROM orders WHERE id = %s"
    )
    return conn.execute(query + (" FOR UPDATE" if lock else ""), (order_id,)).fetchone()


def refuse(current: str, wanted: str) -> InvalidTransitionError:
    return InvalidTransitionError(
        f"the order is {current}; it cannot become {wanted}", {"status": current, "wanted": wanted}
    )
