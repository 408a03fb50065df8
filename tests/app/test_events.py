"""Order, stock and product events and the customer e-mails, against the real local components:
embedded PostgreSQL (the outbox and its triggers), the moto server (EventBridge bus, rule, SQS queues,
SES) and localstripe. Events are read back from a second SQS queue on the bus, e-mails from moto's SES."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from shop.db import migrate
from shop.events import (
    NOTIFICATIONS,
    ORDER_EVENTS,
    SOURCE,
    DetailType,
    envelope_schema,
    notification_pattern,
    schema,
)
from shop.local import events as local_events
from shop.local.services import DynamoHandle
from tests.app.conftest import Call
from tests.app.test_payments import _paid_order

REGION = "us-east-1"


@pytest.fixture(scope="session")
def bus(dynamodb: DynamoHandle, app_env: dict[str, str]) -> Iterator[local_events.EventsHandle]:
    """The bus, notifications queue, DLQ, rule and sender on the session's moto server; env applied."""
    handle = local_events.ensure_events(dynamodb.endpoint_url, REGION, suffix="test")
    env = handle.environment()
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield handle
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def tap(bus: local_events.EventsHandle) -> str:
    """A queue that receives every shop event on the bus."""
    return local_events.tap_queue(bus, "ecommerce-events-tap-test")


@pytest.fixture
def events(bus: local_events.EventsHandle, tap: str, shop: Any, db: Any) -> local_events.EventsHandle:
    """A clean outbox, mailbox record and queues for each test."""
    db.execute("TRUNCATE outbox, sent_emails")
    for url in (tap, bus.queue_url, bus.dlq_url):
        received(bus, url, wait=0)  # PurgeQueue is allowed once a minute: read them away
    return bus


def _sqs(bus: local_events.EventsHandle) -> Any:
    return local_events._client("sqs", bus.endpoint_url, REGION)


def received(bus: local_events.EventsHandle, url: str, wait: float = 2.0) -> list[dict[str, Any]]:
    """Every message on ``url`` (EventBridge events), deleted as read."""
    sqs, found, deadline = _sqs(bus), [], time.monotonic() + wait
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and time.monotonic() > deadline:
            return found
        if not messages:
            time.sleep(0.05)


def mail_for(order_id: str, endpoint_url: str) -> list[dict[str, Any]]:
    return [m for m in local_events.sent_mail(endpoint_url) if order_id in m["text"]]


def assert_valid(event: dict[str, Any]) -> None:
    assert event["source"] == SOURCE
    jsonschema.Draft4Validator(envelope_schema(event["detail-type"])).validate(event)


def _fulfil(admin: Call, order_id: str) -> None:
    body = {"carrier": "UPS", "tracking_reference": "1Z-TRACK-42"}
    reply = admin("POST", f"/api/admin/orders/{order_id}/fulfilment", body=body)
    assert reply.status == 200, reply.body


def test_every_schema_is_a_valid_draft4_schema_and_names_its_event_id() -> None:
    for kind in DetailType:
        jsonschema.Draft4Validator.check_schema(schema(kind))
        jsonschema.Draft4Validator.check_schema(envelope_schema(kind))
        assert "event_id" in schema(kind)["required"] and schema(kind)["properties"]["version"] == {
            "type": "integer",
            "enum": [1],
        }


def test_the_trigger_maps_exactly_the_declared_statuses_to_events() -> None:
    sql = next(m.sql for m in migrate.available() if m.version == 6)
    from shop.declarations import ORDER_STATES

    assert set(ORDER_EVENTS) == set(ORDER_STATES)
    for status, kind in ORDER_EVENTS.items():
        assert f"WHEN '{status}' THEN '{kind}'" in sql
    assert notification_pattern()["detail-type"] == sorted(NOTIFICATIONS)


