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


Country = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OrderStatus = Literal["pending_payment", "paid", "fulfilled", "cancelled", "refunded", "partially_refunded"]


class ShippingAddress(_Request):
    """Where the order ships. ``country`` is an ISO 3166-1 alpha-2 code of a zone we ship to."""

    name: AddressLine
    line1: AddressLine
    line2: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9 -]+$")
    ]
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    country: Country


class CheckoutRequest(_Request):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    email: Email
    shipping_address: ShippingAddress


class ShippingZone(BaseModel):
    zone: str
    name: str
    rate_cents: int
    currency: Currency = "USD"
    countries: list[str]


class ShippingRates(BaseModel):
    zones: list[ShippingZone]


class Fulfilment(_Request):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    tracking_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9 ._/-]+$")
    ]


class RefundRequest(_Request):
    """A refund of ``amount_cents`` (at most what is left to refund); without it, the whole rest."""

    amount_cents: Annotated[int | None, Field(ge=1, le=100_000_000)] = None


class HistoryEntry(BaseModel):
    from_status: str | None = Field(description="null for the order's creation")
    to_status: OrderStatus
    cause: str = Field(description="checkout, shopper, admin, expiry, or stripe:<event id>")
    at: str = Field(description="ISO-8601 timestamp")


class OrderLine(_Line):
    pass  # lines at the price taken at checkout


class Order(BaseModel):
    order_id: str
    status: OrderStatus
    email: str
    items: list[OrderLine]
    subtotal_cents: int = Field(description="sum of the lines")
    shipping_cents: int = Field(description="flat rate of the shipping address's zone")
    total_cents: int = Field(description="subtotal + shipping; tax is not charged")
    refunded_cents: int = 0
    currency: Currency = "USD"
    shipping_address: dict[str, str] | None = None
    carrier: str | None = None
    tracking_reference: str | None = None
    created_at: str = Field(description="ISO-8601 timestamp")
    history: list[HistoryEntry] = Field(default_factory=list, description="every change of status, oldest first")


class PlacedOrder(Order):
    order_token: str = Field(description="secret needed to read the order back (X-Order-Token header)")
    client_secret: str | None = Field(
        default=None, description="the PaymentIntent's client secret, for Stripe.js to confirm the payment"
    )


class WebhookReceipt(BaseModel):
    received: Literal[True] = True
    duplicate: bool = False


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | list[Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail
