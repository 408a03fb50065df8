"""Payments: the Stripe secrets in SSM Parameter Store, and the API function's right to read them.

- Two ``SecureString`` parameters (standard tier: no charge), the Stripe secret key and the webhook
  endpoint secret, from the stack's config secrets ``stripeSecretKey`` / ``stripeWebhookSecret``
  (``infra.settings``), encrypted with the stack's KMS key. Names: ``physical_name`` of
  ``shop.declarations.STRIPE_*_PARAMETER`` (``ecommerce-stripe-secret-key-<suffix>``).
- An inline policy on the API function's role: ``ssm:GetParameter`` on exactly those two ARNs, and
  ``kms:Decrypt`` on the key only through SSM (``kms:ViaService``) for those parameters
  (``kms:EncryptionContext:PARAMETER_ARN``).
- :func:`payments_environment`: the variables the function reads the names from (``Env``). They are
  plain names known before the parameters exist, so the function and this component need no order:
  the code reads the values at call time (Powertools Parameters, cached
  ``STRIPE_PARAMETER_CACHE_SECONDS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document
from infra.settings import Settings
from shop.declarations import STRIPE_SECRET_KEY_PARAMETER, STRIPE_WEBHOOK_SECRET_PARAMETER, Env

# Logical parameter name → the Env variable that carries its physical name to the function.
PARAMETERS: dict[str, Env] = {
    STRIPE_SECRET_KEY_PARAMETER: Env.STRIPE_SECRET_KEY_PARAMETER,
    STRIPE_WEBHOOK_SECRET_PARAMETER: Env.STRIPE_WEBHOOK_SECRET_PARAMETER,
}


def payments_environment(settings: Settings) -> dict[str, str]:
    """The API function's payments variables: Env name → SSM parameter name."""
    return {str(env): settings.name(logical) for logical, env in PARAMETERS.items()}


@dataclass
class PaymentsArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # The role of the function that reads the secrets (the API function's; a Role's id is its name).
    function_role_name: pulumi.Input[str]


class Payments(pulumi.ComponentResource):
    """The Stripe secrets (SSM SecureString) and the function role's least-privilege read grant."""

    parameters: dict[str, aws.ssm.Parameter]
    read_policy: aws.iam.RolePolicy

    def __init__(self, name: str, args: PaymentsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:payments:Payments", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._parameters()
        self._read_grant()
        self.register_outputs(
            {"parameterNames": {logical: p.name for logical, p in self.parameters.items()}},
        )

    def _parameters(self) -> None:
        settings = self._args.settings
        values = {
            STRIPE_SECRET_KEY_PARAMETER: settings.stripe_secret_key,
            STRIPE_WEBHOOK_SECRET_PARAMETER: settings.stripe_webhook_secret,
        }
        self.parameters = {
            logical: aws.ssm.Parameter(
                logical,
                name=settings.name(logical),
                description=f"Stripe {logical.removeprefix('stripe-').replace('-', ' ')} (Pulumi config secret)",
                type="SecureString",
                tier="Standard",
                key_id=self._args.key_arn,
                value=values[logical],
                opts=self._child,
            )
            for logical in PARAMETERS
        }

    def _read_grant(self) -> None:
        arns = [p.arn for p in self.parameters.values()]
        self.read_policy = aws.iam.RolePolicy(
            "read-stripe-secrets",
            role=self._args.function_role_name,
            policy=policy_document(
                {"Sid": "ReadStripeParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": arns},
                {
                    "Sid": "DecryptStripeParametersThroughSsm",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": self._args.key_arn,
                    # SSM decrypts a SecureString with encryption context PARAMETER_ARN = the parameter's ARN.
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"ssm.{self._args.settings.region}.amazonaws.com",
                            "kms:EncryptionContext:PARAMETER_ARN": arns,
                        }
                    },
                },
            ),
            opts=self._child,
        )
