"""Health checks. Without parameters (the ALB target group's and API Gateway's check) it answers
without touching anything; ``?deep=1`` probes the database and DynamoDB (``shop.domain.health``) and
answers 503 ``service_unavailable`` with the status of each when one fails.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api.models import DeepHealth, Health
from shop.api.routes import new_router, path
from shop.declarations import HEALTH_DEEP_PARAM

router = new_router()


@router.get(path("health"), tags=["health"], operation_id="health", summary="Liveness; deep=1 probes the stores")
def health(
    deep: Annotated[
        bool, Query(alias=HEALTH_DEEP_PARAM, description="probe the database and DynamoDB (operators, not the ALB)")
    ] = False,
) -> Health | DeepHealth:
    if not deep:
        return Health()
    from shop.domain import health as dependencies

    return DeepHealth(checks=dependencies.check())
