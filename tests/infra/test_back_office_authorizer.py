"""The back office on API Gateway: a REQUEST Lambda authorizer on exactly the admin and staff methods,
``apiKeySource`` AUTHORIZER, the back-office key in its own usage plan, the authorizer's function
(outside the VPC, own role, timeout under API Gateway's) and API Gateway's permission to invoke it."""

from __future__ import annotations

import json

from infra.components import api_gateway as gw
from infra.components import back_office_authorizer as boa
from shop.declarations import ROUTES, Env, is_back_office
from tests.infra.harness import Program, Resource
from tests.infra.test_api_gateway import methods, rest_api

FUNCTION = "aws:lambda/function:Function"


def _function(program: Program, name: str) -> Resource:
    return program.one(FUNCTION, name)


def _authorizer(program: Program) -> Resource:
    return program.one("aws:apigateway/authorizer:Authorizer", "backoffice")


def _statements(program: Program, role: Resource) -> dict[str, dict[str, object]]:
    [policy] = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_the_request_authorizer_guards_exactly_the_back_office_methods(program: Program) -> None:
    authorizer = _authorizer(program)
    assert authorizer["type"] == "REQUEST"
    assert authorizer["restApi"] == rest_api(program).id
    assert authorizer["authorizerUri"] == _function(program, "authorizer").outputs["invokeArn"]
    back_office = {(r.method, r.path) for r in ROUTES if is_back_office(r)}
    assert len(back_office) >= 10
    guarded = {key for key, m in methods(program).items() if m.inputs.get("authorizerId") == authorizer.id}
    assert guarded == back_office
    for key in back_office:
        method = methods(program)[key]
        assert method["authorization"] == "CUSTOM", key
        # Kept: API Gateway still validates the key the authorizer names against the usage plans.
        assert method["apiKeyRequired"] is True, key


def test_the_api_takes_the_metered_key_from_the_authorizer(program: Program) -> None:
    assert rest_api(program)["apiKeySource"] == "AUTHORIZER"


def test_authorizer_results_are_never_cached_and_need_no_credential_header(program: Program) -> None:
    """With a cache API Gateway would call the authorizer only when every identity source is present:
    "key or token" needs both headers out of the identity sources, and no cache."""
    authorizer = _authorizer(program)
    assert authorizer["authorizerResultTtlInSeconds"] == 0
    source = authorizer["identitySource"]
    assert source == gw.BACK_OFFICE_IDENTITY_SOURCE and source.startswith("context.")
    assert "header" not in source.lower()


def test_api_gateway_may_invoke_the_authorizer_through_that_authorizer_only(program: Program) -> None:
    [permission] = [p for p in program.of_type("aws:lambda/permission:Permission") if p.name == "apigateway-authorizer"]
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function"] == _function(program, "authorizer")["name"]
    api, authorizer = rest_api(program), _authorizer(program)
    assert permission["sourceArn"] == f"{api.outputs['executionArn']}/authorizers/{authorizer.id}"


def test_the_back_office_key_has_its_own_usage_plan(program: Program) -> None:
    key = program.one("aws:apigateway/apiKey:ApiKey", "backoffice")
    plan = program.one("aws:apigateway/usagePlan:UsagePlan", "backoffice")
    partners = program.one("aws:apigateway/usagePlan:UsagePlan", "partners")
    link = program.one("aws:apigateway/usagePlanKey:UsagePlanKey", "backoffice")
    assert key["enabled"] is True and len(key.outputs["value"]) >= 20
    assert (link["keyId"], link["usagePlanId"], link["keyType"]) == (key.id, plan.id, "API_KEY")
    assert plan["apiStages"] == [{"apiId": rest_api(program).id, "stage": gw.STAGE_NAME}]
    assert plan["throttleSettings"] == partners["throttleSettings"]
    assert plan["quotaSettings"] == partners["quotaSettings"]
    partner_links = [
        u for u in program.of_type("aws:apigateway/usagePlanKey:UsagePlanKey") if u["usagePlanId"] == partners.id
    ]
    assert [u["keyId"] for u in partner_links] == [program.one("aws:apigateway/apiKey:ApiKey", "partner").id]


