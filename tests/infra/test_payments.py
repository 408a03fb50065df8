"""Payments infrastructure: the Stripe secrets in SSM, readable by the API function and nothing more."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from infra.settings import SettingsError
from shop.declarations import (
    STRIPE_JS_URL,
    STRIPE_ORIGINS,
    STRIPE_SECRET_KEY_PARAMETER,
    STRIPE_WEBHOOK_SECRET_PARAMETER,
    Env,
)
from tests.infra.harness import TEST_STRIPE_PUBLISHABLE_KEY, TEST_STRIPE_SECRETS, Program, run_program

LOGICAL = (STRIPE_SECRET_KEY_PARAMETER, STRIPE_WEBHOOK_SECRET_PARAMETER)


def parameters(program: Program) -> dict[str, Any]:
    found = {p.name: p for p in program.of_type("aws:ssm/parameter:Parameter") if p.name in LOGICAL}
    assert set(found) == set(LOGICAL)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(program: Program) -> list[dict[str, Any]]:
    """Every Allow statement of every policy on the API function's role."""
    role = program.one("aws:iam/role:Role", "api")
    docs = [
        json.loads(p.inputs["policy"])
        for p in program.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] in (role.id, role.inputs.get("name"))
    ]
    assert docs
    return [s for d in docs for s in d["Statement"] if s["Effect"] == "Allow"]


def allows(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))


def test_parameters_are_secure_strings_under_the_stack_key_with_physical_names(program: Program) -> None:
    suffix = program.outputs["environmentSuffix"]
    for logical, parameter in parameters(program).items():
        assert parameter["type"] == "SecureString"
        assert parameter["tier"] == "Standard"
        assert parameter["keyId"] == program.outputs["kmsKeyArn"]
        assert parameter["name"] == f"ecommerce-{logical}-{suffix}"
        assert parameter.inputs["value"] == TEST_STRIPE_SECRETS[f"ecommerce:{_config_key(logical)}"]


def _config_key(logical: str) -> str:
    return {STRIPE_SECRET_KEY_PARAMETER: "stripeSecretKey", STRIPE_WEBHOOK_SECRET_PARAMETER: "stripeWebhookSecret"}[
        logical
    ]


def test_function_is_told_the_parameter_names(program: Program) -> None:
    env = program.one("aws:lambda/function:Function", "api").inputs["environment"]["variables"]
    found = parameters(program)
    assert env[Env.STRIPE_SECRET_KEY_PARAMETER] == found[STRIPE_SECRET_KEY_PARAMETER]["name"]
    assert env[Env.STRIPE_WEBHOOK_SECRET_PARAMETER] == found[STRIPE_WEBHOOK_SECRET_PARAMETER]["name"]
    assert Env.STRIPE_API_BASE not in env  # localstripe only: in AWS the SDK talks to Stripe


def read_parameter_arns(program: Program) -> list[str]:
    """The ARNs of the SSM parameters the function is told to read (by name, in its environment)."""
    env = program.one("aws:lambda/function:Function", "api").inputs["environment"]["variables"]
    names = set(env.values())
    return sorted(p.outputs["arn"] for p in program.of_type("aws:ssm/parameter:Parameter") if p["name"] in names)


