"""Health check for the ALB target group and API Gateway: answers without touching the database."""

from __future__ import annotations

from shop.api.models import Health
from shop.api.routes import new_router, path

router = new_router()


@router.get(path("health"), tags=["health"], operation_id="health", summary="Liveness (no database access)")
def health() -> Health:
    return Health()
