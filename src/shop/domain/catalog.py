"""The catalog: products read from PostgreSQL (the reader role, the proxy's read-only endpoint)
through the read-through cache (``shop.domain.cache``).

``GET /api/products`` pages through the catalog with keyset pagination in one of ``SORTS``,
optionally within one category and matching a search (``search_terms``). A cursor carries the sort
key and id of the last product of its page, and a fingerprint of the sort, category and search it
was issued for: a cursor presented with other parameters is refused (``CursorMismatchError``)
rather than silently paging through a different list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shop.api.errors import CursorMismatchError, NotFoundError, ValidationFailedError
from shop.api.models import CategoryList, Product, ProductList
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache

PRODUCT_COLUMNS = "id::text AS id, sku, name, description, category, price_cents, currency, stock, image_url"

# Conditions every shopper-facing catalog read applies (the product list and the category counts).
# The back office's archived flag (migration 0008) becomes one more entry here: "NOT archived".
LISTED: tuple[str, ...] = ()

Sort = Literal["name", "price", "price_desc", "newest"]


@dataclass(frozen=True)
class SortOrder:
    """One sort: its key column, the direction (both key and id run the same way) and how a cursor
    carries the key."""

    column: str
    descending: bool
    kind: Literal["text", "int", "time"]

    @property
    def order_by(self) -> str:
        """Qualified: a bare ``id`` would name the selected ``id::text`` and defeat the index."""
        direction = " DESC" if self.descending else ""
        return f"products.{self.column}{direction}, products.id{direction}"

    @property
    def after(self) -> str:
        """The keyset condition: rows strictly after (key, id) in this order."""
        return f"({self.column}, id) {'<' if self.descending else '>'} (%s, %s::uuid)"


# Every sort has an index (migrations 0001 and 0007), with and without the category in front.
SORTS: dict[str, SortOrder] = {
    "name": SortOrder("name", descending=False, kind="text"),
    "price": SortOrder("price_cents", descending=False, kind="int"),
    "price_desc": SortOrder("price_cents", descending=True, kind="int"),
    "newest": SortOrder("created_at", descending=True, kind="time"),
}
DEFAULT_SORT: Sort = "name"

# Search input: words are runs of letters and digits (anything else separates words and never
# reaches the query parser); at most MAX_TERMS of them, each at most MAX_TERM_LENGTH characters.
_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 8
MAX_TERM_LENGTH = 64
MIN_PREFIX_LENGTH = 2
CURSOR_VERSION = 1
_INT4_MAX = 2**31 - 1


def parse_uuid(value: str) -> str | None:
    """The canonical form of a UUID path parameter, or None if it is not one (callers answer 404)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def product_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "category": row["category"],
        "price_cents": int(row["price_cents"]),
        "currency": str(row["currency"]).strip(),
        "stock": int(row["stock"]),
        "image_url": row["image_url"],
    }


def search_terms(q: str | None) -> tuple[str, ...]:
    """The words of a search box's text, lower-cased: the only part of it any query sees."""
    if not q:
        return ()
    return tuple(word.lower()[:MAX_TERM_LENGTH] for word in _WORD.findall(q)[:MAX_TERMS])


def search_condition(terms: tuple[str, ...]) -> tuple[str, list[Any]]:
    """A WHERE condition matching ``terms`` as typed so far: every complete word as an English word
    (stemmed: "mugs" finds "mug"), the last one as a prefix of a word (``:*``) once it has
    MIN_PREFIX_LENGTH characters. The prefix is stemmed too and matched against both the English and
    the unstemmed lexemes of the document, so "runn" finds "running" and "kettles" finds "kettle".

    Words are bound parameters: complete words through plainto_tsquery (which parses no operators),
    the last through to_tsquery only after ``search_terms`` reduced it to letters and digits, and
    quoted as a tsquery literal besides."""
    *complete, last = terms
    # A one-letter prefix matches most of a catalog: wait for the second letter.
    prefix = "'" + last + ("':*" if len(last) >= MIN_PREFIX_LENGTH else "'")
    condition = "search_document @@ (plainto_tsquery('english', %s) && to_tsquery('english', %s))"
    return condition, [" ".join(complete), prefix]


