"""No secret at rest, no personal data in caches (issue 17 part 2).

- Every response of a route that carries personal data (carts, checkout, orders) says
  ``Cache-Control: no-store``, errors included, through API Gateway and ALB events alike; the
  catalog does not.
- The order token is derived, not stored: neither PostgreSQL nor any DynamoDB table holds it, and a
  replayed checkout hands out the same, working token.
- The local platform's data files (token secret, DynamoDB snapshot) are 0600 inside a 0700 directory.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import boto3
import psycopg

from tests.app.conftest import Call
from tests.app.events import ADDRESS


def _cart_with(api: Call, product_id: str, quantity: int) -> str:
    cart = str(api("POST", "/api/carts").body["cart_id"])
    assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return cart


def test_personal_responses_are_no_store_on_both_event_sources(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    mug = shop["MUG-001"]
    created = api("POST", "/api/carts")
    cart = created.body["cart_id"]
    replies = {
        "create_cart": created,
        "put_cart_item": api("PUT", f"/api/carts/{cart}/items/{mug['id']}", body={"quantity": 1}),
        "get_cart": api("GET", f"/api/carts/{cart}"),
        "missing_cart": api("GET", "/api/carts/no-such-cart"),
    }
    placed = api("POST", "/api/checkout", body={"cart_id": cart, "email": "p@example.com", "shipping_address": ADDRESS})
    replies["checkout"] = placed
    token = {"X-Order-Token": placed.body["order_token"]}
    replies["get_order"] = api("GET", f"/api/orders/{placed.body['order_id']}", headers=token)
    replies["wrong_token"] = api("GET", f"/api/orders/{placed.body['order_id']}", headers={"X-Order-Token": "x"})
    replies["delete_cart_item"] = api("DELETE", f"/api/carts/{cart}/items/{mug['id']}")
    replies["bad_checkout"] = api(
        "POST", "/api/checkout", body={"cart_id": cart, "email": "not-an-address", "shipping_address": ADDRESS}
    )
    assert {name: reply.headers.get("cache-control") for name, reply in replies.items()} == dict.fromkeys(
        replies, "no-store"
    )
    assert replies["checkout"].status == 201 and replies["missing_cart"].status == 404
    assert "cache-control" not in api("GET", "/api/products").headers


def test_no_store_holds_the_order_token(
    api: Call, shop: dict[str, dict[str, Any]], app_env: dict[str, str], db: psycopg.Connection[tuple[Any, ...]]
) -> None:
    cart = _cart_with(api, shop["TEE-100"]["id"], 1)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = api(
        "POST",
        "/api/checkout",
        body={"cart_id": cart, "email": "t@example.com", "shipping_address": ADDRESS},
        headers=key,
    )
    replay = api(
        "POST",
        "/api/checkout",
        body={"cart_id": cart, "email": "t@example.com", "shipping_address": ADDRESS},
        headers=key,
    )
    token = first.body["order_token"]
    assert first.status == replay.status == 201 and replay.body["order_token"] == token
    assert api("GET", f"/api/orders/{first.body['order_id']}", headers={"X-Order-Token": token}).status == 200
    # PostgreSQL: nothing in any column of any table (text dump of orders and lines).
    dumped = json.dumps(
        [db.execute(f"SELECT to_jsonb(t)::text FROM {table} AS t").fetchall() for table in ("orders", "order_lines")]
    )
    assert first.body["order_id"] in dumped and token not in dumped
    # DynamoDB: no table holds it either (the idempotency record used to keep the whole response).
    client = boto3.client("dynamodb")
    for variable in ("SESSIONS_TABLE", "CACHE_TABLE", "IDEMPOTENCY_TABLE"):
        assert token not in json.dumps(client.scan(TableName=app_env[variable])["Items"])


def test_local_data_files_are_private(tmp_path: Path) -> None:
    from shop.local import snapshot
    from shop.local.services import ensure_token_secret, prepare_data_dir, write_private

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    old_umask = os.umask(0o022)
    try:
        prepare_data_dir(data_dir)
        secret = ensure_token_secret(data_dir)
        write_private(data_dir / snapshot.SNAPSHOT_FILE, b"{}")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for path in (secret, data_dir / snapshot.SNAPSHOT_FILE):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    value = secret.read_bytes()
    assert len(value) >= 32
    assert ensure_token_secret(data_dir).read_bytes() == value  # generated once, then kept


def test_as_root_the_database_server_keeps_reaching_its_directory(tmp_path: Path) -> None:
    """Run as root, PostgreSQL is another user: the 0700 data dir must be one it may enter, or its
    checkpointer dies reopening pg_control a few minutes in (seen under a long test run)."""
    import pwd

    import pytest

    from shop.local.services import SERVER_SYSTEM_USER, _system_user, prepare_data_dir

    if os.geteuid() != 0:
        pytest.skip("only root runs PostgreSQL as another user")
    _system_user()
    data_dir = prepare_data_dir(tmp_path / "data")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert data_dir.stat().st_uid == pwd.getpwnam(SERVER_SYSTEM_USER).pw_uid
