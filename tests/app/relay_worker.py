"""A relay in its own process, for the kill test: the real ``shop.events.relay.drain`` against the
session's PostgreSQL and moto server, with EventBridge's client wrapped so that each PutEvents call
is reported on stdout ("sent <n>") and followed by a pause: the parent SIGKILLs it there, after
EventBridge accepted a chunk and before the batch's transaction committed."""

from __future__ import annotations

import sys
import time
from typing import Any


class ReportingClient:
    def __init__(self, inner: Any, pause: float) -> None:
        self.inner, self.pause = inner, pause

    def put_events(self, **kwargs: Any) -> Any:
        answer = self.inner.put_events(**kwargs)
        print(f"sent {len(kwargs['Entries'])}", flush=True)
        time.sleep(self.pause)
        return answer


def main() -> int:
    from shop.events import relay

    pause = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else relay.SWEEP_BATCH
    result = relay.drain(limit=limit, max_batches=1000, client=ReportingClient(relay._events_client(), pause))
    print(f"done {result.published}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
