"""AWS Backup for the data stores (staging and prod: ``profile.aws_backup``).

A vault encrypted with the customer-managed key, a daily plan whose recovery
points live ``profile.backup_retention_days`` days, and a selection of the
Aurora cluster and every DynamoDB table, backed up through a role that holds
only the AWS-managed backup and restore policies. These recovery points are on
top of Aurora's own automated backups and DynamoDB point-in-time recovery: they
survive the deletion of the cluster or a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import service_trust_policy
from infra.settings import Settings

# 05:00 UTC daily: after Aurora's automated backup window (03:00-04:00).
SCHEDULE = "cron(0 5 ? * * *)"
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 360
MANAGED_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


@dataclass
class BackupsArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # What is backed up: the Aurora cluster's and every table's ARN.
    resource_arns: Sequence[pulumi.Input[str]]


class Backups(pulumi.ComponentResource):
    """Vault, daily plan and selection of the cluster and the tables."""

    vault: aws.backup.Vault
    plan: aws.backup.Plan
    role: aws.iam.Role
    selection: aws.backup.Selection

    def __init__(self, name: str, args: BackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Backups", name, None, opts)
        settings = args.settings
        profile = settings.profile
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output()

        self.vault = aws.backup.Vault(
            "backup",
            name=settings.name("backup"),
            kms_key_arn=args.key_arn,
            # Outside prod a destroy may delete the recovery points with the vault.
            force_destroy=not profile.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=profile.protect_data),
        )
        self.plan = aws.backup.Plan(
            "backup",
            name=settings.name("backup"),
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=SCHEDULE,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=profile.backup_retention_days),
                )
            ],
            opts=child,
        )
        self.role = aws.iam.Role(
            "backup",
            name=settings.name("backup"),
            description="AWS Backup: back up and restore the Aurora cluster and DynamoDB tables",
            assume_role_policy=service_trust_policy("backup.amazonaws.com"),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"backup-{policy.rsplit('PolicyFor', 1)[-1].lower()}",
                role=self.role.name,
                policy_arn=pulumi.Output.format("arn:{0}:iam::aws:policy/{1}", partition.partition, policy),
                opts=child,
            )
            for policy in MANAGED_POLICIES
        ]
        self.selection = aws.backup.Selection(
            "backup",
            name=settings.name("backup-data"),
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=list(args.resource_arns),
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )

        self.register_outputs({"vaultArn": self.vault.arn, "planId": self.plan.id})
