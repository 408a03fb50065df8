"""Errors the API returns, always as ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.declarations import error_body

__all__ = ["ApiError", "error_body"]


class ApiError(Exception):
    """An expected failure with a stable code. Raise it anywhere below a route.

    Subclasses declare their HTTP status and code: ``class X(ApiError, status=409, code="x")``.
    """

    status = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status: int, code: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status
        cls.code = code

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details) if details is not None else {}


class ValidationFailedError(ApiError, status=422, code="validation_error"):
    """The request is not valid (``details.errors`` say where)."""


class CursorMismatchError(ApiError, status=400, code="cursor_mismatch"):
    """A page cursor presented with another sort, category or search than it was issued for."""


class NotFoundError(ApiError, status=404, code="not_found"):
    """No such resource (or not visible to the caller)."""


class OutOfStockError(ApiError, status=409, code="out_of_stock"):
    """Not enough stock for a line (details list each)."""


class CartEmptyError(ApiError, status=409, code="cart_empty"):
    """Checkout of a cart with no lines."""


class CartFullError(ApiError, status=409, code="cart_full"):
    """A cart holds at most MAX_LINES different products."""


class ConflictError(ApiError, status=409, code="conflict"):
    """A write conflicts with existing data (e.g. an existing sku)."""


class RequestInProgressError(ApiError, status=409, code="request_in_progress"):
    """A checkout with the same Idempotency-Key is still running."""


class IdempotencyKeyReusedError(ApiError, status=422, code="idempotency_key_reused"):
    """An Idempotency-Key reused for a different checkout."""


class ForbiddenError(ApiError, status=403, code="forbidden"):
    """Admin routes without an API key, or a token without the group the operation needs."""


class UnauthorizedError(ApiError, status=401, code="unauthorized"):
    """No valid sign-in token (missing, expired, forged, another pool's or client's: one answer for all)."""


class EmailNotVerifiedError(ApiError, status=403, code="email_not_verified"):
    """A signed-in customer whose token carries no verified e-mail address (checkout needs one)."""


class SignInUnavailableError(ApiError, status=503, code="service_unavailable"):
    """The user pool's signing keys cannot be fetched right now."""


class InvalidTransitionError(ApiError, status=409, code="invalid_transition"):
    """The order is not in a state that allows this change (details: status, wanted)."""


class UnsupportedCountryError(ApiError, status=422, code="unsupported_country"):
    """We do not ship to the shipping address's country (GET /api/shipping-rates lists where we do)."""
