"""Schema migrations as a deploy step: ``pulumi up`` applies pending migrations.

A second function runs the API's image (the same pushed digest) with its
command set to ``shop.db.migrate.handler``: the same private subnets, security
group, proxy endpoint and database user as the API function, with an IAM token
per connection. An ``aws.lambda_.Invocation`` calls it during ``pulumi up``
whenever the migration files or the image change, so a failed migration fails
the update. The runner is idempotent and serialised by an advisory lock, so an
invocation with nothing pending changes nothing.

Migrations must stay backwards compatible (expand now, contract in a later
release): within one update the API function may be replaced before or after
they run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from infra.components.api_function import DB_PORT, ENI_ACTIONS, LOG_ACTIONS, function_log_group, function_role
from infra.settings import Settings
from shop.declarations import Env

if TYPE_CHECKING:
    from infra.components.database import Database
    from infra.components.network import Network

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "src" / "shop" / "db" / "migrations"
COMMAND = "shop.db.migrate.handler"
MEMORY_MB = 512
TIMEOUT_SECONDS = 300


def migrations_digest(directory: Path = MIGRATIONS_DIR) -> str:
    """SHA-256 over every migration's name and content, in order: changes when any migration does."""
    digest = hashlib.sha256()
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise ValueError(f"no migrations in {directory}")
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class MigrationsArgs:
    settings: Settings
    key: aws.kms.Key
    network: Network
    database: Database
    image_uri: pulumi.Input[str]


class Migrations(pulumi.ComponentResource):
    """The migration function and the invocation that runs it on every relevant change."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    invocation: aws.lambda_.Invocation

    def __init__(self, name: str, args: MigrationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Migrations", name, None, opts)
        settings, database = args.settings, args.database
        child = pulumi.ResourceOptions(parent=self)
        function_name = settings.name("migrate")

        self.log_group = function_log_group("migrate", function_name, settings, args.key, child)
        self.role = function_role("migrate", settings.name("migrate-function"), child)
        # The database, its log group and its network interfaces: no tables, no X-Ray.
        policy = aws.iam.RolePolicy(
            "migrate",
            role=self.role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DatabaseViaProxy",
                            "Effect": "Allow",
                            "Action": "rds-db:connect",
                            "Resource": database.connect_arn,
                        },
                        {
                            "Sid": "OwnLogGroup",
                            "Effect": "Allow",
                            "Action": list(LOG_ACTIONS),
                            "Resource": pulumi.Output.format("{0}:*", self.log_group.arn),
                        },
                        {
                            "Sid": "VpcNetworkInterfacesNoResourceLevelPermissions",
                            "Effect": "Allow",
                            "Action": list(ENI_ACTIONS),
                            "Resource": "*",
                        },
                    ],
                }
            ),
            opts=child,
        )
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: settings.environment,
            Env.DB_WRITER_HOST: database.writer_host,
            Env.DB_PORT: str(DB_PORT),
            Env.DB_NAME: database.database_name,
            Env.DB_USER: database.db_user,
            Env.DB_IAM_AUTH: "true",
            Env.LOG_LEVEL: "INFO",
        }
        self.function = aws.lambda_.Function(
            "migrate",
            name=function_name,
            role=self.role.arn,
            package_type="Image",
            image_uri=args.image_uri,
            image_config=aws.lambda_.FunctionImageConfigArgs(commands=[COMMAND]),
            architectures=["arm64"],
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=[s.id for s in args.network.private_subnets],
                security_group_ids=[args.network.function_security_group.id],
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={str(k): v for k, v in variables.items()}),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )
        digest = migrations_digest()
        # Runs when created and whenever a trigger changes; waits for the database
        # component (cluster, instances, proxy and its target) to be ready.
        self.invocation = aws.lambda_.Invocation(
            "apply",
            function_name=self.function.name,
            input=pulumi.Output.json_dumps({"migrationsDigest": digest}),
            triggers={"migrations": digest, "image": args.image_uri},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[database]),
        )
        self.register_outputs({"functionName": self.function.name, "migrationsDigest": digest})
