"""Child processes for the checkout fault-injection tests: each plays one Lambda execution environment.

It inherits the test session's environment (local PostgreSQL, moto server, table names, token secret),
imports the real handler and invokes it with API Gateway REST events, as concurrent Lambdas would.
Nothing here is shared with the parent or the other children: no lock, no connection, no client.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any


def _invoke(cart_id: str, key: str | None) -> dict[str, Any]:
    from shop.api.handler import handler
    from tests.app.events import LambdaContext, rest_event

    headers = {"Idempotency-Key": key} if key else None
    event = rest_event("POST", "/api/checkout", body={"cart_id": cart_id, "email": "f@example.com"}, headers=headers)
    response = handler(event, LambdaContext())
    return {"status": response["statusCode"], "body": json.loads(response["body"] or "null")}


def concurrent_checkout(cart_id: str, ready: Any, go: Any, results: Any) -> None:
    """Warm this environment (build the resolvers), wait for every sibling, then check out."""
    from shop.api.handler import handler
    from tests.app.events import LambdaContext, rest_event

    handler(rest_event("GET", "/api/health"), LambdaContext())
    ready.release()
    go.wait()
    try:
        results.put(_invoke(cart_id, None))
    except Exception as exc:  # reported, not lost: the test shows it
        results.put({"status": None, "body": repr(exc)})


def crash_after_commit(cart_id: str, key: str | None) -> None:
    """Check out, and die with SIGKILL the moment the order's statement has committed."""
    from shop.domain import checkout

    real_run = checkout.run

    def run_then_die(role: Any, work: Any) -> Any:
        result = real_run(role, work)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    checkout.run = run_then_die  # type: ignore[assignment]
    _invoke(cart_id, key)
    sys.exit("the process survived its crash point")


if __name__ == "__main__":
    crash_after_commit(sys.argv[1], sys.argv[2] or None)