def test_the_key_value_is_a_secure_string_the_authorizer_alone_reads(program: Program) -> None:
    key = program.one("aws:apigateway/apiKey:ApiKey", "backoffice")
    parameter = program.one("aws:ssm/parameter:Parameter", "backoffice-key")
    assert parameter["type"] == "SecureString"
    assert parameter["keyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    assert parameter["value"] == key.outputs["value"]
    authorizer, api = _function(program, "authorizer"), _function(program, "api")
    assert authorizer["environment"]["variables"][Env.BACK_OFFICE_API_KEY_PARAMETER] == parameter["name"]
    # The API function knows the key's id (to tell token callers from partners), never its value.
    assert api["environment"]["variables"][Env.BACK_OFFICE_API_KEY_ID] == key.id
    assert Env.BACK_OFFICE_API_KEY_PARAMETER not in api["environment"]["variables"]
    readers = [
        p
        for p in program.of_type("aws:iam/rolePolicy:RolePolicy")
        if parameter.outputs["arn"] in json.dumps(json.loads(p["policy"]))
    ]
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == authorizer["role"])
    assert [p["role"] for p in readers] == [role.id]


def test_the_authorizer_function_is_outside_the_vpc_with_a_least_privilege_role(program: Program) -> None:
    fn, api = _function(program, "authorizer"), _function(program, "api")
    assert fn["packageType"] == "Image" and fn["imageUri"] == api["imageUri"]
    assert fn["imageConfig"]["commands"] == [boa.COMMAND] == ["shop.auth.authorizer.handler"]
    assert fn["architectures"] == ["arm64"]
    assert not fn.inputs.get("vpcConfig"), "the authorizer fetches Cognito's JWKS over the internet"
    env = fn["environment"]["variables"]
    for name in (Env.COGNITO_USER_POOL_ID, Env.COGNITO_CLIENT_ID, Env.COGNITO_ISSUER):
        assert env[name] == api["environment"]["variables"][name]
    # No database, tables or other secrets.
    assert not {Env.DB_WRITER_HOST, Env.SESSIONS_TABLE, Env.ORDER_TOKEN_SECRET_PARAMETER} & env.keys()
    log_group = program.one("aws:cloudwatch/logGroup:LogGroup", "authorizer")
    assert fn["loggingConfig"]["logGroup"] == log_group["name"] == f"/aws/lambda/{fn['name']}"
    assert log_group["kmsKeyId"] and log_group["retentionInDays"] > 0

    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == fn["role"])
    assert role.id != next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == api["role"]).id
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    statements = _statements(program, role)
    assert set(statements) == {"OwnLogGroup", "ReadOwnParameters", "ParameterKeyThroughSsm"}
    parameter = program.one("aws:ssm/parameter:Parameter", "backoffice-key")
    assert statements["ReadOwnParameters"]["Resource"] == [parameter.outputs["arn"]]
    assert statements["OwnLogGroup"]["Resource"] == f"{log_group.outputs['arn']}:*"
    for statement in statements.values():
        assert statement["Effect"] == "Allow" and "*" not in str(statement["Action"])
    assert not [a for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a["role"] == role.id]


def test_the_authorizer_times_out_before_api_gateway_gives_up_on_it(program: Program) -> None:
    """API Gateway waits at most 10 s for a Lambda authorizer (then 500); the JWKS fetch waits 3 s."""
    from shop.auth.verifier import FETCH_TIMEOUT_SECONDS

    timeout = _function(program, "authorizer")["timeout"]
    assert FETCH_TIMEOUT_SECONDS < timeout < boa.API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS == 10


def test_a_changed_authorizer_setting_redeploys() -> None:
    routes = list(ROUTES)
    base = {"type": "AWS_PROXY", "backOfficeAuthorizer": {"ttl": 0}}
    changed = {"type": "AWS_PROXY", "backOfficeAuthorizer": {"ttl": 300}}
    assert gw.deployment_fingerprint(routes, {}, base, {}) != gw.deployment_fingerprint(routes, {}, changed, {})
