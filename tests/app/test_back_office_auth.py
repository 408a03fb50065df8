"""Admin and staff by Cognito token, through both event sources (API Gateway REST and ALB), with real
tokens from the moto server's pool: who may do what is ROUTES' access, checked by the function."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shop.declarations import ACCESS_GROUPS, ADMIN_GROUP, ROUTES, STAFF_GROUP, error_body, is_back_office
from shop.local.services import UserPoolHandle
from tests.app.conftest import Call
from tests.app.test_customers import accounts, bearer, sign_in, sign_up, user_pool  # noqa: F401
from tests.app.test_lifecycle import _force, _order

NEW = {"sku": "TOK-100", "name": "Token-made mug", "category": "kitchen", "price_cents": 900, "stock": 4}
FULFILMENT = {"carrier": "DHL", "tracking_reference": "JD0142"}


def _stock(db: Any, product_id: str) -> int:
    return int(db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0])


def test_staff_may_fulfil_but_admin_alone_may_change_the_catalog_or_refund() -> None:
    access = {route.operation: route.access for route in ROUTES if is_back_office(route)}
    assert access["fulfil_order"] == "staff"
    for operation in ("create_product", "update_product", "set_stock", "refund_order", "admin_cancel_order"):
        assert access[operation] == "admin", operation
    assert ACCESS_GROUPS["admin"] == (ADMIN_GROUP,)
    assert set(ACCESS_GROUPS["staff"]) == {ADMIN_GROUP, STAFF_GROUP}


def test_the_seeded_admin_changes_the_catalog_with_a_token(api: Call, accounts: UserPoolHandle, db: Any) -> None:  # noqa: F811
    token = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    created = api("POST", "/api/admin/products", body=NEW, headers=bearer(token))
    assert created.status == 201, created.body
    product_id = created.body["id"]
    stocked = api("PUT", f"/api/admin/products/{product_id}/stock", body={"stock": 11}, headers=bearer(token))
    assert stocked.status == 200 and stocked.body["stock"] == 11
    assert _stock(db, product_id) == 11


def test_no_token_is_401_and_writes_nothing(api: Call, accounts: UserPoolHandle, db: Any) -> None:  # noqa: F811
    reply = api("POST", "/api/admin/products", body=NEW)
    assert reply.status == 401
    assert reply.body == error_body("unauthorized", "sign-in required")
    assert db.execute("SELECT count(*) FROM products WHERE sku = %s", (NEW["sku"],)).fetchone()[0] == 0


def test_a_customer_token_is_403(api: Call, accounts: UserPoolHandle, db: Any, shop: dict[str, Any]) -> None:  # noqa: F811
    token = sign_up(accounts)
    mug = shop["MUG-001"]
    for method, path, body in (
        ("POST", "/api/admin/products", NEW),
        ("PUT", f"/api/admin/products/{mug['id']}/stock", {"stock": 0}),
        ("POST", f"/api/admin/orders/{uuid.uuid4()}/fulfilment", FULFILMENT),
    ):
        reply = api(method, path, body=body, headers=bearer(token))
        assert (reply.status, reply.error_code) == (403, "forbidden"), (path, reply.body)
    assert _stock(db, mug["id"]) == mug["stock"]


def test_a_forged_token_is_401(api: Call, accounts: UserPoolHandle, shop: dict[str, Any]) -> None:  # noqa: F811
    token = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    reply = api("POST", "/api/admin/products", body=NEW, headers=bearer(forged))
    assert reply.status == 401


def test_staff_fulfils_but_cannot_touch_stock_prices_or_refunds(
    api: Call,
    rest: Call,
    accounts: UserPoolHandle,  # noqa: F811
    db: Any,
    shop: dict[str, Any],
) -> None:
    staff = sign_up(accounts, groups=(STAFF_GROUP,))
    mug = shop["MUG-001"]
    order = _order(rest, {mug["id"]: 1})
    _force(db, order["order_id"], ["paid"])
    stock_before = _stock(db, mug["id"])

    for method, path, body in (
        ("PUT", f"/api/admin/products/{mug['id']}/stock", {"stock": 0}),
        ("PUT", f"/api/admin/products/{mug['id']}", {"price_cents": 1}),
        ("POST", "/api/admin/products", NEW),
    ):
        reply = api(method, path, body=body, headers=bearer(staff))
        assert (reply.status, reply.error_code) == (403, "forbidden"), path
    refund = api(
        "POST",
        f"/api/admin/orders/{order['order_id']}/refunds",
        body={},
        headers={**bearer(staff), "Idempotency-Key": "staff-refund-1"},
    )
    assert (refund.status, refund.error_code) == (403, "forbidden")
    cancel = api(
        "POST",
        f"/api/admin/orders/{order['order_id']}/cancel",
        headers={**bearer(staff), "Idempotency-Key": "staff-cancel-1"},
    )
    assert cancel.status == 403
    assert _stock(db, mug["id"]) == stock_before
    price = db.execute("SELECT price_cents FROM products WHERE id = %s", (mug["id"],)).fetchone()[0]
    assert price == mug["price_cents"]

    done = api("POST", f"/api/admin/orders/{order['order_id']}/fulfilment", body=FULFILMENT, headers=bearer(staff))
    assert done.status == 200, done.body
    assert done.body["status"] == "fulfilled"


@pytest.mark.parametrize("group", [ADMIN_GROUP, STAFF_GROUP])
def test_an_api_key_is_honoured_on_api_gateway_only(
    rest: Call,
    alb: Call,
    accounts: UserPoolHandle,  # noqa: F811
    db: Any,
    group: str,
) -> None:
    """The key (validated by API Gateway, named in requestContext) stands alone on API Gateway; on the
    ALB path the same header is not a credential, and a token decides."""
    assert rest("POST", "/api/admin/products", body=NEW, api_key="partner-key").status == 201
    assert alb("POST", "/api/admin/products", body={**NEW, "sku": "TOK-101"}, headers={"x-api-key": "k"}).status == 401
    token = sign_up(accounts, groups=(group,))
    reply = alb("POST", "/api/admin/products", body={**NEW, "sku": "TOK-102"}, headers=bearer(token))
    assert reply.status == (201 if group == ADMIN_GROUP else 403)
