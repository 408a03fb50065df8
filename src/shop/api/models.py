"""Request and response bodies (pydantic). Money is integer cents; the currency is always USD.

Request bodies are strict (JSON types as declared) and forbid unknown fields. Their class names
are the ``body`` names in ``shop.declarations.ROUTES``: API Gateway builds its request models from
their JSON schemas in ``openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from shop.declarations import CART_LINE_MAX_QUANTITY, IMAGE_KEY_PATTERN

Currency = Literal["USD"]
MAX_QUANTITY = CART_LINE_MAX_QUANTITY

# Patterns are the contract (API Gateway validates bodies against them too), so they are written
# with explicit character ranges that mean the same in ECMA-262, Java, Python and Rust regexes
# (``\\s`` does not), and values are not trimmed before they are matched: what the pattern refuses
# the API refuses. ``_VISIBLE`` excludes the C0 and C1 controls, space, DEL and NBSP; PostgreSQL
# text cannot hold NUL at all.
_VISIBLE = r"[^\u0000-\u0020\u007f-\u00a0]"
# An address part: no "@", no control character and no Unicode space (ECMA-262's \s plus NEL).
_EMAIL_PART = r"[^@\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=rf"^{_VISIBLE}([^\u0000-\u001f\u007f]*{_VISIBLE})?$"),
]
Description = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\u0000]*$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
ImageUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\u0000-\u0020\u007f]+$")]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
ImageKey = Annotated[str, StringConstraints(max_length=200, pattern=IMAGE_KEY_PATTERN)]
# Cart ids are what create_cart issues (secrets.token_urlsafe); order and product ids are UUIDs.
CART_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CartId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CART_ID_PATTERN)]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# What the path parameters look like, for the OpenAPI document: an id of another shape names nothing
# (404), and the edge refuses control characters in a path before the function sees it (400).
PATH_PARAMETER_PATTERNS = {"cart_id": CART_ID_PATTERN, "product_id": UUID_PATTERN, "order_id": UUID_PATTERN}


def _json_integer(value: Any) -> Any:
    """JSON Schema's ``integer`` is any number without a fraction (``2.0`` is 2); ``true`` and ``"2"``
    stay what they are, and the strict models refuse them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_JSON_INTEGER = BeforeValidator(_json_integer)
# (The validator goes after Field: before it, pydantic would document ge/le instead of minimum/maximum.)
Cents = Annotated[int, Field(ge=0, le=100_000_000), _JSON_INTEGER]
Stock = Annotated[int, Field(ge=0, le=1_000_000), _JSON_INTEGER]


class _Model(BaseModel):
    """Every body's base: its validator and serializer are built on first use, not at import.

    A cold start imports all of these models but a first request needs two or three of them; building
    the rest (pydantic's core schema of each class) was the largest share of importing this module.
    Subclasses' ``model_config`` merges with this one, so they stay deferred.
    """

    model_config = ConfigDict(defer_build=True)


