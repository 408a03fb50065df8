"""DynamoDB tables, one per spec in ``shop.declarations.TABLES``.

Key schemas, indexes and TTL attributes come from the declarations the shop
imports too, so infrastructure and application cannot disagree about them.
Every table has point-in-time recovery and server-side encryption with the
customer-managed key; prod adds deletion protection. With PROVISIONED billing,
each table and index gets target-tracking auto-scaling of reads and writes
between the profile's minimum and maximum capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.settings import Settings
from shop.declarations import TABLES, TableSpec

# Target consumed/provisioned capacity ratio for auto-scaling, in percent.
TARGET_UTILIZATION_PERCENT = 70.0
SCALE_IN_COOLDOWN_SECONDS = 60
SCALE_OUT_COOLDOWN_SECONDS = 60

_DIMENSIONS = {
    # (table or index, read or write) -> (scalable dimension, predefined metric)
    ("table", "read"): ("dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    ("table", "write"): ("dynamodb:table:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
    ("index", "read"): ("dynamodb:index:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    ("index", "write"): ("dynamodb:index:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
}


@dataclass
class TablesArgs:
    settings: Settings
    key: aws.kms.Key
    # Defaults to every table in shop.declarations.TABLES.
    specs: tuple[TableSpec, ...] | None = None


class Tables(pulumi.ComponentResource):
    """The shop's DynamoDB tables, keyed by their logical name."""

    tables: dict[str, aws.dynamodb.Table]
    scaling_targets: list[aws.appautoscaling.Target]

    def __init__(self, name: str, args: TablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Tables", name, None, opts)
        self._args = args
        self._provisioned = args.settings.profile.dynamo_billing_mode == "PROVISIONED"
        self.tables = {}
        self.scaling_targets = []
        for spec in args.specs if args.specs is not None else TABLES:
            self.tables[spec.logical] = self._table(spec)
            if self._provisioned:
                self._autoscale_table(spec, self.tables[spec.logical])
        self.register_outputs({f"{logical}TableName": t.name for logical, t in self.tables.items()})

    def _capacity(self) -> tuple[int | None, int | None]:
        """Provisioned read and write capacity, or none on demand."""
        profile = self._args.settings.profile
        if not self._provisioned:
            return None, None
        return profile.dynamo_read_capacity, profile.dynamo_write_capacity

    def _indexes(self, spec: TableSpec) -> list[aws.dynamodb.TableGlobalSecondaryIndexArgs]:
        read_capacity, write_capacity = self._capacity()
        return [
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index.name,
                projection_type=index.projection,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=attr.name, key_type=kind)
                    for attr, kind in ((index.hash_key, "HASH"), (index.range_key, "RANGE"))
                    if attr is not None
                ],
                read_capacity=read_capacity,
                write_capacity=write_capacity,
            )
            for index in spec.indexes
        ]

    def _table(self, spec: TableSpec) -> aws.dynamodb.Table:
        settings, profile = self._args.settings, self._args.settings.profile
        read_capacity, write_capacity = self._capacity()
        indexes = self._indexes(spec)
        # Auto-scaling owns provisioned capacity once the table exists.
        ignore = ["readCapacity", "writeCapacity"] if self._provisioned else []
        if self._provisioned and spec.indexes:
            ignore += ["globalSecondaryIndexes[*].readCapacity", "globalSecondaryIndexes[*].writeCapacity"]
        return aws.dynamodb.Table(
            spec.logical,
            name=settings.name(spec.logical),
            billing_mode=profile.dynamo_billing_mode,
            hash_key=spec.hash_key.name,
            range_key=spec.range_key.name if spec.range_key else None,
            attributes=[aws.dynamodb.TableAttributeArgs(name=a.name, type=a.type) for a in spec.attributes],
            global_secondary_indexes=indexes or None,
            ttl=(
                aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True)
                if spec.ttl_attribute
                else None
            ),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=self._args.key.arn
            ),
            deletion_protection_enabled=profile.protect_data,
            read_capacity=read_capacity,
            write_capacity=write_capacity,
            opts=pulumi.ResourceOptions(parent=self, protect=profile.protect_data, ignore_changes=ignore),
        )

    def _autoscale_table(self, spec: TableSpec, table: aws.dynamodb.Table) -> None:
        settings = self._args.settings
        self._autoscale(settings, spec.logical, "table", pulumi.Output.format("table/{0}", table.name))
        for index in spec.indexes:
            self._autoscale(
                settings,
                f"{spec.logical}-{index.name}",
                "index",
                pulumi.Output.format("table/{0}/index/{1}", table.name, index.name),
            )

    def _autoscale(self, settings: Settings, logical: str, kind: str, resource_id: pulumi.Output[str]) -> None:
        profile = settings.profile
        limits = {
            "read": (profile.dynamo_read_capacity, profile.dynamo_max_read_capacity),
            "write": (profile.dynamo_write_capacity, profile.dynamo_max_write_capacity),
        }
        for io, (minimum, maximum) in limits.items():
            dimension, metric = _DIMENSIONS[(kind, io)]
            target = aws.appautoscaling.Target(
                f"{logical}-{io}",
                service_namespace="dynamodb",
                resource_id=resource_id,
                scalable_dimension=dimension,
                min_capacity=minimum,
                max_capacity=maximum,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.scaling_targets.append(target)
            aws.appautoscaling.Policy(
                f"{logical}-{io}",
                name=settings.name(f"{logical}-{io}"),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=TARGET_UTILIZATION_PERCENT,
                    scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                    scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
