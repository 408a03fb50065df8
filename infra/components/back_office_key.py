"""The back-office API key: what API Gateway meters token callers of the back-office methods on.

The REST API takes the key it checks against usage plans from the back-office authorizer
(``apiKeySource`` ``AUTHORIZER``, ARCHITECTURE.md "Admin and staff"). A partner presents its own key;
a caller admitted by an ID token has none, so the authorizer answers with this key's value as
``usageIdentifierKey``, and API Gateway applies the back-office usage plan (``api_gateway.py``).

- The key's value is generated here once (``ignore_changes``: a later ``pulumi up`` keeps it) and
  copied from the key into an SSM SecureString encrypted with the stack's key, which the authorizer
  alone may read (``ssm:GetParameter`` on this one parameter, ``kms:Decrypt`` through SSM). The
  parameter follows the key: a replaced key writes its value there on the same update.
- The key's id goes to the API function (``BACK_OFFICE_API_KEY_ID``): a request API Gateway metered
  on this key was admitted by a token, never a partner key, and gets no partner powers there.

Why a parameter rather than ``apigateway:GET`` on the key with ``includeValue``: the parameter read is
scoped to one resource and decrypt-through-SSM only, the same pattern as the order-token secret, and
it keeps the authorizer's role off the API Gateway control plane entirely. The key exists before
the REST API (it references no API), so the API function can carry its id without a cycle.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.lambda_helpers import SecureParameter
from infra.settings import Settings

# API Gateway wants an API key value of at least 20 characters; 40 URL-safe characters here.
KEY_BYTES = 30


@dataclass
class BackOfficeKeyArgs:
    settings: Settings
    key_arn: pulumi.Input[str]


class BackOfficeKey(pulumi.ComponentResource):
    """The back-office API key and the SecureString parameter holding its value."""

    api_key: aws.apigateway.ApiKey
    parameter: aws.ssm.Parameter
    secure_parameter: SecureParameter

    def __init__(self, name: str, args: BackOfficeKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:security:BackOfficeKey", name, None, opts)
        self._args = args
        self._key()
        self._parameter()
        self.secure_parameter = SecureParameter(name=self.parameter.name, arn=self.parameter.arn)
        self.register_outputs({"apiKeyId": self.api_key.id, "parameterName": self.parameter.name})

    def _key(self) -> None:
        settings = self._args.settings
        self.api_key = aws.apigateway.ApiKey(
            "backoffice",
            name=settings.name("backoffice"),
            description="back office: the usage-plan key of callers the authorizer admitted by ID token",
            enabled=True,
            value=pulumi.Output.secret(secrets.token_urlsafe(KEY_BYTES)),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]),
        )

    def _parameter(self) -> None:
        settings = self._args.settings
        self.parameter = aws.ssm.Parameter(
            "backoffice-key",
            name=settings.name("backoffice-key"),
            description="value of the back-office API key (read by the back-office authorizer)",
            type="SecureString",
            tier="Standard",
            key_id=self._args.key_arn,
            value=self.api_key.value,  # a secret output: the provider marks the key's value secret
            tags={"Name": settings.name("backoffice-key")},
            opts=pulumi.ResourceOptions(parent=self),
        )
