"""API Gateway (REST): routes, validation, deployment trigger, stage, usage plan, CORS, permissions."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.components import api_gateway as gw
from infra.components.api_gateway import body_schema, deployment_fingerprint, to_draft4
from infra.settings import PROFILES
from shop import declarations
from shop.declarations import ROUTES, Route, is_back_office
from tests.app.events import ADDRESS
from tests.infra.harness import ACCOUNT, ROOT, Program, Resource, run_program

CERT = f"arn:aws:acm:us-west-2:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"


def rest_api(program: Program) -> Resource:
    return program.one("aws:apigateway/restApi:RestApi")


def paths_by_resource_id(program: Program) -> dict[str, str]:
    """Resource id → full path, rebuilt from the parent links as API Gateway would."""
    root = rest_api(program).outputs["rootResourceId"]
    resources = {r.id: r for r in program.of_type("aws:apigateway/resource:Resource")}
    paths: dict[str, str] = {}

    def path(resource_id: str) -> str:
        if resource_id == root:
            return ""
        if resource_id not in paths:
            r = resources[resource_id]
            paths[resource_id] = f"{path(r.inputs['parentId'])}/{r.inputs['pathPart']}"
        return paths[resource_id]

    for resource_id in resources:
        path(resource_id)
    return paths


def methods(program: Program) -> dict[tuple[str, str], Resource]:
    paths = paths_by_resource_id(program)
    return {
        (m.inputs["httpMethod"], paths[m.inputs["resourceId"]]): m
        for m in program.of_type("aws:apigateway/method:Method")
    }


def integration_for(program: Program, method: Resource) -> Resource:
    (integration,) = [
        i
        for i in program.of_type("aws:apigateway/integration:Integration")
        if i.inputs["resourceId"] == method.inputs["resourceId"]
        and i.inputs["httpMethod"] == method.inputs["httpMethod"]
    ]
    return integration


def trigger(program: Program) -> str:
    value: str = program.one("aws:apigateway/deployment:Deployment").inputs["triggers"]["redeployment"]
    return value


def walk(schema: Any) -> list[dict[str, Any]]:
    """Every sub-schema object of a JSON schema."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found += walk(value)
    elif isinstance(schema, list):
        for value in schema:
            found += walk(value)
    return found


# --------------------------------------------------------------------------- routes


def test_methods_are_exactly_the_declared_routes_plus_cors_preflight(program: Program) -> None:
    declared = {(r.method, r.path) for r in ROUTES}
    actual = methods(program)
    assert {k for k in actual if k[0] != "OPTIONS"} == declared
    preflight = {path for method, path in actual if method == "OPTIONS"}
    assert preflight == {r.path for r in ROUTES if r.access in gw.BROWSER_ACCESS}


def test_admin_routes_require_the_api_key_and_public_routes_do_not(program: Program) -> None:
    actual = methods(program)
    for route in ROUTES:
        method = actual[(route.method, route.path)]
        assert method.inputs["apiKeyRequired"] is (route.access in ("admin", "staff")), route
    # Exactly the admin paths are back-office routes, and every one of them needs the key here.
    assert {r.path for r in ROUTES if r.path.startswith(declarations.ADMIN_PREFIX)} == {
        r.path for r in ROUTES if declarations.is_back_office(r)
    }


def test_every_route_is_a_lambda_proxy_integration_to_the_api_function(program: Program) -> None:
    fn = program.one("aws:lambda/function:Function", "api")
    actual = methods(program)
    for route in ROUTES:
        integration = integration_for(program, actual[(route.method, route.path)])
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["integrationHttpMethod"] == "POST"
        assert integration.inputs["uri"] == fn.outputs["invokeArn"]


