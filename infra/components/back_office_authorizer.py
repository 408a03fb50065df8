"""The back-office authorizer function: API Gateway's REQUEST authorizer on the admin and staff methods.

The API image (the same pushed digest) with its command set to ``shop.auth.authorizer.handler``: a
partner's ``x-api-key`` is passed back as the usage-plan key, an ID token with the route's group is
admitted on the back-office key (``back_office_key.py``), anything else is 401/403
(ARCHITECTURE.md "Admin and staff"). ``api_gateway.py`` attaches it (the ``Authorizer`` resource and
API Gateway's permission to invoke it, scoped to that authorizer's ARN).

- Not in the VPC: it needs Cognito's JWKS (``cognito-idp`` over the internet) and SSM, and nothing
  inside the VPC; outside it there is no ENI to wait for and no NAT in its path.
- Its own role: write its own log group, read the one back-office key parameter (decrypt through
  SSM only). No database, no tables, no network interfaces.
- Timeout ``TIMEOUT_SECONDS`` (5 s): the JWKS fetch waits at most ``FETCH_TIMEOUT_SECONDS`` (3 s);
  API Gateway gives a Lambda authorizer at most ``API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS`` (10 s)
  and answers 500 when it runs out, so the function must finish (or fail) first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document
from infra.lambda_helpers import (
    CommandFunctionSpec,
    SecureParameter,
    function_role_and_log_group,
    image_command_function,
    own_log_group_statement,
    parameter_read_statements,
)
from infra.settings import Settings
from shop.declarations import SERVICE_NAME, Env

COMMAND = "shop.auth.authorizer.handler"
MEMORY_MB = 256
TIMEOUT_SECONDS = 5
# How long API Gateway waits for a Lambda authorizer before it answers 500 (not configurable).
API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS = 10


@dataclass
class BackOfficeAuthorizerArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    image_uri: pulumi.Input[str]
    # The back-office key's value (back_office_key.py).
    back_office_key: SecureParameter
    # The user pool the tokens come from (identity.py's function_environment()).
    identity_environment: Mapping[Env, pulumi.Input[str]]


class BackOfficeAuthorizer(pulumi.ComponentResource):
    """The authorizer function, its role and its log group."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function

    def __init__(self, name: str, args: BackOfficeAuthorizerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:security:BackOfficeAuthorizer", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        function_name = args.settings.name("authorizer")
        policy = self._role_and_logs(function_name)
        self._function(function_name, policy)
        self.register_outputs({"functionName": self.function.name})

    def _role_and_logs(self, function_name: str) -> aws.iam.RolePolicy:
        args = self._args
        self.log_group, self.role = function_role_and_log_group(
            "authorizer", function_name, args.settings, args.key_arn, self._child
        )
        return aws.iam.RolePolicy(
            "authorizer",
            role=self.role.id,
            policy=policy_document(
                own_log_group_statement(self.log_group.arn),
                *parameter_read_statements([args.back_office_key.arn], args.key_arn, args.settings.region),
            ),
            opts=self._child,
        )

    def _function(self, function_name: str, policy: aws.iam.RolePolicy) -> None:
        args = self._args
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: args.settings.environment,
            Env.LOG_LEVEL: "INFO",
            Env.POWERTOOLS_SERVICE_NAME: f"{SERVICE_NAME}-authorizer",
            Env.BACK_OFFICE_API_KEY_PARAMETER: args.back_office_key.name,
            **{str(name): value for name, value in args.identity_environment.items()},
        }
        self.function = image_command_function(
            CommandFunctionSpec("authorizer", function_name, COMMAND, MEMORY_MB, TIMEOUT_SECONDS),
            role_arn=self.role.arn,
            image_uri=args.image_uri,
            network=None,
            log_group=self.log_group,
            variables=variables,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]),
        )
