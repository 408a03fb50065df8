"""Powertools Logger, Metrics and Tracer, created on first use (settings come from the environment then).

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` /
``POWERTOOLS_METRICS_NAMESPACE`` (defaults: ``shop.declarations``); metrics are CloudWatch embedded
metric format lines on stdout, flushed once per invocation by the handler.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from shop.declarations import METRICS_NAMESPACE, SERVICE_NAME, Env

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

_lock = threading.Lock()
_logger: Logger | None = None
_metrics: Metrics | None = None
_tracer: Tracer | None = None


def _service() -> str:
    return os.environ.get(Env.POWERTOOLS_SERVICE_NAME) or SERVICE_NAME


def logger() -> Logger:
    global _logger
    if _logger is None:
        with _lock:
            if _logger is None:
                from aws_lambda_powertools import Logger

                _logger = Logger(service=_service(), level=os.environ.get(Env.LOG_LEVEL) or "INFO")
    return _logger


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                from aws_lambda_powertools import Metrics

                namespace = os.environ.get(Env.POWERTOOLS_METRICS_NAMESPACE) or METRICS_NAMESPACE
                _metrics = Metrics(namespace=namespace, service=_service())
    return _metrics


def tracing_enabled() -> bool:
    """X-Ray tracing runs only inside Lambda and unless POWERTOOLS_TRACE_DISABLED is set.

    When it is off the X-Ray SDK is not even imported (it is a large share of a cold start).
    """
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def tracer() -> Tracer | None:
    """The Tracer, or None when tracing is off."""
    global _tracer
    if not tracing_enabled():
        return None
    if _tracer is None:
        with _lock:
            if _tracer is None:
                from aws_lambda_powertools import Tracer

                # Only what we call: boto3/botocore (DynamoDB, RDS token). psycopg 3 is traced by hand.
                _tracer = Tracer(service=_service(), patch_modules=("boto3", "botocore"))
    return _tracer


def count(name: str, value: float = 1, unit: str = "Count") -> None:
    """Add a business metric to this invocation's EMF blob."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit(unit), value=value)
