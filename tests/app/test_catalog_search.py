"""GET /api/products with search, sort and keyset cursors; GET /api/categories. Against embedded
PostgreSQL (migration 0007's search column and indexes) through both event sources."""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.db.seed import SAMPLE_PRODUCTS
from shop.domain import catalog
from tests.app.conftest import Call, make_call

# Extra rows with ties on every sort key: equal names, equal prices, equal creation times.
EXTRA = (
    ("TIE-001", "Enamel camp mug", "kitchen", 1400, "Twin of the first mug."),
    ("TIE-002", "Enamel camp mug", "kitchen", 1400, "Another twin."),
    ("RUN-001", "Trail running shoes", "apparel", 11900, "Grippy soles for muddy descents."),
    ("RUN-002", "Running cap", "apparel", 1400, "Light cap with a sweatband."),
)


def walk(call: Call, **query: str) -> list[dict[str, Any]]:
    """Every product of a listing, page by page (3 per page)."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params = {"limit": "3", **query} | ({"cursor": cursor} if cursor else {})
        reply = call("GET", "/api/products", query=params)
        assert reply.status == 200, reply.body
        seen += reply.body["items"]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the listing did not end")


@pytest.fixture
def rows(shop: dict[str, dict[str, Any]], db: Any) -> list[dict[str, Any]]:
    for sku, name, category, price, description in EXTRA:
        db.execute(
            "INSERT INTO products (sku, name, description, category, price_cents, stock, created_at)"
            " VALUES (%s, %s, %s, %s, %s, 5, now() - interval '1 day')",
            (sku, name, description, category, price),
        )
    found = db.execute("SELECT id::text, sku, name, category, price_cents, created_at FROM products").fetchall()
    keys = ("id", "sku", "name", "category", "price_cents", "created_at")
    return [dict(zip(keys, row, strict=True)) for row in found]


ORDERS = {
    "name": (lambda r: (r["name"], r["id"]), False),
    "price": (lambda r: (r["price_cents"], r["id"]), False),
    "price_desc": (lambda r: (r["price_cents"], r["id"]), True),
    "newest": (lambda r: (r["created_at"], r["id"]), True),
}


@pytest.mark.parametrize("sort", sorted(catalog.SORTS))
def test_every_sort_walks_every_product_once_in_order(api: Call, rows: list[dict[str, Any]], sort: str) -> None:
    key, reverse = ORDERS[sort]
    for category in (None, "kitchen", "apparel"):
        expected = sorted((r for r in rows if category in (None, r["category"])), key=key, reverse=reverse)
        query = {"sort": sort} | ({"category": category} if category else {})
        seen = walk(api, **query)
        # Python orders ids as text, PostgreSQL as uuid: the same order for canonical lower-case ids.
        assert [p["sku"] for p in seen] == [r["sku"] for r in expected], (sort, category)


def test_search_matches_words_prefixes_and_stems(rest: Call, rows: list[dict[str, Any]]) -> None:
    def skus(q: str, **extra: str) -> set[str]:
        return {p["sku"] for p in walk(rest, q=q, **extra)}

    assert skus("mug") == {"MUG-001", "TIE-001", "TIE-002"}
    assert skus("mugs") == {"MUG-001", "TIE-001", "TIE-002"}  # stemmed
    assert skus("ena") == {"MUG-001", "TIE-001", "TIE-002"}  # as you type
    assert skus("runn") == {"RUN-001", "RUN-002"}
    assert skus("running shoes") == {"RUN-001"}  # every word
    assert skus("muddy") == {"RUN-001"}  # the description
    assert skus("Sourdough") == {"BOK-201"}
    assert skus("run", category="apparel", sort="price") == {"RUN-001", "RUN-002"}
    assert skus("the sourd") == {"BOK-201"}  # a stop word is no word to look for
    assert skus("enamel mugs") == {"MUG-001", "TIE-001", "TIE-002"}  # a whole last word, stemmed
    assert skus("m") == set()  # one letter is a word, not yet a prefix
    assert skus("zzzz") == set()
    # Search results keep the sort and page correctly.
    priced = walk(rest, q="running", sort="price_desc")
    assert [p["sku"] for p in priced] == ["RUN-001", "RUN-002"]


@pytest.mark.parametrize(
    "q", ["':*", "a & b | !c", "(mug", "mug:*", "\\", "'; DROP TABLE products; --", "<->", "mug & ", "☕ mug", "ß"]
)
def test_search_syntax_in_the_input_is_just_text(rest: Call, rows: list[dict[str, Any]], q: str) -> None:
    reply = rest("GET", "/api/products", query={"q": q})
    assert reply.status == 200, reply.body
    if "mug" in q:
        assert {p["sku"] for p in reply.body["items"]} >= {"MUG-001"}


def test_blank_search_lists_everything(rest: Call, rows: list[dict[str, Any]]) -> None:
    assert len(walk(rest, q="  !!! ")) == len(rows)


def test_a_cursor_from_another_sort_category_or_search_is_400(api: Call, rows: list[dict[str, Any]]) -> None:
    first = api("GET", "/api/products", query={"limit": "2", "sort": "price"}).body
    cursor = first["next_cursor"]
    assert cursor
    for query in ({"sort": "name"}, {"sort": "price", "category": "home"}, {"sort": "price", "q": "mug"}, {}):
        reply = api("GET", "/api/products", query={"cursor": cursor, **query})
        assert (reply.status, reply.error_code) == (400, "cursor_mismatch"), query
    # The same search typed differently is the same search.
    searched = api("GET", "/api/products", query={"limit": "1", "q": "Enamel MUG"}).body["next_cursor"]
    again = api("GET", "/api/products", query={"limit": "1", "q": " enamel, mug ", "cursor": searched})
    assert again.status == 200


def forge(sort: str, key: Any, product_id: Any = None, bound: str | None = None) -> str:
    bound = bound if bound is not None else catalog.fingerprint(sort, None, ())
    document = [1, sort, bound, key, product_id if product_id is not None else str(uuid.uuid4())]
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "key", "product_id"),
    [
        ("price", "cheap", None),
        ("price", 2**40, None),
        ("price", -1, None),
        ("price", True, None),
        ("name", 5, None),
        ("name", "a\x00b", None),
        ("name", "\ud800", None),
        ("newest", "yesterday", None),
        ("newest", "2026-01-01T00:00:00", None),  # no time zone
        ("newest", None, None),
        ("name", "Mug", "not-a-uuid"),
        ("name", "Mug", 7),
    ],
)
def test_forged_cursors_are_422_never_a_database_error(
    rest: Call, rows: list[dict[str, Any]], sort: str, key: Any, product_id: Any
) -> None:
    reply = rest("GET", "/api/products", query={"sort": sort, "cursor": forge(sort, key, product_id)})
    assert (reply.status, reply.error_code) == (422, "validation_error")
    assert [d["loc"] for d in reply.body["error"]["details"]["errors"]] == [["query", "cursor"]]


def test_the_longest_cursor_fits_the_documented_length() -> None:
    from shop.api.routers.catalog import MAX_CURSOR_LENGTH

    name = "\U0001d11e" * 200  # the longest name, in 4-byte characters
    product_id = str(uuid.uuid4())
    bound = catalog.fingerprint("name", "a" * 64, ("x",) * catalog.MAX_TERMS)
    cursor = catalog.encode_cursor("name", bound, {"id": product_id}, name)
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert catalog.decode_cursor(cursor, "name", bound) == (name, product_id)


def test_a_well_formed_cursor_past_the_end_is_an_empty_page(rest: Call, rows: list[dict[str, Any]]) -> None:
    reply = rest("GET", "/api/products", query={"cursor": forge("name", "\uffff")})
    assert (reply.status, reply.body) == (200, {"items": [], "next_cursor": None})


def test_bad_sort_and_overlong_search_are_422(rest: Call, rows: list[dict[str, Any]]) -> None:
    for query, loc in (({"sort": "random"}, ["query", "sort"]), ({"q": "x" * 101}, ["query", "q"])):
        reply = rest("GET", "/api/products", query=query)
        assert (reply.status, reply.error_code) == (422, "validation_error"), query
        assert [d["loc"] for d in reply.body["error"]["details"]["errors"]] == [loc]


def test_categories_with_counts(api: Call, rows: list[dict[str, Any]]) -> None:
    reply = api("GET", "/api/categories")
    assert reply.status == 200
    expected = Counter(r["category"] for r in rows)
    assert reply.body == {"items": [{"category": c, "count": expected[c]} for c in sorted(expected)]}
    assert sum(expected.values()) == len(SAMPLE_PRODUCTS) + len(EXTRA)


def test_search_and_categories_are_cached_and_invalidated(
    rest: Call, admin: Call, rows: list[dict[str, Any]], db: Any
) -> None:
    lamp = next(r for r in rows if r["sku"] == "LMP-300")
    assert [p["sku"] for p in rest("GET", "/api/products", query={"q": "lamp"}).body["items"]] == ["LMP-300"]
    before = rest("GET", "/api/categories").body
    # Behind the API's back: cached answers stay (the key includes q and sort; another q is a miss).
    db.execute("UPDATE products SET name = 'Brass desk luminaire', category = 'garden' WHERE id = %s", (lamp["id"],))
    assert [p["sku"] for p in rest("GET", "/api/products", query={"q": "lamp"}).body["items"]] == ["LMP-300"]
    assert rest("GET", "/api/categories").body == before
    assert [p["sku"] for p in rest("GET", "/api/products", query={"q": "luminaire"}).body["items"]] == ["LMP-300"]
    mugs = {p["sku"] for p in rest("GET", "/api/products", query={"q": "mug"}).body["items"]}
    assert mugs == {"MUG-001", "TIE-001", "TIE-002"}
    by_price = rest("GET", "/api/products", query={"limit": "2", "sort": "price"}).body["items"]
    assert [p["sku"] for p in by_price] != [
        p["sku"] for p in rest("GET", "/api/products", query={"limit": "2"}).body["items"]
    ]
    # An admin write bumps the epoch: every search and the counts are read again.
    assert admin("PUT", f"/api/admin/products/{lamp['id']}", body={"price_cents": 6300}).status == 200
    assert rest("GET", "/api/products", query={"q": "lamp"}).body["items"] == []
    counts = {c["category"]: c["count"] for c in rest("GET", "/api/categories").body["items"]}
    assert counts["garden"] == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.text(max_size=60),
    sort=st.sampled_from([*catalog.SORTS, "Name", ""]),
    cursor=st.one_of(
        st.none(), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=80)
    ),
)
def test_fuzzed_parameters_never_500(rows: list[dict[str, Any]], q: str, sort: str, cursor: str | None) -> None:
    query = {"q": q, "sort": sort} | ({"cursor": cursor} if cursor is not None else {})
    reply = make_call("rest")("GET", "/api/products", query=query)
    assert reply.status in (200, 400, 422), (query, reply.body)
