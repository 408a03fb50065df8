"""Errors the API returns, always as ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from shop.declarations import error_body

__all__ = ["ApiError", "error_body"]


class ApiError(Exception):
    """An expected failure with a stable code. Raise it anywhere below a route."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] | list[Any] = details if details is not None else {}


class ValidationFailedError(ApiError):
    status = 422
    code = "validation_error"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class OutOfStockError(ApiError):
    status = 409
    code = "out_of_stock"


class CartEmptyError(ApiError):
    status = 409
    code = "cart_empty"


class CartFullError(ApiError):
    status = 409
    code = "cart_full"


class ConflictError(ApiError):
    status = 409
    code = "conflict"


class RequestInProgressError(ApiError):
    status = 409
    code = "request_in_progress"


class IdempotencyKeyReusedError(ApiError):
    status = 422
    code = "idempotency_key_reused"


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"
