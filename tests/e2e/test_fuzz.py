"""Schema-driven fuzzing of the running local API with schemathesis, from the API's own OpenAPI document.

Every request goes through the local gateway (edge checks, API Gateway event, the real handler,
PostgreSQL and DynamoDB). The run is schemathesis' own runner (``schemathesis run``), as a developer
would start it, with

* all four phases: examples (the models' ``examples``), coverage (boundary values, every documented
  and undocumented status, unexpected methods, content-type probes, missing headers), fuzzing
  (positive and negative generated cases) and stateful (chains along the document's ``links``:
  create a cart, fill it, read it);
* every check (``--checks all``): no 5xx, responses and status codes as documented, content types,
  positive data accepted, negative data rejected, 405 with ``Allow``, missing required headers,
  use after free, resource availability, ignored auth. None is disabled;
* a fixed seed, no example database and a fresh working directory (schemathesis keeps crash state
  in ``.schemathesis/``), so a run is reproducible and CI needs no state;
* ``--continue-on-failure`` so one run reports every failure, not the first.

The CI budget (:data:`CI_EXAMPLES` per operation) keeps this test near a minute on two cores;
``make fuzz`` runs the same test with ``SHOP_FUZZ_EXAMPLES`` raised so that it generates 50,000 or
more cases (see README, "Fuzzing"). The test fails on any failure schemathesis reports, and also if
the run tested fewer operations or cases than it should (a run that tests nothing cannot pass).

The admin operations (and the Stripe webhook, see PUBLIC_OPERATIONS) are excluded: the edge
answers ``/api/admin/*`` 401 without an ID token (as CloudFront does), and a fuzzer has no admin
token; tests/app/test_admin.py and tests/app/test_back_office_auth.py drive them with a key and
with real tokens.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shop.declarations import ADMIN_PREFIX, ROUTES, STRIPE_WEBHOOK_PATH, is_back_office, served_behind_cloudfront
from tests.e2e.conftest import ROOT, LocalPlatform

pytestmark = pytest.mark.e2e

OPENAPI = ROOT / "src" / "shop" / "api" / "openapi.json"
CONFIG = Path(__file__).with_name("schemathesis.toml")  # three documented widenings of the checks
CI_EXAMPLES = 60
EXAMPLES = int(os.environ.get("SHOP_FUZZ_EXAMPLES", CI_EXAMPLES))
SEED = int(os.environ.get("SHOP_FUZZ_SEED", 17))
PHASES = "examples,coverage,fuzzing,stateful"
# The Stripe webhook is excluded too: every request it accepts carries a signature made with the
# endpoint secret, which a fuzzer cannot produce (tests/app/test_payments.py posts signed, forged,
# stale and garbage events to it).
PUBLIC_OPERATIONS = sum(
    1
    for route in ROUTES
    if served_behind_cloudfront(route) and not is_back_office(route) and route.path != STRIPE_WEBHOOK_PATH
)
# Cases grow with the per-operation budget (fuzzing) plus a fixed coverage set; a run must generate
# at least this many (a floor, so that a run that silently stops generating fails; make fuzz sets
# it to 50,000).
MIN_CASES = int(os.environ.get("SHOP_FUZZ_MIN_CASES", 10 * EXAMPLES))


def schemathesis_command(base_url: str, report_dir: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        str(OPENAPI),
        "--url",
        base_url,
        "--phases",
        PHASES,
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--exclude-path-regex",
        f"^({ADMIN_PREFIX}(/|$)|{STRIPE_WEBHOOK_PATH}$)",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]


def test_the_api_survives_schemathesis_with_every_phase_and_check(
    local_platform: LocalPlatform, tmp_path: Path
) -> None:
    started = time.monotonic()
    run = subprocess.run(
        schemathesis_command(local_platform.url, tmp_path),
        cwd=tmp_path,  # its run state (.schemathesis/) stays out of the repository and out of the next run
        capture_output=True,
        text=True,
        timeout=3 * 3600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-4000:]
    print(f"\nschemathesis: {EXAMPLES} examples per operation, seed {SEED}, {elapsed:.1f}s\n{summary}")
    assert run.returncode == 0, f"schemathesis found failures (exit {run.returncode}):\n{output[-20000:]}"
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) == PUBLIC_OPERATIONS, summary
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases, summary
    generated, passed = int(cases.group(1)), int(cases.group(2))
    assert generated == passed >= MIN_CASES, summary
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", output), f"the {phase} phase did not run and pass:\n{summary}"
