"""The API's one request-body parser: JSON only, bounded, strict.

Every operation that takes a body reads it through :func:`parse` (installed in place of Powertools'
content-type switch, see ``shop.api.app``), so the rules hold on API Gateway and ALB events alike:

* the media type must be ``application/json`` (any case, parameters such as ``charset`` allowed);
  anything else, and a non-empty body with no ``Content-Type``, is 415 ``unsupported_media_type``
  (forms and multipart are never parsed);
* the body must be base64 when the event says so, UTF-8, at most :data:`MAX_BODY_BYTES` (413
  ``request_too_large``) and nested at most :data:`MAX_DEPTH` deep (400, checked before parsing,
  so no recursion limit is ever reached);
* the text must be JSON in the I-JSON sense (RFC 7493): no ``NaN``/``Infinity``, no lone surrogate
  escapes (they are not characters and no store accepts them) → 400 ``validation_error``;
* malformed JSON is 422 ``validation_error`` with the position, as request validation reports it.

Standard library only; the errors are ``ApiError`` subclasses the resolvers map to the platform's
error body.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from shop.api.errors import ApiError

MEDIA_TYPE = "application/json"
# Bodies are small documents (a cart line, a checkout, a product); API Gateway would pass up to
# 10 MB and an ALB 1 MB, so the bound is ours.
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class UnsupportedMediaTypeError(ApiError, status=415, code="unsupported_media_type"):
    """The body is not application/json."""


class BodyTooLargeError(ApiError, status=413, code="request_too_large"):
    """The body exceeds MAX_BODY_BYTES."""


class MalformedBodyError(ApiError, status=400, code="validation_error"):
    """The body cannot be decoded, is nested too deep or is not I-JSON."""


class InvalidJsonError(ApiError, status=422, code="validation_error"):
    """The body is not JSON (details give the position)."""


def _problem(kind: str, message: str, *loc: str | int) -> dict[str, Any]:
    return {"errors": [{"loc": ["body", *loc], "type": kind, "message": message}]}


def media_type(content_type: str | None) -> str:
    """``Application/JSON; charset=utf-8`` → ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset_ok(content_type: str) -> bool:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _text(body: str | None, is_base64: bool) -> str:
    if not body:
        return ""
    if is_base64:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedBodyError(
                "the request body is not valid base64", _problem("base64", "not valid base64")
            ) from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLargeError("the request body is too large", {"limit": MAX_BODY_BYTES})
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBodyError("the request body is not UTF-8", _problem("utf8", "not valid UTF-8")) from None


def _check_depth(text: str) -> None:
    depth = 0
    for token in _STRUCTURE.finditer(text):
        value = token.group()
        if value in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedBodyError(
                    f"the request body is nested deeper than {MAX_DEPTH} levels",
                    _problem("too_deep", f"at most {MAX_DEPTH} levels of arrays and objects"),
                )
        elif value in "]}":
            depth -= 1


def _no_constant(name: str) -> Any:
    raise MalformedBodyError(f"{name} is not JSON", _problem("not_json", f"{name} is not a JSON number"))


def _check_strings(value: Any) -> None:
    """Lone surrogates (``"\\ud800"``) decode to strings no encoder accepts."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedBodyError(
                    "the request body contains a lone surrogate", _problem("surrogate", "not a Unicode character")
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse(body: str | None, content_type: str | None, *, is_base64: bool = False) -> Any:
    """The JSON value of a request body, or an ``ApiError``. An empty body is ``None``."""
    if content_type is None:
        if body:
            raise UnsupportedMediaTypeError("send the body as application/json", {"expected": MEDIA_TYPE})
    elif media_type(content_type) != MEDIA_TYPE or not _charset_ok(content_type):
        raise UnsupportedMediaTypeError("send the body as application/json", {"expected": MEDIA_TYPE})
    text = _text(body, is_base64)
    if not text.strip():
        return None
    _check_depth(text)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(
            "the request body is not valid JSON", _problem("json_invalid", exc.msg, exc.pos)
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value)
    return value
