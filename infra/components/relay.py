"""The outbox relay: the function that publishes pending outbox rows to the bus, and its schedule.

The relay is the API image (the same pushed digest) with the command ``shop.events.relay.handler``,
in the VPC (it reads and updates the outbox). Its role: connect to the database, write its own log
group, manage its ENIs, and ``events:PutEvents`` on the shop's bus only. EventBridge Scheduler
invokes it every ``RELAY_INTERVAL_SECONDS`` (1 minute, the scheduler's finest rate: 43,800
invocations a month, inside the scheduler's free 14 million) as the backstop; most events leave
earlier, published by the API function in the invocation that committed them, whose role gets the
same ``events:PutEvents`` statement (``ApiFunctionArgs.statements``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    function_schedule,
    image_command_function,
    network_interfaces_statement,
    own_log_group_statement,
)
from infra.settings import Settings
from shop.declarations import Env
from shop.events import RELAY_INTERVAL_SECONDS

COMMAND = "shop.events.relay.handler"
MEMORY_MB = 512
# A sweep drains at most 50 batches of 100 rows; 60 s also keeps two sweeps from piling up.
TIMEOUT_SECONDS = 60


@dataclass
class RelayArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    network: FunctionNetwork
    database: DatabaseAccess
    image_uri: pulumi.Input[str]
    bus_name: pulumi.Input[str]
    # events:PutEvents on the bus (Events.publish_statement()).
    publish_statement: dict[str, Any]


class EventRelay(pulumi.ComponentResource):
    """The relay function, its role and log group, and its schedule."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    scheduler_role: aws.iam.Role
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: RelayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:events:EventRelay", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        function_name = args.settings.name("relay")
        policy = self._role_and_logs(function_name)
        self._function(function_name, policy)
        self._schedule()
        self.register_outputs({"relayFunctionName": self.function.name, "scheduleName": self.schedule.name})

    def _role_and_logs(self, function_name: str) -> aws.iam.RolePolicy:
        args = self._args
        self.log_group, self.role = function_role_and_log_group(
            "relay", function_name, args.settings, args.key_arn, self._child
        )
        return aws.iam.RolePolicy(
            "relay",
            role=self.role.id,
            policy=policy_document(
                *database_statements(args.database, args.key_arn, args.settings.region),
                own_log_group_statement(self.log_group.arn),
                network_interfaces_statement(),
                args.publish_statement,
            ),
            opts=self._child,
        )

    def _function(self, function_name: str, policy: aws.iam.RolePolicy) -> None:
        args = self._args
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: args.settings.environment,
            **database_environment(args.database, reader=False),
            Env.EVENT_BUS_NAME: args.bus_name,
            Env.LOG_LEVEL: "INFO",
        }
        self.function = image_command_function(
            CommandFunctionSpec("relay", function_name, COMMAND, MEMORY_MB, TIMEOUT_SECONDS),
            role_arn=self.role.arn,
            image_uri=args.image_uri,
            network=args.network,
            log_group=self.log_group,
            variables=variables,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )

    def _schedule(self) -> None:
        settings = self._args.settings
        self.scheduler_role, self.schedule = function_schedule(
            "relay",
            schedule_name=settings.name("relay"),
            role_name=settings.name("relay-schedule"),
            schedule_expression=f"rate({RELAY_INTERVAL_SECONDS // 60} minute)",
            function_arn=self.function.arn,
            invoke_sid="InvokeRelay",
            opts=self._child,
        )
