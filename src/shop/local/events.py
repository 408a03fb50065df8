"""Events and e-mail on one machine: the bus, rule and queues on the moto server, the relay and the
notifier as threads of ``make dev``, and the mailbox behind ``/_local/mail``.

Set up like the stack (``infra/components/events.py``, ``notifications.py``): the bus
``ecommerce-<suffix>``, a rule matching ``shop.events.notification_pattern()`` with the notifications
queue as its target, the queue's dead-letter queue after ``MAX_RECEIVE_COUNT`` receives, and the
sender identity verified in moto's SES. moto keeps all of it in memory, so it is created at every
start, in the background after the platform is ready (moto loads three backends: about 2 s on a
loaded machine); undelivered outbox rows survive in PostgreSQL and go out once the bus exists.

:class:`NotifierPoller` plays Lambda's SQS event source mapping: it receives up to 10 messages, calls
``shop.events.notifier.handler`` with an SQS event and deletes the records not reported in
``batchItemFailures`` (those come back after the visibility timeout, then go to the DLQ).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from shop.declarations import Env
from shop.events import MAX_RECEIVE_COUNT, NOTIFY_DLQ, NOTIFY_QUEUE, NOTIFY_RULE, bus_name, notification_pattern
from shop.events import resource_name as name

log = logging.getLogger("shop.local.events")

LOCAL_SENDER = "orders@shop.localhost"
LOCAL_ACCOUNT = "123456789012"  # moto's default account
VISIBILITY_TIMEOUT_SECONDS = 30
POLL_WAIT_SECONDS = 1
RELAY_SWEEP_SECONDS = 1.0


def _client(service: str, endpoint_url: str, region: str) -> Any:
    import boto3

    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@dataclass
class EventsHandle:
    endpoint_url: str
    region: str
    bus: str
    queue_url: str
    dlq_url: str
    sender: str

    def environment(self) -> dict[str, str]:
        return environment(self.endpoint_url, self.bus, self.sender)


def environment(endpoint_url: str, bus: str = bus_name("local"), sender: str = LOCAL_SENDER) -> dict[str, str]:
    """What the API and the notifier need (the bus, the sender, the SDK's endpoint overrides); known
    before the resources exist, so ``make dev`` creates them after it is ready."""
    return {
        str(Env.EVENT_BUS_NAME): bus,
        str(Env.SENDER_EMAIL): sender,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint_url,
        "AWS_ENDPOINT_URL_SQS": endpoint_url,
        "AWS_ENDPOINT_URL_SES": endpoint_url,
    }


def ensure_events(endpoint_url: str, region: str, suffix: str = "local", sender: str = LOCAL_SENDER) -> EventsHandle:
    """Bus, queues, rule and target, and the verified sender on the moto server (idempotent)."""
    events, sqs, ses = (_client(s, endpoint_url, region) for s in ("events", "sqs", "ses"))
    bus = bus_name(suffix)
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=bus)
    dlq_url = sqs.create_queue(QueueName=name(NOTIFY_DLQ, suffix))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    queue_url = sqs.create_queue(
        QueueName=name(NOTIFY_QUEUE, suffix),
        Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS)},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = name(NOTIFY_RULE, suffix)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(notification_pattern()), State="ENABLED")
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "notifications", "Arn": queue_arn}])
    ses.verify_email_identity(EmailAddress=sender)
    return EventsHandle(endpoint_url, region, bus, queue_url, dlq_url, sender)


def tap_queue(handle: EventsHandle, logical: str, pattern: dict[str, Any] | None = None) -> str:
    """A second queue receiving every shop event on the bus (tests read what was published)."""
    events, sqs = (
        _client("events", handle.endpoint_url, handle.region),
        _client("sqs", handle.endpoint_url, handle.region),
    )
    url = sqs.create_queue(QueueName=logical)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    from shop.events import SOURCE

    events.put_rule(
        Name=logical, EventBusName=handle.bus, EventPattern=json.dumps(pattern or {"source": [SOURCE]}), State="ENABLED"
    )
    events.put_targets(Rule=logical, EventBusName=handle.bus, Targets=[{"Id": logical, "Arn": arn}])
    return str(url)


class NotifierPoller:
    """Lambda's SQS event source mapping for the notifier, as a thread."""

    def __init__(self, handle: EventsHandle) -> None:
        self.handle = handle
        self._sqs = _client("sqs", handle.endpoint_url, handle.region)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive → handler → delete round; how many records were handled."""
        from shop.events import notifier

        answer = self._sqs.receive_message(
            QueueUrl=self.handle.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = answer.get("Messages") or []
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
        result = notifier.handler({"Records": records}, None)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
            for i, r in enumerate(records)
            if r["messageId"] not in failed
        ]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self.handle.queue_url, Entries=done)
        return len(records)

    def start(self, stop: threading.Event) -> threading.Thread:
        def loop() -> None:
            while not stop.is_set():
                try:
                    self.poll_once(POLL_WAIT_SECONDS)
                except Exception:
                    log.exception("the local notifier failed; polling again")
                    stop.wait(1)

        thread = threading.Thread(target=loop, name="notifier", daemon=True)
        thread.start()
        return thread


# ------------------------------------------------------------------ the mailbox (/_local/mail)


def _parts(raw: str) -> tuple[Any, str, str]:
    message = email.message_from_string(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    return message, text, html


def sent_mail(endpoint_url: str) -> list[dict[str, Any]]:
    """What the moto server at ``endpoint_url`` accepted through SES, oldest first: headers, text
    part, HTML part. Read over HTTP from moto's model dump (``/moto-api/data.json``: every
    SendRawEmail is a tracked ``RawMessage``), so it works whether moto runs in this process or in
    the platform's moto child process."""
    import urllib.request

    with urllib.request.urlopen(endpoint_url.rstrip("/") + "/moto-api/data.json", timeout=10) as response:
        models = json.loads(response.read())
    found: list[dict[str, Any]] = []
    for index, sent in enumerate(models.get("ses", {}).get("RawMessage", [])):
        message, text, html = _parts(str(sent.get("raw_data") or ""))
        found.append(
            {
                "index": index,
                "id": str(sent.get("id") or ""),
                "from": str(message["From"] or ""),
                "to": str(message["To"] or ""),
                "subject": str(message["Subject"] or ""),
                "date": str(message["Date"] or ""),
                "event_id": str(message["X-Shop-Event-Id"] or ""),
                "text": text,
                "html": html,
            }
        )
    return found