def _bad_cursor(reason: str) -> ValidationFailedError:
    return ValidationFailedError(
        "cursor is not valid",
        {"errors": [{"loc": ["query", "cursor"], "type": "value_error", "message": reason}]},
    )


def fingerprint(sort: str, category: str | None, terms: tuple[str, ...]) -> str:
    """What a cursor is bound to: the sort, the category and the search."""
    material = json.dumps([sort, category, list(terms)], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def encode_cursor(sort: str, bound: str, product: dict[str, Any], key: Any) -> str:
    """The cursor after a page: its last product's sort key and id, and what it is bound to."""
    value = key.isoformat() if isinstance(key, datetime) else key
    # UTF-8, not \u escapes: a 200-character name stays within the documented 1,400 characters.
    document = json.dumps(
        [CURSOR_VERSION, sort, bound, value, product["id"]], separators=(",", ":"), ensure_ascii=False
    )
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def _cursor_key(order: SortOrder, value: Any) -> Any:
    """The cursor's sort key, checked for its type (a forged cursor is a 422, never a database error)."""
    if order.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT4_MAX:
            raise _bad_cursor("not a cursor")
        return value
    if not isinstance(value, str) or "\x00" in value or len(value) > 400:
        raise _bad_cursor("not a cursor")
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise _bad_cursor("not a cursor") from error
    if order.kind == "time":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise _bad_cursor("not a cursor") from error
        if moment.tzinfo is None:
            raise _bad_cursor("not a cursor")
        return moment
    return value


def decode_cursor(cursor: str, sort: str, bound: str) -> tuple[Any, str]:
    """(sort key, product id) of a cursor issued for ``sort`` and ``bound``: ValidationFailedError
    if it is not a cursor, CursorMismatchError if it was issued for another sort, category or search."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise _bad_cursor("not a cursor") from error
    if not isinstance(document, list) or len(document) != 5 or document[0] != CURSOR_VERSION:
        raise _bad_cursor("not a cursor")
    _, cursor_sort, cursor_bound, value, product_id = document
    if not isinstance(cursor_sort, str) or not isinstance(cursor_bound, str) or not isinstance(product_id, str):
        raise _bad_cursor("not a cursor")
    if cursor_sort != sort or cursor_bound != bound:
        raise CursorMismatchError(
            "this cursor belongs to another sort, category or search: start again without a cursor",
            {"cursor_sort": cursor_sort if cursor_sort in SORTS else None, "sort": sort},
        )
    canonical = parse_uuid(product_id)
    if canonical is None or canonical != product_id:
        raise _bad_cursor("not a cursor")
    return _cursor_key(SORTS[sort], value), canonical


def fetch_product(product_id: str) -> dict[str, Any] | None:
    def work(conn: DictConnection) -> dict[str, Any] | None:
        row = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = %s", (product_id,)).fetchone()
        return product_dict(row) if row else None

    return run(Role.READER, work)


def page_query(
    sort: str, category: str | None, terms: tuple[str, ...], after: tuple[Any, str] | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL and parameters of one page (``bench/`` EXPLAINs exactly this)."""
    order = SORTS[sort]
    conditions: list[str] = list(LISTED)
    params: list[Any] = []
    if category is not None:
        conditions.append("category = %s")
        params.append(category)
    if terms:
        condition, values = search_condition(terms)
        conditions.append(condition)
        params += values
    if after is not None:
        conditions.append(order.after)
        params += list(after)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    if not terms:
        # Browsing: the sort's index walks the rows in order and stops after one page.
        select = f"SELECT {PRODUCT_COLUMNS}, {order.column} AS sort_key FROM products {where}"
        return f"{select} ORDER BY {order.order_by} LIMIT %s", [*params, limit + 1]
    # Searching: every match first (the GIN index), then the page. Left to itself the planner may
    # walk the sort's index and filter, betting that matches are spread evenly; they are not (all
    # the "Walnut ..." names sit together), and a rare word (a model number) makes that bet scan
    # the whole table. This way a search costs what its matches cost (bench/bench_catalog_search.py).
    # Only the keys are materialised; the page's rows are read afterwards.
    direction = " DESC" if order.descending else ""
    page_order = f"page.sort_key{direction}, page.row_id{direction}"
    query = (
        f"WITH matches AS MATERIALIZED (SELECT products.id AS row_id, {order.column} AS sort_key"
        f" FROM products {where}),"
        f" page AS (SELECT row_id, sort_key FROM matches AS page ORDER BY {page_order} LIMIT %s)"
        f" SELECT {PRODUCT_COLUMNS}, page.sort_key, page.row_id FROM page JOIN products ON products.id = page.row_id"
        f" ORDER BY {page_order}"
    )
    return query, [*params, limit + 1]


def fetch_page(
    sort: str, category: str | None, terms: tuple[str, ...], limit: int, after: tuple[Any, str] | None
) -> dict[str, Any]:
    """One page in ``sort`` order with keyset pagination."""
    query, params = page_query(sort, category, terms, after, limit)

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return list(conn.execute(query, params).fetchall())

    rows = run(Role.READER, work)
    items = [product_dict(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(sort, fingerprint(sort, category, terms), items[-1], rows[limit - 1]["sort_key"])
    return {"items": items, "next_cursor": next_cursor}


def fetch_products(product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current catalog rows for ``product_ids`` (missing ids are absent from the result)."""
    if not product_ids:
        return {}

    def work(conn: DictConnection) -> dict[str, dict[str, Any]]:
        rows = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ANY(%s::uuid[])", (product_ids,))
        return {str(row["id"]): product_dict(row) for row in rows.fetchall()}

    return run(Role.READER, work)


def page_cache_key(sort: str, category: str | None, terms: tuple[str, ...], limit: int, cursor: str | None) -> str:
    """The cache key of one page: every parameter that shapes it (the search as its normalised words)."""
    return "products|" + json.dumps([sort, category, list(terms), limit, cursor], separators=(",", ":"))


def list_products(
    category: str | None, limit: int, cursor: str | None, sort: str = DEFAULT_SORT, q: str | None = None
) -> ProductList:
    """One page of the catalog (cached under every parameter that shapes it)."""
    terms = search_terms(q)
    bound = fingerprint(sort, category, terms)
    after = decode_cursor(cursor, sort, bound) if cursor is not None else None  # checked cached or not
    page = cache.read_through(
        page_cache_key(sort, category, terms, limit, cursor), lambda: fetch_page(sort, category, terms, limit, after)
    )
    return ProductList.model_validate(page)


def fetch_categories() -> dict[str, Any]:
    where = f"WHERE {' AND '.join(LISTED)}" if LISTED else ""
    query = f"SELECT category, count(*) AS count FROM products {where} GROUP BY category ORDER BY category"

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return [{"category": row["category"], "count": int(row["count"])} for row in conn.execute(query).fetchall()]

    return {"items": run(Role.READER, work)}


def list_categories() -> CategoryList:
    """Every category with how many products it lists (cached)."""
    return CategoryList.model_validate(cache.read_through("categories", fetch_categories))


def get_product(product_id: str) -> Product:
    """One product (cached); NotFoundError for an unknown or malformed id."""
    canonical = parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    found = cache.read_through(f"product|{canonical}", lambda: {"product": fetch_product(canonical)})
    if found.get("product") is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return Product.model_validate(found["product"])


def require_product(product_id: str) -> Product:
    """The current row of one product from the database (not the cache); NotFoundError otherwise."""
    canonical = parse_uuid(product_id)
    row = fetch_product(canonical) if canonical else None
    if row is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    return Product.model_validate(row)
