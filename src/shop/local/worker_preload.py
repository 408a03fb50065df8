"""Imported once by the API workers' forkserver (``shop.local.workers``): builds the function's
resolvers there, so that every worker forked from it starts with them built (a fork, not a cold
start). Each worker then applies its environment and re-reads the settings; the resolvers only
depend on ``CORS_ALLOW_ORIGIN``, which the local platform does not change.
"""

from __future__ import annotations

import contextlib

from shop.api import handler

# A malformed setting fails each worker's own start instead (with the error), not the forkserver.
with contextlib.suppress(Exception):
    handler.resolvers()
