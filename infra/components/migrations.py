"""Schema migrations as a deploy step: ``pulumi up`` applies pending migrations.

A second function runs the API's image (the same pushed digest) with its
command set to ``shop.db.migrate.handler``: the same private subnets, security
group and database host as the API function, but signed in as the cluster's
master user (the API's role may not change the schema): through the proxy with
an IAM token, or without a proxy (dev) with the managed master secret. It waits
for a database that is not accepting connections yet (``shop.db.wakeup``). An
``aws.lambda_.Invocation`` calls it during ``pulumi up``
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
    key_arn: pulumi.Input[str]
    network: FunctionNetwork
    database: DatabaseAccess
    image_uri: pulumi.Input[str]


class Migrations(pulumi.ComponentResource):
    """The migration function and the invocation that runs it on every relevant change."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    invocation: aws.lambda_.Invocation

    def __init__(self, name: str, args: MigrationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:Migrations", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        function_name = args.settings.name("migrate")
        policy = self._role_and_logs(function_name)
        self._function(function_name, policy)
        digest = self._invocation()
        self.register_outputs({"functionName": self.function.name, "migrationsDigest": digest})

    def _role_and_logs(self, function_name: str) -> aws.iam.RolePolicy:
        settings = self._args.settings
        self.log_group, self.role = function_role_and_log_group(
            "migrate", function_name, settings, self._args.key_arn, self._child
        )
        # The database (as the master user), its log group and its network interfaces: no tables, no X-Ray.
        return aws.iam.RolePolicy(
            "migrate",
            role=self.role.id,
            policy=policy_document(
                *database_statements(self._args.database, self._args.key_arn, settings.region),
                own_log_group_statement(self.log_group.arn),
                network_interfaces_statement(),
            ),
            opts=self._child,
        )

    def _function(self, function_name: str, policy: aws.iam.RolePolicy) -> None:
        args = self._args
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: args.settings.environment,
            **database_environment(args.database, reader=False),
            Env.LOG_LEVEL: "INFO",
        }
        self.function = image_command_function(
            CommandFunctionSpec("migrate", function_name, COMMAND, MEMORY_MB, TIMEOUT_SECONDS),
            role_arn=self.role.arn,
            image_uri=args.image_uri,
            network=args.network,
            log_group=self.log_group,
            variables=variables,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )

    def _invocation(self) -> str:
        digest = migrations_digest()
        # Runs when created and whenever a trigger changes; waits for the database
        # component (cluster, instances, proxy and its target) to be ready.
        self.invocation = aws.lambda_.Invocation(
            "apply",
            function_name=self.function.name,
            input=pulumi.Output.json_dumps({"migrationsDigest": digest}),
            triggers={"migrations": digest, "image": self._args.image_uri},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.database.ready)),
        )
        return digest
