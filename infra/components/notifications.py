"""Customer e-mail: the bus rule → SQS queue (with its dead-letter queue) → notifier function → SES.

- **SES identity**: the e-mail address ``senderEmail`` (``aws.sesv2.EmailIdentity``; SES mails a
  verification link to it on creation). README "E-mail" covers the sandbox.
- **Queues**: ``ecommerce-notifications-<suffix>`` and its DLQ ``ecommerce-notifications-dlq-<suffix>``
  (redrive after ``MAX_RECEIVE_COUNT`` receives; the DLQ keeps messages 14 days, the maximum, and
  accepts redrives from this queue only), both encrypted with the stack's key. The queue's policy lets
  EventBridge send only for this rule (``aws:SourceArn``), the DLQ's only for the rule's target DLQ;
  both refuse requests without TLS.
- **Rule**: on the shop's bus, ``shop.events.notification_pattern()`` (the events that e-mail the
  customer), target the queue; what EventBridge cannot deliver goes to the DLQ.
- **Notifier**: the API image with the command ``shop.events.notifier.handler`` in the VPC (it reads the
  order and records sent event ids in PostgreSQL). Role: the database, its log group and ENIs, receive
  and delete on its queue (and decrypt its messages through SQS), and ``ses:SendEmail`` /
  ``ses:SendRawEmail`` on the stack's identity only, from that address only.
- **Event source mapping**: batches of 10, ``ReportBatchItemFailures`` (only failed records are
  retried), at most ``NOTIFIER_MAX_CONCURRENCY`` concurrent invocations (database connections).
- **Alarm**: ``monitoring.py``'s ``notifications-dlq-depth`` watches the DLQ (any message: an e-mail
  not sent), with the platform's other alarms and on its dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document
from infra.lambda_helpers import (
    CommandFunctionSpec,
    DatabaseAccess,
    FunctionNetwork,
    database_environment,
    database_statements,
    function_role_and_log_group,
    image_command_function,
    network_interfaces_statement,
    own_log_group_statement,
)
from infra.settings import Settings
from shop.declarations import Env
from shop.events import MAX_RECEIVE_COUNT, NOTIFY_DLQ, NOTIFY_QUEUE, NOTIFY_RULE, notification_pattern

COMMAND = "shop.events.notifier.handler"
MEMORY_MB = 512
TIMEOUT_SECONDS = 30
# AWS recommends a visibility timeout of six times the function's timeout for an SQS event source
# (Lambda developer guide, "Using Lambda with Amazon SQS"); it must be at least the timeout.
VISIBILITY_TIMEOUT_SECONDS = 6 * TIMEOUT_SECONDS
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
BATCH_SIZE = 10
NOTIFIER_MAX_CONCURRENCY = 2  # the event source mapping's minimum; two database connections at most
SQS_CONSUMER_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)
SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")


@dataclass
class NotificationsArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    network: FunctionNetwork
    database: DatabaseAccess
    image_uri: pulumi.Input[str]
    bus_name: pulumi.Input[str]


class Notifications(pulumi.ComponentResource):
    """SES identity, rule, queue + DLQ, queue policies, notifier function + mapping."""

    identity: aws.sesv2.EmailIdentity
    dlq: aws.sqs.Queue
    queue: aws.sqs.Queue
    rule: aws.cloudwatch.EventRule
    target: aws.cloudwatch.EventTarget
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    mapping: aws.lambda_.EventSourceMapping

    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:events:Notifications", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._identity()
        self._queues()
        self._rule()
        self._queue_policies()
        self._notifier()
        self.register_outputs(
            {
                "queueUrl": self.queue.url,
                "dlqUrl": self.dlq.url,
                "ruleName": self.rule.name,
                "notifierFunctionName": self.function.name,
                "senderIdentityArn": self.identity.arn,
            }
        )

    def _identity(self) -> None:
        self.identity = aws.sesv2.EmailIdentity(
            "sender", email_identity=self._args.settings.sender_email, opts=self._child
        )

    def _queues(self) -> None:
        settings, key = self._args.settings, self._args.key_arn
        self.dlq = aws.sqs.Queue(
            "notifications-dlq",
            name=settings.name(NOTIFY_DLQ),
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=key,
            opts=self._child,
        )
        self.queue = aws.sqs.Queue(
            "notifications",
            name=settings.name(NOTIFY_QUEUE),
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            kms_master_key_id=key,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
            ),
            opts=self._child,
        )
        aws.sqs.RedriveAllowPolicy(
            "notifications-dlq",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=self._child,
        )

    def _rule(self) -> None:
        settings = self._args.settings
        self.rule = aws.cloudwatch.EventRule(
            "notify",
            name=settings.name(NOTIFY_RULE),
            description="Shop events that e-mail the customer, to the notifier's queue",
            event_bus_name=self._args.bus_name,
            event_pattern=json.dumps(notification_pattern()),
            opts=self._child,
        )
        self.target = aws.cloudwatch.EventTarget(
            "notify",
            rule=self.rule.name,
            event_bus_name=self._args.bus_name,
            target_id="notifications",
            arn=self.queue.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dlq.arn),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
            ),
            opts=self._child,
        )

    def _queue_policies(self) -> None:
        for logical, queue in (("notifications", self.queue), ("notifications-dlq", self.dlq)):
            aws.sqs.QueuePolicy(
                logical,
                queue_url=queue.url,
                policy=policy_document(
                    {
                        "Sid": "OnlyTheNotifyRuleSends",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": queue.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ),
                opts=self._child,
            )

    def _role_policy(self, function_name: str) -> aws.iam.RolePolicy:
        args = self._args
        self.log_group, self.role = function_role_and_log_group(
            "notifier", function_name, args.settings, args.key_arn, self._child
        )
        region = args.settings.region
        return aws.iam.RolePolicy(
            "notifier",
            role=self.role.id,
            policy=policy_document(
                *database_statements(args.database, args.key_arn, region),
                own_log_group_statement(self.log_group.arn),
                network_interfaces_statement(),
                {
                    "Sid": "ConsumeOwnQueue",
                    "Effect": "Allow",
                    "Action": list(SQS_CONSUMER_ACTIONS),
                    "Resource": self.queue.arn,
                },
                {
                    "Sid": "QueueKeyThroughSqs",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": args.key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
                },
                {
                    "Sid": "SendAsTheStacksIdentityOnly",
                    "Effect": "Allow",
                    "Action": list(SES_SEND_ACTIONS),
                    "Resource": self.identity.arn,
                    "Condition": {"StringEquals": {"ses:FromAddress": args.settings.sender_email}},
                },
            ),
            opts=self._child,
        )

    def _notifier(self) -> None:
        args = self._args
        function_name = args.settings.name("notifier")
        policy = self._role_policy(function_name)
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: args.settings.environment,
            **database_environment(args.database, reader=False),
            Env.SENDER_EMAIL: args.settings.sender_email,
            Env.LOG_LEVEL: "INFO",
        }
        self.function = image_command_function(
            CommandFunctionSpec("notifier", function_name, COMMAND, MEMORY_MB, TIMEOUT_SECONDS),
            role_arn=self.role.arn,
            image_uri=args.image_uri,
            network=args.network,
            log_group=self.log_group,
            variables=variables,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )
        self.mapping = aws.lambda_.EventSourceMapping(
            "notifier",
            event_source_arn=self.queue.arn,
            function_name=self.function.name,
            batch_size=BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=NOTIFIER_MAX_CONCURRENCY
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
