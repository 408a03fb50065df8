"""Aurora PostgreSQL Serverless v2 behind RDS Proxy.

The cluster lives in the isolated database subnets and accepts connections from
the proxy's security group only. The proxy lives in the private subnets, next
to the API function: clients must use TLS and an IAM authentication token; the
proxy itself signs in to the cluster with the master credentials that RDS keeps
in Secrets Manager (``manage_master_user_password``), which its role can read
and nothing else. The function therefore connects as the master user name, with
an IAM token for ``rds-db:connect`` on the proxy (``connect_arn``): no password
ever appears in config, code or environment variables.

Two proxy endpoints: the proxy's own (read/write, to the writer) and a
``READ_ONLY`` endpoint that spreads connections over the readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document, service_trust_policy
from infra.lambda_helpers import DatabaseAccess
from infra.settings import Settings
from shop.declarations import DB_NAME, DB_PORT

ENGINE = aws.rds.EngineType.AURORA_POSTGRESQL
# A current Aurora PostgreSQL 16 minor version that supports Serverless v2.
ENGINE_VERSION = "16.8"
MASTER_USERNAME = "shop_admin"
BACKUP_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.ClusterMasterUserSecret]) -> str:
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("the cluster has no managed master user secret")
    return secrets[0].secret_arn


def _proxy_resource_id(arn: str) -> str:
    """``arn:aws:rds:<region>:<account>:db-proxy:prx-0123...`` -> ``prx-0123...``."""
    return arn.rsplit(":", 1)[-1]


@dataclass
class DatabaseArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # Where the cluster lives (the isolated database subnets) and its security group.
    database_subnet_ids: Sequence[pulumi.Input[str]]
    database_security_group_id: pulumi.Input[str]
    # Where the proxy lives (the private subnets, next to the functions) and its security group.
    proxy_subnet_ids: Sequence[pulumi.Input[str]]
    proxy_security_group_id: pulumi.Input[str]
    # The AZ names instances are spread over (round robin).
    availability_zones: Sequence[pulumi.Input[str]]


class Database(pulumi.ComponentResource):
    """The Aurora cluster, its Serverless v2 instances, and the RDS Proxy in front of it."""

    subnet_group: aws.rds.SubnetGroup
    log_group: aws.cloudwatch.LogGroup
    cluster: aws.rds.Cluster
    writer: aws.rds.ClusterInstance
    readers: list[aws.rds.ClusterInstance]
    proxy_role: aws.iam.Role
    proxy: aws.rds.Proxy
    proxy_target: aws.rds.ProxyTarget
    read_only_endpoint: aws.rds.ProxyEndpoint
    writer_host: pulumi.Output[str]
    reader_host: pulumi.Output[str]
    database_name: str
    db_user: str
    secret_arn: pulumi.Output[str]
    connect_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Database", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self.database_name = DB_NAME
        self.db_user = MASTER_USERNAME

        self._cluster()
        self._instances()
        self.secret_arn = self.cluster.master_user_secrets.apply(_first_secret_arn)
        secret_access = self._proxy_role()
        self._proxy(secret_access)
        self._endpoints()

        self.register_outputs(
            {
                "clusterArn": self.cluster.arn,
                "writerHost": self.writer_host,
                "readerHost": self.reader_host,
                "secretArn": self.secret_arn,
                "connectArn": self.connect_arn,
            }
        )

    # ------------------------------------------------------------ cluster
    def _cluster(self) -> None:
        settings, profile, key_arn, child = (
            self._args.settings,
            self._args.settings.profile,
            self._args.key_arn,
            self._child,
        )
        self.subnet_group = aws.rds.SubnetGroup(
            "aurora",
            name=settings.name("aurora"),
            description="Aurora: the isolated database subnets",
            subnet_ids=list(self._args.database_subnet_ids),
            opts=child,
        )

        # The log group RDS exports PostgreSQL logs to, created first so that it
        # has a retention period and the customer-managed key (RDS would create
        # it unencrypted, kept forever).
        cluster_identifier = settings.name("aurora")
        self.log_group = aws.cloudwatch.LogGroup(
            "aurora-postgresql",
            name=f"/aws/rds/cluster/{cluster_identifier}/postgresql",
            retention_in_days=profile.log_retention_days,
            kms_key_id=key_arn,
            tags={"Name": settings.name("aurora-postgresql-logs")},
            opts=child,
        )

        self.cluster = aws.rds.Cluster(
            "aurora",
            cluster_identifier=cluster_identifier,
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            engine_mode="provisioned",
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=profile.aurora_min_acu,
                max_capacity=profile.aurora_max_acu,
            ),
            database_name=DB_NAME,
            master_username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key_arn,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            kms_key_id=key_arn,
            port=DB_PORT,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self._args.database_security_group_id],
            enabled_cloudwatch_logs_exports=["postgresql"],
            backup_retention_period=profile.db_backup_retention_days,
            preferred_backup_window=BACKUP_WINDOW,
            preferred_maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            deletion_protection=profile.protect_data,
            skip_final_snapshot=not profile.protect_data,
            final_snapshot_identifier=settings.name("aurora-final") if profile.protect_data else None,
            apply_immediately=not profile.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=profile.protect_data, depends_on=[self.log_group]),
        )

    # ------------------------------------------------------------ instances
    def _instances(self) -> None:
        """One writer and profile.aurora_readers readers, each pinned to a
        different AZ (round robin) so a zone outage leaves a promotable reader.
        Readers in promotion tier 1 scale with the writer (tiers 0-1 do)."""
        settings, profile = self._args.settings, self._args.settings.profile
        zones = list(self._args.availability_zones)

        def instance(logical: str, index: int, tier: int) -> aws.rds.ClusterInstance:
            ident = settings.name(logical)
            return aws.rds.ClusterInstance(
                logical,
                identifier=ident,
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=ENGINE,
                engine_version=self.cluster.engine_version,
                db_subnet_group_name=self.subnet_group.name,
                availability_zone=zones[index % len(zones)],
                promotion_tier=tier,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=self._args.key_arn,
                performance_insights_retention_period=7,
                apply_immediately=not profile.protect_data,
                tags={"Name": ident},
                opts=self._child,
            )

        self.writer = instance("aurora-writer", 0, 0)
        self.readers = [instance(f"aurora-reader-{i}", i, 1) for i in range(1, profile.aurora_readers + 1)]

    # ------------------------------------------------------------ proxy
    def _proxy_role(self) -> aws.iam.RolePolicy:
        """The proxy's role: read that one secret, decrypt it only through Secrets Manager."""
        settings = self._args.settings
        identity = aws.get_caller_identity_output()
        self.proxy_role = aws.iam.Role(
            "db-proxy",
            name=settings.name("db-proxy"),
            description="RDS Proxy: read the Aurora master secret",
            assume_role_policy=service_trust_policy(
                "rds.amazonaws.com", condition={"StringEquals": {"aws:SourceAccount": identity.account_id}}
            ),
            opts=self._child,
        )
        return aws.iam.RolePolicy(
            "db-proxy-secret",
            role=self.proxy_role.id,
            policy=policy_document(
                {
                    "Sid": "ReadTheMasterSecret",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": self.secret_arn,
                },
                {
                    "Sid": "DecryptItThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": self._args.key_arn,
                    "Condition": {
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{settings.region}.amazonaws.com"}
                    },
                },
            ),
            opts=self._child,
        )

    def _proxy(self, secret_access: aws.iam.RolePolicy) -> None:
        self.proxy = aws.rds.Proxy(
            "db-proxy",
            name=self._args.settings.name("db-proxy"),
            engine_family="POSTGRESQL",
            role_arn=self.proxy_role.arn,
            vpc_subnet_ids=list(self._args.proxy_subnet_ids),
            vpc_security_group_ids=[self._args.proxy_security_group_id],
            require_tls=True,
            idle_client_timeout=1800,
            debug_logging=False,
            auths=[
                aws.rds.ProxyAuthArgs(
                    auth_scheme="SECRETS",
                    iam_auth="REQUIRED",
                    secret_arn=self.secret_arn,
                    client_password_auth_type="POSTGRES_SCRAM_SHA_256",
                    description="IAM-authenticated clients; the proxy signs in with the master secret",
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret_access]),
        )
        default_group = aws.rds.ProxyDefaultTargetGroup(
            "db-proxy",
            db_proxy_name=self.proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=90,
                max_idle_connections_percent=50,
                connection_borrow_timeout=120,
            ),
            opts=self._child,
        )
        self.proxy_target = aws.rds.ProxyTarget(
            "db-proxy",
            db_proxy_name=self.proxy.name,
            target_group_name=default_group.name,
            db_cluster_identifier=self.cluster.cluster_identifier,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.writer, *self.readers]),
        )

    # ------------------------------------------------------------ endpoints
    def _endpoints(self) -> None:
        """The read-only proxy endpoint, the hosts functions connect to, the rds-db:connect ARN."""
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.read_only_endpoint = aws.rds.ProxyEndpoint(
            "db-proxy-read-only",
            db_proxy_endpoint_name=self._args.settings.name("db-proxy-read-only"),
            db_proxy_name=self.proxy.name,
            vpc_subnet_ids=list(self._args.proxy_subnet_ids),
            vpc_security_group_ids=[self._args.proxy_security_group_id],
            target_role="READ_ONLY",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.proxy_target]),
        )

        self.writer_host = self.proxy.endpoint
        # Without readers the read-only endpoint has nothing to route to.
        self.reader_host = self.read_only_endpoint.endpoint if self.readers else self.proxy.endpoint
        self.connect_arn = pulumi.Output.format(
            "arn:{0}:rds-db:{1}:{2}:dbuser:{3}/{4}",
            partition.partition,
            self._args.settings.region,
            identity.account_id,
            self.proxy.arn.apply(_proxy_resource_id),
            self.db_user,
        )

    @property
    def access(self) -> DatabaseAccess:
        """What a VPC function needs to connect (through the proxy, with an IAM token)."""
        return DatabaseAccess(
            writer_host=self.writer_host,
            reader_host=self.reader_host,
            user=self.db_user,
            connect_arn=self.connect_arn,
            name=self.database_name,
            ready=(self,),
        )
