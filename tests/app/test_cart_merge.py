"""Cart merge on sign-in (POST /api/me/cart) through the real handler, both entry points, with real
tokens from the moto server's Cognito and the carts in its DynamoDB."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from shop.declarations import CART_LINE_MAX_QUANTITY
from shop.local.services import UserPoolHandle
from tests.app import test_customers
from tests.app.conftest import Call
from tests.app.events import ADDRESS
from tests.app.test_customers import UNAUTHORIZED, bearer, claims, sign_in, sign_up

# The account fixtures (moto's user pool, the API configured with it, forged tokens).
user_pool, accounts, forged = test_customers.user_pool, test_customers.accounts, test_customers.forged

MERGE = "/api/me/cart"


def _cart(api: Call, lines: dict[str, int]) -> str:
    cart = str(api("POST", "/api/carts").body["cart_id"])
    for product_id, quantity in lines.items():
        reply = api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity})
        assert reply.status == 200, reply.body
    return cart


def _lines(cart: dict[str, Any]) -> dict[str, int]:
    return {line["product_id"]: line["quantity"] for line in cart["items"]}


def _set_stock(db: psycopg.Connection[Any], product_id: str, stock: int) -> None:
    db.execute("UPDATE products SET stock = %s WHERE id = %s", (stock, product_id))


def _customer_cart(api: Call, token: str, lines: dict[str, int] | None = None) -> str:
    reply = api("POST", MERGE, body={}, headers=bearer(token))
    assert reply.status == 200, reply.body
    cart = str(reply.body["cart_id"])
    for product_id, quantity in (lines or {}).items():
        assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return cart


def test_merge_adds_quantities_and_the_anonymous_cart_is_gone(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    mug, lamp, other = shop["MUG-001"]["id"], shop["LMP-300"]["id"], shop["BOK-200"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 3, other: 1})
    anonymous = _cart(api, {mug: 2, lamp: 1})

    reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert reply.status == 200, reply.body
    assert reply.body["cart_id"] == mine
    assert _lines(reply.body) == {mug: 5, lamp: 1, other: 1}
    assert reply.body["adjusted"] == []
    assert reply.body["total_cents"] == sum(line["line_total_cents"] for line in reply.body["items"])
    # The merged cart is what the cart routes show; the anonymous one is gone for every purpose.
    assert _lines(api("GET", f"/api/carts/{mine}").body) == {mug: 5, lamp: 1, other: 1}
    assert api("GET", f"/api/carts/{anonymous}").status == 404
    assert api("PUT", f"/api/carts/{anonymous}/items/{mug}", body={"quantity": 1}).status == 404
    checkout = {"cart_id": anonymous, "email": "g@example.com", "shipping_address": ADDRESS}
    assert api("POST", "/api/checkout", body=checkout).status == 404


def test_merge_is_capped_by_stock_and_the_per_line_maximum(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]], db: psycopg.Connection[Any]
) -> None:
    mug, lamp, book = shop["MUG-001"]["id"], shop["LMP-300"]["id"], shop["BOK-200"]["id"]
    for product in (mug, lamp, book):
        _set_stock(db, product, 500)
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 60, lamp: 3})
    anonymous = _cart(api, {mug: 60, lamp: 4, book: 2})
    _set_stock(db, lamp, 5)  # sold meanwhile: 3 + 4 no longer fit
    _set_stock(db, book, 0)

    reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert reply.status == 200, reply.body
    assert _lines(reply.body) == {mug: CART_LINE_MAX_QUANTITY, lamp: 5}
    assert {a["product_id"]: (a["quantity"], a["reason"]) for a in reply.body["adjusted"]} == {
        mug: (CART_LINE_MAX_QUANTITY, "max_quantity"),
        book: (0, "stock"),
        lamp: (5, "stock"),
    }
    assert _lines(api("GET", f"/api/carts/{mine}").body) == {mug: CART_LINE_MAX_QUANTITY, lamp: 5}


def test_the_customers_own_quantities_are_never_lowered(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]], db: psycopg.Connection[Any]
) -> None:
    mug = shop["MUG-001"]["id"]
    token = sign_up(accounts)
    _customer_cart(api, token, {mug: 4})
    anonymous = _cart(api, {mug: 1})
    _set_stock(db, mug, 2)  # below what the customer's cart already holds
    reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert _lines(reply.body) == {mug: 4}
    assert reply.body["adjusted"] == [{"product_id": mug, "requested": 5, "quantity": 4, "reason": "stock"}]


def test_a_retried_merge_does_not_double_the_quantities(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    mug = shop["MUG-001"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 1})
    anonymous = _cart(api, {mug: 2})
    first = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    for _ in range(3):  # a lost response, a double click, another tab
        again = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
        assert again.status == 200, again.body
        assert again.body["cart_id"] == mine and _lines(again.body) == _lines(first.body) == {mug: 3}


def test_concurrent_merges_of_one_cart_add_it_once(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    """Six merges at once (the domain call in six threads: the in-process handler serialises requests,
    as a Lambda environment does, but six environments would not)."""
    from shop.api.errors import ConflictError
    from shop.auth import Identity
    from shop.domain import customer_carts

    mug, lamp = shop["MUG-001"]["id"], shop["LMP-300"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 1})
    anonymous = _cart(api, {mug: 2, lamp: 1})
    me = claims(token)
    identity = Identity(sub=me["sub"], email=me["email"], email_verified=True, groups=frozenset())
    barrier = threading.Barrier(6)

    def merge(_: int) -> dict[str, int] | None:
        barrier.wait()
        try:
            return _lines(customer_carts.merge(identity, anonymous).model_dump())
        except ConflictError:
            return None  # lost every race: told to retry

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(merge, range(6)))
    merged = [lines for lines in results if lines is not None]
    assert merged and all(lines == {mug: 3, lamp: 1} for lines in merged), results
    assert _lines(api("GET", f"/api/carts/{mine}").body) == {mug: 3, lamp: 1}


def test_a_change_to_either_cart_during_the_merge_is_kept_and_counted_once(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: between the merge's reads and its write, the shopper's other tab changes the
    anonymous cart and the customer's cart. The conditional write fails, the merge reads again."""
    from shop.domain import carts, customer_carts

    mug, lamp = shop["MUG-001"]["id"], shop["LMP-300"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 1})
    anonymous = _cart(api, {mug: 2})
    original = customer_carts._write_merge
    calls: list[int] = []

    def interfering(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            # (The cart routes' own domain calls: the handler runs one request at a time, as in Lambda.)
            carts.set_item(anonymous, lamp, 2)
            carts.set_item(mine, mug, 4)
        original(*args)

    monkeypatch.setattr(customer_carts, "_write_merge", interfering)
    reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert reply.status == 200, reply.body
    assert len(calls) == 2  # the first write was refused
    assert _lines(reply.body) == {mug: 6, lamp: 2}
    assert _lines(api("GET", f"/api/carts/{mine}").body) == {mug: 6, lamp: 2}


def test_a_failed_write_changes_neither_cart(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from shop.domain import customer_carts

    mug = shop["MUG-001"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 1})
    anonymous = _cart(api, {mug: 2})

    def down(*args: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    with monkeypatch.context() as patch:
        patch.setattr(customer_carts, "_write_merge", down)
        reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
        assert reply.status == 503 and reply.error_code == "service_unavailable"
    assert _lines(api("GET", f"/api/carts/{mine}").body) == {mug: 1}
    assert _lines(api("GET", f"/api/carts/{anonymous}").body) == {mug: 2}
    # The retry merges it, once.
    assert _lines(api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token)).body) == {mug: 3}


