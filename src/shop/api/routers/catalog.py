"""Catalog reads: from the reader endpoint, through the DynamoDB read-through cache."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api import cache, store
from shop.api.errors import NotFoundError
from shop.api.models import Category, Product, ProductList
from shop.api.routes import new_router, path

router = new_router()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@router.get(path("list_products"), tags=["catalog"], operation_id="list_products", summary="List products")
def list_products(
    category: Annotated[Category | None, Query(description="only this category")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> ProductList:
    key = f"products|{category or ''}|{limit}|{cursor or ''}"
    if cursor is not None:
        store.decode_cursor(cursor)  # a bad cursor is a 422 whether or not the page is cached
    page = cache.read_through(key, lambda: store.fetch_page(category, limit, cursor))
    return ProductList.model_validate(page)


@router.get(path("get_product"), tags=["catalog"], operation_id="get_product", summary="Get one product")
def get_product(product_id: str) -> Product:
    canonical = store.parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    found = cache.read_through(f"product|{canonical}", lambda: {"product": store.fetch_product(canonical)})
    if found.get("product") is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return Product.model_validate(found["product"])
