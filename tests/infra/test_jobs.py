"""The reservation-expiry job: the API image with its own command, role and schedule."""

from __future__ import annotations

import json

from infra.components.jobs import COMMAND
from shop.declarations import EXPIRY_INTERVAL_SECONDS, PAYMENT_WINDOW_SECONDS, Env
from tests.infra.harness import Program, Resource

FUNCTION = "aws:lambda/function:Function"


def _functions(program: Program) -> dict[str, Resource]:
    return {f.name: f for f in program.of_type(FUNCTION) if f.provider is None or "us-east-1" not in f.provider}


def _policy(program: Program, role: Resource) -> dict[str, dict[str, object]]:
    [policy] = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_the_expiry_function_runs_the_api_image_with_its_own_command(program: Program) -> None:
    functions = _functions(program)
    api, expire = functions["api"], functions["expire"]
    assert expire["packageType"] == "Image" and expire["imageUri"] == api["imageUri"]
    assert expire["imageConfig"]["commands"] == [COMMAND] == ["shop.jobs.expire.handler"]
    assert expire["vpcConfig"] == api["vpcConfig"]
    env = expire["environment"]["variables"]
    assert env[Env.PAYMENT_WINDOW_SECONDS] == str(PAYMENT_WINDOW_SECONDS)
    assert env[Env.STRIPE_SECRET_KEY_PARAMETER] == api["environment"]["variables"][Env.STRIPE_SECRET_KEY_PARAMETER]
    # Least privilege: no webhook secret, no order-token secret, no tables.
    assert Env.STRIPE_WEBHOOK_SECRET_PARAMETER not in env and Env.ORDER_TOKEN_SECRET_PARAMETER not in env
    assert not {Env.SESSIONS_TABLE, Env.CACHE_TABLE, Env.IDEMPOTENCY_TABLE} & env.keys()


def test_its_role_reads_only_the_stripe_secret_key(program: Program) -> None:
    expire = _functions(program)["expire"]
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == expire["role"])
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    statements = _policy(program, role)
    assert {"OwnLogGroup", "ReadOwnParameters", "ParameterKeyThroughSsm"} <= set(statements)
    [key_parameter] = [
        p
        for p in program.of_type("aws:ssm/parameter:Parameter")
        if p["name"] == expire["environment"]["variables"][Env.STRIPE_SECRET_KEY_PARAMETER]
    ]
    assert statements["ReadOwnParameters"]["Resource"] == [key_parameter.outputs["arn"]]
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert "*" not in str(statement.get("Action"))


def test_a_schedule_invokes_exactly_the_expiry_function(program: Program) -> None:
    expire = _functions(program)["expire"]
    [schedule] = [s for s in program.of_type("aws:scheduler/schedule:Schedule") if s.name == "expire"]
    assert schedule["scheduleExpression"] == f"rate({EXPIRY_INTERVAL_SECONDS // 60} minutes)"
    assert schedule["target"]["arn"] == expire.outputs["arn"]
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == schedule["target"]["roleArn"])
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    statements = _policy(program, role)
    assert statements == {
        "InvokeExpiry": {
            "Sid": "InvokeExpiry",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": expire.outputs["arn"],
        }
    }
