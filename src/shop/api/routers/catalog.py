"""Catalog reads (see ``shop.domain.catalog``): from the reader endpoint, through the read-through cache."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api.models import Category, CategoryList, Product, ProductList
from shop.api.routes import new_router, path
from shop.domain import catalog

router = new_router()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Both bounded so that a full query string stays under the edge's 4 KiB limit even percent-encoded.
MAX_SEARCH_LENGTH = 100
MAX_CURSOR_LENGTH = 1400


@router.get(path("list_products"), tags=["catalog"], operation_id="list_products", summary="List products")
def list_products(
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_SEARCH_LENGTH,
            description="search name and description: every word, the last one also as a prefix (as you type)",
        ),
    ] = None,
    category: Annotated[Category | None, Query(description="only this category")] = None,
    sort: Annotated[catalog.Sort, Query(description="name, price (low first), price_desc, newest")] = "name",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="next_cursor of the previous page, with the same q, category and sort",
        ),
    ] = None,
) -> ProductList:
    return catalog.list_products(category, limit, cursor, sort, q)


@router.get(path("list_categories"), tags=["catalog"], operation_id="list_categories", summary="List categories")
def list_categories() -> CategoryList:
    return catalog.list_categories()


@router.get(path("get_product"), tags=["catalog"], operation_id="get_product", summary="Get one product")
def get_product(product_id: str) -> Product:
    return catalog.get_product(product_id)
