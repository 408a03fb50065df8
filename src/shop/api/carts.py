"""Carts in the DynamoDB sessions table: one item per cart, ``items`` maps product id → quantity.

Every write refreshes ``expires_at`` (the table's TTL attribute) to now + ``CART_TTL_SECONDS``; a cart
past its ``expires_at`` is treated as gone even before DynamoDB's TTL sweep deletes it.
"""

from __future__ import annotations

import secrets
from typing import Any

from shop.api import store
from shop.api.errors import CartFullError, NotFoundError
from shop.api.runtime import dynamodb, env_int, now, table_name
from shop.declarations import CART_TTL_SECONDS, SESSIONS_TABLE, Env

DEFAULT_TTL_SECONDS = CART_TTL_SECONDS
MAX_CART_ID_LENGTH = 64
MAX_LINES = 50
_KEY = SESSIONS_TABLE.hash_key.name
_TTL = SESSIONS_TABLE.ttl_attribute or "expires_at"


def _ttl() -> int:
    return env_int(Env.CART_TTL_SECONDS, DEFAULT_TTL_SECONDS, minimum=60)


def _not_found(cart_id: str) -> NotFoundError:
    return NotFoundError("cart not found or expired", {"cart_id": cart_id[:MAX_CART_ID_LENGTH]})


def _parse(item: dict[str, Any]) -> tuple[dict[str, int], int]:
    items = {pid: int(value["N"]) for pid, value in item.get("items", {}).get("M", {}).items()}
    return items, int(item[_TTL]["N"])


def create() -> tuple[str, dict[str, int], int]:
    cart_id = secrets.token_urlsafe(18)
    expires_at = now() + _ttl()
    dynamodb().put_item(
        TableName=table_name(SESSIONS_TABLE),
        Item={
            _KEY: {"S": cart_id},
            "items": {"M": {}},
            _TTL: {"N": str(expires_at)},
            "created_at": {"N": str(now())},
        },
        ConditionExpression="attribute_not_exists(#k)",
        ExpressionAttributeNames={"#k": _KEY},
    )
    return cart_id, {}, expires_at


def load(cart_id: str, *, consistent: bool = False) -> tuple[dict[str, int], int]:
    """(items, expires_at) of a live cart; NotFoundError otherwise."""
    if not cart_id or len(cart_id) > MAX_CART_ID_LENGTH:
        raise _not_found(cart_id)
    response = dynamodb().get_item(
        TableName=table_name(SESSIONS_TABLE), Key={_KEY: {"S": cart_id}}, ConsistentRead=consistent
    )
    item = response.get("Item")
    if item is None:
        raise _not_found(cart_id)
    items, expires_at = _parse(item)
    if expires_at <= now():
        raise _not_found(cart_id)
    return items, expires_at


def _update(
    cart_id: str, expression: str, names: dict[str, str], values: dict[str, Any], extra_condition: str = ""
) -> tuple[dict[str, int], int]:
    if not cart_id or len(cart_id) > MAX_CART_ID_LENGTH:
        raise _not_found(cart_id)
    client = dynamodb()
    condition = "attribute_exists(#k) AND #ttl > :now"
    try:
        response = client.update_item(
            TableName=table_name(SESSIONS_TABLE),
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
            items, _ = load(cart_id, consistent=True)
            raise CartFullError(
                f"a cart holds at most {MAX_LINES} different products", {"lines": len(items), "max_lines": MAX_LINES}
            ) from exc
        raise _not_found(cart_id) from exc
    return _parse(response["Attributes"])


def set_quantity(cart_id: str, product_id: str, quantity: int) -> tuple[dict[str, int], int]:
    return _update(
        cart_id,
        "SET #items.#pid = :q, #ttl = :exp",
        {"#items": "items", "#pid": product_id},
        {":q": {"N": str(quantity)}, ":exp": {"N": str(now() + _ttl())}, ":max": {"N": str(MAX_LINES)}},
        extra_condition="attribute_exists(#items.#pid) OR size(#items) < :max",
    )


def remove(cart_id: str, product_id: str) -> tuple[dict[str, int], int]:
    return _update(
        cart_id,
        "REMOVE #items.#pid SET #ttl = :exp",
        {"#items": "items", "#pid": product_id},
        {":exp": {"N": str(now() + _ttl())}},
    )


def delete(cart_id: str) -> None:
    dynamodb().delete_item(TableName=table_name(SESSIONS_TABLE), Key={_KEY: {"S": cart_id}})


def view(cart_id: str, items: dict[str, int], expires_at: int) -> dict[str, Any]:
    """The cart as the API shows it: lines at current catalog prices, ordered by product name."""
    products = store.fetch_products(sorted(pid for pid in items if store.parse_uuid(pid) == pid))
    lines = []
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None:
            continue
        price = product["price_cents"]
        lines.append(
            {
                "product_id": product_id,
                "name": product["name"],
                "quantity": quantity,
                "unit_price_cents": price,
                "line_total_cents": price * quantity,
            }
        )
    lines.sort(key=lambda line: (line["name"], line["product_id"]))
    return {
        "cart_id": cart_id,
        "items": lines,
        "total_cents": sum(line["line_total_cents"] for line in lines),
        "currency": "USD",
        "expires_at": expires_at,
    }
