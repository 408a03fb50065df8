"""Carts in the DynamoDB sessions table: one item per cart, ``items`` maps product id → quantity.

Every write refreshes ``expires_at`` (the table's TTL attribute) to now + ``CART_TTL_SECONDS``; a cart
past its ``expires_at`` is treated as gone even before DynamoDB's TTL sweep deletes it. Every change
also counts up ``rev``, so a merge (``shop.domain.customer_carts``) can write on the condition that
nothing changed since it read. A cart merged into a customer's carries ``merged_into`` and is gone
for every other purpose. Only ids of the shape ``create`` issues name carts (other items of the table,
such as a customer's cart pointer, have keys no cart id can take).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from shop import config
from shop.api.errors import CartFullError, NotFoundError, OutOfStockError
from shop.api.models import CART_ID_PATTERN, Cart, CartLine
from shop.aws import dynamodb, now
from shop.declarations import SESSIONS_TABLE
from shop.domain import catalog

MAX_CART_ID_LENGTH = 64
MAX_LINES = 50
_KEY = SESSIONS_TABLE.hash_key.name
_TTL = SESSIONS_TABLE.ttl_attribute or "expires_at"
_CART_ID = re.compile(CART_ID_PATTERN)
# Attributes besides the key, items and TTL: the change counter, the owning customer's sub (carts
# created for a signed-in customer) and, once merged, the cart it went into and that cart's ``rev``
# right after the merge (a replay waits until a read of it shows at least that).
REV, OWNER, MERGED_INTO, MERGED_REV = "rev", "customer_sub", "merged_into", "merged_rev"


@dataclass(frozen=True)
class CartContents:
    """What the sessions table holds for a live cart: product id → quantity, and its expiry."""

    cart_id: str
    items: dict[str, int]
    expires_at: int
    rev: int = 0
    owner: str | None = None
    merged_into: str | None = None
    merged_rev: int | None = None


def _ttl() -> int:
    return config.settings().cart_ttl_seconds


def _table() -> str:
    return config.settings().table(SESSIONS_TABLE)


def _not_found(cart_id: str) -> NotFoundError:
    return NotFoundError("cart not found or expired", {"cart_id": cart_id[:MAX_CART_ID_LENGTH]})


def is_cart_id(cart_id: str) -> bool:
    return bool(cart_id) and len(cart_id) <= MAX_CART_ID_LENGTH and _CART_ID.fullmatch(cart_id) is not None


def _parse(cart_id: str, item: dict[str, Any]) -> CartContents:
    items = {pid: int(value["N"]) for pid, value in item.get("items", {}).get("M", {}).items()}
    return CartContents(
        cart_id,
        items,
        int(item[_TTL]["N"]),
        rev=int(item[REV]["N"]) if REV in item else 0,
        owner=item[OWNER]["S"] if OWNER in item else None,
        merged_into=item[MERGED_INTO]["S"] if MERGED_INTO in item else None,
        merged_rev=int(item[MERGED_REV]["N"]) if MERGED_REV in item else None,
    )


def new_item(owner: str | None = None) -> tuple[CartContents, dict[str, Any]]:
    """A new, empty cart and the item that stores it (not written yet)."""
    cart_id = secrets.token_urlsafe(18)
    expires_at = now() + _ttl()
    item: dict[str, Any] = {
        _KEY: {"S": cart_id},
        "items": {"M": {}},
        _TTL: {"N": str(expires_at)},
        "created_at": {"N": str(now())},
        REV: {"N": "0"},
    }
    if owner is not None:
        item[OWNER] = {"S": owner}
    return CartContents(cart_id, {}, expires_at, owner=owner), item


def create() -> Cart:
    """A new, empty cart."""
    contents, item = new_item()
    dynamodb().put_item(
        TableName=_table(),
        Item=item,
        ConditionExpression="attribute_not_exists(#k)",
        ExpressionAttributeNames={"#k": _KEY},
    )
    return view(contents)


def read(cart_id: str, *, consistent: bool = False) -> CartContents | None:
    """The cart as stored, merged or not; None when there is none (unknown, expired, not a cart id)."""
    if not is_cart_id(cart_id):
        return None
    response = dynamodb().get_item(TableName=_table(), Key={_KEY: {"S": cart_id}}, ConsistentRead=consistent)
    item = response.get("Item")
    if item is None or _TTL not in item:
        return None
    contents = _parse(cart_id, item)
    return contents if contents.expires_at > now() else None


def load(cart_id: str, *, consistent: bool = False) -> CartContents:
    """The contents of a live cart; NotFoundError otherwise (a merged cart is gone too)."""
    contents = read(cart_id, consistent=consistent)
    if contents is None or contents.merged_into is not None:
        raise _not_found(cart_id)
    return contents


def _update(
    cart_id: str, expression: str, names: dict[str, str], values: dict[str, Any], extra_condition: str = ""
) -> CartContents:
    if not is_cart_id(cart_id):
        raise _not_found(cart_id)
    client = dynamodb()
    condition = "attribute_exists(#k) AND #ttl > :now AND attribute_not_exists(#merged)"
    try:
        response = client.update_item(
            TableName=_table(),
            Key={_KEY: {"S": cart_id}},
            UpdateExpression=f"{expression} ADD #rev :one",
            ConditionExpression=f"{condition} AND ({extra_condition})" if extra_condition else condition,
            ExpressionAttributeNames={"#k": _KEY, "#ttl": _TTL, "#rev": REV, "#merged": MERGED_INTO, **names},
            ExpressionAttributeValues={":now": {"N": str(now())}, ":one": {"N": "1"}, **values},
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        if extra_condition:
            # Which condition failed? A live cart that refused the change is full; otherwise it is gone.
            lines = len(load(cart_id, consistent=True).items)
            raise CartFullError(
                f"a cart holds at most {MAX_LINES} different products", {"lines": lines, "max_lines": MAX_LINES}
            ) from exc
        raise _not_found(cart_id) from exc
    return _parse(cart_id, response["Attributes"])


def set_quantity(cart_id: str, product_id: str, quantity: int) -> CartContents:
    return _update(
        cart_id,
        "SET #items.#pid = :q, #ttl = :exp",
        {"#items": "items", "#pid": product_id},
        {":q": {"N": str(quantity)}, ":exp": {"N": str(now() + _ttl())}, ":max": {"N": str(MAX_LINES)}},
        extra_condition="attribute_exists(#items.#pid) OR size(#items) < :max",
    )


def remove(cart_id: str, product_id: str) -> CartContents:
    return _update(
        cart_id,
        "REMOVE #items.#pid SET #ttl = :exp",
        {"#items": "items", "#pid": product_id},
        {":exp": {"N": str(now() + _ttl())}},
    )


def delete(cart_id: str) -> None:
    if not is_cart_id(cart_id):
        return
    dynamodb().delete_item(TableName=_table(), Key={_KEY: {"S": cart_id}})


def get(cart_id: str) -> Cart:
    """A live cart at current prices."""
    return view(load(cart_id))


def set_item(cart_id: str, product_id: str, quantity: int) -> Cart:
    """Set one line's quantity (the product must exist and have the stock)."""
    product = catalog.require_product(product_id)
    if quantity > product.stock:
        raise OutOfStockError(
            "not enough stock",
            {"items": [{"product_id": product.id, "requested": quantity, "available": product.stock}]},
        )
    return view(set_quantity(cart_id, product.id, quantity))


def remove_item(cart_id: str, product_id: str) -> Cart:
    """Remove one line (removing an absent line is not an error)."""
    canonical = catalog.parse_uuid(product_id) or product_id[:64]
    return view(remove(cart_id, canonical))


def view(contents: CartContents) -> Cart:
    """The cart as the API shows it: lines at current catalog prices, ordered by product name."""
    items = contents.items
    products = catalog.fetch_products(sorted(pid for pid in items if catalog.parse_uuid(pid) == pid))
    lines = []
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None:
            continue
        price = product["price_cents"]
        lines.append(
            CartLine(
                product_id=product_id,
                name=product["name"],
                quantity=quantity,
                unit_price_cents=price,
                line_total_cents=price * quantity,
            )
        )
    lines.sort(key=lambda line: (line.name, line.product_id))
    return Cart(
        cart_id=contents.cart_id,
        items=lines,
        total_cents=sum(line.line_total_cents for line in lines),
        expires_at=contents.expires_at,
    )
