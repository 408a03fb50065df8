"""The ecommerce platform: wires the components together and exports outputs.

Only wiring lives here. Each concern is a component in infra/components/.
"""

import pulumi

from infra.components.backups import Backups, BackupsArgs
from infra.components.database import Database, DatabaseArgs
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.network import Network, NetworkArgs
from infra.components.tables import Tables, TablesArgs
from infra.settings import load_settings
from infra.tagging import register_default_tags

settings = load_settings()
register_default_tags(settings)

encryption = Encryption("encryption", EncryptionArgs(settings=settings))
network = Network("network", NetworkArgs(settings=settings, key=encryption.key))
tables = Tables("tables", TablesArgs(settings=settings, key=encryption.key))
database = Database("database", DatabaseArgs(settings=settings, network=network, key=encryption.key))
if settings.profile.aws_backup:
    Backups("backups", BackupsArgs(settings=settings, key=encryption.key, database=database, tables=tables))

pulumi.export("environment", settings.environment)
pulumi.export("environmentSuffix", settings.suffix)
pulumi.export("region", settings.region)
pulumi.export("kmsKeyArn", encryption.key.arn)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("publicSubnetIds", [s.id for s in network.public_subnets])
pulumi.export("privateSubnetIds", [s.id for s in network.private_subnets])
pulumi.export("databaseSubnetIds", [s.id for s in network.database_subnets])
pulumi.export("natGatewayPublicIps", [e.public_ip for e in network.nat_eips])
pulumi.export("flowLogGroupName", network.flow_log_group.name)
pulumi.export("albSecurityGroupId", network.alb_security_group.id)
pulumi.export("functionSecurityGroupId", network.function_security_group.id)
pulumi.export("proxySecurityGroupId", network.proxy_security_group.id)
pulumi.export("databaseSecurityGroupId", network.database_security_group.id)
pulumi.export("sessionsTableName", tables.tables["sessions"].name)
pulumi.export("cacheTableName", tables.tables["cache"].name)
pulumi.export("idempotencyTableName", tables.tables["idempotency"].name)
pulumi.export("auroraClusterId", database.cluster.cluster_identifier)
pulumi.export("auroraClusterArn", database.cluster.arn)
pulumi.export("dbProxyEndpoint", database.writer_host)
pulumi.export("dbProxyReadOnlyEndpoint", database.read_only_endpoint.endpoint)
pulumi.export("dbSecretArn", database.secret_arn)