def test_checkout_paid_fulfilled_and_refunded_reach_the_bus_and_the_customer(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], events: Any, tap: str
) -> None:
    shipped = _paid_order(rest, shop, db, stripe_env, "MUG-001")
    _fulfil(admin, shipped["order_id"])
    refunded = _paid_order(rest, shop, db, stripe_env, "BOK-200")
    reply = admin(
        "POST", f"/api/admin/orders/{refunded['order_id']}/refunds", body={}, headers={"Idempotency-Key": "r"}
    )
    assert reply.status == 200 and reply.body["status"] == "refunded"

    published = received(events, tap)
    by_order: dict[str, list[str]] = {}
    for event in published:
        assert_valid(event)
        if event["detail-type"].startswith("Order"):
            by_order.setdefault(event["detail"]["order_id"], []).append(event["detail-type"])
    assert by_order[shipped["order_id"]] == ["OrderPlaced", "OrderPaid", "OrderFulfilled"]
    assert by_order[refunded["order_id"]] == ["OrderPlaced", "OrderPaid", "OrderRefunded"]
    fulfilled = next(e["detail"] for e in published if e["detail-type"] == "OrderFulfilled")
    assert (fulfilled["carrier"], fulfilled["tracking_reference"]) == ("UPS", "1Z-TRACK-42")
    # No personal data on the bus: no e-mail, no address.
    assert "pay@example.com" not in json.dumps(published)
    assert db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0

    poller = local_events.NotifierPoller(events)
    while poller.poll_once():
        pass
    subjects = [m["subject"] for m in mail_for(shipped["order_id"], events.endpoint_url)]
    short = shipped["order_id"].split("-")[0].upper()
    assert subjects == [f"Order {short} confirmed", f"Order {short} has shipped"]
    shipped_mail = mail_for(shipped["order_id"], events.endpoint_url)[1]
    assert "1Z-TRACK-42" in shipped_mail["text"] and "1Z-TRACK-42" in shipped_mail["html"]
    assert shipped_mail["to"] == "pay@example.com" and shipped_mail["html"].startswith("<!doctype html>")
    refund_mail = mail_for(refunded["order_id"], events.endpoint_url)
    assert [m["subject"].split()[-1] for m in refund_mail] == ["confirmed", "refunded"]
    assert received(events, events.dlq_url, wait=0) == []


