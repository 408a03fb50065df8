"""Imported once by the API workers' forkserver (``shop.local.workers``): builds the function's
resolvers there, so that every worker forked from it starts with them built (a fork, not a cold
start). Each worker then applies its environment and re-reads the settings; the resolvers only
depend on ``CORS_ALLOW_ORIGIN``, which the local platform does not change.
"""

from __future__ import annotations

import contextlib
import importlib

from shop.api import handler
from shop.local.lifeline import die_with_parent

# This runs in the forkserver itself: it goes when the platform goes (and each worker when the
# forkserver goes: shop.local.workers).
die_with_parent()

# A malformed setting fails each worker's own start instead (with the error), not the forkserver.
with contextlib.suppress(Exception):
    handler.resolvers()

# What each worker's first requests would otherwise load, in every worker that the pool starts on
# demand (under load: the first checkout of a new worker cost ~0.8 s of CPU, 240 modules compiled
# while the other workers waited for a core; bench/bench_local_load.py): the Stripe SDK and what it
# imports (aiohttp, requests), the outbox relay, the botocore service models of the calls a request
# makes (DynamoDB and EventBridge in the function's one botocore session, shop.aws.session, which
# the workers inherit; SSM in boto3's default session, which Powertools' SSM provider is given; these
# throwaway clients open no connection), the PostgreSQL driver and the IDNA codec (the first
# connection by host name).
LAZY_IMPORTS = (
    "aws_lambda_powertools.utilities.parameters",
    "boto3.dynamodb.conditions",
    "encodings.idna",
    "psycopg",
    "psycopg.rows",
    "shop.db.wakeup",
    "shop.events.relay",
    "shop.local.lambda_context",
    "stripe",
    "stripe._object_classes",
    "stripe._payment_intent",
    "stripe._telemetry_id",
    "stripe._webhook",
)
SESSION_SERVICE_MODELS = ("dynamodb", "events")
BOTO3_SERVICE_MODELS = ("ssm",)

for module in LAZY_IMPORTS:
    with contextlib.suppress(Exception):
        importlib.import_module(module)
with contextlib.suppress(Exception):
    from shop import aws

    for service in SESSION_SERVICE_MODELS:
        aws.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
with contextlib.suppress(Exception):
    import boto3

    for service in BOTO3_SERVICE_MODELS:
        boto3.client(  # type: ignore[call-overload]
            service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
with contextlib.suppress(Exception):
    import stripe

    # The SDK loads its services on first use: a throwaway client (no request is made).
    stripe.StripeClient("sk_test_preload", http_client=stripe.RequestsClient(timeout=1)).v1.payment_intents  # noqa: B018