def test_role_reads_exactly_the_parameters_it_is_told_about(program: Program) -> None:
    arns = read_parameter_arns(program)
    assert {p.outputs["arn"] for p in parameters(program).values()} <= set(arns)
    ssm_reads = [
        s
        for s in role_statements(program)
        if any(allows(s, a) for a in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"))
    ]
    assert len(ssm_reads) == 1
    (statement,) = ssm_reads
    assert as_list(statement["Action"]) == ["ssm:GetParameter"]
    assert sorted(as_list(statement["Resource"])) == arns
    assert "*" not in "".join(as_list(statement["Resource"]))
    # No other statement admits any SSM action.
    assert not [
        s for s in role_statements(program) if s.get("Sid") != statement.get("Sid") and allows(s, "ssm:GetParameter")
    ]


def test_role_decrypts_with_the_key_only_through_ssm_for_those_parameters(program: Program) -> None:
    arns = read_parameter_arns(program)
    (statement,) = [s for s in role_statements(program) if s.get("Sid") == "ParameterKeyThroughSsm"]
    assert as_list(statement["Action"]) == ["kms:Decrypt"]
    assert statement["Resource"] == program.outputs["kmsKeyArn"]
    condition = statement["Condition"]["StringEquals"]
    assert condition["kms:ViaService"] == f"ssm.{program.outputs['region']}.amazonaws.com"
    assert sorted(condition["kms:EncryptionContext:PARAMETER_ARN"]) == arns
    # Every other kms:Decrypt on the role is bound to another service.
    for other in role_statements(program):
        if other.get("Sid") != statement.get("Sid") and allows(other, "kms:Decrypt"):
            assert other["Condition"]["StringEquals"]["kms:ViaService"] != condition["kms:ViaService"]


@pytest.mark.parametrize("key", ["stripeSecretKey", "stripeWebhookSecret"])
def test_a_stack_without_a_stripe_secret_fails_naming_the_key(key: str) -> None:
    with pytest.raises(SettingsError) as error:
        run_program("staging", {key: None})
    assert f"config ecommerce:{key} is required" in str(error.value)
    assert f"pulumi config set --secret {key}" in str(error.value)


@pytest.mark.parametrize(("key", "value"), [("stripeSecretKey", "pk_test_publishable"), ("stripeWebhookSecret", "x")])
def test_a_malformed_stripe_secret_fails_without_echoing_it(key: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        run_program("dev", {key: value})
    assert f"ecommerce:{key}" in str(error.value) and value not in str(error.value)


def test_function_gets_the_publishable_key_as_a_plain_value_and_stripe_js_from_stripe(program: Program) -> None:
    env = program.one("aws:lambda/function:Function", "api").inputs["environment"]["variables"]
    assert env[Env.STRIPE_PUBLISHABLE_KEY] == TEST_STRIPE_PUBLISHABLE_KEY
    # Not an SSM parameter (it is public) and no localstripe URL: the function's default is Stripe's.
    stored = {p.inputs.get("value") for p in program.of_type("aws:ssm/parameter:Parameter")}
    assert TEST_STRIPE_PUBLISHABLE_KEY not in stored
    assert Env.STRIPE_JS_URL not in env
    from shop.config import parse

    assert parse({Env.STRIPE_PUBLISHABLE_KEY: env[Env.STRIPE_PUBLISHABLE_KEY]}).browser_stripe.js_url == STRIPE_JS_URL
    assert STRIPE_JS_URL.startswith(STRIPE_ORIGINS.script[0] + "/")


def test_a_stack_without_a_publishable_key_fails_naming_the_key() -> None:
    with pytest.raises(SettingsError) as error:
        run_program("prod", {"stripePublishableKey": None})
    assert "config ecommerce:stripePublishableKey is required" in str(error.value)
    assert "pulumi config set stripePublishableKey" in str(error.value)


@pytest.mark.parametrize("value", ["sk_test_notpublishable", "pk_demo_abc", "pk_test_with space"])
def test_a_malformed_publishable_key_fails_without_echoing_it(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        run_program("dev", {"stripePublishableKey": value})
    assert "ecommerce:stripePublishableKey" in str(error.value) and value not in str(error.value)


def test_the_publishable_key_must_be_in_the_secret_keys_mode() -> None:
    with pytest.raises(SettingsError, match="live-mode key but ecommerce:stripeSecretKey is a test-mode key"):
        run_program("staging", {"stripePublishableKey": "pk_live_abcdefgh1234"})
    live = run_program(
        "staging", {"stripePublishableKey": "pk_live_abcdefgh1234", "stripeSecretKey": "sk_live_abcdefgh1234"}
    )
    env = live.one("aws:lambda/function:Function", "api").inputs["environment"]["variables"]
    assert env[Env.STRIPE_PUBLISHABLE_KEY] == "pk_live_abcdefgh1234"
