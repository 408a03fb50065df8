"""The back-office API through the real handler and both event sources: orders list/search/detail,
archive, image uploads to the moto server's S3 (a real presigned POST), migration 0008."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shop.db import migrate
from shop.declarations import IMAGE_MAX_BYTES, STAFF_GROUP, Env
from shop.local.services import DynamoHandle, UserPoolHandle, ensure_media_bucket
from tests.app.conftest import Call, schema_before
from tests.app.events import ADDRESS
from tests.app.test_customers import accounts, bearer, sign_in, sign_up, user_pool  # noqa: F401
from tests.app.test_lifecycle import _force

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="session")
def media_env(dynamodb: DynamoHandle) -> dict[str, str]:
    return ensure_media_bucket(dynamodb.endpoint_url, suffix="test")


@pytest.fixture
def media(app_env: dict[str, str], media_env: dict[str, str]) -> Iterator[dict[str, str]]:
    from shop import config
    from shop.domain import back_office

    saved = {key: os.environ.get(key) for key in media_env}
    os.environ.update(media_env)
    config.settings.reset()
    back_office.s3.reset()
    yield media_env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    config.settings.reset()
    back_office.s3.reset()


def _place(rest: Call, product_id: str, email: str) -> str:
    cart = rest("POST", "/api/carts").body["cart_id"]
    assert rest("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": 1}).status == 200
    reply = rest("POST", "/api/checkout", body={"cart_id": cart, "email": email, "shipping_address": ADDRESS})
    assert reply.status == 201, reply.body
    return str(reply.body["order_id"])


@pytest.fixture
def three_orders(rest: Call, shop: dict[str, dict[str, Any]], db: Any) -> list[str]:
    """Three orders, oldest first: Ada's (paid), Bob's (pending), Ada's again (paid, then fulfilled)."""
    mug = shop["MUG-001"]["id"]
    ids = [
        _place(rest, mug, "Ada.Lovelace@example.com"),
        _place(rest, mug, "bob@example.org"),
        _place(rest, mug, "ada.lovelace@example.com"),
    ]
    _force(db, ids[0], ["paid"])
    _force(db, ids[2], ["paid", "fulfilled"])
    # Distinct, known creation times (a test run is faster than the clock's resolution would show).
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n, order_id in enumerate(ids):
        db.execute("UPDATE orders SET created_at = %s WHERE id = %s", (base + timedelta(days=n), order_id))
    return ids


def _ids(reply: Any) -> list[str]:
    assert reply.status == 200, reply.body
    return [item["order_id"] for item in reply.body["items"]]


def test_orders_newest_first_filtered_and_searched(admin: Call, api: Call, three_orders: list[str]) -> None:
    ada1, bob, ada2 = three_orders
    assert _ids(admin("GET", "/api/admin/orders")) == [ada2, bob, ada1]
    assert _ids(admin("GET", "/api/admin/orders", query={"status": "paid"})) == [ada1]
    assert _ids(admin("GET", "/api/admin/orders", query={"status": "pending_payment"})) == [bob]
    # E-mail: case-insensitive, exact or its beginning; LIKE characters are literal.
    assert _ids(admin("GET", "/api/admin/orders", query={"q": "ADA.lovelace@EXAMPLE.com"})) == [ada2, ada1]
    assert _ids(admin("GET", "/api/admin/orders", query={"q": "bo"})) == [bob]
    assert _ids(admin("GET", "/api/admin/orders", query={"q": "%"})) == []
    assert _ids(admin("GET", "/api/admin/orders", query={"q": bob})) == [bob]
    # Creation time: from inclusive, to exclusive.
    window = {"created_from": "2026-03-02T12:00:00Z", "created_to": "2026-03-03T12:00:00Z"}
    assert _ids(admin("GET", "/api/admin/orders", query=window)) == [bob]
    assert _ids(admin("GET", "/api/admin/orders", query={"created_from": "2026-03-02T00:00:00+00:00"})) == [ada2, bob]


