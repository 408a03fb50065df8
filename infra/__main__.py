"""The ecommerce platform: wires the components together and exports outputs.

Only wiring lives here. Each concern is a component in infra/components/.
"""

import sys
from pathlib import Path

# `pulumi up` runs this file with only infra/ on sys.path, in .venv-deploy, which holds the pinned
# dependencies (requirements.txt, hash-checked) but not this repository: put its roots first.
_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [p for p in (str(_REPO), str(_REPO / "src")) if p not in sys.path]

import pulumi

from infra.components.api_function import ApiFunction, ApiFunctionArgs
from infra.components.api_gateway import ApiGateway, ApiGatewayArgs, BackOfficeAuthorization
from infra.components.api_gateway_account import ApiGatewayAccount, ApiGatewayAccountArgs
from infra.components.back_office_authorizer import BackOfficeAuthorizer, BackOfficeAuthorizerArgs
from infra.components.back_office_key import BackOfficeKey, BackOfficeKeyArgs
from infra.components.backups import Backups, BackupsArgs
from infra.components.cdn import Cdn, CdnArgs
from infra.components.database import Database, DatabaseArgs
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.events import Events, EventsArgs
from infra.components.identity import Identity, IdentityArgs
from infra.components.jobs import Jobs, JobsArgs
from infra.components.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.components.migrations import Migrations, MigrationsArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.notifications import Notifications, NotificationsArgs
from infra.components.order_token_secret import OrderTokenSecret, OrderTokenSecretArgs
from infra.components.payments import Payments, PaymentsArgs
from infra.components.relay import EventRelay, RelayArgs
from infra.components.storage import Storage, StorageArgs
from infra.components.tables import Tables, TablesArgs
from infra.cors import cors_allow_origin
from infra.replacement import register_replacement_transform
from infra.settings import load_settings
from infra.tagging import register_default_tags
from shop.declarations import Env

settings = load_settings()
register_default_tags(settings)
register_replacement_transform()

encryption = Encryption("encryption", EncryptionArgs(settings=settings))
network = Network("network", NetworkArgs(settings=settings, key_arn=encryption.key.arn))
tables = Tables("tables", TablesArgs(settings=settings, key=encryption.key))
database = Database(
    "database",
    DatabaseArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        database_subnet_ids=[s.id for s in network.database_subnets],
        database_security_group_id=network.database_security_group.id,
        proxy_subnet_ids=[s.id for s in network.private_subnets],
        proxy_security_group_id=network.proxy_security_group.id if network.proxy_security_group else None,
        availability_zones=network.availability_zones,
    ),
)
if settings.profile.aws_backup:
    Backups(
        "backups",
        BackupsArgs(
            settings=settings,
            key_arn=encryption.key.arn,
            resource_arns=[database.cluster.arn, *(t.arn for t in tables.tables.values())],
        ),
    )