def test_the_customers_cart_follows_them_and_is_new_after_checkout(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    mug = shop["MUG-001"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 2})
    # Another device: a fresh sign-in, no anonymous cart (or an empty one).
    other_device = sign_in(accounts, claims(token)["email"])
    assert api("POST", MERGE, body={}, headers=bearer(other_device)).body["cart_id"] == mine
    empty = _cart(api, {})
    same = api("POST", MERGE, body={"cart_id": empty}, headers=bearer(other_device))
    assert same.body["cart_id"] == mine and _lines(same.body) == {mug: 2}
    # Merging the customer's own cart into itself is a no-op.
    assert _lines(api("POST", MERGE, body={"cart_id": mine}, headers=bearer(token)).body) == {mug: 2}

    placed = api("POST", "/api/checkout", body={"cart_id": mine, "shipping_address": ADDRESS}, headers=bearer(token))
    assert placed.status == 201
    fresh = api("POST", MERGE, body={}, headers=bearer(token)).body
    assert fresh["cart_id"] != mine and fresh["items"] == []


def test_only_a_holder_of_the_cart_id_merges_and_never_another_customers_cart(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    mug = shop["MUG-001"]["id"]
    mine, theirs = sign_up(accounts), sign_up(accounts)
    my_cart = _customer_cart(api, mine, {mug: 1})
    their_cart = _customer_cart(api, theirs, {mug: 5})

    for cart_id in ("nOsUcHcArTiDaTaLl0000000", their_cart):
        reply = api("POST", MERGE, body={"cart_id": cart_id}, headers=bearer(mine))
        assert reply.status == 404 and reply.error_code == "not_found", cart_id
    assert _lines(api("GET", f"/api/carts/{their_cart}").body) == {mug: 5}
    assert _lines(api("GET", f"/api/carts/{my_cart}").body) == {mug: 1}

    # An anonymous cart merged by one customer is not there for another to merge.
    anonymous = _cart(api, {mug: 2})
    assert api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(mine)).status == 200
    assert api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(theirs)).status == 404
    assert _lines(api("GET", f"/api/carts/{their_cart}").body) == {mug: 5}

    # The pointer item behind the customer's cart is not a cart any route reaches.
    pointer = "customer%23" + claims(mine)["sub"]
    assert api("GET", f"/api/carts/{pointer}").status == 404


