"""Imported once by the API workers' forkserver (``shop.local.workers``): builds the function's
resolvers there, so that every worker forked from it starts with them built (a fork, not a cold
start). Each worker then applies its environment and re-reads the settings; the resolvers only
depend on ``CORS_ALLOW_ORIGIN``, which the local platform does not change.
"""

from __future__ import annotations

import contextlib

from shop.api import handler
from shop.local.lifeline import die_with_parent

# This runs in the forkserver itself: it goes when the platform goes (and each worker when the
# forkserver goes: shop.local.workers).
die_with_parent()

# A malformed setting fails each worker's own start instead (with the error), not the forkserver.
with contextlib.suppress(Exception):
    handler.resolvers()

# What each worker's first DynamoDB and database calls would otherwise load: botocore's DynamoDB
# service model (cached by the function's one botocore session, shop.aws.session, which the workers
# inherit; this throwaway client opens no connection) and the PostgreSQL driver.
with contextlib.suppress(Exception):
    import psycopg
    import psycopg.rows

    from shop import aws

    aws.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    del psycopg