storage = Storage("storage", StorageArgs(settings=settings, key_arn=encryption.key.arn))
load_balancer = LoadBalancer(
    "load-balancer",
    LoadBalancerArgs(
        settings=settings,
        subnet_ids=[s.id for s in network.private_subnets],
        vpc_id=network.vpc.id,
        security_group_id=network.alb_security_group.id,
        listener_port=network.alb_listener_port,
        logs_bucket=storage.logs_bucket.bucket,
        logs_ready=storage.logs_ready,
    ),
)
cdn = Cdn(
    "cdn",
    CdnArgs(
        settings=settings,
        static_bucket_id=storage.static_bucket.id,
        static_bucket_arn=storage.static_bucket.arn,
        static_bucket_domain_name=storage.static_bucket.bucket_regional_domain_name,
        static_bucket_ready=[storage.public_access_blocks["static"]],
        logs_bucket_domain_name=storage.logs_bucket.bucket_domain_name,
        logs_ready=storage.logs_ready,
        alb_dns_name=load_balancer.load_balancer.dns_name,
        vpc_origin_id=load_balancer.vpc_origin.id,
        key_arn=encryption.key.arn,
    ),
)
identity = Identity("identity", IdentityArgs(settings=settings))
# Browsers may call the API from anywhere outside prod; in prod from the storefront only.
cors_origin = cors_allow_origin(settings, cdn.origin)
payments = Payments("payments", PaymentsArgs(settings=settings, key_arn=encryption.key.arn))
events = Events("events", EventsArgs(settings=settings))
order_token_secret = OrderTokenSecret(
    "order-token-secret", OrderTokenSecretArgs(settings=settings, key_arn=encryption.key.arn)
)
# The key API Gateway meters back-office token callers on (its id tells the function who they are).
back_office_key = BackOfficeKey("back-office-key", BackOfficeKeyArgs(settings=settings, key_arn=encryption.key.arn))
api_function = ApiFunction(
    "api-function",
    ApiFunctionArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        network=network.function_network,
        database=database.access,
        tables=tables.tables,
        target_group_arn=load_balancer.target_group.arn,
        cors_origin=cors_origin,
        parameters={Env.ORDER_TOKEN_SECRET_PARAMETER: order_token_secret.secure_parameter, **payments.parameters},
        environment={
            **identity.function_environment(),
            **payments.function_environment(),
            Env.EVENT_BUS_NAME: events.bus.name,
            # Product images: presigned uploads to the static bucket under media/, with the stack's key.
            Env.MEDIA_BUCKET: storage.static_bucket.bucket,
            Env.MEDIA_KMS_KEY_ID: encryption.key.arn,
            Env.BACK_OFFICE_API_KEY_ID: back_office_key.api_key.id,
        },
        statements=[events.publish_statement()],
        media_bucket_arn=storage.static_bucket.arn,
    ),
)
migrations = Migrations(
    "migrations",
    MigrationsArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        network=network.function_network,
        database=database.migration_access,
        image_uri=api_function.image_uri,
    ),
)
jobs = Jobs(
    "jobs",
    JobsArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        network=network.function_network,
        database=database.access,
        image_uri=api_function.image_uri,
        parameters={
            env: parameter for env, parameter in payments.parameters.items() if env == Env.STRIPE_SECRET_KEY_PARAMETER
        },
    ),
)
relay = EventRelay(
    "relay",
    RelayArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        network=network.function_network,
        database=database.access,
        image_uri=api_function.image_uri,
        bus_name=events.bus.name,
        publish_statement=events.publish_statement(),
    ),
)
back_office_authorizer = BackOfficeAuthorizer(
    "back-office-authorizer",
    BackOfficeAuthorizerArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        image_uri=api_function.image_uri,
        back_office_key=back_office_key.secure_parameter,
        identity_environment=identity.function_environment(),
    ),
)
# Off by default: the bootstrap program owns the region's setting (see api_gateway_account.py).
api_gateway_account = (
    ApiGatewayAccount("api-gateway-account", ApiGatewayAccountArgs(settings=settings))
    if settings.manage_api_gateway_account
    else None
)
api_gateway = ApiGateway(
    "api-gateway",
    ApiGatewayArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        function_name=api_function.function.name,
        function_invoke_arn=api_function.function.invoke_arn,
        cors_origin=cors_origin,
        stage_depends_on=[api_gateway_account.account] if api_gateway_account else [],
        user_pool_arn=identity.user_pool.arn,
        back_office=BackOfficeAuthorization(
            function_name=back_office_authorizer.function.name,
            function_invoke_arn=back_office_authorizer.function.invoke_arn,
            key_id=back_office_key.api_key.id,
        ),
    ),
)
notifications = Notifications(
    "notifications",
    NotificationsArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        network=network.function_network,
        database=database.access,
        image_uri=api_function.image_uri,
        bus_name=events.bus.name,
    ),
)
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        settings=settings,
        key_arn=encryption.key.arn,
        function_name=api_function.function.name,
        load_balancer_arn_suffix=load_balancer.load_balancer.arn_suffix,
        target_group_arn_suffix=load_balancer.target_group.arn_suffix,
        api_name=api_gateway.rest_api.name,
        stage_name=api_gateway.stage.stage_name,
        cluster_identifier=database.cluster.cluster_identifier,
        proxy_name=database.proxy.name if database.proxy else None,
        table_names={logical: table.name for logical, table in tables.tables.items()},
        dlq_name=notifications.dlq.name,
    ),
)

