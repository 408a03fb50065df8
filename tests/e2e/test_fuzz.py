"""Schema-driven fuzzing of the running local API with schemathesis, from the API's own OpenAPI document.

Every request goes through the local gateway (edge checks, API Gateway event, the real handler,
PostgreSQL and DynamoDB). Budget: 25 generated cases per operation plus the schema's examples,
derandomized, so a run is reproducible; positive and negative (schema-violating) inputs. Fails on
any 5xx, any response whose body violates the documented schema, or an undocumented content type.

The admin operations are excluded: the edge rejects ``/api/admin/*`` (as CloudFront does), so
locally they are reachable only by calling the handler directly; API Gateway serves them in AWS.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from shop.declarations import ADMIN_PREFIX
from tests.e2e.conftest import LocalPlatform

pytestmark = pytest.mark.e2e

OPENAPI = Path(__file__).resolve().parents[2] / "src" / "shop" / "api" / "openapi.json"
EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
        },
        # The coverage phase's case count is not bounded by max-examples; keep the budget fixed.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)

schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG).exclude(path_regex=f"^{ADMIN_PREFIX}(/|$)")


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return requests.Session()


@schema.parametrize()
def test_api_conforms_to_its_schema(
    case: schemathesis.Case, local_platform: LocalPlatform, session: requests.Session
) -> None:
    response = case.call(base_url=local_platform.url, session=session, timeout=30)
    case.validate_response(response, checks=CHECKS)
