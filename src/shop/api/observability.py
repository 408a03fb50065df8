"""Powertools Logger, Metrics and Tracer, created on first use (from ``shop.config``'s settings).

Service name and metrics namespace come from ``POWERTOOLS_SERVICE_NAME`` /
``POWERTOOLS_METRICS_NAMESPACE`` (defaults: ``shop.declarations``); metrics are CloudWatch embedded
metric format lines on stdout, flushed once per invocation by the handler.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shop.config import settings
from shop.lazy import Lazy

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer


def _logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=settings().service_name, level=settings().log_level)


def _metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=settings().metrics_namespace, service=settings().service_name)


def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # Only what we call: botocore (every AWS client, shop.aws.client). psycopg 3 is traced by hand.
    return Tracer(service=settings().service_name, patch_modules=("botocore",))


logger: Lazy[Logger] = Lazy(_logger)
metrics: Lazy[Metrics] = Lazy(_metrics)
_tracer_instance: Lazy[Tracer] = Lazy(_tracer)


def tracing_enabled() -> bool:
    """X-Ray tracing runs only inside Lambda and unless POWERTOOLS_TRACE_DISABLED is set.

    When it is off the X-Ray SDK is not even imported (it is a large share of a cold start).
    """
    return settings().tracing


def sampled() -> bool:
    """Whether Lambda sampled this invocation's trace (``_X_AMZN_TRACE_ID``, set per invocation)."""
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")


def tracer() -> Tracer | None:
    """The Tracer when tracing is on and this invocation is sampled, else None.

    Lambda's active tracing records the invocation's own segment without any SDK in the function;
    the X-Ray SDK (and its patching of botocore) is only needed to add subsegments to a sampled trace,
    so it is imported on the first sampled invocation instead of on every cold start. Once loaded
    it stays loaded (the SDK itself skips unsampled invocations).
    """
    if not tracing_enabled():
        return None
    if _tracer_instance.built or sampled():
        return _tracer_instance()
    return None


def count(name: str, value: float = 1, unit: str = "Count") -> None:
    """Add a business metric to this invocation's EMF blob."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit(unit), value=value)
