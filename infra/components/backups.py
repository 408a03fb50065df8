"""AWS Backup for the data stores (staging and prod: ``profile.aws_backup``).

A vault encrypted with the customer-managed key, a daily plan whose recovery
points live ``profile.backup_retention_days`` days, and a selection of the
Aurora cluster and every DynamoDB table, backed up through a role that holds
only the AWS-managed backup and restore policies. These recovery points are on
top of Aurora's own automated backups and DynamoDB point-in-time recovery: they
survive the deletion of the cluster or a table.

Disaster recovery (``profile.dr_copy``, prod): every recovery point is copied to
a vault in ``settings.dr_region``, encrypted with a key in that region (AWS
Backup copies across regions only into a vault whose key lives there). The
second region's resources go through an explicit provider for that region.

On destroy: with ``profile.keep_backups_on_destroy`` the vaults and the DR key
are retained (Pulumi forgets them, AWS keeps them with their recovery points);
otherwise the vaults are force-destroyed with their recovery points.
``profile.protect_data`` alone decides ``protect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import service_trust_policy
from infra.settings import Settings

# 05:00 UTC daily: after Aurora's automated backup window (03:00-04:00).
# Copies start when the backup completes: the recovery point objective in the DR region is one
# day plus the copy time (hours at most for a shop-sized database).
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
    """Vault, daily plan and selection of the cluster and the tables; the DR region's copy."""

    vault: aws.backup.Vault
    dr_provider: aws.Provider | None
    dr_key: aws.kms.Key | None
    dr_vault: aws.backup.Vault | None
    plan: aws.backup.Plan
    role: aws.iam.Role
    selection: aws.backup.Selection

    def __init__(self, name: str, args: BackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Backups", name, None, opts)
        self._settings = args.settings
        self.vault = self._vault(
            "backup", self._settings.name("backup"), args.key_arn, pulumi.ResourceOptions(parent=self)
        )
        self._dr_vault()
        self._plan()
        self._role_and_selection(args.resource_arns)
        self.register_outputs(
            {
                "vaultArn": self.vault.arn,
                "planId": self.plan.id,
                "drVaultArn": self.dr_vault.arn if self.dr_vault else None,
            }
        )

    def _role_and_selection(self, resource_arns: Sequence[pulumi.Input[str]]) -> None:
        """The role AWS Backup works through (the managed backup and restore policies only) and
        the selection of the cluster and the tables."""
        settings, child = self._settings, pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output()
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
            resources=list(resource_arns),
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )

    def _vault(
        self, logical: str, vault_name: str, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> aws.backup.Vault:
        """A vault that outlives the stack with its recovery points, or goes with them."""
        profile = self._settings.profile
        return aws.backup.Vault(
            logical,
            name=vault_name,
            kms_key_arn=key_arn,
            force_destroy=not profile.keep_backups_on_destroy,
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(protect=profile.protect_data, retain_on_delete=profile.keep_backups_on_destroy),
            ),
        )

    def _dr_vault(self) -> None:
        """The second region's provider, key and vault (``profile.dr_copy``)."""
        settings = self._settings
        self.dr_provider = self.dr_key = self.dr_vault = None
        if not settings.profile.dr_copy or not settings.dr_region:
            return
        self.dr_provider = aws.Provider(
            "dr-region", region=settings.dr_region, opts=pulumi.ResourceOptions(parent=self)
        )
        in_dr = pulumi.ResourceOptions(parent=self, provider=self.dr_provider)
        keep = settings.profile.keep_backups_on_destroy
        # The copies are only as durable as the key that decrypts them: kept with them.
        self.dr_key = aws.kms.Key(
            "dr-backup",
            description=f"ecommerce backup copies ({settings.suffix}, from {settings.region})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions.merge(
                in_dr, pulumi.ResourceOptions(protect=settings.profile.protect_data, retain_on_delete=keep)
            ),
        )
        aws.kms.Alias(
            "dr-backup",
            name=f"alias/{settings.name('dr-backup')}",
            target_key_id=self.dr_key.key_id,
            opts=in_dr,
        )
        self.dr_vault = self._vault("dr-backup", settings.name("dr-backup"), self.dr_key.arn, in_dr)

    def _plan(self) -> None:
        profile = self._settings.profile
        copies = (
            [
                aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=self.dr_vault.arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=profile.backup_retention_days),
                )
            ]
            if self.dr_vault
            else None
        )
        self.plan = aws.backup.Plan(
            "backup",
            name=self._settings.name("backup"),
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=SCHEDULE,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=profile.backup_retention_days),
                    copy_actions=copies,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
