"""What a cold start imports and builds, in a fresh interpreter (the bench measures how long it takes).

The first request through API Gateway (a health check) must not pay for boto3's resources layer,
the database driver, Stripe's SDK or the X-Ray SDK, and must build only the pydantic models it uses.
With tracing on and the invocation sampled, the X-Ray SDK loads in its Lambda mode and patches
botocore, still without boto3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from shop.api import handler
from tests.app.events import rest_event
response = handler.handler(rest_event("GET", "/api/health"), None)
from shop import aws
aws.dynamodb()  # what the first cart or cached-catalog request builds
from shop.api import models
built = sorted(name for name in dir(models)
               if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), models.BaseModel)
               and getattr(models, name).__pydantic_complete__)
print(json.dumps({"status": response["statusCode"], "modules": sorted({m.split(".")[0] for m in sys.modules}),
                  "built": built, "unbuilt": "AdminOrderPage" not in built}))
"""

NOT_ON_THE_COLD_PATH = {"boto3", "s3transfer", "psycopg", "psycopg_binary", "stripe", "aws_xray_sdk", "joserfc"}

_LAMBDA = {
    "AWS_LAMBDA_FUNCTION_NAME": "ecommerce-api-test",
    "LAMBDA_TASK_ROOT": str(ROOT / "src"),
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    "POWERTOOLS_TRACE_DISABLED": "false",
}


def _probe(extra: dict[str, str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "_X_AMZN"))}
    env.update({"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "AWS_DEFAULT_REGION": "us-east-1", **extra})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_untraced_first_request_imports_none_of_the_heavy_optional_packages() -> None:
    report = _probe({"POWERTOOLS_TRACE_DISABLED": "true"})
    assert report["status"] == 200
    modules = set(report["modules"])  # type: ignore[arg-type]
    assert {"botocore", "pydantic", "aws_lambda_powertools"} <= modules
    assert not modules & NOT_ON_THE_COLD_PATH, modules & NOT_ON_THE_COLD_PATH
    # Models are deferred: the health check built its own, not the back office's.
    assert "Health" in report["built"] and report["unbuilt"]  # type: ignore[operator]


@pytest.mark.parametrize("sampled", [False, True])
def test_the_xray_sdk_loads_only_for_a_sampled_trace_and_without_boto3(sampled: bool) -> None:
    trace = f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled={int(sampled)}"
    modules = set(_probe({**_LAMBDA, "_X_AMZN_TRACE_ID": trace})["modules"])  # type: ignore[arg-type]
    assert ("aws_xray_sdk" in modules) is sampled
    assert "boto3" not in modules and "s3transfer" not in modules
