"""The local moto server keeps HTTP/1.1 connections open (shop.local.moto_http) and still answers
every request whole: several calls on one connection, a HEAD between them, a chunked body."""

from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import urlsplit

import boto3

from shop.local.services import DynamoHandle


def _auth(service: str) -> str:
    # moto reads the service and region from the credential scope; it checks no signature.
    return f"AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def _connection(dynamodb: DynamoHandle) -> http.client.HTTPConnection:
    url = urlsplit(dynamodb.endpoint_url)
    return http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)


def _dynamodb_call(
    conn: http.client.HTTPConnection, target: str, body: dict[str, object]
) -> tuple[int, dict[str, str], bytes]:
    conn.request(
        "POST",
        "/",
        body=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "Authorization": _auth("dynamodb"),
        },
    )
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_one_connection_serves_several_calls(dynamodb: DynamoHandle) -> None:
    conn = _connection(dynamodb)
    try:
        status, headers, body = _dynamodb_call(conn, "ListTables", {})
        assert status == 200, body
        assert headers.get("connection") != "close"
        assert int(headers["content-length"]) == len(body)
        first = conn.sock
        assert first is not None
        local = first.getsockname()
        for _ in range(3):
            status, headers, body = _dynamodb_call(conn, "ListTables", {})
            assert status == 200, body
            assert "TableNames" in json.loads(body)
            # The same socket: http.client would have opened a new one had the server closed it.
            assert conn.sock is first and conn.sock.getsockname() == local
        # An error answer keeps the connection too, and is whole.
        status, headers, body = _dynamodb_call(conn, "DescribeTable", {"TableName": f"missing-{uuid.uuid4().hex}"})
        assert status == 400
        assert json.loads(body)["__type"].endswith("ResourceNotFoundException")
        status, _, _ = _dynamodb_call(conn, "ListTables", {})
        assert status == 200 and conn.sock is first
    finally:
        conn.close()


def test_head_sends_no_body_and_the_connection_goes_on(dynamodb: DynamoHandle) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=dynamodb.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    bucket = f"keepalive-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="object", Body=b"x" * 1000)
    conn = _connection(dynamodb)
    try:
        conn.connect()
        sock = conn.sock
        conn.request("HEAD", f"/{bucket}/object", headers={"Authorization": _auth("s3")})
        head = conn.getresponse()
        assert head.status == 200
        assert head.getheader("Content-Length") == "1000"  # the object's size, as S3 answers
        assert head.read() == b""
        assert conn.sock is sock
        conn.request("GET", f"/{bucket}/object", headers={"Authorization": _auth("s3")})
        got = conn.getresponse()
        assert got.status == 200 and got.read() == b"x" * 1000
        assert conn.sock is sock  # no stray body bytes broke the next response
    finally:
        conn.close()


def test_a_chunked_body_is_answered_and_the_connection_closed(dynamodb: DynamoHandle) -> None:
    conn = _connection(dynamodb)
    try:
        payload = json.dumps({}).encode()
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", "application/x-amz-json-1.0")
        conn.putheader("X-Amz-Target", "DynamoDB_20120810.ListTables")
        conn.putheader("Authorization", _auth("dynamodb"))
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        response = conn.getresponse()
        assert response.status == 200
        assert "TableNames" in json.loads(response.read())
        assert response.getheader("Connection") == "close"  # werkzeug's own path, as before
    finally:
        conn.close()