def test_merge_needs_a_valid_token_and_a_valid_body(
    api: Call, accounts: UserPoolHandle, forged: dict[str, str], shop: dict[str, dict[str, Any]]
) -> None:
    anonymous = _cart(api, {shop["MUG-001"]["id"]: 1})
    assert api("POST", MERGE, body={"cart_id": anonymous}).body == UNAUTHORIZED
    for kind in ("expired", "wrong_client", "alg_none"):
        reply = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(forged[kind]))
        assert reply.status == 401 and reply.body == UNAUTHORIZED, kind
    token = sign_up(accounts)
    for body in ({"cart_id": None}, {"cart_id": "has spaces"}, {"cart_id": 5}, {"other": 1}, []):
        reply = api("POST", MERGE, body=body, headers=bearer(token))
        assert reply.status == 422 and reply.error_code == "validation_error", body
    # Nothing was merged by any of it.
    assert _lines(api("GET", f"/api/carts/{anonymous}").body) == {shop["MUG-001"]["id"]: 1}


def test_a_replayed_merge_never_answers_a_cart_that_does_not_show_the_merge_yet(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    """A replay reads the customer's cart until its rev reaches the one the merge wrote (recorded on
    the merged cart): a read that does not show the merge yet (read-committed per item, or moto
    applying a transaction item by item) is retried, then answered 409, never returned stale."""
    from shop.aws import dynamodb
    from shop.config import settings
    from shop.declarations import SESSIONS_TABLE
    from shop.domain import carts

    mug = shop["MUG-001"]["id"]
    token = sign_up(accounts)
    mine = _customer_cart(api, token, {mug: 1})
    anonymous = _cart(api, {mug: 2})
    assert api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token)).status == 200
    merged = carts.read(anonymous, consistent=True)
    assert merged is not None and merged.merged_into == mine and merged.merged_rev is not None
    # The customer's cart as a read from before the merge's write would show it: rev and lines.
    table = settings().table(SESSIONS_TABLE)
    key = {SESSIONS_TABLE.hash_key.name: {"S": mine}}
    dynamodb().update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #rev = :old, #items = :items",
        ExpressionAttributeNames={"#rev": carts.REV, "#items": "items"},
        ExpressionAttributeValues={":old": {"N": str(merged.merged_rev - 1)}, ":items": {"M": {mug: {"N": "1"}}}},
    )
    stale = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert (stale.status, stale.error_code) == (409, "conflict"), stale.body
    # Once the cart shows the merge, the replay answers it.
    dynamodb().update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #rev = :rev, #items = :items",
        ExpressionAttributeNames={"#rev": carts.REV, "#items": "items"},
        ExpressionAttributeValues={":rev": {"N": str(merged.merged_rev)}, ":items": {"M": {mug: {"N": "3"}}}},
    )
    replay = api("POST", MERGE, body={"cart_id": anonymous}, headers=bearer(token))
    assert replay.status == 200 and _lines(replay.body) == {mug: 3}
