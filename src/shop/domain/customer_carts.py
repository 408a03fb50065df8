"""The signed-in customer's cart, and merging the anonymous cart into it on sign-in.

The customer's cart is an ordinary cart (a random id; the cart routes read and change it) that the
sessions table points at from ``customer#<sub>`` (a key no cart id can take, so no cart route
reaches the pointer). Every device the customer signs in on gets the same cart.

**Merge** (``POST /api/me/cart`` with ``{"cart_id": <anonymous cart>}``): each product's quantities
add up, capped by the current stock and ``CART_LINE_MAX_QUANTITY``; the customer's own lines are never
lowered; lines beyond ``MAX_LINES`` are left out; every capped line is reported in ``adjusted``.
Holding the anonymous cart's id is the proof of holding the cart (as for every cart route); a cart
created for another customer is not theirs to merge (404, like an unknown one).

Exactly once, whatever is retried: one ``TransactWriteItems`` writes the customer's cart and marks the
anonymous one ``merged_into`` the customer's, each on the condition that its ``rev`` is still the one
read (and that the anonymous cart is not merged yet). Nothing is written half, a concurrent change
of either cart makes the transaction fail and the merge start over from fresh reads, and a retried
merge (a lost response, a double click, two tabs) finds the anonymous cart already merged into this
customer's cart and returns that cart unchanged. The mark lives as long as the cart would have.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Literal

from shop.api import observability as obs
from shop.api.errors import ConflictError, NotFoundError
from shop.api.models import CartAdjustment, MergedCart
from shop.auth import Identity
from shop.aws import dynamodb, now
from shop.declarations import CART_LINE_MAX_QUANTITY, CART_TTL_SECONDS, REFRESH_TOKEN_DAYS, SESSIONS_TABLE
from shop.domain import carts, catalog

POINTER_PREFIX = "customer#"
# The pointer outlives any session that could use it: a session lasts at most as long as its refresh
# token, and every sign-in (a merge) refreshes it.
POINTER_TTL_SECONDS = REFRESH_TOKEN_DAYS * 24 * 3600 + CART_TTL_SECONDS
MERGE_ATTEMPTS = 4
# A replayed merge's reads of the customer's cart until they show the merge (0.05 + 0.1 + ... s).
REPLAY_READS = 5
REPLAY_READ_PAUSE_SECONDS = 0.05
_KEY = SESSIONS_TABLE.hash_key.name
_TTL = SESSIONS_TABLE.ttl_attribute or "expires_at"


def _table() -> str:
    return carts._table()


def _pointer_key(sub: str) -> dict[str, Any]:
    return {_KEY: {"S": POINTER_PREFIX + sub}}


def _pointed_cart(sub: str) -> tuple[str | None, carts.CartContents | None]:
    """The cart id the customer's pointer names, and that cart if it is still a live, unmerged cart."""
    item = dynamodb().get_item(TableName=_table(), Key=_pointer_key(sub), ConsistentRead=True).get("Item")
    if item is None or "cart_id" not in item:
        return None, None
    cart_id = str(item["cart_id"]["S"])
    contents = carts.read(cart_id, consistent=True)
    if contents is None or contents.merged_into is not None:
        return cart_id, None
    return cart_id, contents


def _pointer_item(sub: str, cart_id: str) -> dict[str, Any]:
    return {
        **_pointer_key(sub),
        "cart_id": {"S": cart_id},
        _TTL: {"N": str(now() + POINTER_TTL_SECONDS)},
    }


