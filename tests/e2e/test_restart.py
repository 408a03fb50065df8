"""Data survives stopping and starting the local platform (and ``--reset`` really resets)."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest

from shop.declarations import ORDER_TOKEN_HEADER
from tests.e2e.conftest import LocalPlatform, api

pytestmark = pytest.mark.e2e


def _catalog(platform: LocalPlatform) -> list[dict[str, Any]]:
    response = api(platform, "GET", "/api/products", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _cart_with(platform: LocalPlatform, product_id: str, quantity: int) -> dict[str, Any]:
    created = api(platform, "POST", "/api/carts")
    assert created.status_code == 201, created.text
    cart_id = created.json()["cart_id"]
    put = api(platform, "PUT", f"/api/carts/{cart_id}/items/{product_id}", json={"quantity": quantity})
    assert put.status_code == 200, put.text
    cart: dict[str, Any] = put.json()
    return cart


def test_order_and_cart_survive_a_restart_and_reset_clears_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = LocalPlatform(data_dir).start()
    try:
        catalog = _catalog(first)
        assert catalog, "the sample catalog was not seeded"
        in_stock = [p for p in catalog if p["stock"] >= 3]
        ordered, carted = in_stock[0], in_stock[1]

        cart = _cart_with(first, ordered["id"], 2)
        checkout = api(
            first,
            "POST",
            "/api/checkout",
            json={"cart_id": cart["cart_id"], "email": "restart@example.com"},
            headers={"Idempotency-Key": "restart-test-1"},
        )
        assert checkout.status_code == 201, checkout.text
        order = checkout.json()
        # A cart that is not checked out lives in DynamoDB (moto, in memory).
        open_cart = _cart_with(first, carted["id"], 1)
    finally:
        code = first.stop()
    assert code == 0, first.output()
    # PostgreSQL was shut down cleanly, not left running or killed.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    second = LocalPlatform(data_dir).start()
    try:
        token = {ORDER_TOKEN_HEADER: order["order_token"]}
        again = api(second, "GET", f"/api/orders/{order['order_id']}", headers=token)
        assert again.status_code == 200, again.text
        body = again.json()
        assert body["order_id"] == order["order_id"]
        assert body["status"] == "placed"
        assert body["email"] == "restart@example.com"
        assert body["total_cents"] == order["total_cents"] == 2 * ordered["price_cents"]
        assert [(line["product_id"], line["quantity"]) for line in body["items"]] == [(ordered["id"], 2)]
        assert "order_token" not in body
        # Still protected by its token after the restart.
        wrong = api(second, "GET", f"/api/orders/{order['order_id']}", headers={ORDER_TOKEN_HEADER: "nope"})
        assert wrong.status_code == 404

        restored = api(second, "GET", f"/api/carts/{open_cart['cart_id']}")
        assert restored.status_code == 200, restored.text
        assert [(line["product_id"], line["quantity"]) for line in restored.json()["items"]] == [(carted["id"], 1)]

        # Seeding is idempotent: the catalog is not duplicated, and the order's stock change stays.
        after = {p["id"]: p for p in _catalog(second)}
        assert len(after) == len(catalog)
        assert after[ordered["id"]]["stock"] == ordered["stock"] - 2
    finally:
        assert second.stop() == 0, second.output()

    third = LocalPlatform(data_dir, extra_args=("--reset",)).start()
    try:
        gone = api(third, "GET", f"/api/orders/{order['order_id']}", headers={ORDER_TOKEN_HEADER: order["order_token"]})
        assert gone.status_code == 404
        assert api(third, "GET", f"/api/carts/{open_cart['cart_id']}").status_code == 404
        assert len(_catalog(third)) == len(catalog)
    finally:
        assert third.stop() == 0, third.output()


def test_a_killed_platform_loses_no_order_and_at_most_one_snapshot_interval_of_carts(tmp_path: Path) -> None:
    """SIGKILL (no shutdown code runs): PostgreSQL keeps its data, carts come from the last periodic snapshot.

    With the default interval: a cart is in the snapshot within one interval (plus a save), so a
    SIGKILL loses at most the cart changes of the last ~2 s. The order token still works after the
    restart (its secret is a file in the data directory), and the data files are private.
    """
    from shop.local.__main__ import SNAPSHOT_INTERVAL_SECONDS

    data_dir = tmp_path / "data"
    interval: tuple[str, ...] = ()
    first = LocalPlatform(data_dir, extra_args=interval).start()
    try:
        product = next(p for p in _catalog(first) if p["stock"] >= 2)
        cart = _cart_with(first, product["id"], 1)
        checkout = api(first, "POST", "/api/checkout", json={"cart_id": cart["cart_id"], "email": "kill@example.com"})
        assert checkout.status_code == 201, checkout.text
        order = checkout.json()
        open_cart = _cart_with(first, product["id"], 1)
        # A periodic snapshot holds the open cart within one interval (and the time a save takes).
        snapshot_file = data_dir / "dynamodb.json"
        deadline = time.monotonic() + SNAPSHOT_INTERVAL_SECONDS + 3
        while open_cart["cart_id"] not in (snapshot_file.read_text() if snapshot_file.exists() else ""):
            assert time.monotonic() < deadline, f"no snapshot within {SNAPSHOT_INTERVAL_SECONDS} s"
            time.sleep(0.1)
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for name in ("dynamodb.json", "order-token.secret"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert order["order_token"] not in snapshot_file.read_text()
    finally:
        first.kill()

    second = LocalPlatform(data_dir, extra_args=interval).start()
    try:
        token = {ORDER_TOKEN_HEADER: order["order_token"]}
        assert api(second, "GET", f"/api/orders/{order['order_id']}", headers=token).status_code == 200
        restored = api(second, "GET", f"/api/carts/{open_cart['cart_id']}")
        assert restored.status_code == 200, restored.text
    finally:
        assert second.stop() == 0, second.output()
    # The clean stop also stopped the PostgreSQL server the killed run left behind.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
