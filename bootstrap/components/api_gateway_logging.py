"""API Gateway's CloudWatch role for this region (``aws.apigateway.Account``).

The setting is one per account and region: whichever stack sets it last wins, and deleting the
resource resets the role ARN (pulumi-aws v7), stopping API Gateway logging in the region. The
app's stacks therefore do not own it by default (their flag for it is off); this bootstrap
program does, once per account and region, so that review stacks coming and going never touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap.settings import BootstrapSettings
from infra.components.api_gateway_account import cloudwatch_role
from shop.declarations import PROJECT


@dataclass
class ApiGatewayLoggingArgs:
    settings: BootstrapSettings


class ApiGatewayLogging(pulumi.ComponentResource):
    """The role API Gateway writes execution logs with, set as the region's account setting.

    The role itself (trust, actions, scope) is declared once, in infra/components/api_gateway_account.py
    (:func:`cloudwatch_role`), for this program and for an app stack with ``manageApiGatewayAccount``."""

    role: aws.iam.Role
    account: aws.apigateway.Account

    def __init__(self, name: str, args: ApiGatewayLoggingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce-bootstrap:apigateway:Logging", name, None, opts)
        self.role, policy = cloudwatch_role(
            f"{PROJECT}-apigateway-cloudwatch-{args.settings.region}",
            args.settings.region,
            tags=args.settings.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.account = aws.apigateway.Account(
            "account",
            cloudwatch_role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"roleArn": self.role.arn})