def test_keyset_pages_cover_every_order_once(admin: Call, three_orders: list[str]) -> None:
    seen: list[str] = []
    query: dict[str, str] = {"limit": "1"}
    for _ in range(5):
        reply = admin("GET", "/api/admin/orders", query=query)
        seen += _ids(reply)
        if reply.body["next_cursor"] is None:
            break
        query = {"limit": "1", "cursor": reply.body["next_cursor"]}
    assert seen == list(reversed(three_orders))


@pytest.mark.parametrize(
    "query",
    [
        {"status": "shipped"},
        {"created_from": "yesterday"},
        {"created_from": "2026-03-02T00:00:00"},  # no time zone
        {"created_from": "2026-03-03T00:00:00Z", "created_to": "2026-03-02T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"limit": "0"},
        {"limit": "101"},
    ],
)
def test_bad_filters_are_422(admin: Call, shop: Any, query: dict[str, str]) -> None:
    reply = admin("GET", "/api/admin/orders", query=query)
    assert (reply.status, reply.error_code) == (422, "validation_error"), reply.body


def test_order_detail_has_the_history_without_an_order_token(
    api: Call,
    three_orders: list[str],
    accounts: UserPoolHandle,  # noqa: F811
) -> None:
    staff = sign_up(accounts, groups=(STAFF_GROUP,))
    reply = api("GET", f"/api/admin/orders/{three_orders[2]}", headers=bearer(staff))
    assert reply.status == 200, reply.body
    assert [h["to_status"] for h in reply.body["history"]] == ["pending_payment", "paid", "fulfilled"]
    assert reply.body["shipping_address"]["line1"] == ADDRESS["line1"]
    assert reply.headers["cache-control"] == "no-store"
    assert api("GET", f"/api/admin/orders/{uuid.uuid4()}", headers=bearer(staff)).status == 404
    assert api("GET", f"/api/admin/orders/{three_orders[2]}").status == 401
    customer = sign_up(accounts)
    assert api("GET", "/api/admin/orders", headers=bearer(customer)).status == 403


def test_archive_hides_an_ordered_product_and_keeps_its_orders(
    admin: Call, api: Call, rest: Call, shop: dict[str, dict[str, Any]], db: Any
) -> None:
    mug = shop["MUG-001"]
    order_id = _place(rest, mug["id"], "keep@example.com")
    reply = admin("POST", f"/api/admin/products/{mug['id']}/archive")
    assert reply.status == 200, reply.body
    assert reply.body["archived"] is True and reply.body["stock"] == 0
    assert admin("POST", f"/api/admin/products/{mug['id']}/archive").body["archived"] is True  # idempotent
    # Gone from the storefront, still in the back office, the order still names it.
    listed = {item["id"] for item in api("GET", "/api/products", query={"limit": "100"}).body["items"]}
    assert mug["id"] not in listed and shop["KIT-011"]["id"] in listed
    assert api("GET", f"/api/products/{mug['id']}").status == 404
    cart = api("POST", "/api/carts").body["cart_id"]
    assert api("PUT", f"/api/carts/{cart}/items/{mug['id']}", body={"quantity": 1}).status == 404
    everything = admin("GET", "/api/admin/products", query={"limit": "100"}).body["items"]
    assert {p["id"]: p["archived"] for p in everything}[mug["id"]] is True
    assert db.execute("SELECT count(*) FROM order_lines WHERE product_id = %s", (mug["id"],)).fetchone()[0] == 1
    assert _ids(admin("GET", "/api/admin/orders", query={"q": order_id})) == [order_id]
    assert admin("POST", f"/api/admin/products/{uuid.uuid4()}/archive").status == 404


def test_admin_product_pages(admin: Call, shop: dict[str, dict[str, Any]]) -> None:
    seen: list[str] = []
    query = {"limit": "2"}
    while True:
        body = admin("GET", "/api/admin/products", query=query).body
        seen += [p["id"] for p in body["items"]]
        if body["next_cursor"] is None:
            break
        query = {"limit": "2", "cursor": body["next_cursor"]}
    assert sorted(seen) == sorted(p["id"] for p in shop.values())
    assert len(seen) == len(set(seen))


# --------------------------------------------------------------------------- images


def _policy(upload: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(upload["fields"]["policy"]))
    return decoded


def _post_form(url: str, fields: dict[str, str], data: bytes, content_type: str) -> int:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=b"".join(parts), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_image_upload_presigned_post_and_the_product_keeps_the_key(
    admin: Call, api: Call, shop: dict[str, dict[str, Any]], media: dict[str, str]
) -> None:
    import boto3

    mug = shop["MUG-001"]
    reply = admin("POST", f"/api/admin/products/{mug['id']}/image-upload", body={"content_type": "image/png"})
    assert reply.status == 201, reply.body
    upload = reply.body
    assert upload["key"].startswith(f"media/products/{mug['id']}/") and upload["key"].endswith(".png")
    conditions = _policy(upload)["conditions"]
    assert ["content-length-range", 1, IMAGE_MAX_BYTES] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": upload["key"]} in conditions
    assert upload["max_bytes"] == IMAGE_MAX_BYTES

    assert _post_form(upload["url"], upload["fields"], PNG, "image/png") in (200, 201, 204)
    s3 = boto3.client("s3", endpoint_url=media["AWS_ENDPOINT_URL_S3"], region_name="us-east-1")
    stored = s3.get_object(Bucket=media[str(Env.MEDIA_BUCKET)], Key=upload["key"])
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"

    changed = admin("PUT", f"/api/admin/products/{mug['id']}", body={"image_key": upload["key"]})
    assert changed.status == 200, changed.body
    shown = api("GET", f"/api/products/{mug['id']}").body
    assert (shown["image_key"], shown["image_url"]) == (upload["key"], f"/{upload['key']}")


def test_image_keys_of_another_product_or_shape_are_422(
    admin: Call, shop: dict[str, dict[str, Any]], media: dict[str, str], db: Any
) -> None:
    mug, tee = shop["MUG-001"], shop["KIT-011"]
    other = admin("POST", f"/api/admin/products/{tee['id']}/image-upload", body={"content_type": "image/jpeg"}).body
    for key in (other["key"], "media/products/x/y.png", "../../etc/passwd", f"media/products/{mug['id']}/a.gif"):
        reply = admin("PUT", f"/api/admin/products/{mug['id']}", body={"image_key": key})
        assert (reply.status, reply.error_code) == (422, "validation_error"), key
    assert db.execute("SELECT image_key FROM products WHERE id = %s", (mug["id"],)).fetchone()[0] is None
    for body in ({"content_type": "image/gif"}, {"content_type": "text/html"}, {}):
        reply = admin("POST", f"/api/admin/products/{mug['id']}/image-upload", body=body)
        assert reply.status == 422
    unknown = f"/api/admin/products/{uuid.uuid4()}/image-upload"
    assert admin("POST", unknown, body={"content_type": "image/png"}).status == 404


def test_with_a_kms_key_the_policy_requires_it() -> None:
    from shop.domain.back_office import upload_policy

    key = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    fields, conditions = upload_policy("image/webp", key)
    assert fields["x-amz-server-side-encryption"] == "aws:kms"
    assert {"x-amz-server-side-encryption-aws-kms-key-id": key} in conditions
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert "x-amz-server-side-encryption" not in upload_policy("image/webp", None)[0]


# --------------------------------------------------------------------------- migration 0008


def test_migration_0008_on_a_database_with_data_and_the_app_role_may_use_it(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        product = schema_before(conn, 8)
    applied = migrate.migrate(scratch_db)
    assert "0008_back_office" in applied
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        assert conn.execute("SELECT archived_at, image_key FROM products").fetchall() == [(None, None)]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE products SET image_key = 'elsewhere/x.png'")
        conn.execute("SET ROLE shop_app")
        key = f"media/products/{product}/{'a' * 32}.png"
        conn.execute("UPDATE products SET image_key = %s, archived_at = now() WHERE id = %s", (key, product))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE products DROP COLUMN image_key")
    assert migrate.migrate(scratch_db) == []
