"""Catalog reads (see ``shop.domain.catalog``): from the reader endpoint, through the read-through cache."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api.models import UUID_PATTERN, Category, Product, ProductList
from shop.api.routes import new_router, path
from shop.domain import catalog

router = new_router()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@router.get(path("list_products"), tags=["catalog"], operation_id="list_products", summary="List products")
def list_products(
    category: Annotated[Category | None, Query(description="only this category")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(pattern=UUID_PATTERN, description="next_cursor of the previous page (a product id)")
    ] = None,
) -> ProductList:
    return catalog.list_products(category, limit, cursor)


@router.get(path("get_product"), tags=["catalog"], operation_id="get_product", summary="Get one product")
def get_product(product_id: str) -> Product:
    return catalog.get_product(product_id)
