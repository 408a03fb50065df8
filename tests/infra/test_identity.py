"""Customer accounts: the Cognito user pool, the storefront's app client, the groups, the function's view of them."""

from __future__ import annotations

import json

import pytest

from infra.components import identity
from infra.components.api_function import DYNAMODB_ACTIONS
from shop.declarations import USER_GROUPS, Env
from tests.infra.harness import Program, Resource

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
GROUP = "aws:cognito/userGroup:UserGroup"


def pool(program: Program) -> Resource:
    return program.one(POOL)


def test_one_pool_named_by_the_physical_name_rule(program: Program) -> None:
    suffix = program.outputs["environmentSuffix"]
    assert pool(program).inputs["name"] == f"ecommerce-users-{suffix}"
    assert program.one(CLIENT).inputs["name"] == f"ecommerce-storefront-{suffix}"


def test_sign_in_by_verified_email(program: Program) -> None:
    inputs = pool(program).inputs
    assert inputs["usernameAttributes"] == ["email"]
    assert inputs["autoVerifiedAttributes"] == ["email"]
    assert inputs["usernameConfiguration"]["caseSensitive"] is False
    # A changed address takes effect only once the new one is verified (no takeover by typo).
    assert inputs["userAttributeUpdateSettings"]["attributesRequireVerificationBeforeUpdates"] == ["email"]
    assert inputs["verificationMessageTemplate"]["defaultEmailOption"] == "CONFIRM_WITH_CODE"


def test_password_policy_and_recovery_by_verified_email_only(program: Program) -> None:
    inputs = pool(program).inputs
    policy = inputs["passwordPolicy"]
    assert policy["minimumLength"] >= 12
    assert all(policy[k] is True for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert 1 <= policy["temporaryPasswordValidityDays"] <= 7
    mechanisms = inputs["accountRecoverySetting"]["recoveryMechanisms"]
    assert mechanisms == [{"name": "verified_email", "priority": 1}]
    # TOTP may be turned on; no SMS anywhere (no SNS role, no SMS spend).
    assert inputs["mfaConfiguration"] == "OPTIONAL"
    assert inputs["softwareTokenMfaConfiguration"]["enabled"] is True
    assert "smsConfiguration" not in inputs


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("staging", False), ("prod", True)])
def test_deletion_protection_follows_protect_data(stack: str, protected: bool, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    user_pool = pool(program)
    assert user_pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE")
    assert user_pool.options["protect"] is protected
    # The same rule as every other data store.
    table = program.one("aws:dynamodb/table:Table", "sessions")
    assert table.options["protect"] is user_pool.options["protect"]


def test_storefront_client_is_public_with_the_chosen_flows(program: Program) -> None:
    client = program.one(CLIENT)
    inputs = client.inputs
    assert inputs["userPoolId"] == pool(program).id
    assert inputs["generateSecret"] is False
    assert set(inputs["explicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert inputs["preventUserExistenceErrors"] == "ENABLED"
    assert inputs["enableTokenRevocation"] is True
    assert inputs["idTokenValidity"] == 60 and inputs["tokenValidityUnits"]["idToken"] == "minutes"
    assert inputs["refreshTokenValidity"] == 30 and inputs["tokenValidityUnits"]["refreshToken"] == "days"
    # No hosted-UI OAuth flows (no implicit grant, no callback URLs to keep in sync).
    assert not inputs.get("allowedOauthFlows")


def test_groups_admin_and_staff(program: Program) -> None:
    groups = {g.inputs["name"]: g for g in program.of_type(GROUP)}
    assert set(groups) == set(USER_GROUPS) == {"admin", "staff"}
    for group in groups.values():
        assert group.inputs["userPoolId"] == pool(program).id
    assert groups["admin"].inputs["precedence"] < groups["staff"].inputs["precedence"]


def test_pool_is_tagged(program: Program) -> None:
    tags = pool(program).inputs["tags"]
    assert tags["Environment"] == program.outputs["environment"]
    assert tags["ManagedBy"] == "Pulumi"
    assert tags["Name"] == pool(program).inputs["name"]


def test_outputs_name_pool_client_and_issuer(program: Program) -> None:
    user_pool = pool(program)
    assert program.outputs["userPoolId"] == user_pool.id
    assert program.outputs["userPoolClientId"] == program.one(CLIENT).id
    region = program.outputs["region"]
    assert program.outputs["userPoolIssuer"] == f"https://cognito-idp.{region}.amazonaws.com/{user_pool.id}"


def test_the_function_is_configured_with_the_pool_and_needs_no_cognito_permission(program: Program) -> None:
    function = program.one("aws:lambda/function:Function", "api")
    variables = function.inputs["environment"]["variables"]
    assert variables[Env.COGNITO_USER_POOL_ID] == pool(program).id
    assert variables[Env.COGNITO_CLIENT_ID] == program.one(CLIENT).id
    assert variables[Env.COGNITO_ISSUER] == program.outputs["userPoolIssuer"]
    # Verification reads the pool's public JWKS over HTTPS: no Cognito API, so no cognito-idp action.
    (policy,) = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "api"]
    document = json.loads(policy.inputs["policy"])
    actions = [
        a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions and set(DYNAMODB_ACTIONS) <= set(actions)
    assert not [a for a in actions if a.startswith("cognito")]


def test_token_validity_constants_match_the_client() -> None:
    assert identity.TOKEN_VALIDITY == {"id_token": 60, "access_token": 60, "refresh_token": 30}
