"""The local gateway's pieces without a running platform: API Gateway events and the DynamoDB snapshot."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from shop.declarations import CACHE_TABLE, IDEMPOTENCY_TABLE, ROUTES, SESSIONS_TABLE
from shop.local import snapshot
from shop.local.gateway import api_gateway_event, match_route
from shop.local.services import DynamoHandle, dynamodb_client, ensure_tables


def _concrete(path: str) -> tuple[str, dict[str, str]]:
    params: dict[str, str] = {}

    def fill(name: str) -> str:
        params[name] = f"{name}-value"
        return params[name]

    concrete = path
    while "{" in concrete:
        start, end = concrete.index("{"), concrete.index("}")
        concrete = concrete[:start] + fill(concrete[start + 1 : end]) + concrete[end + 1 :]
    return concrete, params


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_declared_route_maps_to_its_resource_and_path_parameters(route: Any) -> None:
    path, params = _concrete(route.path)
    assert match_route(route.method, path) == (route.path, params or None)


def test_stock_route_is_not_confused_with_the_product_route() -> None:
    assert match_route("PUT", "/api/admin/products/p1/stock") == (
        "/api/admin/products/{product_id}/stock",
        {"product_id": "p1"},
    )
    assert match_route("PUT", "/api/admin/products/p1") == ("/api/admin/products/{product_id}", {"product_id": "p1"})


def test_unknown_paths_and_methods() -> None:
    assert match_route("GET", "/api/nothing/here") == ("/api/nothing/here", None)
    # A known resource with another method keeps its resource (the function answers 404/405).
    assert match_route("PATCH", "/api/carts/c1") == ("/api/carts/{cart_id}", {"cart_id": "c1"})


def test_event_has_the_api_gateway_rest_proxy_shape() -> None:
    event = api_gateway_event(
        method="PUT",
        raw_path="/api/carts/c%201/items/p%2F2",
        raw_query="a=1&a=2&b=&c=%C3%A9",
        headers=[("Host", "127.0.0.1:8080"), ("Accept", "a"), ("Accept", "b"), ("X-Request-Id", "rid-1")],
        body=json.dumps({"quantity": 2}).encode(),
        source_ip="127.0.0.1",
        request_id="rid-1",
    )
    assert event["resource"] == "/api/carts/{cart_id}/items/{product_id}"
    assert event["path"] == "/api/carts/c 1/items/p/2"
    assert event["httpMethod"] == "PUT"
    # Parameters are matched on raw segments and then decoded: an encoded "/" stays in its parameter.
    assert event["pathParameters"] == {"cart_id": "c 1", "product_id": "p/2"}
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["queryStringParameters"] == {"a": "2", "b": "", "c": "é"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""], "c": ["é"]}
    assert json.loads(event["body"]) == {"quantity": 2}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == event["resource"]
    assert context["stage"] == "local"
    assert context["path"] == "/local" + event["path"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["extendedRequestId"] == "rid-1"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60


def test_event_without_query_or_body_uses_nulls_like_api_gateway() -> None:
    event = api_gateway_event(
        method="GET", raw_path="/api/health", raw_query="", headers=[], body=b"", source_ip="::1", request_id="r"
    )
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None


def test_non_utf8_bodies_arrive_as_text() -> None:
    event = api_gateway_event(
        method="POST",
        raw_path="/api/checkout",
        raw_query="",
        headers=[],
        body=b'{"a": "\xff"}',
        source_ip="::1",
        request_id="r",
    )
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a": "\ufffd"}'


def test_snapshot_round_trip_keeps_live_items_and_drops_expired_and_cache(
    dynamodb: DynamoHandle, tmp_path: Path
) -> None:
    client = dynamodb_client(dynamodb.endpoint_url)
    first = ensure_tables(dynamodb.endpoint_url, suffix="snap-a")
    future, past = int(time.time()) + 3600, int(time.time()) - 10
    sessions, idempotency, cache = (first[t.logical] for t in (SESSIONS_TABLE, IDEMPOTENCY_TABLE, CACHE_TABLE))
    live = {
        "session_id": {"S": "live"},
        "expires_at": {"N": str(future)},
        "items": {"M": {"p1": {"N": "2"}}},
        "blob": {"B": b"\x00\xff"},
    }
    client.put_item(TableName=sessions, Item=live)
    client.put_item(TableName=sessions, Item={"session_id": {"S": "old"}, "expires_at": {"N": str(past)}})
    client.put_item(TableName=idempotency, Item={"id": {"S": "key-1"}, "expiration": {"N": str(future)}})
    client.put_item(TableName=cache, Item={"cache_key": {"S": "products"}, "expires_at": {"N": str(future)}})

    path = tmp_path / "dynamodb.json"
    assert snapshot.save(client, first, path) == 3  # the cache is not saved
    second = ensure_tables(dynamodb.endpoint_url, suffix="snap-b")
    assert snapshot.restore(client, second, path) == 2  # the expired cart is dropped

    restored = client.scan(TableName=second[SESSIONS_TABLE.logical])["Items"]
    assert restored == [live]
    assert client.scan(TableName=second[IDEMPOTENCY_TABLE.logical])["Count"] == 1
    assert client.scan(TableName=second[CACHE_TABLE.logical])["Count"] == 0


def test_restore_without_a_snapshot_does_nothing(dynamodb: DynamoHandle, tmp_path: Path) -> None:
    tables = ensure_tables(dynamodb.endpoint_url, suffix="snap-c")
    assert snapshot.restore(None, tables, tmp_path / "missing.json") == 0
