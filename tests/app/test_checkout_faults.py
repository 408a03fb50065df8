"""Exactly one order per cart, whatever fails (issue 17 part 1): fault injection on the real stores.

Every test checks out a cart against embedded PostgreSQL and the moto server, breaks something at
the worst moment (right after the order committed), retries with and without an Idempotency-Key,
and then asserts: exactly one order for the cart, its stock taken once, and the retry answered 201
with THAT order and a token that reads it back.

- DynamoDB failing after the commit: the function's DynamoDB endpoint stops answering (a closed
  port: real connection failures through botocore) right after the order's statement.
- The process killed after the commit: a child process commits the order and SIGKILLs itself
  before it can answer, clear the cart or write anything else.
- The cart deletion failing: DeleteItem on the sessions table errors (a botocore hook on the real
  client raises what an unreachable endpoint raises), so the cart outlives its order.
- 20 concurrent checkouts of one cart from 20 processes, each its own "Lambda" with its own
  connections and no shared lock.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from tests.app.conftest import Call

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "f@example.com"
Db = psycopg.Connection[tuple[Any, ...]]


def _cart_with(api: Call, lines: dict[str, int]) -> str:
    cart = str(api("POST", "/api/carts").body["cart_id"])
    for product_id, quantity in lines.items():
        assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return cart


def _orders_for(db: Db, cart: str) -> list[str]:
    return [str(row[0]) for row in db.execute("SELECT id FROM orders WHERE cart_id = %s", (cart,)).fetchall()]


def _stock(db: Db, product_id: str) -> int:
    return int(db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0])


def _cart_exists(app_env: dict[str, str], cart: str) -> bool:
    item = boto3.client("dynamodb").get_item(TableName=app_env["SESSIONS_TABLE"], Key={"session_id": {"S": cart}})
    return "Item" in item


def _retry_returns_the_one_order(api: Call, db: Db, cart: str, key: str | None, order_id: str) -> None:
    """A retry (with ``key``, or none) answers 201 with ``order_id`` and a working token; one order in all."""
    headers = {"Idempotency-Key": key} if key else None
    retry = api("POST", "/api/checkout", body={"cart_id": cart, "email": EMAIL}, headers=headers)
    assert retry.status == 201, retry.body
    assert retry.body["order_id"] == order_id
    read = api("GET", f"/api/orders/{order_id}", headers={"X-Order-Token": retry.body["order_token"]})
    assert read.status == 200 and read.body["order_id"] == order_id
    assert _orders_for(db, cart) == [order_id]


@pytest.fixture(params=["with-key", "without-key"])
def key(request: pytest.FixtureRequest) -> str | None:
    return f"fault-{uuid.uuid4()}" if request.param == "with-key" else None


def test_dynamodb_failing_after_commit(
    rest: Call,
    shop: dict[str, dict[str, Any]],
    db: Db,
    app_env: dict[str, str],
    key: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shop import aws
    from shop.domain import checkout
    from shop.local.services import free_port

    mug = shop["MUG-001"]
    cart = _cart_with(rest, {mug["id"]: 2})
    real_run = checkout.run
    cut: list[bool] = []

    def run_then_cut_dynamodb(role: Any, work: Any) -> Any:
        result = real_run(role, work)
        if not cut:  # right after the order's statement: nothing listens on the endpoint any more
            cut.append(True)
            monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
            aws.dynamodb.reset()
        return result

    monkeypatch.setattr(checkout, "run", run_then_cut_dynamodb)
    headers = {"Idempotency-Key": key} if key else None
    first = rest("POST", "/api/checkout", body={"cart_id": cart, "email": EMAIL}, headers=headers)
    assert cut, "the fault was not injected"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", app_env["AWS_ENDPOINT_URL_DYNAMODB"])
    aws.dynamodb.reset()
    monkeypatch.setattr(checkout, "run", real_run)

    [order_id] = _orders_for(db, cart)
    # The order is committed: DynamoDB's outage afterwards does not turn it into an error.
    assert first.status == 201 and first.body["order_id"] == order_id
    assert _cart_exists(app_env, cart)  # the cart could not be cleared
    _retry_returns_the_one_order(rest, db, cart, key, order_id)
    assert not _cart_exists(app_env, cart)  # the retry cleared the spent cart
    _retry_returns_the_one_order(rest, db, cart, key, order_id)  # and again, now without a cart
    assert _stock(db, mug["id"]) == mug["stock"] - 2


def test_process_killed_after_commit(
    rest: Call, shop: dict[str, dict[str, Any]], db: Db, app_env: dict[str, str], key: str | None
) -> None:
    lamp = shop["LMP-300"]
    cart = _cart_with(rest, {lamp["id"]: 1})
    child = subprocess.run(
        [sys.executable, "-m", "tests.app.checkout_worker", cart, key or ""],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr  # SIGKILLed at its crash point, after COMMIT
    [order_id] = _orders_for(db, cart)
    assert _cart_exists(app_env, cart)  # it died before clearing the cart
    _retry_returns_the_one_order(rest, db, cart, key, order_id)
    _retry_returns_the_one_order(rest, db, cart, key, order_id)
    assert _stock(db, lamp["id"]) == lamp["stock"] - 1


def test_cart_deletion_failing(
    rest: Call, shop: dict[str, dict[str, Any]], db: Db, app_env: dict[str, str], key: str | None
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from shop.aws import dynamodb

    tee = shop["TEE-100"]
    cart = _cart_with(rest, {tee["id"]: 3})

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://sessions-table")

    events = dynamodb().meta.events
    events.register("before-call.dynamodb.DeleteItem", refuse, unique_id="refuse-delete")
    try:
        headers = {"Idempotency-Key": key} if key else None
        first = rest("POST", "/api/checkout", body={"cart_id": cart, "email": EMAIL}, headers=headers)
        assert first.status == 201
        assert _cart_exists(app_env, cart)
        # Still failing: the retry returns the order anyway (the cart is spent, whatever it holds).
        _retry_returns_the_one_order(rest, db, cart, key, first.body["order_id"])
        _retry_returns_the_one_order(rest, db, cart, None, first.body["order_id"])
    finally:
        events.unregister("before-call.dynamodb.DeleteItem", unique_id="refuse-delete")
    _retry_returns_the_one_order(rest, db, cart, key, first.body["order_id"])
    assert not _cart_exists(app_env, cart)
    assert _stock(db, tee["id"]) == tee["stock"] - 3


CONCURRENT_CHECKOUTS = 20


def test_concurrent_checkouts_of_one_cart_from_many_processes(
    rest: Call, shop: dict[str, dict[str, Any]], db: Db
) -> None:
    from tests.app import checkout_worker

    mug, lamp = shop["MUG-002"], shop["LMP-300"]
    cart = _cart_with(rest, {mug["id"]: 1, lamp["id"]: 1})
    # Each worker is a fresh process forked from a single-threaded server that imported the code
    # once (no connection, client or lock of this process is inherited); each builds its own.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.app.checkout_worker", "shop.api.app", "boto3", "psycopg"])
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    workers = [
        context.Process(target=checkout_worker.concurrent_checkout, args=(cart, ready, go, results))
        for _ in range(CONCURRENT_CHECKOUTS)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in range(CONCURRENT_CHECKOUTS):
            assert ready.acquire(timeout=120), "a worker did not start"
        go.set()
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()

    [order_id] = _orders_for(db, cart)
    assert [outcome["status"] for outcome in outcomes] == [201] * CONCURRENT_CHECKOUTS, outcomes
    assert {outcome["body"]["order_id"] for outcome in outcomes} == {order_id}
    assert len({outcome["body"]["order_token"] for outcome in outcomes}) == 1
    assert _stock(db, mug["id"]) == mug["stock"] - 1
    assert _stock(db, lamp["id"]) == lamp["stock"] - 1
