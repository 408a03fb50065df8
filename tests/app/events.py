"""Realistic Lambda events for the API function: API Gateway REST proxy (v1) and ALB target events.

The shapes follow what each service sends: API Gateway keeps the client's header casing, gives
``multiValueHeaders``, decoded query strings, ``pathParameters``, the resource template and a
``requestContext`` with the stage, request id and caller identity (``apiKey`` when the method requires
one). The ALB lowercases header names, passes query strings as received (percent-encoded) and its
``requestContext`` holds only the target group.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import quote

from shop.api.routes import match_route
from shop.local.lambda_context import LambdaContext

__all__ = ["LambdaContext", "alb_event", "rest_event"]

ACCOUNT = "123456789012"
TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/ecommerce-api-test/0123456789abcdef"


def rest_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    api_key: str | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    all_headers = {
        "Accept": "application/json",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "pytest",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Proto": "https",
        "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678",
    }
    if body is not None or raw_body is not None:
        all_headers["Content-Type"] = "application/json"
    if api_key:
        all_headers["x-api-key"] = api_key
    all_headers.update(headers or {})
    resource, path_parameters = match_route(method, path)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "c7Hn0FNXoAMFxyw=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "path": f"/test{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "test",
            "domainPrefix": "abc123",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": "203.0.113.10",
                "userAgent": "pytest",
                "apiKey": api_key,
                "apiKeyId": "k3y1d" if api_key else None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            # What the back-office authorizer (shop.auth.authorizer) says when it admitted a key.
            **({"authorizer": {"admittedBy": "api_key", "principalId": "api-key"}} if api_key else {}),
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
        },
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


def alb_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    all_headers = {
        "accept": "application/json",
        "host": "ecommerce-alb-test-123456789.us-east-1.elb.amazonaws.com",
        "user-agent": "Amazon CloudFront",
        "via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)",
        "x-amz-cf-id": "Qm9ndXNDbG91ZEZyb250SWQ=",
        "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
        "x-forwarded-for": "203.0.113.10, 130.176.0.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None or raw_body is not None:
        all_headers["content-type"] = "application/json"
    all_headers.update({key.lower(): value for key, value in (headers or {}).items()})
    return {
        "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP_ARN}},
        "httpMethod": method,
        "path": path,
        "queryStringParameters": {quote(k, safe=""): quote(v, safe="") for k, v in (query or {}).items()},
        "headers": all_headers,
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else ""),
        "isBase64Encoded": False,
    }


# A shipping address every checkout in the tests uses (US: the domestic zone, 500 cents).
ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
