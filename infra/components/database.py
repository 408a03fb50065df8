"""Aurora PostgreSQL Serverless v2, behind RDS Proxy where the profile has one.

The cluster lives in the isolated database subnets. Two database users:

- the application role ``shop_app`` (``shop.declarations.DB_APP_USER``, created by migration 0003:
  DML only), which the API function signs in as with an IAM token;
- the master user, which only the migration function signs in as.

With ``profile.rds_proxy`` (staging, prod) the proxy lives in the private subnets next to the
functions, requires TLS and IAM tokens from clients, and signs in to the cluster two ways: as
``shop_app`` with end-to-end IAM authentication (``default_auth_scheme = IAM_AUTH``: its role may
``rds-db:connect`` as that user on the cluster, no secret), and as the master user with the
password RDS keeps in Secrets Manager (``manage_master_user_password``). Two proxy endpoints: the
proxy's own (read/write) and a ``READ_ONLY`` one over the readers.

Without a proxy (dev: 0 ACU with auto-pause, which a proxy's connections would prevent) the API
connects to the cluster endpoint with an IAM token and TLS, and the migration function with the
master secret. Either way no password appears in config, code or environment variables.

The engine is created at ``ENGINE_VERSION`` and then left to AWS's automatic minor upgrades:
``engineVersion`` is ignored after creation, so a refresh after a patch never plans a downgrade
(the provider writes the actual version back into state when the configured one is not a prefix
of it). A major upgrade is a deliberate change of ``ENGINE_MAJOR`` with its own runbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.iam import policy_document, service_trust_policy
from infra.lambda_helpers import DatabaseAccess
from infra.settings import Settings
from shop.declarations import DB_APP_USER, DB_NAME, DB_PORT

ENGINE = aws.rds.EngineType.AURORA_POSTGRESQL
ENGINE_MAJOR = "16"
# The version a new cluster starts at; AWS upgrades minor versions from there. Scale to zero
# (0 ACU) needs Aurora PostgreSQL 16.3 or later.
ENGINE_VERSION = "16.8"
SCALE_TO_ZERO_MINIMUM_VERSION = (16, 3)
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


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass
class DatabaseArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # Where the cluster lives (the isolated database subnets) and its security group.
    database_subnet_ids: Sequence[pulumi.Input[str]]
    database_security_group_id: pulumi.Input[str]
    # Where the proxy lives (the private subnets, next to the functions) and its security group
    # (unused when the profile has no proxy).
    proxy_subnet_ids: Sequence[pulumi.Input[str]]
    proxy_security_group_id: pulumi.Input[str] | None
    # The AZ names instances are spread over (round robin).
    availability_zones: Sequence[pulumi.Input[str]]


class Database(pulumi.ComponentResource):
    """The Aurora cluster, its Serverless v2 instances, and the RDS Proxy in front of it (if any)."""

    subnet_group: aws.rds.SubnetGroup
    log_group: aws.cloudwatch.LogGroup
    final_snapshot_suffix: random.RandomId | None
    cluster: aws.rds.Cluster
    writer: aws.rds.ClusterInstance
    readers: list[aws.rds.ClusterInstance]
    proxy_role: aws.iam.Role | None
    proxy: aws.rds.Proxy | None
    proxy_target: aws.rds.ProxyTarget | None
    read_only_endpoint: aws.rds.ProxyEndpoint | None
    writer_host: pulumi.Output[str]
    reader_host: pulumi.Output[str]
    database_name: str
    db_user: str
    migration_user: str
    secret_arn: pulumi.Output[str]
    connect_arn: pulumi.Output[str]
    migration_connect_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Database", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self.database_name = DB_NAME
        self.db_user = DB_APP_USER
        self.migration_user = MASTER_USERNAME
        self.proxy_role = self.proxy = self.proxy_target = self.read_only_endpoint = None

        self._cluster()
        self._instances()
        self.secret_arn = self.cluster.master_user_secrets.apply(_first_secret_arn)
        if args.settings.profile.rds_proxy:
            proxy_access = self._proxy_role()
            self._proxy(proxy_access)
            self._proxy_endpoints()
        else:
            self._cluster_endpoints()

        self.register_outputs(
            {
                "clusterArn": self.cluster.arn,
                "writerHost": self.writer_host,
                "readerHost": self.reader_host,
                "secretArn": self.secret_arn,
                "connectArn": self.connect_arn,
            }
        )

    def _dbuser_arn(self, resource_id: pulumi.Input[str], user: str) -> pulumi.Output[str]:
        """The ``rds-db:connect`` resource for ``user`` at a proxy (``prx-...``) or cluster (``cluster-...``)."""
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        return pulumi.Output.format(
            "arn:{0}:rds-db:{1}:{2}:dbuser:{3}/{4}",
            partition.partition,
            self._args.settings.region,
            identity.account_id,
            resource_id,
            user,
        )

    # ------------------------------------------------------------ cluster
    def _subnet_group(self) -> None:
        """The isolated database subnets the cluster's instances live in."""
        self.subnet_group = aws.rds.SubnetGroup(
            "aurora",
            name=self._args.settings.name("aurora"),
            description="Aurora: the isolated database subnets",
            subnet_ids=list(self._args.database_subnet_ids),
            opts=self._child,
        )

    def _log_group(self, cluster_identifier: str) -> None:
        """The log group RDS exports PostgreSQL logs to, created first so that it has a retention
        period and the customer-managed key (RDS would create it unencrypted, kept forever)."""
        settings = self._args.settings
        self.log_group = aws.cloudwatch.LogGroup(
            "aurora-postgresql",
            name=f"/aws/rds/cluster/{cluster_identifier}/postgresql",
            retention_in_days=settings.profile.log_retention_days,
            kms_key_id=self._args.key_arn,
            tags={"Name": settings.name("aurora-postgresql-logs")},
            opts=self._child,
        )

    def _cluster(self) -> None:
        """The Aurora PostgreSQL Serverless v2 cluster (its subnet group and log group first)."""
        settings, profile, key_arn = self._args.settings, self._args.settings.profile, self._args.key_arn
        cluster_identifier = settings.name("aurora")
        self._subnet_group()
        self._log_group(cluster_identifier)
        self.cluster = aws.rds.Cluster(
            "aurora",
            cluster_identifier=cluster_identifier,
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            engine_mode="provisioned",
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=profile.aurora_min_acu,
                max_capacity=profile.aurora_max_acu,
                # Only meaningful (and only accepted) at 0 ACU: pause after this long without connections.
                seconds_until_auto_pause=profile.aurora_auto_pause_seconds if profile.aurora_min_acu == 0 else None,
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
            skip_final_snapshot=not profile.keep_backups_on_destroy,
            final_snapshot_identifier=self._final_snapshot_identifier(),
            apply_immediately=not profile.protect_data,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=profile.protect_data,
                depends_on=[self.log_group],
                # AWS applies minor upgrades (auto_minor_version_upgrade): never plan them back.
                ignore_changes=["engineVersion"],
            ),
        )

    def _final_snapshot_identifier(self) -> pulumi.Output[str] | None:
        """``ecommerce-aurora-final-<suffix>-<8 hex>``: random per cluster, so retiring a second stack
        of the same name (or the same stack twice) never collides with the first one's snapshot,
        which outlives its stack. The suffix is created once and kept in state."""
        self.final_snapshot_suffix = None
        if not self._args.settings.profile.keep_backups_on_destroy:
            return None
        self.final_snapshot_suffix = random.RandomId("aurora-final-snapshot", byte_length=4, opts=self._child)
        return pulumi.Output.format("{0}-{1}", self._args.settings.name("aurora-final"), self.final_snapshot_suffix.hex)

    # ------------------------------------------------------------ instances
    def _instances(self) -> None:
        """One writer and profile.aurora_readers readers, each pinned to a
        different AZ (round robin) so a zone outage leaves a promotable reader.
        The first reader sits in promotion tier 1: it scales with the writer (tiers 0-1 do) and is
        the failover target, ready at the writer's size. Further readers sit in tier 2: they scale
        with their own read load and idle at the minimum (failover to them comes second)."""
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
                # No engine_version: instances run the cluster's, minor upgrades included.
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
        self.readers = [
            instance(f"aurora-reader-{i}", i, 1 if i == 1 else 2) for i in range(1, profile.aurora_readers + 1)
        ]

    # ------------------------------------------------------------ proxy
    def _proxy_role(self) -> aws.iam.RolePolicy:
        """The proxy's role: sign in to the cluster as the application role with IAM (end-to-end IAM
        authentication), read the master secret, decrypt it only through Secrets Manager."""
        settings = self._args.settings
        identity = aws.get_caller_identity_output()
        self.proxy_role = aws.iam.Role(
            "db-proxy",
            name=settings.name("db-proxy"),
            description="RDS Proxy: IAM sign-in as the application role, the Aurora master secret",
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
                    "Sid": "SignInAsTheApplicationRole",
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": self._dbuser_arn(self.cluster.cluster_resource_id, self.db_user),
                },
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
        assert self.proxy_role is not None and self._args.proxy_security_group_id is not None
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
            # The application role: IAM from the client to the proxy and from the proxy to the cluster.
            default_auth_scheme="IAM_AUTH",
            auths=[
                aws.rds.ProxyAuthArgs(
                    auth_scheme="SECRETS",
                    iam_auth="REQUIRED",
                    secret_arn=self.secret_arn,
                    client_password_auth_type="POSTGRES_SCRAM_SHA_256",
                    description="Migrations: IAM-authenticated clients; the proxy signs in with the master secret",
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
    def _proxy_endpoints(self) -> None:
        """The read-only proxy endpoint, the hosts functions connect to, the rds-db:connect ARNs."""
        assert self.proxy is not None and self.proxy_target is not None
        assert self._args.proxy_security_group_id is not None
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
        proxy_id = self.proxy.arn.apply(_proxy_resource_id)
        self.connect_arn = self._dbuser_arn(proxy_id, self.db_user)
        self.migration_connect_arn = self._dbuser_arn(proxy_id, self.migration_user)

    def _cluster_endpoints(self) -> None:
        """No proxy: the cluster's own endpoints, IAM sign-in as the application role on the cluster;
        the migration function signs in with the master secret (no IAM mapping for the master)."""
        self.writer_host = self.cluster.endpoint
        self.reader_host = self.cluster.reader_endpoint if self.readers else self.cluster.endpoint
        self.connect_arn = self._dbuser_arn(self.cluster.cluster_resource_id, self.db_user)
        self.migration_connect_arn = None

    @property
    def access(self) -> DatabaseAccess:
        """What the API function needs to connect: the application role, with an IAM token."""
        return DatabaseAccess(
            writer_host=self.writer_host,
            reader_host=self.reader_host,
            user=self.db_user,
            connect_arn=self.connect_arn,
            name=self.database_name,
            ready=(self,),
        )

    @property
    def migration_access(self) -> DatabaseAccess:
        """What the migration function needs: the master user, through the proxy with an IAM token,
        or (no proxy) straight to the cluster with the managed master secret."""
        return DatabaseAccess(
            writer_host=self.writer_host,
            reader_host=self.writer_host,
            user=self.migration_user,
            connect_arn=self.migration_connect_arn,
            secret_arn=None if self.migration_connect_arn is not None else self.secret_arn,
            name=self.database_name,
            ready=(self,),
        )
