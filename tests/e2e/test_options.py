"""The local platform's options: existing PostgreSQL/DynamoDB instead of the embedded ones, SIGTERM, busy port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from shop.local.services import DynamoHandle, PostgresHandle, dynamodb_client
from tests.e2e.conftest import ROOT, LocalPlatform, api

pytestmark = pytest.mark.e2e


def test_existing_postgres_and_dynamodb_are_used_instead_of_embedded_ones(
    postgres: PostgresHandle, dynamodb: DynamoHandle, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    platform = LocalPlatform(
        data_dir,
        extra_args=("--database-url", postgres.url, "--dynamodb-endpoint", dynamodb.endpoint_url),
    ).start()
    try:
        products = api(platform, "GET", "/api/products", params={"limit": 100})
        assert products.status_code == 200, products.text
        cart = api(platform, "POST", "/api/carts")
        assert cart.status_code == 201, cart.text
    finally:
        # SIGTERM (what a process manager sends) stops it cleanly too.
        assert platform.stop(signal.SIGTERM) == 0, platform.output()

    # The catalog was seeded into the given database...
    with psycopg.connect(postgres.url) as conn:
        skus = {row[0] for row in conn.execute("SELECT sku FROM products").fetchall()}
    assert {p["sku"] for p in products.json()["items"]} <= skus
    # ...the cart went to the given DynamoDB...
    client = dynamodb_client(dynamodb.endpoint_url)
    found = [
        name
        for name in client.list_tables()["TableNames"]
        if "sessions" in name
        and client.get_item(TableName=name, Key={"session_id": {"S": cart.json()["cart_id"]}}).get("Item")
    ]
    assert found, "the cart is not in the DynamoDB endpoint that was passed"
    # ...and nothing embedded was created or snapshotted locally.
    assert not (data_dir / "postgres").exists()
    assert not (data_dir / "dynamodb.json").exists()
    # The server it was pointed at is still running (it is not ours to stop).
    assert postgres.is_running()


def test_a_busy_port_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "shop.local", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stdout + completed.stderr
    # Nothing was started or touched: not even the data directory was created.
    assert not (tmp_path / "data").exists()