def customer_cart(sub: str) -> carts.CartContents:
    """The customer's live cart, created (with its pointer, in one transaction) when there is none."""
    client = dynamodb()
    for _ in range(MERGE_ATTEMPTS):
        stale, contents = _pointed_cart(sub)
        if contents is not None:
            return contents
        fresh, item = carts.new_item(owner=sub)
        # The pointer is replaced only if it is still what we read: two first sign-ins at once make one cart.
        if stale is None:
            condition, values = "attribute_not_exists(#k)", {}
        else:
            condition, values = "attribute_not_exists(#k) OR cart_id = :stale", {":stale": {"S": stale}}
        pointer: dict[str, Any] = {
            "TableName": _table(),
            "Item": _pointer_item(sub, fresh.cart_id),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#k": _KEY},
        }
        if values:
            pointer["ExpressionAttributeValues"] = values
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": _table(),
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(#k)",
                            "ExpressionAttributeNames": {"#k": _KEY},
                        }
                    },
                    {"Put": pointer},
                ]
            )
        except client.exceptions.TransactionCanceledException:
            continue  # someone else made the customer's cart first: read it
        return fresh
    raise ConflictError("the cart changed while it was being set up; retry", {})


def _rev_condition(alias: str, contents: carts.CartContents) -> str:
    """The item is live, unmerged and unchanged since it was read (``rev`` as read, or none yet)."""
    unchanged = f"#rev = {alias}" if contents.rev else f"(attribute_not_exists(#rev) OR #rev = {alias})"
    return f"attribute_exists(#k) AND #ttl > :now AND attribute_not_exists(#merged) AND {unchanged}"


def combine(
    mine: dict[str, int], theirs: dict[str, int], stock: dict[str, int]
) -> tuple[dict[str, int], list[CartAdjustment]]:
    """The merged lines: quantities added, capped by ``stock`` and the per-line maximum, the customer's
    own quantities never lowered, at most ``MAX_LINES`` lines; and what was capped."""
    merged = dict(mine)
    adjusted: list[CartAdjustment] = []
    for product_id, quantity in sorted(theirs.items()):
        requested = mine.get(product_id, 0) + quantity
        available = stock.get(product_id)
        if available is None:
            gone = CartAdjustment(product_id=product_id, requested=requested, quantity=0, reason="unavailable")
            adjusted.append(gone)
            continue
        if product_id not in merged and len(merged) >= carts.MAX_LINES:
            adjusted.append(CartAdjustment(product_id=product_id, requested=requested, quantity=0, reason="max_lines"))
            continue
        by_stock = available < CART_LINE_MAX_QUANTITY
        granted = max(mine.get(product_id, 0), min(requested, available if by_stock else CART_LINE_MAX_QUANTITY))
        if granted < requested:
            reason: Literal["stock", "max_quantity"] = "stock" if by_stock else "max_quantity"
            adjusted.append(CartAdjustment(product_id=product_id, requested=requested, quantity=granted, reason=reason))
        if granted > 0:
            merged[product_id] = granted
    return merged, adjusted


def _stock(product_ids: list[str]) -> dict[str, int]:
    wanted = sorted(pid for pid in product_ids if catalog.parse_uuid(pid) == pid)
    return {pid: int(product["stock"]) for pid, product in catalog.fetch_products(wanted).items()}


def _write_merge(target: carts.CartContents, source: carts.CartContents, merged: dict[str, int]) -> None:
    """Both carts in one transaction, each only if unchanged since read (TransactionCanceledException otherwise)."""
    names = {"#k": _KEY, "#ttl": _TTL, "#rev": carts.REV, "#merged": carts.MERGED_INTO}
    client = dynamodb()
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": _table(),
                    "Key": {_KEY: {"S": target.cart_id}},
                    "UpdateExpression": "SET #items = :items, #ttl = :exp, #rev = :next",
                    "ConditionExpression": _rev_condition(":rev", target),
                    "ExpressionAttributeNames": {**names, "#items": "items"},
                    "ExpressionAttributeValues": {
                        ":items": {"M": {pid: {"N": str(q)} for pid, q in merged.items()}},
                        ":exp": {"N": str(now() + carts._ttl())},
                        ":rev": {"N": str(target.rev)},
                        ":next": {"N": str(target.rev + 1)},
                        ":now": {"N": str(now())},
                    },
                }
            },
            {
                "Update": {
                    "TableName": _table(),
                    "Key": {_KEY: {"S": source.cart_id}},
                    "UpdateExpression": "SET #merged = :into, #merged_rev = :into_rev, #rev = :next",
                    "ConditionExpression": _rev_condition(":rev", source),
                    "ExpressionAttributeNames": {**names, "#merged_rev": carts.MERGED_REV},
                    "ExpressionAttributeValues": {
                        ":into": {"S": target.cart_id},
                        ":into_rev": {"N": str(target.rev + 1)},
                        ":rev": {"N": str(source.rev)},
                        ":next": {"N": str(source.rev + 1)},
                        ":now": {"N": str(now())},
                    },
                }
            },
        ]
    )


