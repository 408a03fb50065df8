"""The one stand-in for the Lambda context object (local gateway, tests, benchmarks)."""

from __future__ import annotations

import time
import uuid

from shop.declarations import SERVICE_NAME


class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name = f"{SERVICE_NAME}-local"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{SERVICE_NAME}-local"
    memory_limit_in_mb = 3072
    log_group_name = f"/aws/lambda/{SERVICE_NAME}-local"
    log_stream_name = "local"

    def __init__(self, timeout_seconds: float = 30.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
