"""The API function's execution environments on one machine: a pool of worker processes.

Each worker process is one warm Lambda execution environment: it imports ``shop.api.handler``,
builds its resolvers, settings and clients once (``shop.lazy`` singletons, one psycopg connection
per role) and runs one invocation at a time, as Lambda does. Requests run in parallel across the
workers, so one slow request no longer stalls the shop.

Why processes and not a resolver per thread: Powertools keeps the current event in class attributes
(``BaseRouter.current_event`` is shared by every resolver in a process), so two threads resolving at
once would read each other's requests. Processes also run on both cores instead of sharing one GIL
with the gateway and the in-process moto server.

Workers are forked from a ``forkserver`` that has already imported the handler's dependencies and
built its resolvers (:mod:`shop.local.worker_preload`), so starting one costs a fork, not a cold
start: the whole pool starts before "ready".
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from shop.declarations import FUNCTION_TIMEOUT_SECONDS

log = logging.getLogger("shop.local")

# What the forkserver imports once, so that each worker starts warm (the handler's heavy imports).
PRELOAD = ["shop.api.handler", "shop.aws", "shop.db.connection", "shop.local.worker_preload"]


class InvocationTimeoutError(Exception):
    """The function did not answer within its timeout (Lambda would stop it; API Gateway answers 5xx)."""


class WorkerFailureError(Exception):
    """A worker process died (the pool is rebuilt for the next request)."""


def start_forkserver() -> None:
    """Start the forkserver now (it imports :data:`PRELOAD` in the background while databases start)."""
    from multiprocessing import forkserver

    multiprocessing.set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


def _initialise(environment: dict[str, str]) -> None:
    """In each worker: the function's environment, then a cold start (resolvers, settings)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops the pool
    from shop.local.lifeline import die_with_parent

    die_with_parent()  # the forkserver: it goes when the platform goes, and so does this worker
    os.environ.update(environment)
    from shop import config
    from shop.api import handler

    config.reload()
    handler.resolvers()  # already built in the forkserver; builds here if that failed
    from shop import aws

    aws.dynamodb()  # the worker's client, on its endpoint (the service model is preloaded)


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    from shop.api.handler import handler
    from shop.local.lambda_context import LambdaContext

    return handler(event, LambdaContext())


def _pid() -> int:
    return os.getpid()


class ApiWorkers:
    """Up to ``processes`` execution environments of the API function behind one ``invoke``.

    Like Lambda, the pool grows on demand: a request that finds every worker busy starts a new one
    (a cold start) until ``processes`` run; :meth:`start` warms the first ones before "ready".
    """

    def __init__(self, processes: int, environment: dict[str, str], timeout: float = FUNCTION_TIMEOUT_SECONDS):
        self.processes = processes
        self.environment = dict(environment)
        self.timeout = timeout
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_initialise,
            initargs=(self.environment,),
        )

    def start(self, warm: int) -> set[int]:
        """Start ``warm`` workers now (their cold starts before "ready"); their PIDs."""
        futures = [self._pool.submit(_pid) for _ in range(min(warm, self.processes))]
        return {future.result() for future in futures}

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run one invocation on a free worker; its response."""
        pool = self._pool
        try:
            return pool.submit(_invoke, event).result(timeout=self.timeout)
        except FutureTimeout:
            raise InvocationTimeoutError(f"no response within {self.timeout:g} s") from None
        except BrokenProcessPool as error:
            log.error("an API worker process died; starting new ones")
            if self._pool is pool:
                self._pool = self._new_pool()
            raise WorkerFailureError(str(error)) from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
