"""Admin routes with the partner API key (API Gateway); tokens: tests/app/test_back_office_auth.py."""

from __future__ import annotations

from typing import Any

from tests.app.conftest import Call

NEW = {"sku": "PLT-400", "name": "Clay plant pot", "category": "home", "price_cents": 1250, "stock": 9}


def test_create_product_and_read_it_back(admin: Call, api: Call, db: Any) -> None:
    reply = admin("POST", "/api/admin/products", body=NEW | {"image_url": "https://img.example.com/pot.jpg"})
    assert reply.status == 201
    created = reply.body
    assert {k: created[k] for k in NEW} == NEW
    assert created["description"] == "" and created["currency"] == "USD"
    assert api("GET", f"/api/products/{created['id']}").body == created
    assert db.execute("SELECT stock FROM products WHERE sku = 'PLT-400'").fetchone()[0] == 9


def test_duplicate_sku_is_409(admin: Call, shop: dict[str, dict[str, Any]]) -> None:
    reply = admin("POST", "/api/admin/products", body=NEW | {"sku": "MUG-001"})
    assert (reply.status, reply.error_code) == (409, "conflict")


def test_update_fields_and_stock(admin: Call, api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    lamp = shop["LMP-300"]
    reply = admin("PUT", f"/api/admin/products/{lamp['id']}", body={"name": "Brass lamp", "image_url": None})
    assert reply.status == 200
    assert reply.body["name"] == "Brass lamp" and reply.body["price_cents"] == lamp["price_cents"]
    reply = admin("PUT", f"/api/admin/products/{lamp['id']}/stock", body={"stock": 0})
    assert (reply.status, reply.body["stock"]) == (200, 0)
    assert db.execute("SELECT name, stock FROM products WHERE id = %s", (lamp["id"],)).fetchone() == ("Brass lamp", 0)
    assert api("GET", f"/api/products/{lamp['id']}").body["stock"] == 0


def test_invalid_admin_bodies_are_422_and_change_nothing(admin: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    mug = shop["MUG-001"]
    for method, path, body in (
        ("POST", "/api/admin/products", NEW | {"price_cents": -1}),
        ("POST", "/api/admin/products", {k: v for k, v in NEW.items() if k != "sku"}),
        ("POST", "/api/admin/products", NEW | {"image_url": "javascript:alert(1)"}),
        ("POST", "/api/admin/products", NEW | {"id": "00000000-0000-4000-8000-000000000000"}),
        ("PUT", f"/api/admin/products/{mug['id']}", {}),
        ("PUT", f"/api/admin/products/{mug['id']}", {"name": None}),
        ("PUT", f"/api/admin/products/{mug['id']}", {"stock": 5}),
        ("PUT", f"/api/admin/products/{mug['id']}/stock", {"stock": -3}),
    ):
        reply = admin(method, path, body=body)
        assert (reply.status, reply.error_code) == (422, "validation_error"), body
    assert db.execute("SELECT count(*) FROM products").fetchone()[0] == len(shop)
    assert db.execute("SELECT name, stock FROM products WHERE id = %s", (mug["id"],)).fetchone() == (
        mug["name"],
        mug["stock"],
    )


def test_unknown_products_are_404(admin: Call) -> None:
    for path in ("/api/admin/products/00000000-0000-4000-8000-000000000000", "/api/admin/products/nope"):
        assert admin("PUT", path, body={"name": "x"}).status == 404
        assert admin("PUT", f"{path}/stock", body={"stock": 1}).error_code == "not_found"


def test_an_api_key_header_means_nothing_behind_the_alb(alb: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    """Only API Gateway validates the key (and says so in requestContext): a header alone is no credential."""
    mug = shop["MUG-001"]
    headers = {"x-api-key": "test-admin-key"}
    assert alb("POST", "/api/admin/products", body=NEW, headers=headers).status == 401
    assert alb("PUT", f"/api/admin/products/{mug['id']}/stock", body={"stock": 0}, headers=headers).status == 401
    assert db.execute("SELECT stock FROM products WHERE id = %s", (mug["id"],)).fetchone()[0] == mug["stock"]


def test_admin_without_key_identity_or_token_is_401(rest: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    reply = rest("POST", "/api/admin/products", body=NEW, headers={"x-api-key": "not-validated"})
    assert (reply.status, reply.error_code) == (401, "unauthorized")
    assert db.execute("SELECT count(*) FROM products WHERE sku = 'PLT-400'").fetchone()[0] == 0
