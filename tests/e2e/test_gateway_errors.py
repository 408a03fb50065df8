"""The local gateway over real HTTP: every answer, including those http.server generates itself
(unknown methods, oversized request lines and headers, garbage), is the platform's JSON error with
the security headers; the API's input classes from issue 17 part 3 hold end to end."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests

from shop.local.gateway import SECURITY_HEADERS
from tests.e2e.conftest import LocalPlatform, api

pytestmark = pytest.mark.e2e


def _raw(platform: LocalPlatform, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers (lowercase) and body of the answer."""
    with socket.create_connection(("127.0.0.1", platform.port), timeout=30) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _assert_platform_error(status: int, headers: dict[str, str], body: bytes, code: str) -> dict[str, Any]:
    assert headers["content-type"] == "application/json", (status, body[:200])
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value
    assert headers["x-request-id"]
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"} and isinstance(error["details"], dict)
    assert error["code"] == code, error
    return dict(error)


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/api/products", "GET, HEAD"), ("/api/carts/abc", "GET, HEAD"), ("/api/checkout", "POST"), ("/", "GET, HEAD")],
)
def test_an_unknown_method_on_a_known_path_is_405_with_allow(
    local_platform: LocalPlatform, path: str, allow: str
) -> None:
    status, headers, body = _raw(local_platform, f"FROB {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 405
    assert headers["allow"] == allow
    error = _assert_platform_error(status, headers, body, "method_not_allowed")
    assert error["details"] == {"allowed": allow.split(", ")}


def test_an_unknown_method_elsewhere_is_501_json(local_platform: LocalPlatform) -> None:
    status, headers, body = _raw(local_platform, b"QUERY /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 501
    _assert_platform_error(status, headers, body, "not_implemented")


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "request_too_large"),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", 431, "request_too_large"),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400, "bad_request"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n", 400, "bad_request"),
    ],
    ids=["request-line", "header-line", "header-count", "version", "garbage-line", "tls-to-http"],
)
def test_http_servers_own_errors_are_the_platforms_json(
    local_platform: LocalPlatform, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = _raw(local_platform, request_bytes)
    assert got == status, body[:300]
    _assert_platform_error(got, headers, body, code)


def test_body_classes_end_to_end(local_platform: LocalPlatform) -> None:
    cart = api(local_platform, "POST", "/api/carts").json()["cart_id"]
    product = api(local_platform, "GET", "/api/products").json()["items"][0]["id"]
    item = f"/api/carts/{cart}/items/{product}"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"data": b"x", "headers": {"Content-Type": "multipart/form-data"}}, 415, "unsupported_media_type"),
        ({"data": "quantity=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, ""),
        ({"data": "[" * 1000 + "]" * 1000, "headers": {"Content-Type": "application/json"}}, 400, "validation_error"),
        ({"json": {"quantity": True}}, 422, "validation_error"),
    ]
    for kwargs, status, code in cases:
        reply = api(local_platform, "PUT", item, **kwargs)
        assert reply.status_code == status, (kwargs, reply.text[:200])
        assert reply.json()["error"]["code"] == (code or "unsupported_media_type")
        for name in SECURITY_HEADERS:
            assert name in reply.headers
    ok = api(
        local_platform, "PUT", item, data='{"quantity": 1}', headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert ok.status_code == 200 and ok.json()["items"][0]["quantity"] == 1
    for cursor in ("%00", "%ED%A0%80", "a%00b"):
        reply = requests.get(f"{local_platform.url}/api/products?cursor={cursor}", timeout=30)
        assert reply.status_code == 422, cursor


def test_head_and_wrong_methods_through_the_gateway(local_platform: LocalPlatform) -> None:
    get = api(local_platform, "GET", "/api/products")
    head = api(local_platform, "HEAD", "/api/products")
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    wrong = api(local_platform, "DELETE", "/api/products")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"
    assert api(local_platform, "HEAD", "/api/carts").status_code == 405