def test_a_redelivered_message_sends_one_email(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], events: Any
) -> None:
    from shop.events import notifier

    order = _paid_order(rest, shop, db, stripe_env, "MUG-001")
    messages = _sqs(events).receive_message(QueueUrl=events.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [m["Body"] for m in messages["Messages"]]
    assert len(bodies) == 1  # OrderPaid only: OrderPlaced sends no e-mail
    record = {"messageId": "m-1", "body": bodies[0]}
    assert notifier.handler({"Records": [record]}, None) == {"batchItemFailures": []}
    # SQS delivers it again (visibility timeout, a retried batch): nothing new is sent.
    assert notifier.handler({"Records": [record, {**record, "messageId": "m-2"}]}, None) == {"batchItemFailures": []}
    assert len(mail_for(order["order_id"], events.endpoint_url)) == 1
    assert db.execute("SELECT count(*) FROM sent_emails").fetchone()[0] == 1


def test_a_record_that_fails_is_reported_alone(events: Any, shop: Any) -> None:
    from shop.events import notifier

    good = {"source": SOURCE, "detail-type": "OrderPlaced", "detail": {"version": 1, "event_id": "x", "order_id": "y"}}
    newer = {"source": SOURCE, "detail-type": "OrderPaid", "detail": {"version": 2, "event_id": "x", "order_id": "y"}}
    result = notifier.handler(
        {"Records": [{"messageId": "ok", "body": json.dumps(good)}, {"messageId": "bad", "body": json.dumps(newer)}]},
        None,
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_stock_crossing_the_threshold_and_product_changes_are_events(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, events: Any, tap: str
) -> None:
    mug = shop["MUG-001"]
    assert admin("PUT", f"/api/admin/products/{mug['id']}/stock", body={"stock": 6}).status == 200
    cart = rest("POST", "/api/carts").body["cart_id"]
    assert rest("PUT", f"/api/carts/{cart}/items/{mug['id']}", body={"quantity": 2}).status == 200
    from tests.app.events import ADDRESS

    body = {"cart_id": cart, "email": "low@example.com", "shipping_address": ADDRESS}
    assert rest("POST", "/api/checkout", body=body).status == 201
    # 6 → 4 crosses the default threshold of 5; 4 → 3 (another admin change) does not again.
    assert admin("PUT", f"/api/admin/products/{mug['id']}/stock", body={"stock": 3}).status == 200
    assert admin("POST", f"/api/admin/products/{mug['id']}/archive").status == 200
    published = received(events, tap)
    for event in published:
        assert_valid(event)
    kinds = [(e["detail-type"], e["detail"].get("change")) for e in published if e["detail-type"] != "OrderPlaced"]
    assert kinds == [
        ("ProductChanged", "stock"),
        ("StockLow", None),
        ("ProductChanged", "stock"),
        ("ProductChanged", "archived"),
    ]
    low = next(e["detail"] for e in published if e["detail-type"] == "StockLow")
    assert (low["sku"], low["previous_stock"], low["stock"], low["threshold"]) == ("MUG-001", 6, 4, 5)


def test_an_event_is_written_in_the_transaction_of_its_change(shop: Any, db: Any, events: Any) -> None:
    """A transition that rolls back leaves no event; one that commits leaves exactly one."""
    from shop.db.connection import Role, run
    from shop.domain import lifecycle

    order_id = db.execute(
        "INSERT INTO orders (id, token_hash, status, email, cart_id, total_cents)"
        " VALUES (gen_random_uuid(), NULL, 'pending_payment', 'x@example.com', 'tx-cart', 100) RETURNING id::text"
    ).fetchone()[0]

    def rolled_back(conn: Any) -> None:
        with conn.transaction():
            assert lifecycle.move(conn, order_id, "pending_payment", "paid", "test")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        run(Role.WRITER, rolled_back)
    assert db.execute("SELECT count(*) FROM outbox WHERE subject_id = %s", (order_id,)).fetchone()[0] == 0
    assert run(Role.WRITER, lambda conn: lifecycle.move(conn, order_id, "pending_payment", "paid", "test"))
    rows = db.execute("SELECT detail_type, detail FROM outbox WHERE subject_id = %s", (order_id,)).fetchall()
    assert [r[0] for r in rows] == ["OrderPaid"]
    jsonschema.Draft4Validator(schema("OrderPaid")).validate(rows[0][1])
    assert rows[0][1]["event_id"] and rows[0][1]["previous_status"] == "pending_payment"


def _fill_outbox(db: Any, shop: dict[str, dict[str, Any]], count: int) -> set[str]:
    """``count`` ProductChanged rows, written as the back office writes them."""
    from shop.db.connection import Role, run
    from shop.events import outbox

    product_id = next(iter(shop.values()))["id"]

    def write(conn: Any) -> set[str]:
        with conn.transaction():
            return {outbox.product_changed(conn, product_id, "updated") for _ in range(count)}

    return run(Role.WRITER, write)


def _relay_process(pause: float, limit: int) -> Any:
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "tests.app.relay_worker", str(pause), str(limit)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_a_relay_killed_mid_batch_loses_nothing_and_the_rerun_resends_at_most_that_batch(
    shop: dict[str, dict[str, Any]], db: Any, events: Any, tap: str
) -> None:
    import signal

    batch = 30
    written = _fill_outbox(db, shop, 80)  # batches of 30 rows, each sent in chunks of 10
    first = _relay_process(pause=0.2, limit=batch)
    assert first.stdout is not None
    lines = []
    # Kill it inside its second batch: batch one committed, batch two has sent 2 of its 3 chunks.
    while len(lines) < batch // 10 + 2:
        line = first.stdout.readline()
        assert line, "the relay exited before it was killed"
        lines.append(line)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert first.returncode == -signal.SIGKILL
    published = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL").fetchone()[0]
    assert published == batch  # the killed batch committed nothing: its rows are pending again

    second = _relay_process(pause=0, limit=batch)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0 and out.strip().endswith("done 50")
    assert db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0

    ids = [e["detail"]["event_id"] for e in received(events, tap, wait=1)]
    assert set(ids) == written  # nothing lost
    resent = len(ids) - len(set(ids))
    assert resent == 20  # exactly the two chunks EventBridge accepted before the kill


def test_concurrent_relays_skip_each_others_rows(
    shop: dict[str, dict[str, Any]], db: Any, events: Any, tap: str
) -> None:
    written = _fill_outbox(db, shop, 60)
    relays = [_relay_process(pause=0.05, limit=10) for _ in range(3)]
    outputs = [r.communicate(timeout=60)[0] for r in relays]
    assert all(r.returncode == 0 for r in relays)
    counts = [int(o.strip().rsplit(" ", 1)[1]) for o in outputs]
    assert sum(counts) == 60
    ids = [e["detail"]["event_id"] for e in received(events, tap, wait=1)]
    assert sorted(ids) == sorted(written)  # each row published once, by one of them


def test_migration_0006_runs_on_a_database_holding_orders_and_the_app_role_writes_events(scratch_db: str) -> None:
    import psycopg

    from shop.local.services import as_app_user

    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for m in (m for m in migrate.available() if m.version < 6):
            conn.execute(m.sql.encode())
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)", (m.version, m.name, m.checksum))
        conn.execute(
            "INSERT INTO products (sku, name, category, price_cents, stock) VALUES ('OLD-1', 'o', 'c', 100, 9)"
        )
        order_id = conn.execute(
            "INSERT INTO orders (id, token_hash, status, email, cart_id, total_cents)"
            " VALUES (gen_random_uuid(), NULL, 'pending_payment', 'old@example.com', 'old-cart', 100)"
            " RETURNING id::text"
        ).fetchone()[0]
    assert migrate.migrate(scratch_db)[0] == "0006_outbox"
    with psycopg.connect(as_app_user(scratch_db), autocommit=True) as app:  # the DML-only role
        assert app.execute("SELECT low_stock_threshold FROM products WHERE sku = 'OLD-1'").fetchone()[0] == 5
        assert app.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # history is not replayed
        app.execute(
            "WITH moved AS (UPDATE orders SET status = 'paid' WHERE id = %s RETURNING id)"
            " INSERT INTO order_history (order_id, from_status, to_status, cause)"
            " SELECT id, 'pending_payment', 'paid', 'test' FROM moved",
            (order_id,),
        )
        app.execute("UPDATE products SET stock = 2 WHERE sku = 'OLD-1'")
        rows = app.execute("SELECT detail_type, detail FROM outbox ORDER BY seq").fetchall()
        assert [r[0] for r in rows] == ["OrderPaid", "StockLow"]
        for kind, detail in rows:
            jsonschema.Draft4Validator(schema(kind)).validate(detail)
        app.execute(
            "INSERT INTO sent_emails (event_id, order_id, template) VALUES (gen_random_uuid(), %s, 't')", (order_id,)
        )


def test_the_edge_function_has_no_mailbox_and_the_gateway_serves_it_only_when_given_one(tmp_path: Any) -> None:
    """In AWS ``/_local/mail`` reaches only the edge's pass-through to the S3 origin, which holds no
    such object (tests/infra/test_events.py); the edge itself never generates it. The local gateway
    serves it only when ``make dev`` hands it the mailbox."""
    import threading
    import urllib.error
    import urllib.request

    from shop.declarations import LOCAL_MAIL_PATH
    from shop.edge import handler as edge
    from shop.edge.config import EdgeConfig
    from shop.local.gateway import GatewayConfig, PooledHTTPServer

    request = {"clientIp": "203.0.113.9", "method": "GET", "uri": LOCAL_MAIL_PATH, "querystring": "", "headers": {}}
    forwarded = edge.process(request, EdgeConfig(environment="prod"))
    assert "status" not in forwarded and forwarded["uri"] == LOCAL_MAIL_PATH  # forwarded, not answered

    (tmp_path / "index.html").write_text("<!doctype html><title>shop</title>")
    config = GatewayConfig(storefront_dir=tmp_path, edge=EdgeConfig(environment="prod"))
    server = PooledHTTPServer(("127.0.0.1", 0), config)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}{LOCAL_MAIL_PATH}"
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url, timeout=10)
        assert missing.value.code == 404
        message = {"index": 0, "id": "m", "subject": "Hi <b>", "text": "body", "html": "<p>x</p>", "to": "a@b.c"}
        config.mail = lambda: [message]
        with urllib.request.urlopen(url, timeout=10) as page:
            text = page.read().decode()
        assert "Hi &lt;b&gt;" in text and "Hi <b>" not in text  # subjects are escaped
    finally:
        server.shutdown()
        server.server_close()
