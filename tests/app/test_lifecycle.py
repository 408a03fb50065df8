"""The order lifecycle: allowed transitions only (API and database), history, shipping, cancel,
fulfilment, expiry of unpaid reservations, and migration 0004 on a database holding orders."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import psycopg
import pytest

from shop.db import migrate
from shop.declarations import ORDER_STATES, ORDER_TRANSITIONS
from tests.app.conftest import Call, schema_before
from tests.app.events import ADDRESS


def _cart_with(api: Call, lines: dict[str, int]) -> str:
    cart = api("POST", "/api/carts").body["cart_id"]
    for product_id, quantity in lines.items():
        assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return str(cart)


def _order(api: Call, lines: dict[str, int], address: dict[str, str] | None = None) -> dict[str, Any]:
    cart = _cart_with(api, lines)
    body = {"cart_id": cart, "email": "life@example.com", "shipping_address": address or ADDRESS}
    reply = api("POST", "/api/checkout", body=body)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def _stock(db: Any, product_id: str) -> int:
    return int(db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0])


def _status(db: Any, order_id: str) -> str:
    return str(db.execute("SELECT status FROM orders WHERE id = %s", (order_id,)).fetchone()[0])


def _force(db: Any, order_id: str, path: list[str]) -> None:
    """Walk the order along allowed transitions (as the payment side would), with history rows."""
    from shop.db.connection import Role, run
    from shop.domain import lifecycle

    current = _status(db, order_id)
    for to in path:
        extra = {"carrier": "UPS", "tracking_reference": "1Z999"} if to == "fulfilled" else {}
        assert run(
            Role.WRITER, lambda conn, c=current, t=to, x=extra: lifecycle.move(conn, order_id, c, t, "test", **x)
        )
        current = to


def test_the_database_holds_exactly_the_declared_transitions(shop: Any, db: Any) -> None:
    rows = set(db.execute("SELECT from_status, to_status FROM order_transitions").fetchall())
    assert rows == set(ORDER_TRANSITIONS)
    check = db.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'orders_status_check'"
    ).fetchone()[0]
    assert all(f"'{state}'" in check for state in ORDER_STATES)


def test_checkout_creates_a_pending_order_with_shipping_and_history(
    api: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    mug = shop["MUG-001"]
    order = _order(api, {mug["id"]: 2}, {**ADDRESS, "country": "de"})
    assert order["status"] == "pending_payment"
    assert (order["subtotal_cents"], order["shipping_cents"]) == (2800, 2500)  # europe zone
    assert order["total_cents"] == 2800 + 2500
    assert order["shipping_address"]["country"] == "DE"
    assert [(h["from_status"], h["to_status"], h["cause"]) for h in order["history"]] == [
        (None, "pending_payment", "checkout")
    ]
    assert _stock(db, mug["id"]) == mug["stock"] - 2  # reserved
    reply = api("GET", f"/api/orders/{order['order_id']}", headers={"X-Order-Token": order["order_token"]})
    assert reply.status == 200
    assert reply.body["history"] == order["history"] and reply.body["status"] == "pending_payment"


def test_shipping_rates_are_listed_and_unshipped_countries_refused(
    api: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    rates = api("GET", "/api/shipping-rates")
    assert rates.status == 200
    zones = {zone["zone"]: zone for zone in rates.body["zones"]}
    assert zones["domestic"]["rate_cents"] == 500 and "US" in zones["domestic"]["countries"]
    cart = _cart_with(api, {shop["MUG-001"]["id"]: 1})
    reply = api(
        "POST",
        "/api/checkout",
        body={"cart_id": cart, "email": "a@example.com", "shipping_address": {**ADDRESS, "country": "AQ"}},
    )
    assert (reply.status, reply.error_code) == (422, "unsupported_country")
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    assert _stock(db, shop["MUG-001"]["id"]) == shop["MUG-001"]["stock"]


@pytest.mark.parametrize(
    "address",
    [
        {k: v for k, v in ADDRESS.items() if k != "line1"},
        {**ADDRESS, "country": "USA"},
        {**ADDRESS, "postal_code": "<script>"},
        {**ADDRESS, "name": ""},
        {**ADDRESS, "phone": "123"},
    ],
)
def test_invalid_addresses_are_422(rest: Call, shop: dict[str, dict[str, Any]], db: Any, address: Any) -> None:
    cart = _cart_with(rest, {shop["MUG-001"]["id"]: 1})
    reply = rest("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com", "shipping_address": address})
    assert (reply.status, reply.error_code) == (422, "validation_error")
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_shopper_cancels_a_pending_order_and_stock_returns(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    lamp = shop["LMP-300"]
    order = _order(api, {lamp["id"]: 3})
    token = {"X-Order-Token": order["order_token"]}
    assert api("POST", f"/api/orders/{order['order_id']}/cancel").status == 404  # no token
    assert api("POST", f"/api/orders/{order['order_id']}/cancel", headers={"X-Order-Token": "x" * 43}).status == 404
    assert _stock(db, lamp["id"]) == lamp["stock"] - 3
    reply = api("POST", f"/api/orders/{order['order_id']}/cancel", headers=token)
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    assert [(h["from_status"], h["to_status"], h["cause"]) for h in reply.body["history"]][-1] == (
        "pending_payment",
        "cancelled",
        "shopper",
    )
    assert _stock(db, lamp["id"]) == lamp["stock"]
    again = api("POST", f"/api/orders/{order['order_id']}/cancel", headers=token)  # idempotent
    assert again.status == 200 and again.body == reply.body
    assert _stock(db, lamp["id"]) == lamp["stock"]  # released once


def test_shopper_cannot_cancel_a_paid_order(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    order = _order(api, {shop["MUG-001"]["id"]: 1})
    _force(db, order["order_id"], ["paid"])
    reply = api("POST", f"/api/orders/{order['order_id']}/cancel", headers={"X-Order-Token": order["order_token"]})
    assert (reply.status, reply.error_code) == (409, "invalid_transition")
    assert reply.body["error"]["details"] == {"status": "paid", "wanted": "cancelled"}
    assert _status(db, order["order_id"]) == "paid"


def test_admin_fulfils_a_paid_order_only(admin: Call, rest: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    order = _order(rest, {shop["MUG-001"]["id"]: 1})
    path = f"/api/admin/orders/{order['order_id']}/fulfilment"
    body = {"carrier": "DHL", "tracking_reference": "JD0142"}
    early = admin("POST", path, body=body)
    assert (early.status, early.error_code) == (409, "invalid_transition")
    assert rest("POST", path, body=body).status == 401  # no API key, no token
    _force(db, order["order_id"], ["paid"])
    done = admin("POST", path, body=body)
    assert done.status == 200 and done.body["status"] == "fulfilled"
    assert (done.body["carrier"], done.body["tracking_reference"]) == ("DHL", "JD0142")
    assert done.body["history"][-1]["cause"] == "admin"
    assert admin("POST", path, body=body).body == done.body  # idempotent
    other = admin("POST", path, body={"carrier": "UPS", "tracking_reference": "1Z"})
    assert (other.status, other.error_code) == (409, "invalid_transition")
    assert admin("POST", f"/api/admin/orders/{uuid.uuid4()}/fulfilment", body=body).status == 404


def test_every_transition_outside_the_list_is_refused_by_the_database(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    refused = [pair for pair in itertools.permutations(ORDER_STATES, 2) if pair not in ORDER_TRANSITIONS]
    assert len(refused) == 30 - len(ORDER_TRANSITIONS)
    paths = {
        "pending_payment": [],
        "paid": ["paid"],
        "fulfilled": ["paid", "fulfilled"],
        "cancelled": ["cancelled"],
        "refunded": ["paid", "refunded"],
        "partially_refunded": ["paid", "partially_refunded"],
    }
    for source, target in refused:
        order = _order(rest, {shop["SCK-102"]["id"]: 1})
        _force(db, order["order_id"], paths[source])
        history = db.execute("SELECT count(*) FROM order_history WHERE order_id = %s", (order["order_id"],)).fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="cannot go from"):
            db.execute("UPDATE orders SET status = %s WHERE id = %s", (target, order["order_id"]))
        assert _status(db, order["order_id"]) == source
        after = db.execute("SELECT count(*) FROM order_history WHERE order_id = %s", (order["order_id"],)).fetchone()
        assert after == history
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("UPDATE orders SET status = 'shipped'")
    with pytest.raises(psycopg.errors.CheckViolation, match="starts in pending_payment"):
        db.execute(
            "INSERT INTO orders (id, status, email, cart_id, total_cents) VALUES (%s, 'paid', 'a@b.c', 'x', 0)",
            (str(uuid.uuid4()),),
        )


def test_every_transition_outside_the_list_is_refused_by_the_application(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    from shop.api.errors import InvalidTransitionError
    from shop.db.connection import Role, run
    from shop.domain import lifecycle

    order = _order(rest, {shop["SCK-102"]["id"]: 1})
    for source, target in itertools.permutations(ORDER_STATES, 2):
        if (source, target) in ORDER_TRANSITIONS:
            continue
        with pytest.raises(InvalidTransitionError):
            run(Role.WRITER, lambda conn, s=source, t=target: lifecycle.move(conn, order["order_id"], s, t, "test"))
    # The guard: an allowed pair from the wrong current state changes nothing.
    assert not run(Role.WRITER, lambda conn: lifecycle.move(conn, order["order_id"], "paid", "fulfilled", "test"))
    assert _status(db, order["order_id"]) == "pending_payment"


def test_expiry_cancels_old_pending_orders_and_releases_their_stock(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    from shop.domain import fulfilment

    jacket = shop["JKT-103"]
    old = _order(rest, {jacket["id"]: 2})
    paid = _order(rest, {jacket["id"]: 1})
    fresh = _order(rest, {jacket["id"]: 1})
    _force(db, paid["order_id"], ["paid"])
    db.execute(
        "UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id IN (%s, %s)",
        (old["order_id"], paid["order_id"]),
    )
    assert _stock(db, jacket["id"]) == jacket["stock"] - 4
    assert fulfilment.expire(30 * 60) == [old["order_id"]]
    assert _status(db, old["order_id"]) == "cancelled"
    assert _status(db, paid["order_id"]) == "paid"
    assert _status(db, fresh["order_id"]) == "pending_payment"
    assert _stock(db, jacket["id"]) == jacket["stock"] - 2
    cause = db.execute(
        "SELECT cause FROM order_history WHERE order_id = %s ORDER BY id DESC LIMIT 1", (old["order_id"],)
    ).fetchone()[0]
    assert cause == "expiry"
    assert fulfilment.expire(30 * 60) == []  # nothing twice
    assert _stock(db, jacket["id"]) == jacket["stock"] - 2


def test_migration_0004_moves_placed_orders_to_paid_on_a_database_with_orders(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        product = schema_before(conn, 4)
        placed, cancelled = str(uuid.uuid4()), str(uuid.uuid4())
        for order_id, status in ((placed, "placed"), (cancelled, "cancelled")):
            conn.execute(
                "INSERT INTO orders (id, status, email, cart_id, total_cents) VALUES (%s, %s, 'a@b.c', %s, 200)",
                (order_id, status, order_id),
            )
            conn.execute(
                "INSERT INTO order_lines VALUES (%s, 1, %s, 'x', 2, 100, 200)",
                (order_id, product),
            )
    applied = migrate.migrate(scratch_db)
    assert applied[0] == "0004_order_lifecycle_payments"
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        statuses = dict(conn.execute("SELECT id::text, status FROM orders").fetchall())
        assert statuses == {placed: "paid", cancelled: "cancelled"}
        history = conn.execute("SELECT order_id::text, from_status, to_status, cause FROM order_history").fetchall()
        assert history == [(placed, "placed", "paid", "migration:0004")]
        # The migrated order follows the lifecycle from now on.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE orders SET status = 'pending_payment' WHERE id = %s", (placed,))
        conn.execute(
            "UPDATE orders SET status = 'fulfilled', carrier = 'UPS', tracking_reference = 'T1' WHERE id = %s",
            (placed,),
        )