class _Request(_Model):
    """Strict: JSON types as declared (``true`` is not 1, ``"1"`` is not 1), no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Health(_Model):
    status: Literal["ok"] = "ok"


class DeepHealth(Health):
    checks: dict[str, Literal["ok"]] = Field(description="each backing store probed: database, dynamodb")


class Product(_Model):
    id: str
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    currency: Currency = "USD"
    stock: int
    image_url: str | None = None
    image_key: str | None = Field(default=None, description="the uploaded image's S3 key (served at /<key>)")
    archived: bool = Field(default=False, description="hidden from the storefront and not for sale")


class ProductList(_Model):
    items: list[Product]
    next_cursor: str | None = Field(default=None, description="pass as cursor for the next page; null on the last")


class CategoryCount(_Model):
    category: str
    count: int = Field(description="products listed in the category")


class CategoryList(_Model):
    items: list[CategoryCount]


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

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1})

    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price_cents: Cents | None = None
    image_url: ImageUrl | None = None
    image_key: ImageKey | None = Field(
        default=None, description="the key an image upload returned, once the image is uploaded; null removes it"
    )

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
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"quantity": 2}]})

    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), _JSON_INTEGER]


class _Line(_Model):
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class CartLine(_Line):
    pass  # lines at the current catalog price


class Cart(_Model):
    cart_id: str
    items: list[CartLine]
    total_cents: int
    currency: Currency = "USD"
    expires_at: int = Field(description="epoch seconds; the cart is gone after this")


Country = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]
AddressLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OrderStatus = Literal["pending_payment", "paid", "fulfilled", "cancelled", "refunded", "partially_refunded"]


class CartMerge(_Request):
    """The anonymous cart to merge into the signed-in customer's (none: just the customer's cart)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"cart_id": "k3Jx9w2Q"}]})

    cart_id: Annotated[
        CartId | SkipJsonSchema[None],
        Field(description="the cart the shopper filled before signing in (its id is the proof of holding it)"),
    ] = None

    @field_validator("cart_id", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave cart_id out instead of sending null")
        return value


class CartAdjustment(_Model):
    """A line of the merged cart that holds less than the two carts together asked for."""

    product_id: str
    requested: int
    quantity: int
    reason: Literal["stock", "max_quantity", "max_lines", "unavailable"]


class MergedCart(Cart):
    """The customer's cart after a merge; ``adjusted`` lists the lines capped on the way."""

    adjusted: list[CartAdjustment] = []


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
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"cart_id": "k3Jx9w2QpZ7nLm4vT8yR1sAb", "email": "buyer@example.com"}]},
    )

    cart_id: CartId
    # Required for guests. A signed-in customer's order takes the verified address of their ID token
    # (X-Id-Token) and ignores this field.
    # (Absent, not null: the schema is a string that is not required.)
    email: Annotated[
        Email | SkipJsonSchema[None],
        Field(description="the buyer's e-mail; required unless signed in (then the verified address of the account)"),
    ] = None
    shipping_address: ShippingAddress

    @field_validator("email", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave email out instead of sending null")
        return value


class ShippingZone(_Model):
    zone: str
    name: str
    rate_cents: int
    currency: Currency = "USD"
    countries: list[str]


class ShippingRates(_Model):
    zones: list[ShippingZone]


class Fulfilment(_Request):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    tracking_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9 ._/-]+$")
    ]


class RefundRequest(_Request):
    """A refund of ``amount_cents`` (at most what is left to refund); without it, the whole rest."""

    amount_cents: Annotated[int | None, Field(ge=1, le=100_000_000)] = None


class HistoryEntry(_Model):
    from_status: str | None = Field(description="null for the order's creation")
    to_status: OrderStatus
    cause: str = Field(description="checkout, shopper, admin, expiry, or stripe:<event id>")
    at: str = Field(description="ISO-8601 timestamp")


class OrderLine(_Line):
    pass  # lines at the price taken at checkout


class Order(_Model):
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


class StripeBrowserConfig(_Model):
    publishable_key: str | None = Field(
        description="the Stripe publishable key (pk_test_/pk_live_) for Stripe.js; null when not configured"
    )
    js_url: str = Field(description="where to load Stripe.js from (Stripe's, or localstripe's stand-in locally)")


class CognitoBrowserConfig(_Model):
    """The customer user pool's public settings; every value null when no pool is configured."""

    region: str | None = Field(description="the user pool's AWS region")
    client_id: str | None = Field(description="the storefront's app client id (no client secret)")
    endpoint: str | None = Field(
        description="the Cognito Identity Provider endpoint the browser calls"
        " (https://cognito-idp.<region>.amazonaws.com/, or a local stand-in)"
    )


class StorefrontConfig(_Model):
    """Public, non-secret settings the storefront's browser code needs (cacheable)."""

    stripe: StripeBrowserConfig
    cognito: CognitoBrowserConfig


class WebhookReceipt(_Model):
    received: Literal[True] = True
    duplicate: bool = False


class ErrorDetail(_Model):
    code: str
    message: str
    details: dict[str, Any] = Field(
        default_factory=dict, description="always an object; a validation_error lists its problems under errors"
    )


class ErrorBody(_Model):
    error: ErrorDetail


class Me(_Model):
    """The signed-in customer, as the verified ID token says."""

    sub: str = Field(description="the Cognito user id: stable, never reassigned")
    email: str | None
    email_verified: bool
    groups: list[str] = Field(description="Cognito groups (admin, staff), sorted")


class OrderPage(_Model):
    items: list[Order] = Field(description="newest first")
    next_cursor: str | None = None


# --------------------------------------------------------------------------- back office


class AdminOrderPage(_Model):
    items: list[Order] = Field(description="newest first")
    next_cursor: str | None = None


class AdminProductPage(_Model):
    items: list[Product] = Field(description="by name, archived ones included")
    next_cursor: str | None = None


class ImageUploadRequest(_Request):
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


class ImageUpload(_Model):
    """A presigned S3 POST: send ``fields`` and then the file (form field ``file``) to ``url``."""

    url: str
    fields: dict[str, str]
    key: str = Field(description="set it as the product's image_key once the upload succeeded")
    max_bytes: int
    expires_in_seconds: int
