"""Carts in the DynamoDB sessions table: one item per cart, ``items`` maps product id → quantity.

Every write refreshes ``expires_at`` (the table's TTL attribute) to now + ``CART_TTL_SECONDS``; a cart
past its ``expires_at`` is treated as gone even before DynamoDB's TTL sweep deletes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from shop import config
from shop.api.errors import CartFullError, NotFoundError, OutOfStockError
from shop.api.models import Cart, CartLine
from shop.aws import dynamodb, now
from shop.declarations import SESSIONS_TABLE
from shop.domain import catalog

MAX_CART_ID_LENGTH = 64
MAX_LINES = 50
_KEY = SESSIONS_TABLE.hash_key.name
_TTL = SESSIONS_TABLE.ttl_attribute or "expires_at"


@dataclass(frozen=True)
class CartContents:
    """What the sessions table holds for a live cart: product id → quantity, and its expiry."""

    cart_id: str
    items: dict[str, int]
    expires_at: int


def _ttl() -> int:
    return config.settings().cart_ttl_seconds


def _table() -> str:
    return config.settings().table(SESSIONS_TABLE)


def _not_found(cart_id: str) -> NotFoundError:
    return NotFoundError("cart not found or expired", {"cart_id": cart_id[:MAX_CART_ID_LENGTH]})


def _parse(cart_id: str, item: dict[str, Any]) -> CartContents:
    items = {pid: int(value["N"]) for pid, value in item.get("items", {}).get("M", {}).items()}
    return CartContents(cart_id, items, int(item[_TTL]["N"]))


def create() -> Cart:
    """A new, empty cart."""
    cart_id = secrets.token_urlsafe(18)
    expires_at = now() + _ttl()
    dynamodb().put_item(
        TableName=_table(),
        Item={
            _KEY: {"S": cart_id},
            "items": {"M": {}},
            _TTL: {"N": str(expires_at)},
            "created_at": {"N": str(now())},
        },
        ConditionExpression="attribute_not_exists(#k)",
        ExpressionAttributeNames={"#k": _KEY},
    )
    return view(CartContents(cart_id, {}, expires_at))


def load(cart_id: str, *, consistent: bool = False) -> CartContents:
    """The contents of a live cart; NotFoundError otherwise."""
    if not cart_id or len(cart_id) > MAX_CART_ID_LENGTH:
        raise _not_found(cart_id)
    response = dynamodb().get_item(TableName=_table(), Key={_KEY: {"S": cart_id}}, ConsistentRead=consistent)
    item = response.get("Item")
    if item is None:
        raise _not_found(cart_id)
    contents = _parse(cart_id, item)
    if contents.expires_at <= now():
        raise _not_found(cart_id)
    return contents


def _update(
    cart_id: str, expression: str, names: dict[str, str], values: dict[str, Any], extra_condition: str = ""
) -> CartContents:
    if not cart_id or len(cart_id) > MAX_CART_ID_LENGTH:
        raise _not_found(cart_id)
    client = dynamodb()
    condition = "attribute_exists(#k) AND #ttl > :now"
    try:
        response = client.update_item(
            TableName=_table(),
            Key={_KEY: {"S": cart_id}},
            UpdateExpression=expression,
            ConditionExpression=f"{condition} AND ({extra_condition})" if extra_condition else condition,
            ExpressionAttributeNames={"#k": _KEY, "#ttl": _TTL, **names},
            ExpressionAttributeValues={":now": {"N": str(now())}, **values},
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
