"""A purchase end to end on the deployed stack.

A product is created through API Gateway with the API key (admin), then a
shopper's cart and checkout go through CloudFront, the edge function, the ALB
and the function to Aurora (through RDS Proxy) and DynamoDB. The product gets
a unique SKU, so runs never collide.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from shop.declarations import API_KEY_HEADER, IDEMPOTENCY_HEADER, ORDER_TOKEN_HEADER
from tests.app.events import ADDRESS
from tests.integration.conftest import Outputs

pytestmark = pytest.mark.usefixtures("writes_allowed")


def test_a_checkout_works_end_to_end(
    outputs: Outputs, http: requests.Session, api_key: str, storefront_auth: tuple[str, str] | None
) -> None:
    api, site = (u.rstrip("/") for u in outputs.need("apiUrl", "storefrontUrl"))
    admin = {API_KEY_HEADER: api_key}
    sku = f"it-{uuid.uuid4().hex[:12]}"

    created = http.post(
        f"{api}/api/admin/products",
        headers=admin,
        json={
            "sku": sku,
            "name": "Integration test mug",
            "description": "created by tests/integration",
            "category": "integration-tests",
            "price_cents": 1250,
            "stock": 3,
        },
    )
    assert created.status_code == 201, created.text[:300]
    product = created.json()
    assert product["sku"] == sku and product["stock"] == 3

    # The shopper's side, through CloudFront.
    fetched = http.get(f"{site}/api/products/{product['id']}", auth=storefront_auth)
    assert fetched.status_code == 200 and fetched.json()["price_cents"] == 1250

    cart = http.post(f"{site}/api/carts", auth=storefront_auth)
    assert cart.status_code == 201, cart.text[:300]
    cart_id = cart.json()["cart_id"]
    put = http.put(f"{site}/api/carts/{cart_id}/items/{product['id']}", json={"quantity": 2}, auth=storefront_auth)
    assert put.status_code == 200, put.text[:300]
    assert put.json()["total_cents"] == 2500

    too_many = http.put(f"{site}/api/carts/{cart_id}/items/{product['id']}", json={"quantity": 4}, auth=storefront_auth)
    assert too_many.status_code == 409

    key = str(uuid.uuid4())
    body = {"cart_id": cart_id, "email": "integration@example.com", "shipping_address": ADDRESS}
    order = http.post(f"{site}/api/checkout", json=body, headers={IDEMPOTENCY_HEADER: key}, auth=storefront_auth)
    assert order.status_code == 201, order.text[:300]
    placed = order.json()
    assert placed["status"] == "pending_payment" and placed["subtotal_cents"] == 2500
    assert [(line["product_id"], line["quantity"]) for line in placed["items"]] == [(product["id"], 2)]

    # A retry with the same key returns the same order and creates nothing.
    retry = http.post(f"{site}/api/checkout", json=body, headers={IDEMPOTENCY_HEADER: key}, auth=storefront_auth)
    assert retry.status_code == 201
    assert retry.json()["order_id"] == placed["order_id"]
    after = http.get(f"{api}/api/products/{product['id']}").json()
    assert after["stock"] == 1, "stock is taken once"

    # The order reads back with its token only.
    read = http.get(
        f"{site}/api/orders/{placed['order_id']}",
        headers={ORDER_TOKEN_HEADER: placed["order_token"]},
        auth=storefront_auth,
    )
    assert read.status_code == 200 and "order_token" not in read.json()
    wrong = http.get(
        f"{site}/api/orders/{placed['order_id']}", headers={ORDER_TOKEN_HEADER: "wrong"}, auth=storefront_auth
    )
    assert wrong.status_code == 404

    # Leave no sellable test product behind.
    cleared = http.put(f"{api}/api/admin/products/{product['id']}/stock", headers=admin, json={"stock": 0})
    assert cleared.status_code == 200
