"""Customer-managed KMS key for data at rest (Aurora, DynamoDB, S3, SNS, logs)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document
from infra.settings import Settings


@dataclass
class EncryptionArgs:
    settings: Settings


class Encryption(pulumi.ComponentResource):
    """One symmetric key with rotation on, and an alias ``alias/ecommerce-data-<suffix>``.

    The key policy keeps administration with the account (so IAM policies decide
    who may use it) and lets CloudWatch Logs and CloudWatch alarms (SNS) use it
    for this account's resources only.
    """

    key: aws.kms.Key
    alias: aws.kms.Alias

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:security:Encryption", name, None, opts)
        settings = args.settings
        self.key = aws.kms.Key(
            "data",
            description=f"ecommerce data at rest ({settings.suffix})",
            enable_key_rotation=True,
            deletion_window_in_days=30 if settings.profile.protect_data else 7,
            policy=key_policy(settings.region),
            # The final snapshot and the recovery points kept on destroy need this key to restore.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=settings.profile.protect_data,
                retain_on_delete=settings.profile.keep_backups_on_destroy,
            ),
        )
        self.alias = aws.kms.Alias(
            "data",
            name=f"alias/{settings.name('data')}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"keyArn": self.key.arn, "aliasName": self.alias.name})


def key_policy(region: str) -> pulumi.Output[str]:
    """Administration stays with the account; CloudWatch Logs, CloudWatch alarms (SNS), EventBridge
    rules (SQS) and CloudFront may use the key for this account's resources only."""
    identity = aws.get_caller_identity_output()
    partition = aws.get_partition_output()
    account_root = pulumi.Output.format("arn:{0}:iam::{1}:root", partition.partition, identity.account_id)
    return policy_document(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": pulumi.Output.format(
                        "arn:{0}:logs:{1}:{2}:log-group:*", partition.partition, region, identity.account_id
                    )
                }
            },
        },
        {
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": identity.account_id}},
        },
        {
            # The notify rule delivers to the SSE-KMS notifications queue and its DLQ (EventBridge
            # user guide, "Amazon SQS permissions" for encrypted queues): this account's rules only.
            "Sid": "EventBridgeSendsToEncryptedQueues",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": identity.account_id},
                "ArnLike": {
                    "aws:SourceArn": pulumi.Output.format(
                        "arn:{0}:events:{1}:{2}:rule/*", partition.partition, region, identity.account_id
                    )
                },
            },
        },
        {
            # CloudFront (Origin Access Control) reads the SSE-KMS static assets. The key
            # exists before the distribution, so the grant names this account's
            # distributions; the static bucket's policy admits exactly one of them.
            "Sid": "CloudFrontDecryptsStaticAssets",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "AWS:SourceArn": pulumi.Output.format(
                        "arn:{0}:cloudfront::{1}:distribution/*", partition.partition, identity.account_id
                    )
                }
            },
        },
    )
