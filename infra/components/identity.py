"""Customer and staff accounts: a Cognito user pool, the storefront's app client, the groups.

- Sign-in by e-mail (the e-mail is the username), verified by a code Cognito mails; an address
  changes only once the new one is verified. Account recovery by verified e-mail only.
- Password policy: :data:`PASSWORD_MINIMUM_LENGTH` characters with all four character classes,
  temporary passwords (``admin-create-user``) expire after :data:`TEMPORARY_PASSWORD_DAYS`.
- MFA optional, TOTP only (no SMS: no SNS spend, no SMS sandbox). Staff should turn it on.
- The storefront's app client is public (a browser cannot keep a secret): no client secret; the
  USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH flows only (why not SRP or the managed login:
  ARCHITECTURE.md, "Identity"); user-existence errors suppressed; refresh tokens revocable; token
  validity in :data:`TOKEN_VALIDITY`.
- Groups ``admin`` and ``staff`` (``shop.declarations.USER_GROUPS``).
- ``protect_data`` (prod): deletion protection on the pool and Pulumi's ``protect``, like the
  tables and the database. Tags come from the stack transform.
- Feature plan LITE: the sign-in features above are all in it, and it is the cheapest per MAU
  (no charge at rest; see infra/cost/model.py).

Outputs: pool id, pool ARN, client id and the issuer (``https://cognito-idp.<region>.amazonaws.com/<pool id>``),
which is what the API's token verifier is configured with.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.settings import Settings
from shop.declarations import (
    ACCESS_TOKEN_MINUTES,
    ID_TOKEN_MINUTES,
    PASSWORD_MIN_LENGTH,
    REFRESH_TOKEN_DAYS,
    USER_GROUPS,
    USER_POOL_AUTH_FLOWS,
    Env,
)

# Shared with the local pool (shop.local.services): shop.declarations.
PASSWORD_MINIMUM_LENGTH = PASSWORD_MIN_LENGTH
AUTH_FLOWS = USER_POOL_AUTH_FLOWS
TEMPORARY_PASSWORD_DAYS = 3
USER_POOL_TIER = "LITE"
TOKEN_VALIDITY = {
    "id_token": ID_TOKEN_MINUTES,
    "access_token": ACCESS_TOKEN_MINUTES,
    "refresh_token": REFRESH_TOKEN_DAYS,
}
GROUP_DESCRIPTIONS = {
    "admin": "every admin operation: catalog, prices, stock, orders",
    "staff": "fulfil orders; no catalog or price changes",
}
GROUP_PRECEDENCE = {"admin": 1, "staff": 2}


@dataclass
class IdentityArgs:
    settings: Settings


class Identity(pulumi.ComponentResource):
    user_pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient
    groups: dict[str, aws.cognito.UserGroup]
    issuer: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:identity:Identity", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)

        self._user_pool()
        self._storefront_client()
        self._groups()
        self.issuer = pulumi.Output.format(
            "https://cognito-idp.{0}.amazonaws.com/{1}", args.settings.region, self.user_pool.id
        )

        self.register_outputs(
            {
                "userPoolId": self.user_pool.id,
                "userPoolArn": self.user_pool.arn,
                "clientId": self.client.id,
                "issuer": self.issuer,
            }
        )

    def function_environment(self) -> dict[Env, pulumi.Input[str]]:
        """What the API function's token verifier is configured with (no Cognito API call needs a permission)."""
        return {
            Env.COGNITO_USER_POOL_ID: self.user_pool.id,
            Env.COGNITO_CLIENT_ID: self.client.id,
            Env.COGNITO_ISSUER: self.issuer,
        }

    # -------------------------------------------------------- pool
    def _user_pool(self) -> None:
        settings = self._settings
        protect = settings.profile.protect_data
        self.user_pool = aws.cognito.UserPool(
            "users",
            name=settings.name("users"),
            user_pool_tier=USER_POOL_TIER,
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(case_sensitive=False),
            user_attribute_update_settings=aws.cognito.UserPoolUserAttributeUpdateSettingsArgs(
                attributes_require_verification_before_updates=["email"]
            ),
            verification_message_template=aws.cognito.UserPoolVerificationMessageTemplateArgs(
                default_email_option="CONFIRM_WITH_CODE"
            ),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=PASSWORD_MINIMUM_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=TEMPORARY_PASSWORD_DAYS,
            ),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[
                    aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(name="verified_email", priority=1)
                ]
            ),
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=False),
            deletion_protection="ACTIVE" if protect else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )

    # -------------------------------------------------------- app client
    def _storefront_client(self) -> None:
        self.client = aws.cognito.UserPoolClient(
            "storefront",
            name=self._settings.name("storefront"),
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            explicit_auth_flows=list(AUTH_FLOWS),
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            id_token_validity=ID_TOKEN_MINUTES,
            access_token_validity=ACCESS_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                id_token="minutes", access_token="minutes", refresh_token="days"
            ),
            read_attributes=["email", "email_verified"],
            write_attributes=["email"],
            opts=self._child,
        )

    # -------------------------------------------------------- groups
    def _groups(self) -> None:
        self.groups = {
            group: aws.cognito.UserGroup(
                group,
                name=group,
                user_pool_id=self.user_pool.id,
                description=GROUP_DESCRIPTIONS[group],
                precedence=GROUP_PRECEDENCE[group],
                opts=self._child,
            )
            for group in USER_GROUPS
        }