def _refresh_pointer(sub: str, cart_id: str) -> None:
    """Extend the pointer's life, if it still names ``cart_id`` (a newer cart is never replaced)."""
    client = dynamodb()
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=_table(),
            Key=_pointer_key(sub),
            UpdateExpression="SET #ttl = :exp",
            ConditionExpression="cart_id = :cart",
            ExpressionAttributeNames={"#ttl": _TTL},
            ExpressionAttributeValues={":exp": {"N": str(now() + POINTER_TTL_SECONDS)}, ":cart": {"S": cart_id}},
        )


def _merged_target(cart_id: str, merged_rev: int | None) -> carts.CartContents:
    """The customer's cart as the merge left it or later. A read right after another request's merge
    may not show that merge's write to this cart yet, though it shows the mark on the merged cart:
    DynamoDB reads outside a transaction are read-committed per item, not a snapshot of both (and
    moto applies a transaction's items one by one). So read until the cart's ``rev`` has reached
    the one the merge wrote, briefly; then the caller is told to retry."""
    for attempt in range(REPLAY_READS):
        current = carts.load(cart_id, consistent=True)
        if merged_rev is None or current.rev >= merged_rev:
            return current
        time.sleep(REPLAY_READ_PAUSE_SECONDS * (attempt + 1))
    raise ConflictError("the cart is being merged; retry", {"cart_id": cart_id})


def merge(identity: Identity, source_id: str | None) -> MergedCart:
    """The customer's cart, with the cart ``source_id`` merged into it once (see the module doc)."""
    not_found = NotFoundError("cart not found or expired", {"cart_id": (source_id or "")[: carts.MAX_CART_ID_LENGTH]})
    client = dynamodb()
    for _ in range(MERGE_ATTEMPTS):
        target = customer_cart(identity.sub)
        if source_id is None or source_id == target.cart_id:
            _refresh_pointer(identity.sub, target.cart_id)
            return MergedCart(**carts.view(target).model_dump())
        source = carts.read(source_id, consistent=True)
        if source is None or (source.owner is not None and source.owner != identity.sub):
            raise not_found
        if source.merged_into is not None:
            if source.merged_into != target.cart_id:
                raise not_found  # merged elsewhere: nothing of it is left to merge
            obs.logger().info("cart merge replayed", extra={"cart_id": target.cart_id})
            return MergedCart(**carts.view(_merged_target(target.cart_id, source.merged_rev)).model_dump())
        merged, adjusted = combine(target.items, source.items, _stock([*source.items, *target.items]))
        try:
            _write_merge(target, source, merged)
        except client.exceptions.TransactionCanceledException:
            continue  # one of the carts changed (or was merged) meanwhile: read both again
        _refresh_pointer(identity.sub, target.cart_id)
        obs.count("CartsMerged")
        after = carts.CartContents(target.cart_id, merged, now() + carts._ttl(), target.rev + 1, target.owner)
        return MergedCart(**carts.view(after).model_dump(), adjusted=adjusted)
    raise ConflictError("the carts kept changing during the merge; retry", {"cart_id": source_id})