def test_api_gateway_may_invoke_the_function_from_this_api_and_stage_only(program: Program) -> None:
    (permission,) = [
        p
        for p in program.of_type("aws:lambda/permission:Permission")
        if p.inputs["principal"] == "apigateway.amazonaws.com" and p.name == "apigateway-invoke"
    ]
    api = rest_api(program)
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == program.one("aws:lambda/function:Function", "api").inputs["name"]
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/{gw.STAGE_NAME}/*"


# --------------------------------------------------------------------------- validation


def test_write_endpoints_validate_their_body_before_the_function_runs(program: Program) -> None:
    (validator,) = program.of_type("aws:apigateway/requestValidator:RequestValidator")
    assert validator.inputs["validateRequestBody"] is True
    models = {m.inputs["name"]: m for m in program.of_type("aws:apigateway/model:Model")}
    assert set(models) == {r.body for r in ROUTES if r.body}
    actual = methods(program)
    for route in ROUTES:
        method = actual[(route.method, route.path)]
        if route.body:
            assert method.inputs["requestValidatorId"] == validator.id, route
            assert method.inputs["requestModels"] == {"application/json": route.body}
        else:
            assert not method.inputs.get("requestValidatorId"), route
            assert not method.inputs.get("requestModels"), route


def test_methods_declare_the_routes_query_parameters_as_optional(program: Program) -> None:
    actual = methods(program)
    declared = 0
    for route in ROUTES:
        parameters = actual[(route.method, route.path)].inputs.get("requestParameters") or {}
        assert parameters == {f"method.request.querystring.{name}": False for name in route.query}, route
        declared += len(parameters)
    assert declared >= 5  # the catalog's search, category, sort, limit and cursor at least


def test_models_are_draft_04_json_schemas_of_objects(program: Program) -> None:
    assert program.of_type("aws:apigateway/model:Model"), "no models: the loop below would judge nothing"
    for model in program.of_type("aws:apigateway/model:Model"):
        assert model.inputs["contentType"] == "application/json"
        schema = json.loads(model.inputs["schema"])
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        assert schema["type"] == "object"
        for sub in walk(schema):
            # API Gateway resolves no local references and knows no later-draft keywords.
            assert "$ref" not in sub and "$defs" not in sub and "const" not in sub, model.name
            for key in ("exclusiveMinimum", "exclusiveMaximum"):
                assert isinstance(sub.get(key, False), bool), (model.name, key)


@pytest.mark.parametrize("body", sorted({r.body for r in ROUTES if r.body}))
def test_models_follow_the_committed_openapi_document(body: str) -> None:
    schema = body_schema(body)
    raw = json.loads(gw.OPENAPI_DOCUMENT.read_text())["components"]["schemas"][body]
    assert schema["$schema"] == gw.DRAFT_04
    assert set(schema["properties"]) == set(raw["properties"])
    assert sorted(schema.get("required", [])) == sorted(raw.get("required", []))


def test_a_missing_openapi_document_or_body_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="openapi"):
        body_schema("CheckoutRequest", tmp_path / "openapi.json")
    (tmp_path / "openapi.json").write_text(json.dumps({"components": {"schemas": {}}}))
    with pytest.raises(KeyError, match="CheckoutRequest"):
        body_schema("CheckoutRequest", tmp_path / "openapi.json")


def test_draft4_conversion_inlines_refs_and_rewrites_later_keywords() -> None:
    later = {
        "title": "Order",
        "type": "object",
        "properties": {
            "quantity": {"type": "integer", "exclusiveMinimum": 0, "maximum": 99},
            "kind": {"const": "placed"},
            "line": {"$ref": "#/$defs/Line"},
            "note": {"type": "string", "nullable": True},
        },
        "required": ["quantity"],
        "$defs": {"Line": {"title": "Line", "type": "object", "properties": {"sku": {"type": "string"}}}},
    }
    draft4 = to_draft4(later, later["$defs"])
    assert draft4 == {
        "type": "object",
        "properties": {
            "quantity": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 99},
            "kind": {"enum": ["placed"]},
            "line": {"type": "object", "properties": {"sku": {"type": "string"}}},
            "note": {"type": ["string", "null"]},
        },
        "required": ["quantity"],
    }
    with pytest.raises(ValueError, match="cannot resolve"):
        to_draft4({"$ref": "#/$defs/Missing"}, {})


def bad_body_responses(program: Program) -> list[Resource]:
    return [
        r for r in program.of_type("aws:apigateway/response:Response") if r.inputs["responseType"] == "BAD_REQUEST_BODY"
    ]


def test_a_bad_body_is_answered_in_the_platforms_error_format(program: Program) -> None:
    (response,) = bad_body_responses(program)
    assert response.inputs["responseType"] == "BAD_REQUEST_BODY"
    assert response.inputs["statusCode"] == "400"
    body = json.loads(response.inputs["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "validation_error"
    assert set(body["error"]) == {"code", "message", "details"}


# --------------------------------------------------------------------------- deployment


def test_deployment_and_stage_are_separate_and_linked(program: Program) -> None:
    deployment = program.one("aws:apigateway/deployment:Deployment")
    stage = program.one("aws:apigateway/stage:Stage")
    assert "stageName" not in deployment.inputs
    assert stage.inputs["deployment"] == deployment.id
    assert stage.inputs["stageName"] == gw.STAGE_NAME == program.outputs["apiStage"]


def test_deployment_waits_for_everything_it_snapshots(program: Program) -> None:
    deployment = program.one("aws:apigateway/deployment:Deployment")
    for type_token in (
        "aws:apigateway/method:Method",
        "aws:apigateway/integration:Integration",
        "aws:apigateway/model:Model",
        "aws:apigateway/integrationResponse:IntegrationResponse",
        "aws:apigateway/response:Response",
        "aws:apigateway/requestValidator:RequestValidator",
    ):
        for resource in program.of_type(type_token):
            assert resource.urn in deployment.dependencies, resource.name


def test_trigger_is_a_stable_fingerprint(program: Program) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", trigger(program))


def test_changing_a_route_redeploys(dev: Program, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tuple(
        dataclasses.replace(r, path=r.path.replace("/orders/", "/purchases/")) if r.operation == "get_order" else r
        for r in ROUTES
    )
    assert changed != ROUTES
    monkeypatch.setattr(declarations, "ROUTES", changed)
    moved = run_program("dev")
    assert ("GET", "/api/purchases/{order_id}") in methods(moved)
    assert trigger(moved) != trigger(dev)
    added = (*ROUTES, Route("GET", "/api/categories", "list_categories"))
    monkeypatch.setattr(declarations, "ROUTES", added)
    assert trigger(run_program("dev")) != trigger(dev)


def test_the_same_routes_give_the_same_trigger(dev: Program) -> None:
    # No spurious redeploys: a re-run with nothing changed keeps the deployment.
    assert trigger(run_program("dev")) == trigger(dev)


def test_fingerprint_covers_methods_models_and_integrations() -> None:
    models = {"CheckoutRequest": {"type": "object", "required": ["cart_id"]}}
    integration = {"type": "AWS_PROXY", "function": "ecommerce-api-dev"}
    base = deployment_fingerprint(ROUTES, models, integration, {})
    assert deployment_fingerprint(ROUTES, models, integration, {}) == base
    other_method = tuple(dataclasses.replace(r, method="POST") if r.operation == "set_stock" else r for r in ROUTES)
    assert deployment_fingerprint(other_method, models, integration, {}) != base
    other_access = tuple(dataclasses.replace(r, access="public") if is_back_office(r) else r for r in ROUTES)
    assert deployment_fingerprint(other_access, models, integration, {}) != base
    other_model = {"CheckoutRequest": {"type": "object", "required": ["cart_id", "email"]}}
    assert deployment_fingerprint(ROUTES, other_model, integration, {}) != base
    assert deployment_fingerprint(ROUTES, models, {**integration, "function": "other"}, {}) != base
    assert deployment_fingerprint(ROUTES, models, integration, {"origin": "*"}) != base


# --------------------------------------------------------------------------- stage


def test_stage_throttles_from_the_profile_with_metrics(program: Program) -> None:
    settings = program.one("aws:apigateway/methodSettings:MethodSettings")
    profile = PROFILES[program.stack]
    assert settings.inputs["methodPath"] == "*/*"
    assert settings.inputs["stageName"] == gw.STAGE_NAME
    s = settings.inputs["settings"]
    assert s["metricsEnabled"] is True
    assert s["throttlingRateLimit"] == profile.api_rate_limit
    assert s["throttlingBurstLimit"] == profile.api_burst_limit
    assert s.get("dataTraceEnabled") is not True  # never log request bodies
    if program.stack == "prod":
        assert (s["throttlingRateLimit"], s["throttlingBurstLimit"]) == (10_000, 5_000)


