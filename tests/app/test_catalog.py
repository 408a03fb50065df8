"""Catalog reads through both event sources: pagination, filters, errors, and the read-through cache."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from shop.db.seed import SAMPLE_PRODUCTS
from shop.domain import catalog
from tests.app.conftest import Call
from tests.app.events import ADDRESS

PRODUCT_KEYS = {"id", "sku", "name", "description", "category", "price_cents", "currency", "stock", "image_url"}


def test_list_walks_every_product_once_in_name_order(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        reply = api("GET", "/api/products", query=query)
        assert reply.status == 200
        assert len(reply.body["items"]) <= 5
        seen += reply.body["items"]
        pages += 1
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 13 products, 5 per page
    assert [p["sku"] for p in seen] == [p["sku"] for p in sorted(seen, key=lambda p: (p["name"], p["id"]))]
    assert {p["sku"] for p in seen} == {sku for sku, *_ in SAMPLE_PRODUCTS}
    for product in seen:
        assert set(product) == PRODUCT_KEYS
        assert product["currency"] == "USD"
        assert product["price_cents"] == shop[product["sku"]]["price_cents"]
        assert product["stock"] == shop[product["sku"]]["stock"]


def test_category_filter_and_default_limit(api: Call) -> None:
    reply = api("GET", "/api/products", query={"category": "apparel"})
    assert reply.status == 200
    assert {p["category"] for p in reply.body["items"]} == {"apparel"}
    assert len(reply.body["items"]) == sum(1 for p in SAMPLE_PRODUCTS if p[2] == "apparel")
    assert reply.body["next_cursor"] is None
    everything = api("GET", "/api/products")
    assert len(everything.body["items"]) == len(SAMPLE_PRODUCTS)  # default limit 20 >= 13


def test_unknown_category_is_an_empty_page(api: Call) -> None:
    reply = api("GET", "/api/products", query={"category": "garden"})
    assert reply.status == 200
    assert reply.body == {"items": [], "next_cursor": None}


def test_bad_query_parameters_are_422_with_details(api: Call) -> None:
    for query, loc in (
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "101"}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"category": "Not Valid!"}, ["query", "category"]),
    ):
        reply = api("GET", "/api/products", query=query)
        assert reply.status == 422, query
        assert reply.error_code == "validation_error"
        assert reply.body["error"]["message"]
        assert [d["loc"] for d in reply.body["error"]["details"]["errors"]] == [loc]


def test_get_product(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    mug = shop["MUG-001"]
    reply = api("GET", f"/api/products/{mug['id']}")
    assert reply.status == 200
    assert reply.body["sku"] == "MUG-001"
    assert reply.body["id"] == mug["id"]
    assert set(reply.body) == PRODUCT_KEYS


def test_unknown_product_is_404_with_stable_body(api: Call) -> None:
    for product_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        reply = api("GET", f"/api/products/{product_id}")
        assert reply.status == 404
        assert reply.body["error"]["code"] == "not_found"
        assert set(reply.body["error"]) == {"code", "message", "details"}


def test_both_event_sources_return_identical_bodies(rest: Call, alb: Call, shop: dict[str, dict[str, Any]]) -> None:
    for path, query in (
        ("/api/health", None),
        ("/api/products", {"limit": "4"}),
        ("/api/products", {"category": "home", "limit": "2"}),
        (f"/api/products/{shop['LMP-300']['id']}", None),
        ("/api/products/00000000-0000-4000-8000-000000000000", None),
        ("/api/products", {"limit": "0"}),
    ):
        a, b = rest("GET", path, query=query), alb("GET", path, query=query)
        assert (a.status, a.body) == (b.status, b.body), path
    page = rest("GET", "/api/products", query={"limit": "4"}).body
    cursor = page["next_cursor"]
    assert (
        rest("GET", "/api/products", query={"cursor": cursor}).body
        == alb("GET", "/api/products", query={"cursor": cursor}).body
    )


def _cache_items(app_env: dict[str, str]) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    return list(client.scan(TableName=app_env["CACHE_TABLE"])["Items"])


def test_reads_fill_the_cache_with_ttl(api: Call, shop: dict[str, dict[str, Any]], app_env: dict[str, str]) -> None:
    product_id = shop["CND-302"]["id"]
    api("GET", f"/api/products/{product_id}")
    api("GET", "/api/products", query={"category": "home"})
    items = {item["cache_key"]["S"]: item for item in _cache_items(app_env)}
    entry = items[f"product|{product_id}"]
    ttl = int(app_env["CACHE_TTL_SECONDS"])
    assert time.time() < int(entry["expires_at"]["N"]) <= time.time() + ttl + 1
    assert catalog.page_cache_key("name", "home", (), 20, None) in items
    assert 'products|["name","home",[],20,null]' in items


def test_cache_serves_until_invalidated_by_an_admin_write(
    api: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    product_id = shop["BOK-201"]["id"]
    assert api("GET", f"/api/products/{product_id}").body["price_cents"] == 2700
    # A change behind the API's back is not seen while the entry is fresh: reads come from the cache.
    db.execute("UPDATE products SET price_cents = 1 WHERE id = %s", (product_id,))
    assert api("GET", f"/api/products/{product_id}").body["price_cents"] == 2700
    listed = api("GET", "/api/products", query={"category": "books"}).body["items"]
    # An admin write invalidates every cached catalog entry.
    reply = admin("PUT", f"/api/admin/products/{product_id}", body={"price_cents": 2500})
    assert reply.status == 200
    assert api("GET", f"/api/products/{product_id}").body["price_cents"] == 2500
    relisted = api("GET", "/api/products", query={"category": "books"}).body["items"]
    assert [p["price_cents"] for p in relisted if p["id"] == product_id] == [2500]
    assert len(relisted) == len(listed)


def test_checkout_invalidates_cached_stock(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    product_id = shop["HAT-101"]["id"]
    assert api("GET", f"/api/products/{product_id}").body["stock"] == 35
    cart = api("POST", "/api/carts").body["cart_id"]
    api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": 3})
    assert (
        api(
            "POST", "/api/checkout", body={"cart_id": cart, "email": "a@example.com", "shipping_address": ADDRESS}
        ).status
        == 201
    )
    assert api("GET", f"/api/products/{product_id}").body["stock"] == 32


def test_a_zero_cache_ttl_reads_the_database_every_time(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop import config

    monkeypatch.setenv("CACHE_TTL_SECONDS", "0")
    config.reload()
    product_id = shop["BOK-201"]["id"]
    assert api("GET", f"/api/products/{product_id}").body["price_cents"] == 2700
    db.execute("UPDATE products SET price_cents = 1 WHERE id = %s", (product_id,))
    assert api("GET", f"/api/products/{product_id}").body["price_cents"] == 1
    # Nothing is stored either (a zero TTL switches the cache off, it does not fill it with dead entries).
    assert f"product|{product_id}" not in {item["cache_key"]["S"] for item in _cache_items(app_env)}


def test_cursors_outside_the_documented_pattern_are_422(api: Call) -> None:
    import base64
    import json
    import uuid

    old_style = base64.urlsafe_b64encode(json.dumps(["Mug", str(uuid.uuid4())]).encode()).decode().rstrip("=")
    for cursor in (old_style, str(uuid.uuid4()).upper(), "a\x00b", "x" * 513):
        reply = api("GET", "/api/products", query={"cursor": cursor})
        assert (reply.status, reply.error_code) == (422, "validation_error"), cursor
        assert [d["loc"] for d in reply.body["error"]["details"]["errors"]] == [["query", "cursor"]]
