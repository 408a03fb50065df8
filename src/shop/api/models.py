"""Request and response bodies (pydantic). Money is integer cents; the currency is always USD.

Request bodies forbid unknown fields. Their class names are the ``body`` names in
``shop.declarations.ROUTES``: API Gateway builds its request models from their JSON schemas in
``openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Currency = Literal["USD"]
MAX_QUANTITY = 99

Sku = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=4000)]
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
]
ImageUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]
Stock = Annotated[int, Field(ge=0, le=1_000_000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Product(BaseModel):
    id: str
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    currency: Currency = "USD"
    stock: int
    image_url: str | None = None


class ProductList(BaseModel):
    items: list[Product]
    next_cursor: str | None = None


class ProductCreate(_Request):
    sku: Sku
    name: Name
    description: Description = ""
    category: Category
    price_cents: Cents
    stock: Stock
    image_url: ImageUrl | None = None


class ProductUpdate(_Request):
    """Any subset of the fields, at least one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price_cents: Cents | None = None
    image_url: ImageUrl | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ProductUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for required in ("name", "category", "price_cents", "description"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null")
        return self


class StockUpdate(_Request):
    stock: Stock


class CartItemUpdate(_Request):
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class _Line(BaseModel):
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class CartLine(_Line):
    pass  # lines at the current catalog price


class Cart(BaseModel):
    cart_id: str
    items: list[CartLine]
    total_cents: int
    currency: Currency = "USD"
    expires_at: int = Field(description="epoch seconds; the cart is gone after this")


class CheckoutRequest(_Request):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email


class OrderLine(_Line):
    pass  # lines at the price taken at checkout


class Order(BaseModel):
    order_id: str
    status: Literal["placed", "cancelled"]
    email: str
    items: list[OrderLine]
    total_cents: int
    currency: Currency = "USD"
    created_at: str = Field(description="ISO-8601 timestamp")


class PlacedOrder(Order):
    order_token: str = Field(description="secret needed to read the order back (X-Order-Token header)")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | list[Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


class Me(BaseModel):
    """The signed-in customer, as the verified ID token says."""

    sub: str = Field(description="the Cognito user id: stable, never reassigned")
    email: str | None
    email_verified: bool
    groups: list[str] = Field(description="Cognito groups (admin, staff), sorted")


class OrderPage(BaseModel):
    items: list[Order] = Field(description="newest first")
    next_cursor: str | None = None
