"""Integration tests against a deployed stack, driven by its stack outputs.

Where the outputs come from, in order:

1. ``STACK_OUTPUTS_FILE``: a JSON file written by
   ``pulumi stack output --json --show-secrets > outputs.json``;
2. the Pulumi CLI, if it is on PATH: ``pulumi stack output --json --show-secrets``
   for ``PULUMI_STACK`` (or the selected stack), run from the repository root.

Without outputs every test here is skipped, with the reason. Credentials come
from the usual AWS environment (profile, variables, SSO); non-prod storefronts
need ``STOREFRONT_CREDENTIAL`` (``user:password``, the stack's
``storefrontCredential``). Tests that write data (the checkout) refuse to run
against prod unless ``INTEGRATION_ALLOW_WRITES=1``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TIMEOUT = 15


class NoOutputsError(Exception):
    """No deployed stack to test; the message says why."""


def load_outputs(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The deployed stack's outputs, or NoOutputsError with the reason there are none."""
    env = dict(os.environ) if env is None else env
    path = env.get("STACK_OUTPUTS_FILE")
    if path:
        file = Path(path)
        if not file.is_file():
            raise NoOutputsError(f"STACK_OUTPUTS_FILE={path} does not exist")
        try:
            data = json.loads(file.read_text())
        except ValueError as exc:
            raise NoOutputsError(f"STACK_OUTPUTS_FILE={path} is not JSON: {exc}") from None
        if not isinstance(data, dict) or not data:
            raise NoOutputsError(f"STACK_OUTPUTS_FILE={path} holds no outputs")
        return data
    pulumi = shutil.which("pulumi", path=env.get("PATH"))
    if pulumi is None:
        raise NoOutputsError(
            "no deployed stack: set STACK_OUTPUTS_FILE to the output of "
            "`pulumi stack output --json --show-secrets`, or install the Pulumi CLI and select a stack"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "--non-interactive"]
    if env.get("PULUMI_STACK"):
        command += ["--stack", env["PULUMI_STACK"]]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoOutputsError(f"`pulumi stack output` failed: {exc}") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise NoOutputsError(f"`pulumi stack output` failed: {reason}")
    data = json.loads(result.stdout or "{}")
    if not data:
        raise NoOutputsError("the selected stack has no outputs (not deployed?)")
    return dict(data)


@functools.cache
def _cached_outputs() -> dict[str, Any] | str:
    try:
        return load_outputs()
    except NoOutputsError as exc:
        return str(exc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that need a deployed stack are those that use the outputs; the
    # loader's own tests (test_outputs_loader.py) run everywhere.
    ours = [
        item
        for item in items
        if HERE in Path(str(item.fspath)).parents and "outputs" in getattr(item, "fixturenames", ())
    ]
    for item in ours:
        item.add_marker(pytest.mark.integration)
    if not ours:
        return
    outputs = _cached_outputs()
    if isinstance(outputs, str):
        skip = pytest.mark.skip(reason=f"integration: {outputs}")
        for item in ours:
            item.add_marker(skip)


class Outputs(dict[str, Any]):
    """Stack outputs; a test that needs one the stack lacks is skipped, naming it."""

    def need(self, *names: str) -> Any:
        missing = [n for n in names if self.get(n) in (None, "", [])]
        if missing:
            pytest.skip(f"the stack exports no {', '.join(missing)}")
        values = [self[n] for n in names]
        return values[0] if len(values) == 1 else values

    @property
    def is_prod(self) -> bool:
        return self.get("environment") == "prod"


@pytest.fixture(scope="session")
def outputs() -> Outputs:
    data = _cached_outputs()
    if isinstance(data, str):
        pytest.skip(data)
    return Outputs(data)


@pytest.fixture(scope="session")
def aws(outputs: Outputs) -> Callable[..., Any]:
    """``aws("dynamodb")``: a boto3 client in the stack's region."""
    import boto3

    session = boto3.session.Session(region_name=outputs.need("region"))
    return functools.cache(lambda service, region=None: session.client(service, region_name=region))


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """HTTP with retries on connection errors, and on 502/503/504 (cold starts, propagation) for
    idempotent methods only: a retried POST could create a second cart or product."""
    session = requests.Session()
    retry = Retry(total=4, backoff_factor=1.0, status_forcelist=(502, 503, 504))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.request = functools.partial(session.request, timeout=TIMEOUT)  # type: ignore[method-assign]
    yield session
    session.close()


@pytest.fixture(scope="session")
def storefront_auth(outputs: Outputs) -> tuple[str, str] | None:
    """Basic credentials for a non-prod storefront (STOREFRONT_CREDENTIAL=user:password)."""
    if outputs.is_prod:
        return None
    credential = os.environ.get("STOREFRONT_CREDENTIAL")
    if not credential or ":" not in credential:
        pytest.skip(
            "a non-prod storefront needs STOREFRONT_CREDENTIAL=user:password (the stack's storefrontCredential)"
        )
    user, password = credential.split(":", 1)
    return user, password


@pytest.fixture(scope="session")
def api_key(outputs: Outputs, aws: Callable[..., Any]) -> str:
    """The API key's value, read from API Gateway (the stack exports only its id)."""
    key_id = outputs.need("apiKeyId")
    value = aws("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]
    return str(value)


@pytest.fixture(scope="session")
def writes_allowed(outputs: Outputs) -> None:
    if outputs.is_prod and os.environ.get("INTEGRATION_ALLOW_WRITES") != "1":
        pytest.skip("this test writes data; against prod it needs INTEGRATION_ALLOW_WRITES=1")
