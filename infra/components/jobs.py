"""Scheduled jobs: the reservation-expiry function and the EventBridge Scheduler schedule that runs it.

The function is the API's image (the same pushed digest) with its command set to
``shop.jobs.expire.handler``: it cancels ``pending_payment`` orders older than the payment window
and releases their stock, then cancels their PaymentIntents at Stripe. It has its own role: connect
to the database, write its own log group, manage its VPC network interfaces, and read exactly the
Stripe secret-key parameter (to cancel intents). The schedule's own role may invoke exactly this
function. ``rate(5 minutes)`` (``EXPIRY_INTERVAL_SECONDS``) is 8,640 invocations a month, well inside
EventBridge Scheduler's 14 million free invocations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document
from infra.lambda_helpers import (
    CommandFunctionSpec,
    DatabaseAccess,
    FunctionNetwork,
    SecureParameter,
    database_environment,
    database_statements,
    function_role_and_log_group,
    function_schedule,
    image_command_function,
    network_interfaces_statement,
    own_log_group_statement,
    parameter_read_statements,
)
from infra.settings import Settings
from shop.declarations import EXPIRY_INTERVAL_SECONDS, PAYMENT_WINDOW_SECONDS, Env

COMMAND = "shop.jobs.expire.handler"
MEMORY_MB = 512
TIMEOUT_SECONDS = 120  # one batch loop over expired orders; the schedule runs again in 5 minutes


@dataclass
class JobsArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    network: FunctionNetwork
    database: DatabaseAccess
    image_uri: pulumi.Input[str]
    # The Stripe secret key (to cancel the expired orders' PaymentIntents).
    parameters: dict[Env, SecureParameter]


class Jobs(pulumi.ComponentResource):
    """The expiry function, its role and log group, and its schedule."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    scheduler_role: aws.iam.Role
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: JobsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:app:Jobs", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        function_name = args.settings.name("expire")
        policy = self._role_and_logs(function_name)
        self._function(function_name, policy)
        self._schedule()
        self.register_outputs({"expiryFunctionName": self.function.name, "scheduleName": self.schedule.name})

    def _role_and_logs(self, function_name: str) -> aws.iam.RolePolicy:
        args = self._args
        self.log_group, self.role = function_role_and_log_group(
            "expire", function_name, args.settings, args.key_arn, self._child
        )
        arns = [parameter.arn for parameter in args.parameters.values()]
        return aws.iam.RolePolicy(
            "expire",
            role=self.role.id,
            policy=policy_document(
                *database_statements(args.database, args.key_arn, args.settings.region),
                own_log_group_statement(self.log_group.arn),
                network_interfaces_statement(),
                *parameter_read_statements(arns, args.key_arn, args.settings.region),
            ),
            opts=self._child,
        )

    def _function(self, function_name: str, policy: aws.iam.RolePolicy) -> None:
        args = self._args
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: args.settings.environment,
            **database_environment(args.database, reader=False),
            Env.PAYMENT_WINDOW_SECONDS: str(PAYMENT_WINDOW_SECONDS),
            Env.LOG_LEVEL: "INFO",
            **{env: parameter.name for env, parameter in args.parameters.items()},
        }
        self.function = image_command_function(
            CommandFunctionSpec("expire", function_name, COMMAND, MEMORY_MB, TIMEOUT_SECONDS),
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
            "expire",
            schedule_name=settings.name("expire"),
            role_name=settings.name("expire-schedule"),
            schedule_expression=f"rate({EXPIRY_INTERVAL_SECONDS // 60} minutes)",
            function_arn=self.function.arn,
            invoke_sid="InvokeExpiry",
            opts=self._child,
        )
