"""Carts in the sessions table, through both event sources."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3

from tests.app.conftest import Call
from tests.app.events import ADDRESS


def _new_cart(api: Call) -> str:
    reply = api("POST", "/api/carts")
    assert reply.status == 201
    return str(reply.body["cart_id"])


def test_create_cart_is_empty_and_expires_through_ttl(api: Call, app_env: dict[str, str]) -> None:
    before = int(time.time())
    reply = api("POST", "/api/carts")
    assert reply.status == 201
    body = reply.body
    assert body["items"] == [] and body["total_cents"] == 0 and body["currency"] == "USD"
    ttl = int(app_env["CART_TTL_SECONDS"])
    assert before + ttl <= body["expires_at"] <= int(time.time()) + ttl
    item = boto3.client("dynamodb").get_item(
        TableName=app_env["SESSIONS_TABLE"], Key={"session_id": {"S": body["cart_id"]}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == body["expires_at"]  # the table's TTL attribute, a number
    assert api("GET", f"/api/carts/{body['cart_id']}").body == body


def test_add_update_remove_lines_at_current_prices(api: Call, admin: Call, shop: dict[str, dict[str, Any]]) -> None:
    cart = _new_cart(api)
    mug, tee = shop["MUG-001"], shop["TEE-100"]
    reply = api("PUT", f"/api/carts/{cart}/items/{mug['id']}", body={"quantity": 2})
    assert reply.status == 200
    assert reply.body["items"] == [
        {
            "product_id": mug["id"],
            "name": mug["name"],
            "quantity": 2,
            "unit_price_cents": 1400,
            "line_total_cents": 2800,
        }
    ]
    reply = api("PUT", f"/api/carts/{cart}/items/{tee['id']}", body={"quantity": 1})
    assert reply.body["total_cents"] == 2800 + 2500
    reply = api("PUT", f"/api/carts/{cart}/items/{mug['id']}", body={"quantity": 3})
    assert [line["quantity"] for line in reply.body["items"] if line["product_id"] == mug["id"]] == [3]
    assert reply.body["total_cents"] == 3 * 1400 + 2500
    # Prices are the catalog's when the cart is viewed.
    assert admin("PUT", f"/api/admin/products/{tee['id']}", body={"price_cents": 2000}).status == 200
    assert api("GET", f"/api/carts/{cart}").body["total_cents"] == 3 * 1400 + 2000
    reply = api("DELETE", f"/api/carts/{cart}/items/{mug['id']}")
    assert reply.status == 200
    assert [line["product_id"] for line in reply.body["items"]] == [tee["id"]]
    assert reply.body["total_cents"] == 2000


def test_quantity_above_stock_is_409(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    cart = _new_cart(api)
    blanket = shop["BLK-301"]  # stock 6
    reply = api("PUT", f"/api/carts/{cart}/items/{blanket['id']}", body={"quantity": 7})
    assert reply.status == 409
    assert reply.error_code == "out_of_stock"
    assert reply.body["error"]["details"]["items"] == [{"product_id": blanket["id"], "requested": 7, "available": 6}]
    assert api("GET", f"/api/carts/{cart}").body["items"] == []


def test_unknown_cart_or_product_is_404(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    mug = shop["MUG-001"]["id"]
    assert api("GET", "/api/carts/no-such-cart").status == 404
    assert api("PUT", f"/api/carts/no-such-cart/items/{mug}", body={"quantity": 1}).error_code == "not_found"
    assert api("DELETE", f"/api/carts/no-such-cart/items/{mug}").status == 404
    cart = _new_cart(api)
    reply = api("PUT", f"/api/carts/{cart}/items/00000000-0000-4000-8000-000000000000", body={"quantity": 1})
    assert (reply.status, reply.error_code) == (404, "not_found")
    assert api("PUT", f"/api/carts/{cart}/items/not-a-uuid", body={"quantity": 1}).status == 404


def test_invalid_quantities_are_422_and_change_nothing(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    cart = _new_cart(api)
    path = f"/api/carts/{cart}/items/{shop['MUG-001']['id']}"
    for body in ({"quantity": 0}, {"quantity": 100}, {"quantity": "two"}, {}, {"quantity": 1, "price_cents": 1}):
        reply = api("PUT", path, body=body)
        assert reply.status == 422, body
        assert reply.error_code == "validation_error"
        assert reply.body["error"]["details"], body
    assert api("PUT", path, raw_body="{not json").status == 422
    assert api("GET", f"/api/carts/{cart}").body["items"] == []


def test_expired_cart_is_gone_before_the_ttl_sweep(api: Call, app_env: dict[str, str]) -> None:
    cart = _new_cart(api)
    boto3.client("dynamodb").update_item(
        TableName=app_env["SESSIONS_TABLE"],
        Key={"session_id": {"S": cart}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert api("GET", f"/api/carts/{cart}").status == 404
    assert (
        api(
            "POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com", "shipping_address": ADDRESS}
        ).status
        == 404
    )


def test_writes_extend_the_cart_ttl(api: Call, app_env: dict[str, str], shop: dict[str, dict[str, Any]]) -> None:
    cart = _new_cart(api)
    boto3.client("dynamodb").update_item(
        TableName=app_env["SESSIONS_TABLE"],
        Key={"session_id": {"S": cart}},
        UpdateExpression="SET expires_at = :soon",
        ExpressionAttributeValues={":soon": {"N": str(int(time.time()) + 60)}},
    )
    reply = api("PUT", f"/api/carts/{cart}/items/{shop['MUG-002']['id']}", body={"quantity": 1})
    assert reply.body["expires_at"] >= int(time.time()) + int(app_env["CART_TTL_SECONDS"]) - 5


def test_a_cart_holds_a_bounded_number_of_lines(
    api: Call, admin: Call, shop: dict[str, dict[str, Any]], app_env: dict[str, str]
) -> None:
    from shop.domain.carts import MAX_LINES

    cart = _new_cart(api)
    # Fill the cart to the limit directly (creating 50 products through the API would be slow).
    boto3.client("dynamodb").update_item(
        TableName=app_env["SESSIONS_TABLE"],
        Key={"session_id": {"S": cart}},
        UpdateExpression="SET #items = :full",
        ExpressionAttributeNames={"#items": "items"},
        ExpressionAttributeValues={":full": {"M": {str(uuid.uuid4()): {"N": "1"} for _ in range(MAX_LINES - 1)}}},
    )
    mug, tee = shop["MUG-001"]["id"], shop["TEE-100"]["id"]
    assert api("PUT", f"/api/carts/{cart}/items/{mug}", body={"quantity": 1}).status == 200  # the 50th line
    full = api("PUT", f"/api/carts/{cart}/items/{tee}", body={"quantity": 1})
    assert (full.status, full.error_code) == (409, "cart_full")
    assert full.body["error"]["details"] == {"lines": MAX_LINES, "max_lines": MAX_LINES}
    assert api("PUT", f"/api/carts/{cart}/items/{mug}", body={"quantity": 2}).status == 200  # changing a line is fine


def test_lines_are_ordered_by_product_name(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    cart = _new_cart(api)
    by_name = sorted(shop.values(), key=lambda product: (product["name"], product["id"]))[:4]
    for product in reversed(by_name):  # added in reverse name order
        assert api("PUT", f"/api/carts/{cart}/items/{product['id']}", body={"quantity": 1}).status == 200
    names = [line["name"] for line in api("GET", f"/api/carts/{cart}").body["items"]]
    assert names == [product["name"] for product in by_name]