pulumi.export("environment", settings.environment)
pulumi.export("environmentSuffix", settings.suffix)
pulumi.export("region", settings.region)
pulumi.export("kmsKeyArn", encryption.key.arn)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("publicSubnetIds", [s.id for s in network.public_subnets])
pulumi.export("privateSubnetIds", [s.id for s in network.private_subnets])
pulumi.export("databaseSubnetIds", [s.id for s in network.database_subnets])
pulumi.export("natGatewayPublicIps", network.egress_public_ips)
pulumi.export("flowLogGroupName", network.flow_log_group.name)
pulumi.export("albSecurityGroupId", network.alb_security_group.id)
pulumi.export("functionSecurityGroupId", network.function_security_group.id)
pulumi.export("proxySecurityGroupId", network.proxy_security_group.id if network.proxy_security_group else None)
pulumi.export("databaseSecurityGroupId", network.database_security_group.id)
pulumi.export("sessionsTableName", tables.tables["sessions"].name)
pulumi.export("cacheTableName", tables.tables["cache"].name)
pulumi.export("idempotencyTableName", tables.tables["idempotency"].name)
pulumi.export("auroraClusterId", database.cluster.cluster_identifier)
pulumi.export("auroraClusterArn", database.cluster.arn)
pulumi.export("dbWriterHost", database.writer_host)
pulumi.export("dbReaderHost", database.reader_host)
pulumi.export("dbUser", database.db_user)
if database.proxy and database.read_only_endpoint:
    pulumi.export("dbProxyName", database.proxy.name)
    pulumi.export("dbProxyEndpoint", database.proxy.endpoint)
    pulumi.export("dbProxyReadOnlyEndpoint", database.read_only_endpoint.endpoint)
pulumi.export("dbSecretArn", database.secret_arn)
pulumi.export("apiUrl", api_gateway.url)
pulumi.export("apiStage", api_gateway.stage.stage_name)
pulumi.export("apiKeyId", api_gateway.api_key.id)
pulumi.export("backOfficeApiKeyId", back_office_key.api_key.id)
pulumi.export("authorizerFunctionName", back_office_authorizer.function.name)
pulumi.export("albDnsName", load_balancer.load_balancer.dns_name)
pulumi.export("cloudfrontDomainName", cdn.distribution.domain_name)
pulumi.export("cloudfrontDistributionId", cdn.distribution.id)
pulumi.export("storefrontUrl", cdn.url)
pulumi.export("ecrRepositoryUrl", api_function.repository.repository_url)
pulumi.export("imageUri", api_function.image_uri)
pulumi.export("apiFunctionName", api_function.function.name)
pulumi.export("apiFunctionArn", api_function.function.arn)
pulumi.export("migrationFunctionName", migrations.function.name)
pulumi.export("expiryFunctionName", jobs.function.name)
pulumi.export("edgeFunctionVersionArn", cdn.edge_function.qualified_arn)
pulumi.export("staticBucketName", storage.static_bucket.bucket)
pulumi.export("logsBucketName", storage.logs_bucket.bucket)
pulumi.export("artifactsBucketName", storage.artifacts_bucket.bucket)
pulumi.export("apiLogGroupName", api_function.log_group.name)
pulumi.export("apiAccessLogGroupName", api_gateway.access_log_group.name)
pulumi.export("restApiId", api_gateway.rest_api.id)
pulumi.export("userPoolId", identity.user_pool.id)
pulumi.export("userPoolClientId", identity.client.id)
pulumi.export("userPoolIssuer", identity.issuer)
pulumi.export("alarmTopicArn", monitoring.topic.arn)
pulumi.export("dashboardName", monitoring.dashboard.dashboard_name)
pulumi.export("dashboardUrl", monitoring.dashboard_url)
pulumi.export("eventBusName", events.bus.name)
pulumi.export("eventArchiveName", events.archive.name)
pulumi.export("relayFunctionName", relay.function.name)
pulumi.export("notifierFunctionName", notifications.function.name)
pulumi.export("notificationsQueueName", notifications.queue.name)
pulumi.export("notificationsDlqName", notifications.dlq.name)
pulumi.export("senderIdentityArn", notifications.identity.arn)
