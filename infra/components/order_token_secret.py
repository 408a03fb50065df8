"""The order-token secret: the HMAC key order tokens are derived from (``shop.domain.orders``).

An SSM SecureString parameter encrypted with the stack's key. Its value is generated once, at
creation (``ignore_changes`` keeps every later ``pulumi up`` from replacing it: a new value would
make every placed order's token invalid), and lives in the Pulumi state only as a secret. The API
function reads it through Powertools Parameters (cached for 5 minutes) by the name in
``ORDER_TOKEN_SECRET_PARAMETER``; ``infra.lambda_helpers.parameter_read_statements`` is what its
role needs for that.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.lambda_helpers import SecureParameter
from infra.settings import Settings


@dataclass
class OrderTokenSecretArgs:
    settings: Settings
    key_arn: pulumi.Input[str]


class OrderTokenSecret(pulumi.ComponentResource):
    """One SecureString parameter holding the order-token HMAC key."""

    parameter: aws.ssm.Parameter
    secure_parameter: SecureParameter

    def __init__(self, name: str, args: OrderTokenSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:security:OrderTokenSecret", name, None, opts)
        self.parameter = self._parameter(args)
        self.secure_parameter = SecureParameter(name=self.parameter.name, arn=self.parameter.arn)
        self.register_outputs({"parameter_name": self.parameter.name})

    def _parameter(self, args: OrderTokenSecretArgs) -> aws.ssm.Parameter:
        return aws.ssm.Parameter(
            "order-token-secret",
            name=args.settings.name("order-token-secret"),
            description="HMAC key of the shop's order tokens; changing it invalidates every issued token",
            type="SecureString",
            tier="Standard",
            key_id=args.key_arn,
            value=pulumi.Output.secret(secrets.token_urlsafe(48)),
            tags={"Name": args.settings.name("order-token-secret")},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]),
        )