def test_stage_traces_and_writes_json_access_logs_kept_as_the_profile_says(program: Program) -> None:
    stage = program.one("aws:apigateway/stage:Stage")
    group = program.one("aws:cloudwatch/logGroup:LogGroup", "api-access")
    assert stage.inputs["xrayTracingEnabled"] is True
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == group.outputs["arn"]
    fields = json.loads(settings["format"])
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "ip", "httpMethod", "resourcePath", "responseLatency"} <= set(fields)
    assert group.inputs["retentionInDays"] == PROFILES[program.stack].log_retention_days
    assert group.inputs["kmsKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]


@functools.cache
def owning(stack: str) -> Program:
    """The stack with ``manageApiGatewayAccount: true`` (an account without the bootstrap program)."""
    return run_program(stack, {"manageApiGatewayAccount": "true"})


ACCOUNT_RESOURCES = (
    ("aws:apigateway/account:Account", "account"),
    ("aws:iam/role:Role", "apigateway-logs"),
    ("aws:iam/rolePolicy:RolePolicy", "apigateway-logs"),
)


def test_app_stacks_leave_the_regions_account_setting_to_the_bootstrap_program(program: Program) -> None:
    """Off by default: no stack declares the setting, so destroying one never resets the region's role."""
    assert not program.of_type("aws:apigateway/account:Account")
    assert not [r for r in program.of_type("aws:iam/role:Role") if r.name == "apigateway-logs"]
    stage = program.one("aws:apigateway/stage:Stage")
    # The stage logs through whatever role the region has (the preflight checks that one is set).
    assert stage.inputs["accessLogSettings"]["destinationArn"]
    assert not [d for d in stage.dependencies if "ApiGatewayAccount" in d]


def test_an_owning_stack_sets_the_role_before_the_stage_logs_and_keeps_it_on_delete() -> None:
    program = owning("dev")
    account = program.one("aws:apigateway/account:Account")
    role = program.one("aws:iam/role:Role", "apigateway-logs")
    assert account.inputs["cloudwatchRoleArn"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (policy,) = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert all(a.startswith("logs:") and "*" not in a for a in statement["Action"])
    assert statement["Resource"] == f"arn:aws:logs:{program.config['aws:region']}:{ACCOUNT}:*"
    assert account.urn in program.one("aws:apigateway/stage:Stage").dependencies
    # Deleting aws.apigateway.Account resets the region's role (pulumi-aws v7): destroying this
    # stack or turning the flag off must forget the setting, the role and its policy instead.
    for type_token, name in ACCOUNT_RESOURCES:
        assert program.one(type_token, name).options["retainOnDelete"], name


def test_the_readme_upgrade_steps_name_the_account_resources_urns() -> None:
    """Stacks deployed before the flag hold these without retainOnDelete: README says how to keep them."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Upgrading a stack deployed before manageApiGatewayAccount") :][:3000]
    program = owning("dev")
    for type_token, name in ACCOUNT_RESOURCES:
        urn = program.one(type_token, name).urn.replace("urn:pulumi:dev::", "urn:pulumi:<stack>::")
        assert urn in section, urn


# --------------------------------------------------------------------------- partners


def test_usage_plan_and_api_key_for_partners(program: Program) -> None:
    plan = program.one("aws:apigateway/usagePlan:UsagePlan", "partners")
    key = program.one("aws:apigateway/apiKey:ApiKey", "partner")
    link = program.one("aws:apigateway/usagePlanKey:UsagePlanKey", "partner")
    profile = PROFILES[program.stack]
    assert plan.inputs["apiStages"] == [{"apiId": rest_api(program).id, "stage": gw.STAGE_NAME}]
    throttle = plan.inputs["throttleSettings"]
    assert 0 < throttle["rateLimit"] <= profile.api_rate_limit
    assert 0 < throttle["burstLimit"] <= profile.api_burst_limit
    assert plan.inputs["quotaSettings"]["period"] == "DAY" and plan.inputs["quotaSettings"]["limit"] > 0
    assert key.inputs["enabled"] is True
    assert "value" not in key.inputs  # AWS generates the secret
    assert (link.inputs["keyId"], link.inputs["usagePlanId"], link.inputs["keyType"]) == (key.id, plan.id, "API_KEY")
    assert program.outputs["apiKeyId"] == key.id


def test_api_url_ends_with_the_stage(program: Program) -> None:
    url = program.outputs["apiUrl"]
    region = program.config["aws:region"]
    assert url == f"https://{rest_api(program).id}.execute-api.{region}.amazonaws.com/{gw.STAGE_NAME}"


# --------------------------------------------------------------------------- CORS


def cors_response(program: Program, path: str) -> dict[str, str]:
    ids = {v: k for k, v in paths_by_resource_id(program).items()}
    (response,) = [
        r
        for r in program.of_type("aws:apigateway/integrationResponse:IntegrationResponse")
        if r.inputs["resourceId"] == ids[path]
    ]
    params: dict[str, str] = response.inputs["responseParameters"]
    return params


def test_preflight_is_answered_by_api_gateway_itself(program: Program) -> None:
    actual = methods(program)
    for path in {r.path for r in ROUTES if r.access in gw.BROWSER_ACCESS}:
        integration = integration_for(program, actual[("OPTIONS", path)])
        assert integration.inputs["type"] == "MOCK"
        allowed = cors_response(program, path)["method.response.header.Access-Control-Allow-Methods"]
        declared = {r.method for r in ROUTES if r.path == path}
        assert set(allowed.strip("'").split(",")) == declared | {"OPTIONS"}


def test_cors_origin_is_open_outside_prod_and_the_storefront_in_prod(program: Program) -> None:
    origin = cors_response(program, "/api/products")["method.response.header.Access-Control-Allow-Origin"]
    if program.stack == "prod":
        assert origin == f"'https://{program.outputs['cloudfrontDomainName']}'"
    else:
        assert origin == "'*'"


# --------------------------------------------------------------------------- custom domain


def test_no_custom_domain_unless_configured(program: Program) -> None:
    assert not program.of_type("aws:apigateway/domainName:DomainName")


def test_custom_domain_with_a_regional_certificate_when_configured() -> None:
    program = run_program("prod", {"domainName": "shop.example.com", "certificateArn": CERT})
    domain = program.one("aws:apigateway/domainName:DomainName")
    assert domain.inputs["domainName"] == "api.shop.example.com"
    assert domain.inputs["regionalCertificateArn"] == CERT
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    assert domain.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    mapping = program.one("aws:apigateway/basePathMapping:BasePathMapping")
    assert mapping.inputs["restApi"] == rest_api(program).id
    assert mapping.inputs["stageName"] == gw.STAGE_NAME


# Bodies from the HTTP contract: API Gateway must let the first kind through and stop the second.
CONTRACT_BODIES: dict[str, tuple[list[Any], list[Any]]] = {
    "CartItemUpdate": ([{"quantity": 1}, {"quantity": 99}], [{"quantity": 0}, {"quantity": 100}, {}, [], "x"]),
    "CheckoutRequest": (
        # Without an e-mail: a signed-in customer's checkout (the function refuses a guest's).
        [
            {"cart_id": "c-1", "email": "shopper@example.com", "shipping_address": ADDRESS},
            {"cart_id": "c-1", "shipping_address": ADDRESS},
        ],
        [
            {"cart_id": "c-1", "email": None, "shipping_address": ADDRESS},
            {"email": "shopper@example.com", "shipping_address": ADDRESS},
            {"cart_id": "c-1", "email": "not-an-address", "shipping_address": ADDRESS},
            {"cart_id": "c-1", "email": "shopper@example.com"},
            {"cart_id": "c-1", "email": "shopper@example.com", "shipping_address": {**ADDRESS, "country": "USA"}},
        ],
    ),
    "CartMerge": (
        [{}, {"cart_id": "k3Jx9w2QpZ7nLm4vT8yR1sAb"}],
        [{"cart_id": None}, {"cart_id": ""}, {"cart_id": "has space"}, {"cart_id": "x" * 65}, {"other": 1}],
    ),
    "Fulfilment": (
        [{"carrier": "DHL", "tracking_reference": "JD0142"}],
        [{"carrier": "DHL"}, {"carrier": "", "tracking_reference": "x"}, {"carrier": "DHL", "tracking_reference": "<"}],
    ),
    "RefundRequest": ([{}, {"amount_cents": 500}], [{"amount_cents": 0}, {"amount_cents": "5"}, {"other": 1}]),
    "ProductCreate": (
        [{"sku": "SKU-1", "name": "Mug", "description": "", "category": "kitchen", "price_cents": 1299, "stock": 5}],
        [
            {"sku": "SKU-1", "name": "Mug", "category": "kitchen", "price_cents": -1, "stock": 5},
            {"sku": "SKU-1", "name": "Mug", "category": "kitchen", "price_cents": 1299, "stock": -1},
            {"name": "Mug", "category": "kitchen", "price_cents": 1299, "stock": 5},
        ],
    ),
    "ProductUpdate": (
        [
            {"price_cents": 999},
            {"name": "Big mug"},
            {"image_key": f"media/products/0b6c1f3e-1111-4222-8333-444455556666/{'a' * 32}.png"},
            {"image_key": None},
        ],
        [{"price_cents": -5}, {"image_key": "media/elsewhere.png"}, {"image_key": "../x.png"}],
    ),
    "ImageUploadRequest": (
        [{"content_type": "image/png"}, {"content_type": "image/webp"}],
        [{"content_type": "image/gif"}, {}, {"content_type": "image/png", "size": 1}],
    ),
    "StockUpdate": ([{"stock": 0}, {"stock": 12}], [{"stock": -1}, {"stock": 1.5}, {}]),
}


def test_models_accept_and_reject_the_contracts_bodies(dev: Program) -> None:
    from jsonschema import Draft4Validator

    models = {m.inputs["name"]: json.loads(m.inputs["schema"]) for m in dev.of_type("aws:apigateway/model:Model")}
    assert set(models) == set(CONTRACT_BODIES)
    for name, schema in models.items():
        Draft4Validator.check_schema(schema)
        validator = Draft4Validator(schema)
        good, bad = CONTRACT_BODIES[name]
        for body in good:
            assert validator.is_valid(body), (name, body, [e.message for e in validator.iter_errors(body)])
        for body in bad:
            assert not validator.is_valid(body), (name, body)


# --------------------------------------------------------------------------- contracts


def test_preflight_answers_with_the_declared_cors_headers_and_max_age(program: Program) -> None:
    for path in {r.path for r in ROUTES if r.access in gw.BROWSER_ACCESS}:
        params = cors_response(program, path)
        assert params["method.response.header.Access-Control-Allow-Headers"] == (
            f"'{','.join(declarations.CORS_ALLOW_HEADERS)}'"
        )
        # The real header name (Access-Control-Max-Age); browsers ignore anything else.
        assert params["method.response.header.Access-Control-Max-Age"] == f"'{declarations.CORS_MAX_AGE_SECONDS}'"
        assert not [name for name in params if "Allow-Max-Age" in name]


def test_the_bad_body_template_is_the_declared_error_envelope(program: Program) -> None:
    (response,) = bad_body_responses(program)
    body = json.loads(response.inputs["responseTemplates"]["application/json"])
    # A validation error lists its problems under details.errors (API Gateway gives only a message).
    assert body == declarations.error_body("validation_error", "$context.error.message", {"errors": []})
    assert body["error"]["details"] == {"errors": []}


def test_the_account_setting_moved_without_replacement() -> None:
    """The CloudWatch role and account setting left the ApiGateway component; aliases keep their URNs."""
    program = owning("dev")
    gateway = program.one("ecommerce:delivery:ApiGateway")
    for type_token, name in ACCOUNT_RESOURCES:
        resource = program.one(type_token, name)
        assert program.by_urn(resource.parent or "").type == "ecommerce:delivery:ApiGatewayAccount"
        assert resource.options["aliasParents"] == [gateway.urn], name


# --------------------------------------------------------------------------- customer authorizer


def test_the_cognito_authorizer_guards_exactly_the_customer_routes(program: Program) -> None:
    authorizer = program.one("aws:apigateway/authorizer:Authorizer", "customers")
    assert authorizer.inputs["type"] == "COGNITO_USER_POOLS"
    assert authorizer.inputs["identitySource"] == f"method.request.header.{declarations.ID_TOKEN_HEADER}"
    pool = program.one("aws:cognito/userPool:UserPool")
    assert authorizer.inputs["providerArns"] == [pool.outputs["arn"]]
    assert authorizer.inputs["restApi"] == rest_api(program).id

    customer = {(r.method, r.path) for r in ROUTES if r.access == "customer"}
    assert customer == {("GET", "/api/me"), ("GET", "/api/me/orders"), ("POST", "/api/me/cart")}
    guarded = {
        key
        for key, method in methods(program).items()
        if method.inputs["authorization"] == "COGNITO_USER_POOLS" and method.inputs.get("authorizerId") == authorizer.id
    }
    assert guarded == customer
    # Public methods (preflight included) are open to API Gateway; back-office ones have their own authorizer.
    back_office = {(r.method, r.path) for r in ROUTES if is_back_office(r)}
    for key, method in methods(program).items():
        if key not in customer and key not in back_office:
            assert method.inputs["authorization"] == "NONE", key
            assert "authorizerId" not in method.inputs, key


def test_the_authorizer_answers_401_in_the_platform_error_body(program: Program) -> None:
    (response,) = [
        r for r in program.of_type("aws:apigateway/response:Response") if r.inputs["responseType"] == "UNAUTHORIZED"
    ]
    assert response.inputs["statusCode"] == "401"
    body = json.loads(response.inputs["responseTemplates"]["application/json"])
    assert body == declarations.error_body("unauthorized", "sign-in required")


def test_customer_routes_without_a_user_pool_are_refused() -> None:
    from infra.settings import Settings

    settings = Settings(
        project="ecommerce", stack="t", environment="dev", suffix="t", region="us-west-2",
        profile=PROFILES["dev"], owner="o", cost_center="c",
    )  # fmt: skip
    args = gw.ApiGatewayArgs(
        settings=settings, key_arn="k", function_name="f", function_invoke_arn="i", cors_origin="*"
    )
    component = gw.ApiGateway.__new__(gw.ApiGateway)
    component._args = args
    with pytest.raises(ValueError, match="user_pool_arn"):
        component._customer_authorizer(ROUTES)


# --------------------------------------------------------------------------- gateway responses

OPENAPI = json.loads((ROOT / "src" / "shop" / "api" / "openapi.json").read_text())
# What API Gateway substitutes into a template (the catch-alls reference its error message).
CONTEXT_SAMPLES = {"$context.error.message": "Missing Authentication Token"}


def render(template: str) -> Any:
    """A gateway response template as API Gateway renders it: its $context references substituted."""
    for reference, value in CONTEXT_SAMPLES.items():
        template = template.replace(reference, value)
    assert "$" not in template and "#" not in template, f"unexpected VTL in {template}"
    return json.loads(template)


def gateway_responses(program: Program) -> dict[str, Resource]:
    found = {r.inputs["responseType"]: r for r in program.of_type("aws:apigateway/response:Response")}
    assert len(found) == len(program.of_type("aws:apigateway/response:Response")), "a response type twice"
    return found


def test_api_gateways_own_answers_are_the_platforms_error_envelope(program: Program) -> None:
    """Every gateway response (bad body, unknown resource, no key, throttled, too large, the 4XX and
    5XX catch-alls) renders to the error body the OpenAPI document declares (ErrorBody)."""
    import jsonschema

    responses = gateway_responses(program)
    assert set(responses) == {r.type for r in declarations.GATEWAY_RESPONSES}
    must = {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN"}
    must |= {"UNAUTHORIZED", "REQUEST_TOO_LARGE", "BAD_REQUEST_BODY", "INVALID_API_KEY", "QUOTA_EXCEEDED"}
    assert must <= set(responses)
    schema = {**OPENAPI["components"]["schemas"]["ErrorBody"], "$defs": OPENAPI["components"]["schemas"]}
    schema = json.loads(json.dumps(schema).replace("#/components/schemas/", "#/$defs/"))
    for declared in declarations.GATEWAY_RESPONSES:
        resource = responses[declared.type]
        templates = resource.inputs["responseTemplates"]
        assert set(templates) == {"application/json"}, declared.type
        body = render(templates["application/json"])
        jsonschema.validate(body, schema)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["code"] == declared.code
        expected_status = None if declared.status is None else str(declared.status)
        assert resource.inputs.get("statusCode") == expected_status, declared.type
    assert (
        render(responses["DEFAULT_4XX"].inputs["responseTemplates"]["application/json"])["error"]["message"]
        == (CONTEXT_SAMPLES["$context.error.message"])
    )


def test_api_gateways_own_answers_carry_the_security_headers_and_the_request_id(program: Program) -> None:
    for kind, resource in gateway_responses(program).items():
        parameters = resource.inputs["responseParameters"]
        headers = {k.removeprefix("gatewayresponse.header."): v for k, v in parameters.items()}
        assert len(headers) == len(parameters), kind  # only headers are mapped
        for name, value in declarations.API_ERROR_HEADERS.items():
            # A static value is single-quoted; one with a quote inside could not be written.
            assert headers[name] == f"'{value}'" and "'" not in value, (kind, name)
        assert "max-age=" in headers["Strict-Transport-Security"] and headers["X-Content-Type-Options"] == "'nosniff'"
        assert headers["Cache-Control"] == "'no-store'"
        assert headers[declarations.REQUEST_ID_HEADER] == "context.requestId", kind
        origin = program.one("aws:apigateway/integrationResponse:IntegrationResponse", "OPTIONS-api-products")
        allowed = origin.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        assert headers["Access-Control-Allow-Origin"] == allowed, kind


def test_every_status_api_gateway_answers_itself_is_documented_on_every_operation() -> None:
    """OpenAPI lists API Gateway's own 400/401/403/413/429 on every operation (and 415 where a body is
    taken); the catch-alls keep API Gateway's status (any 4xx/5xx)."""
    statuses = {r.status for r in declarations.GATEWAY_RESPONSES if r.status is not None and r.status < 500}
    assert {400, 401, 403, 413, 429} <= statuses
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            documented = {int(code) for code in operation["responses"] if code.isdigit()}
            wanted = statuses - {415} if "requestBody" not in operation else statuses
            assert wanted <= documented, (method, path, sorted(wanted - documented))


def test_gateway_responses_are_part_of_what_a_deployment_snapshots(program: Program) -> None:
    deployment = program.one("aws:apigateway/deployment:Deployment")
    urns = {r.urn for r in program.of_type("aws:apigateway/response:Response")}
    assert urns <= set(deployment.dependencies)
