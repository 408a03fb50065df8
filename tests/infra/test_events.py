"""Events and e-mail infrastructure (issue 14): the bus, its archive and schemas, the notify rule,
the queue and its dead-letter queue, the notifier's and the relay's least-privilege roles, the alarm,
and the AWS rules these rely on that the mocks cannot see."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from infra.components import notifications, relay
from shop.declarations import LOCAL_MAIL_PATH, Env
from shop.events import (
    ARCHIVE_RETENTION_DAYS,
    MAX_RECEIVE_COUNT,
    RELAY_INTERVAL_SECONDS,
    SOURCE,
    DetailType,
    envelope_schema,
    notification_pattern,
)
from tests.infra.harness import Program, Resource

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"


def _function(program: Program, name: str) -> Resource:
    return program.one(FUNCTION, name)


def _statements(program: Program, function: Resource) -> dict[str, dict[str, Any]]:
    role = next(r for r in program.of_type(ROLE) if r.outputs["arn"] == function["role"])
    [policy] = [p for p in program.of_type(ROLE_POLICY) if p["role"] == role.id]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def _queue(program: Program, name: str) -> Resource:
    return program.one("aws:sqs/queue:Queue", name)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_bus_follows_the_physical_name_rule_and_its_archive_keeps_every_shop_event(program: Program) -> None:
    bus = program.one("aws:cloudwatch/eventBus:EventBus", "bus")
    assert bus["name"] == f"ecommerce-events-{program.stack}"
    archive = program.one("aws:cloudwatch/eventArchive:EventArchive", "archive")
    assert archive["eventSourceArn"] == bus.outputs["arn"]
    assert json.loads(archive["eventPattern"]) == {"source": [SOURCE]}
    assert archive["retentionDays"] == ARCHIVE_RETENTION_DAYS > 0


def test_every_detail_type_has_its_repository_schema_in_the_registry(program: Program) -> None:
    registry = program.one("aws:schemas/registry:Registry")
    schemas = program.of_type("aws:schemas/schema:Schema")
    assert len(schemas) == len(DetailType)
    by_title = {json.loads(s["content"])["title"]: s for s in schemas}
    for kind in DetailType:
        schema = by_title[kind.value]
        assert schema["type"] == "JSONSchemaDraft4" and schema["registryName"] == registry["name"]
        assert json.loads(schema["content"]) == envelope_schema(kind)


def test_the_rule_feeds_the_queue_and_what_it_cannot_deliver_goes_to_the_dlq(program: Program) -> None:
    bus = program.one("aws:cloudwatch/eventBus:EventBus", "bus")
    rule = program.one("aws:cloudwatch/eventRule:EventRule", "notify")
    assert rule["eventBusName"] == bus["name"]
    assert json.loads(rule["eventPattern"]) == notification_pattern()
    assert set(notification_pattern()["detail-type"]) == {
        "OrderPaid",
        "OrderFulfilled",
        "OrderCancelled",
        "OrderRefunded",
    }
    target = program.one("aws:cloudwatch/eventTarget:EventTarget", "notify")
    queue, dlq = _queue(program, "notifications"), _queue(program, "notifications-dlq")
    assert target["rule"] == rule["name"] and target["eventBusName"] == bus["name"]
    assert target["arn"] == queue.outputs["arn"]
    assert target["deadLetterConfig"]["arn"] == dlq.outputs["arn"]


def test_the_queue_redrives_to_its_dlq_both_encrypted_with_the_stack_key(program: Program) -> None:
    key = program.one("aws:kms/key:Key", "data").outputs["arn"]
    queue, dlq = _queue(program, "notifications"), _queue(program, "notifications-dlq")
    assert queue["name"] == f"ecommerce-notifications-{program.stack}"
    assert dlq["name"] == f"ecommerce-notifications-dlq-{program.stack}"
    assert queue["kmsMasterKeyId"] == key and dlq["kmsMasterKeyId"] == key
    redrive = json.loads(queue["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": MAX_RECEIVE_COUNT}
    # The DLQ keeps a message longer than the queue could (SQS keeps the original enqueue time).
    assert dlq["messageRetentionSeconds"] == 14 * 24 * 3600 > queue["messageRetentionSeconds"]
    allow = json.loads(program.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")["redriveAllowPolicy"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [queue.outputs["arn"]]}


def test_only_the_notify_rule_may_send_to_the_queues(program: Program) -> None:
    rule = program.one("aws:cloudwatch/eventRule:EventRule", "notify")
    policies = program.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == 2
    for policy in policies:
        statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
        send = statements["OnlyTheNotifyRuleSends"]
        assert send["Principal"] == {"Service": "events.amazonaws.com"} and send["Action"] == "sqs:SendMessage"
        assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}
        assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
        allows = [s for s in statements.values() if s["Effect"] == "Allow"]
        assert allows == [send]


def test_eventbridge_may_use_the_key_for_this_accounts_rules_only(program: Program) -> None:
    policy = json.loads(program.one("aws:kms/key:Key", "data")["policy"])
    statement = next(s for s in policy["Statement"] if s["Sid"] == "EventBridgeSendsToEncryptedQueues")
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":123456789012:rule/*")


def test_the_notifier_sends_only_as_the_stacks_identity(program: Program) -> None:
    notifier = _function(program, "notifier")
    identity = program.one("aws:sesv2/emailIdentity:EmailIdentity", "sender")
    sender = program.config["ecommerce:senderEmail"]
    assert identity["emailIdentity"] == sender
    assert notifier["environment"]["variables"][Env.SENDER_EMAIL] == sender
    statements = _statements(program, notifier)
    ses = [s for s in statements.values() if any(a.startswith("ses:") for a in _as_list(s["Action"]))]
    assert len(ses) == 1
    assert set(ses[0]["Action"]) == {"ses:SendEmail", "ses:SendRawEmail"}
    assert ses[0]["Resource"] == identity.outputs["arn"]
    assert ses[0]["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}
    assert set(statements) == {
        "DatabaseIamSignIn",
        "OwnLogGroup",
        "VpcNetworkInterfacesNoResourceLevelPermissions",
        "ConsumeOwnQueue",
        "QueueKeyThroughSqs",
        "SendAsTheStacksIdentityOnly",
    }
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["VpcNetworkInterfacesNoResourceLevelPermissions"]


def test_the_notifier_consumes_only_its_queue_and_reports_failed_records(program: Program) -> None:
    notifier = _function(program, "notifier")
    queue = _queue(program, "notifications")
    consume = _statements(program, notifier)["ConsumeOwnQueue"]
    assert consume["Resource"] == queue.outputs["arn"]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= set(consume["Action"])
    assert notifier["imageConfig"]["commands"] == [notifications.COMMAND] == ["shop.events.notifier.handler"]
    assert notifier["imageUri"] == _function(program, "api")["imageUri"]
    mapping = program.one("aws:lambda/eventSourceMapping:EventSourceMapping", "notifier")
    assert mapping["eventSourceArn"] == queue.outputs["arn"] and mapping["functionName"] == notifier["name"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["batchSize"] <= 10


def test_the_queue_hides_a_message_longer_than_the_notifier_can_run(program: Program) -> None:
    """Lambda refuses an SQS event source whose queue's visibility timeout is below the function's
    timeout, and recommends six times it (Lambda developer guide, "Using Lambda with Amazon SQS")."""
    notifier = _function(program, "notifier")
    queue = _queue(program, "notifications")
    assert queue["visibilityTimeoutSeconds"] >= 6 * notifier["timeout"]


def test_the_event_source_mappings_concurrency_is_within_lambdas_range(program: Program) -> None:
    """MaximumConcurrency of an SQS event source is 2 to 1,000 (Lambda API reference, ScalingConfig)."""
    mapping = program.one("aws:lambda/eventSourceMapping:EventSourceMapping", "notifier")
    assert 2 <= mapping["scalingConfig"]["maximumConcurrency"] <= 1000


def test_the_relay_publishes_to_the_bus_only_on_a_one_minute_schedule(program: Program) -> None:
    bus = program.one("aws:cloudwatch/eventBus:EventBus", "bus")
    function = _function(program, "relay")
    assert function["imageConfig"]["commands"] == [relay.COMMAND]
    assert function["environment"]["variables"][Env.EVENT_BUS_NAME] == bus["name"]
    statements = _statements(program, function)
    publish = statements["PublishToTheShopsBus"]
    assert publish["Action"] == "events:PutEvents" and publish["Resource"] == bus.outputs["arn"]
    assert not [s for s in statements.values() if "ses:" in json.dumps(s) or "sqs:" in json.dumps(s)]
    schedule = program.one("aws:scheduler/schedule:Schedule", "relay")
    assert schedule["scheduleExpression"] == f"rate({RELAY_INTERVAL_SECONDS // 60} minute)" == "rate(1 minute)"
    assert schedule["target"]["arn"] == function.outputs["arn"]


def test_an_alarm_watches_the_dead_letter_queue(program: Program) -> None:
    dlq = _queue(program, "notifications-dlq")
    alarm = program.one("aws:cloudwatch/metricAlarm:MetricAlarm", "notifications-dlq-depth")
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["dimensions"] == {"QueueName": dlq["name"]}
    assert alarm["threshold"] == 1 and alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["alarmActions"] == [program.one("aws:sns/topic:Topic").outputs["arn"]]


def test_cloudfront_never_serves_the_local_mailbox(program: Program) -> None:
    """``/_local/mail`` exists on the local gateway only: no CloudFront behaviour routes it anywhere
    but the static bucket, and no storefront object lives under it (S3 answers 403/404)."""
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    for behaviour in distribution["orderedCacheBehaviors"] or []:
        assert not fnmatch.fnmatchcase(LOCAL_MAIL_PATH, behaviour["pathPattern"]), behaviour["pathPattern"]
    keys = [o["key"] for o in program.of_type("aws:s3/bucketObjectv2:BucketObjectv2")]
    assert keys and not [k for k in keys if k.lstrip("/").startswith("_local")]
