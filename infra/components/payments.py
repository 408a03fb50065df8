"""Payments: the Stripe secrets in SSM Parameter Store, and the API function's right to read them.

- Two ``SecureString`` parameters (standard tier: no charge), the Stripe secret key and the webhook
  endpoint secret, from the stack's config secrets ``stripeSecretKey`` / ``stripeWebhookSecret``
  (``infra.settings``), encrypted with the stack's KMS key. Names: ``physical_name`` of
  ``shop.declarations.STRIPE_*_PARAMETER`` (``ecommerce-stripe-secret-key-<suffix>``).
- ``parameters``: what the API function reads (``ApiFunctionArgs.parameters``): the function gets each
  name in its ``Env`` variable, and its role ``ssm:GetParameter`` on exactly those ARNs plus
  ``kms:Decrypt`` through SSM for them (``infra.lambda_helpers.parameter_read_statements``, the one
  grant for every parameter the function reads). The code reads the values at call time
  (Powertools Parameters, cached ``STRIPE_PARAMETER_CACHE_SECONDS``).
- ``function_environment()``: the plain values for the storefront's Stripe.js
  (``ApiFunctionArgs.environment``): the publishable key from ``stripePublishableKey``. Stripe.js is
  loaded from ``shop.declarations.STRIPE_JS_URL`` (the function's default; only the local platform
  points ``STRIPE_JS_URL`` elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.lambda_helpers import SecureParameter
from infra.settings import Settings
from shop.declarations import STRIPE_SECRET_KEY_PARAMETER, STRIPE_WEBHOOK_SECRET_PARAMETER, Env

# Logical parameter name → the Env variable that carries its physical name to the function.
PARAMETERS: dict[str, Env] = {
    STRIPE_SECRET_KEY_PARAMETER: Env.STRIPE_SECRET_KEY_PARAMETER,
    STRIPE_WEBHOOK_SECRET_PARAMETER: Env.STRIPE_WEBHOOK_SECRET_PARAMETER,
}


@dataclass
class PaymentsArgs:
    settings: Settings
    key_arn: pulumi.Input[str]


class Payments(pulumi.ComponentResource):
    """The Stripe secrets (SSM SecureString) and the function role's least-privilege read grant."""

    ssm_parameters: dict[str, aws.ssm.Parameter]
    # What the API function reads, by the variable that carries each name (ApiFunctionArgs.parameters).
    parameters: dict[Env, SecureParameter]

    def __init__(self, name: str, args: PaymentsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:payments:Payments", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._parameters()
        self.register_outputs(
            {"parameterNames": {logical: p.name for logical, p in self.ssm_parameters.items()}},
        )

    def function_environment(self) -> dict[Env, pulumi.Input[str]]:
        """Plain (public) values the API function hands the storefront (GET /api/storefront-config)."""
        return {Env.STRIPE_PUBLISHABLE_KEY: self._args.settings.stripe_publishable_key}

    def _parameters(self) -> None:
        settings = self._args.settings
        values = {
            STRIPE_SECRET_KEY_PARAMETER: settings.stripe_secret_key,
            STRIPE_WEBHOOK_SECRET_PARAMETER: settings.stripe_webhook_secret,
        }
        self.ssm_parameters = {
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
        self.parameters = {
            env: SecureParameter(name=self.ssm_parameters[logical].name, arn=self.ssm_parameters[logical].arn)
            for logical, env in PARAMETERS.items()
        }
