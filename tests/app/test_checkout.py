"""Checkout and orders: one transaction, guarded stock, idempotent retries, outages, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import boto3
import psycopg
import pytest

from shop.local.services import free_port
from tests.app.conftest import Call, make_call


def _cart_with(api: Call, lines: dict[str, int]) -> str:
    cart = api("POST", "/api/carts").body["cart_id"]
    for product_id, quantity in lines.items():
        assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return str(cart)


def _counts(db: Any) -> tuple[int, int]:
    orders = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    lines = db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    return int(orders), int(lines)


def _stock(db: Any, product_id: str) -> int:
    return int(db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0])


def test_checkout_places_the_order_in_one_go(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, app_env: dict[str, str]
) -> None:
    mug, lamp = shop["MUG-001"], shop["LMP-300"]
    cart = _cart_with(api, {mug["id"]: 2, lamp["id"]: 1})
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "Buyer@Example.com"})
    assert reply.status == 201
    order = reply.body
    assert order["status"] == "placed" and order["currency"] == "USD"
    assert order["email"] == "Buyer@Example.com"
    assert order["total_cents"] == 2 * 1400 + 6400
    assert sorted(
        (line["product_id"], line["quantity"], line["unit_price_cents"]) for line in order["items"]
    ) == sorted([(mug["id"], 2, 1400), (lamp["id"], 1, 6400)])
    assert all(line["line_total_cents"] == line["quantity"] * line["unit_price_cents"] for line in order["items"])
    assert datetime.fromisoformat(order["created_at"]).tzinfo is not None
    assert len(order["order_token"]) >= 32
    # Stock taken, order and lines written, nothing about the token stored, cart cleared.
    assert _stock(db, mug["id"]) == mug["stock"] - 2
    assert _stock(db, lamp["id"]) == lamp["stock"] - 1
    assert _counts(db) == (1, 2)
    row = db.execute("SELECT * FROM orders WHERE id = %s", (order["order_id"],)).fetchone()
    assert row[1] is None  # token_hash: only orders from before migration 0002 carry one
    assert order["order_token"] not in repr(row)
    assert api("GET", f"/api/carts/{cart}").status == 404
    item = boto3.client("dynamodb").get_item(TableName=app_env["SESSIONS_TABLE"], Key={"session_id": {"S": cart}})
    assert "Item" not in item


def test_order_read_back_needs_its_token(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    cart = _cart_with(api, {shop["SCK-102"]["id"]: 4})
    placed = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}).body
    reply = api("GET", f"/api/orders/{placed['order_id']}", headers={"X-Order-Token": placed["order_token"]})
    assert reply.status == 200
    expected = {k: v for k, v in placed.items() if k != "order_token"}
    assert reply.body == expected
    wrong = api("GET", f"/api/orders/{placed['order_id']}", headers={"X-Order-Token": "x" * 43})
    missing = api("GET", f"/api/orders/{placed['order_id']}")
    unknown = api("GET", f"/api/orders/{uuid.uuid4()}", headers={"X-Order-Token": placed["order_token"]})
    garbage = api("GET", "/api/orders/not-an-id", headers={"X-Order-Token": placed["order_token"]})
    for reply in (wrong, missing, unknown, garbage):
        assert reply.status == 404
        assert reply.error_code == "not_found"
        assert reply.body["error"]["message"] == "order not found"  # the same whichever was wrong


def test_empty_and_unknown_carts(api: Call, db: Any) -> None:
    cart = api("POST", "/api/carts").body["cart_id"]
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"})
    assert (reply.status, reply.error_code) == (409, "cart_empty")
    reply = api("POST", "/api/checkout", body={"cart_id": "nope", "email": "a@example.com"})
    assert (reply.status, reply.error_code) == (404, "not_found")
    assert _counts(db) == (0, 0)


def test_invalid_checkout_bodies_are_422(api: Call, db: Any) -> None:
    cart = api("POST", "/api/carts").body["cart_id"]
    for body in (
        {"cart_id": cart},
        {"cart_id": cart, "email": "not-an-email"},
        {"cart_id": "", "email": "a@example.com"},
        {"cart_id": cart, "email": "a@example.com", "total_cents": 1},
        [],
    ):
        reply = api("POST", "/api/checkout", body=body)
        assert (reply.status, reply.error_code) == (422, "validation_error"), body
    assert _counts(db) == (0, 0)


def test_out_of_stock_is_409_and_writes_nothing(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    jacket, mug = shop["JKT-103"], shop["MUG-001"]  # jacket stock 8
    cart = _cart_with(api, {jacket["id"]: 5, mug["id"]: 1})
    db.execute("UPDATE products SET stock = 4 WHERE id = %s", (jacket["id"],))  # sold elsewhere meanwhile
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"})
    assert (reply.status, reply.error_code) == (409, "out_of_stock")
    assert reply.body["error"]["details"]["items"] == [{"product_id": jacket["id"], "requested": 5, "available": 4}]
    assert _counts(db) == (0, 0)
    assert _stock(db, mug["id"]) == mug["stock"]  # the line that was available was not taken either
    assert _stock(db, jacket["id"]) == 4
    assert len(api("GET", f"/api/carts/{cart}").body["items"]) == 2  # the cart survives


def test_checkout_uses_current_prices(api: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    tee = shop["TEE-100"]
    cart = _cart_with(api, {tee["id"]: 2})
    admin("PUT", f"/api/admin/products/{tee['id']}", body={"price_cents": 1999})
    order = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}).body
    assert order["total_cents"] == 2 * 1999
    assert db.execute("SELECT total_cents FROM orders").fetchone()[0] == 2 * 1999


def test_idempotent_retry_returns_the_first_order_and_creates_nothing(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, app_env: dict[str, str]
) -> None:
    mug = shop["MUG-002"]
    cart = _cart_with(api, {mug["id"]: 3})
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}, headers=key)
    second = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}, headers=key)
    assert first.status == second.status == 201
    assert second.body == first.body
    assert _counts(db) == (1, 1)
    assert _stock(db, mug["id"]) == mug["stock"] - 3
    # The order row carries the key; nothing is written to the idempotency table (no token at rest).
    assert db.execute("SELECT idempotency_key FROM orders").fetchone()[0] == key["Idempotency-Key"]
    assert boto3.client("dynamodb").scan(TableName=app_env["IDEMPOTENCY_TABLE"])["Items"] == []
    token = {"X-Order-Token": second.body["order_token"]}
    assert api("GET", f"/api/orders/{first.body['order_id']}", headers=token).status == 200
    # Same key, same cart, different e-mail: a misuse, not a replay.
    misuse = api("POST", "/api/checkout", body={"cart_id": cart, "email": "b@example.com"}, headers=key)
    assert (misuse.status, misuse.error_code) == (422, "idempotency_key_reused")
    # Without the key: the cart is spent, its order comes back (the cart itself is gone).
    again = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"})
    assert (again.status, again.body) == (201, first.body)
    other = api("POST", "/api/checkout", body={"cart_id": cart, "email": "b@example.com"})
    assert (other.status, other.error_code) == (409, "conflict")
    assert _counts(db) == (1, 1)


def test_failed_checkout_is_not_remembered_by_idempotency(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    blanket = shop["BLK-301"]
    cart = _cart_with(api, {blanket["id"]: 6})
    db.execute("UPDATE products SET stock = 5 WHERE id = %s", (blanket["id"],))
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"cart_id": cart, "email": "a@example.com"}
    assert api("POST", "/api/checkout", body=body, headers=key).status == 409
    db.execute("UPDATE products SET stock = 6 WHERE id = %s", (blanket["id"],))
    assert api("POST", "/api/checkout", body=body, headers=key).status == 201  # restocked: the retry runs
    assert _counts(db) == (1, 1)
    assert _stock(db, blanket["id"]) == 0


def test_database_outage_is_503_and_writes_nothing(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.config import reload
    from shop.db.connection import close_all

    mug = shop["MUG-001"]
    cart = _cart_with(api, {mug["id"]: 1})
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/shop"
    monkeypatch.setenv("DATABASE_URL", closed)
    monkeypatch.setenv("DATABASE_READER_URL", closed)
    reload()
    close_all()
    key = {"Idempotency-Key": f"outage-{uuid.uuid4()}"}
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}, headers=key)
    assert (reply.status, reply.error_code) == (503, "service_unavailable")
    assert "Traceback" not in str(reply.body) and "psycopg" not in str(reply.body)
    assert api("GET", f"/api/orders/{uuid.uuid4()}", headers={"X-Order-Token": "t"}).status == 503
    assert api("GET", "/api/health").status == 200  # the health check does not touch the database
    assert _counts(db) == (0, 0)
    assert _stock(db, mug["id"]) == mug["stock"]
    # Back up: the same key now places the order (the failed attempt was not recorded).
    monkeypatch.undo()
    reload()
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}, headers=key)
    assert reply.status == 201
    assert _counts(db) == (1, 1)


def test_a_killed_connection_is_reopened(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    from shop.db.connection import Role, get_connection

    product = shop["CND-302"]
    cart = _cart_with(api, {product["id"]: 1})
    writer, _ = get_connection(Role.WRITER)
    pid = writer.info.backend_pid
    db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"})
    assert reply.status == 201
    assert get_connection(Role.WRITER)[0].info.backend_pid != pid
    assert _counts(db) == (1, 1)


def _buyer(source: str, cart: str, barrier: Any, results: Any) -> None:
    """One Lambda execution environment: its own process, handler and connections."""
    from tests.app.conftest import make_call as call_for

    call = call_for(source)
    call("GET", "/api/health")  # cold start before the race
    barrier.wait(timeout=60)
    reply = call("POST", "/api/checkout", body={"cart_id": cart, "email": "race@example.com"})
    results.put((reply.status, reply.error_code))


def test_parallel_checkouts_in_separate_environments_sell_exactly_the_last_units(
    shop: dict[str, dict[str, Any]], db: Any
) -> None:
    buyers, units = 6, 2
    product = shop["KIT-010"]
    db.execute("UPDATE products SET stock = %s WHERE id = %s", (units, product["id"]))
    carts = [(("rest", "alb")[i % 2], _cart_with(make_call("rest"), {product["id"]: 1})) for i in range(buyers)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(buyers), ctx.Queue()
    processes = [ctx.Process(target=_buyer, args=(src, cart, barrier, results)) for src, cart in carts]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sorted(outcomes, key=str) == sorted(
        [(201, None)] * units + [(409, "out_of_stock")] * (buyers - units), key=str
    )
    assert _stock(db, product["id"]) == 0
    sold = db.execute("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = %s", (product["id"],))
    assert sold.fetchone()[0] == units
    assert _counts(db) == (units, units)


def _same_key_buyer(cart: str, key: str, barrier: Any, results: Any) -> None:
    from tests.app.conftest import make_call as call_for

    call = call_for("rest")
    call("GET", "/api/health")
    barrier.wait(timeout=60)
    reply = call(
        "POST", "/api/checkout", body={"cart_id": cart, "email": "dup@example.com"}, headers={"Idempotency-Key": key}
    )
    results.put((reply.status, reply.error_code, (reply.body or {}).get("order_id")))


def test_simultaneous_retries_with_one_key_place_one_order(shop: dict[str, dict[str, Any]], db: Any) -> None:
    product = shop["CND-302"]
    cart = _cart_with(make_call("rest"), {product["id"]: 2})
    key = f"dup-{uuid.uuid4()}"
    ctx = multiprocessing.get_context("spawn")
    clients = 4
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    processes = [ctx.Process(target=_same_key_buyer, args=(cart, key, barrier, results)) for _ in range(clients)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    placed = {order_id for status, _, order_id in outcomes if status == 201}
    assert len(placed) == 1  # every success is the same order
    assert all(status == 201 or (status, code) == (409, "request_in_progress") for status, code, _ in outcomes)
    assert _counts(db) == (1, 1)
    assert _stock(db, product["id"]) == product["stock"] - 2


def test_checkout_emits_business_metrics(
    api: Call, shop: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    tee = shop["TEE-100"]
    cart = _cart_with(api, {tee["id"]: 2})
    capsys.readouterr()
    order = api("POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com"}).body
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert len(blobs) == 1  # one embedded-metric-format record per invocation
    blob = blobs[0]
    names = {m["Name"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"OrdersPlaced", "Revenue", "ItemsSold"} <= names
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Ecommerce"

    def total(name: str) -> float:
        value = blob[name]
        return float(sum(value)) if isinstance(value, list) else float(value)

    assert (total("OrdersPlaced"), total("Revenue"), total("ItemsSold")) == (1.0, float(order["total_cents"]), 2.0)
    empty = api("POST", "/api/checkout", body={"cart_id": api("POST", "/api/carts").body["cart_id"], "email": "a@b.co"})
    assert empty.status == 409
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert all("OrdersPlaced" not in blob for blob in blobs)


def test_parallel_checkouts_on_threads_never_oversell(rest: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    """The same race with more buyers and multi-line carts, on threads (each with its own connection)."""
    from shop.api.errors import OutOfStockError
    from shop.api.models import CheckoutRequest
    from shop.db.connection import close_all
    from shop.domain.checkout import checkout

    a, b = shop["SCK-102"], shop["TEE-100"]
    db.execute("UPDATE products SET stock = 7 WHERE id = ANY(%s::uuid[])", ([a["id"], b["id"]],))
    # Opposite line orders in the carts: row locks are taken in id order, so no deadlock.
    buyers = 20
    carts = [_cart_with(rest, {a["id"]: 1, b["id"]: 2} if i % 2 else {b["id"]: 2, a["id"]: 1}) for i in range(buyers)]
    barrier = threading.Barrier(buyers)

    def buy(cart: str) -> str:
        barrier.wait()
        try:
            checkout(CheckoutRequest(cart_id=cart, email="race@example.com"), None)
            return "sold"
        except OutOfStockError:
            return "out_of_stock"
        finally:
            close_all()

    with ThreadPoolExecutor(max_workers=buyers) as pool:
        outcomes = list(pool.map(buy, carts))
    assert outcomes.count("sold") == 3  # 7 units of b, 2 per order
    assert outcomes.count("out_of_stock") == buyers - 3
    assert _stock(db, b["id"]) == 1 and _stock(db, a["id"]) == 4
    assert _counts(db) == (3, 6)


def test_stock_can_never_go_negative_in_the_schema(db: Any, shop: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("UPDATE products SET stock = -1 WHERE id = %s", (shop["MUG-001"]["id"],))


def test_request_id_is_echoed_or_generated(api: Call) -> None:
    echoed = api("GET", "/api/health", headers={"X-Request-Id": "req-123.abc"})
    assert echoed.headers["x-request-id"] == "req-123.abc"
    generated = api("GET", "/api/products/nope")
    assert re.fullmatch(r"[0-9a-f-]{36}", generated.headers["x-request-id"])
    hostile = api("GET", "/api/health", headers={"X-Request-Id": "a\r\nSet-Cookie: x=1"})
    assert hostile.headers["x-request-id"] != "a\r\nSet-Cookie: x=1"
