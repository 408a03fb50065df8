"""API Gateway (REST) in front of the API function, for partners and admin tools.

- Resources and methods for exactly ``shop.declarations.ROUTES`` (Lambda proxy
  integration); back-office routes (``access`` ``admin`` or ``staff``) accept a partner
  API key *or* an ID token with the route's group: a REQUEST Lambda authorizer
  (``back_office_authorizer.py``, results never cached) on exactly those methods, which
  keep ``api_key_required``; the REST API's ``apiKeySource`` is ``AUTHORIZER``, so API
  Gateway meters and validates the key the authorizer returns (the partner's own, or the
  back-office key for token callers, each in its own usage plan): ARCHITECTURE.md
  "Admin and staff"; ``access="customer"`` routes go through a Cognito user-pool authorizer (the
  ID token in ``X-Id-Token``, shop.declarations.ID_TOKEN_HEADER; the function verifies the token again, the
  authorizer is an extra layer), and its 401 answers in the platform's error body.
- Write endpoints get a request validator and a JSON-schema (draft-04) model,
  so a malformed body is answered 400 by API Gateway before the function runs.
  The schema comes from the app's committed OpenAPI document
  (``src/shop/api/openapi.json``), the one source; see :func:`body_schema`.
- Deployment and Stage are separate; the deployment's ``triggers`` carry a
  fingerprint of routes, methods, models, integrations and CORS, so any change
  to them creates a new deployment (see :func:`deployment_fingerprint`).
- Stage: throttling from the profile, execution metrics, JSON access logs to a
  log group kept as long as the profile keeps logs, X-Ray. Execution logs go to the
  group API Gateway names ``API-Gateway-Execution-Logs_<restApiId>/<stage>``: declared
  here, so it has the profile's retention and key instead of never expiring. The region's
  CloudWatch role API Gateway logs with is owned by bootstrap/ (``api_gateway_account.py``
  only with ``manageApiGatewayAccount``); ``make preflight`` checks that it is set.
- Integrations wait ``API_GATEWAY_INTEGRATION_TIMEOUT_MS`` (29 s, API Gateway's default
  maximum); settings keep the function's timeout below it.
- Usage plans (throttle + daily quota): one API key for partner clients, and the
  back-office key (``back_office_key.py``) token callers are metered on.
- CORS: OPTIONS (mock integration) on every public resource; headers and max-age
  from ``shop.declarations``, the allowed origin from ``infra/cors.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import API_GATEWAY_INTEGRATION_TIMEOUT_MS, Settings
from shop import declarations
from shop.declarations import (
    API_ERROR_HEADERS,
    CORS_ALLOW_HEADERS,
    CORS_MAX_AGE_SECONDS,
    GATEWAY_RESPONSES,
    ID_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    GatewayResponse,
    Route,
    error_json,
    is_back_office,
)

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DOCUMENT = ROOT / "src" / "shop" / "api" / "openapi.json"
DRAFT_04 = "http://json-schema.org/draft-04/schema#"
STAGE_NAME = "v1"

# One line of JSON per request in the access log.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integration.latency",
        "integrationStatus": "$context.integration.status",
        "apiKeyId": "$context.identity.apiKeyId",
        "xrayTraceId": "$context.xrayTraceId",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


def gateway_response_template(response: GatewayResponse) -> str:
    """The VTL template of one of API Gateway's own answers: the platform's error body (no VTL
    directives; the only reference is ``$context.error.message`` in the catch-alls)."""
    return error_json(response.code, response.message, response.details)


def gateway_response_headers(cors_origin: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """Response parameters of every gateway response: the security headers (static values are
    single-quoted), API Gateway's request id as ``X-Request-Id`` (what the function logs as
    ``api_request_id``), and the CORS origin so a browser can read the error."""
    headers: dict[str, pulumi.Input[str]] = {
        f"gatewayresponse.header.{name}": f"'{value}'" for name, value in API_ERROR_HEADERS.items()
    }
    headers[f"gatewayresponse.header.{REQUEST_ID_HEADER}"] = "context.requestId"
    headers["gatewayresponse.header.Access-Control-Allow-Origin"] = pulumi.Output.format("'{0}'", cors_origin)
    return headers


# The gateway response logical names keep the URNs of the two that existed first.
def gateway_response_name(response: GatewayResponse) -> str:
    return response.type.lower().replace("_", "-")


_BY_TYPE = {response.type: response for response in GATEWAY_RESPONSES}
# What API Gateway answers when a body fails its model: the platform's error shape.
BAD_REQUEST_BODY_TEMPLATE = gateway_response_template(_BY_TYPE["BAD_REQUEST_BODY"])
# What API Gateway's Cognito authorizer answers for a missing or invalid token: the function's 401.
UNAUTHORIZED_TEMPLATE = gateway_response_template(_BY_TYPE["UNAUTHORIZED"])
# Routes browsers call (the storefront): CORS preflight on their resources.
BROWSER_ACCESS = ("public", "customer")

# Keywords of later JSON-schema drafts / OpenAPI that draft-04 does not know.
_DROPPED_KEYWORDS = {"$defs", "definitions", "$schema", "title", "examples", "discriminator", "readOnly", "writeOnly"}


# --------------------------------------------------------------------------- models


def to_draft4(schema: Any, defs: Mapping[str, Any]) -> Any:
    """Rewrite a pydantic/OpenAPI 3.1 JSON schema as draft-04, which API Gateway speaks.

    Local ``$ref``s are inlined (an API Gateway model may only reference other
    models by URL), ``const`` becomes a one-value ``enum``, numeric
    ``exclusiveMinimum``/``exclusiveMaximum`` become the draft-04 boolean form,
    OpenAPI 3.0 ``nullable`` becomes a ``null`` type, and keywords draft-04
    does not define are dropped.
    """
    if isinstance(schema, list):
        return [to_draft4(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = str(schema["$ref"])
        target = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/") or target not in defs:
            raise ValueError(f"cannot resolve schema reference {ref!r}")
        merged = {**defs[target], **{k: v for k, v in schema.items() if k != "$ref"}}
        return to_draft4(merged, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "nullable":
            continue
        elif key in ("properties", "patternProperties"):
            out[key] = {name: to_draft4(sub, defs) for name, sub in value.items()}
        else:
            out[key] = to_draft4(value, defs)
    if schema.get("nullable") is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


def body_schema(name: str, document_path: Path = OPENAPI_DOCUMENT) -> dict[str, Any]:
    """The draft-04 schema of request body ``name``, from the app's committed OpenAPI document.

    The document is the one source: a missing document, or a body it does not declare, is an
    error (a permissive fallback would let any JSON object through to the function)."""
    if not document_path.exists():
        raise FileNotFoundError(f"{document_path} is missing: export the app's OpenAPI document and commit it")
    document = json.loads(document_path.read_text(encoding="utf-8"))
    schemas = (document.get("components") or {}).get("schemas") or {}
    if name not in schemas:
        raise KeyError(f"request body {name!r} is not in {document_path.name} (components.schemas)")
    return {"$schema": DRAFT_04, **to_draft4(schemas[name], schemas)}


# --------------------------------------------------------------------------- routes


def resource_paths(routes: Iterable[Route]) -> list[str]:
    """Every resource path the routes need, parents before children (no root)."""
    paths: set[str] = set()
    for route in routes:
        parts = route.path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            paths.add("/" + "/".join(parts[:i]))
    return sorted(paths, key=lambda p: (p.count("/"), p))


def logical(path: str) -> str:
    """A logical-name fragment for a path: /api/carts/{cart_id} → api-carts-cart_id."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-")


def query_parameters(route: Route) -> dict[str, bool]:
    """The method's declared query string parameters (all optional: False), from ``Route.query``, so
    that API Gateway documents them and could cache on them."""
    return {f"method.request.querystring.{name}": False for name in route.query}


def cors_methods(routes: Iterable[Route]) -> dict[str, list[str]]:
    """Public paths → the methods browsers may use there (OPTIONS included)."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if route.access in BROWSER_ACCESS:
            methods.setdefault(route.path, {"OPTIONS"}).add(route.method)
    return {path: sorted(m) for path, m in sorted(methods.items())}


def deployment_fingerprint(
    routes: Iterable[Route],
    models: Mapping[str, Any],
    integration: Mapping[str, Any],
    cors: Mapping[str, Any],
) -> str:
    """SHA-256 over everything a deployment snapshots: a change means redeploy."""
    document = {
        "routes": [dataclasses.asdict(r) for r in routes],
        "models": models,
        "integration": integration,
        "cors": cors,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --------------------------------------------------------------------------- component


@dataclass
class ApiGatewayArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # The API function: proxy integrations call its invoke ARN; the permission names it.
    function_name: pulumi.Input[str]
    function_invoke_arn: pulumi.Input[str]
    # The origin browsers may call from (infra/cors.py).
    cors_origin: pulumi.Input[str]
    # What must exist before the stage may log (the account's CloudWatch role, api_gateway_account.py).
    stage_depends_on: Sequence[pulumi.Resource] = ()
    # The Cognito user pool whose ID tokens the customer routes' authorizer accepts (identity.py).
    user_pool_arn: pulumi.Input[str] | None = None
    # The back-office methods' REQUEST authorizer and key (required when ROUTES has back-office routes).
    back_office: BackOfficeAuthorization | None = None


@dataclass(frozen=True)
class BackOfficeAuthorization:
    """What the back-office methods need: the authorizer function (back_office_authorizer.py) and the
    back-office API key (back_office_key.py) its token callers are metered on."""

    function_name: pulumi.Input[str]
    function_invoke_arn: pulumi.Input[str]
    key_id: pulumi.Input[str]


# The back-office authorizer: results never cached. With a cache, API Gateway would call the
# authorizer only when every identity source is present and non-empty, so "x-api-key or X-Id-Token"
# could not be expressed (either credential alone would be 401 before the function ran). The
# provider fills in ``method.request.header.Authorization`` when no source is given and AWS refuses an
# empty one, so the source is a context value every request has: nothing a caller could omit, and
# per request unique, so even a cache someone enabled later could never hand one caller's answer to
# another.
BACK_OFFICE_AUTHORIZER_TTL_SECONDS = 0
BACK_OFFICE_IDENTITY_SOURCE = "context.requestId"


class ApiGateway(pulumi.ComponentResource):
    rest_api: aws.apigateway.RestApi
    deployment: aws.apigateway.Deployment
    stage: aws.apigateway.Stage
    usage_plan: aws.apigateway.UsagePlan
    api_key: aws.apigateway.ApiKey
    access_log_group: aws.cloudwatch.LogGroup
    execution_log_group: aws.cloudwatch.LogGroup
    url: pulumi.Output[str]
    fingerprint: pulumi.Output[str]
    domain_name: aws.apigateway.DomainName | None
    authorizer: aws.apigateway.Authorizer | None
    back_office_authorizer: aws.apigateway.Authorizer | None
    back_office_usage_plan: aws.apigateway.UsagePlan | None

    def __init__(self, name: str, args: ApiGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:ApiGateway", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        # Read at construction time, so tests can change the routes.
        routes = declarations.ROUTES

        self._rest_api()
        gateway_responses = self._gateway_responses()
        resources = self._resources(routes)
        validator, models, schemas = self._models(routes)
        snapshot: list[pulumi.Resource] = [*models.values(), validator, *gateway_responses]
        snapshot += self._customer_authorizer(routes)
        snapshot += self._back_office_authorizer(routes)
        snapshot += self._methods(routes, resources, validator, models)
        cors = cors_methods(routes)
        snapshot += self._cors(cors, resources)
        self._deployment(routes, schemas, cors, snapshot)
        self._stage()
        self._invoke_permission()
        self._partners()
        self._custom_domain()

        self.register_outputs({"url": self.url, "stage": self.stage.stage_name, "apiKeyId": self.api_key.id})

    # -------------------------------------------------------- API
    def _rest_api(self) -> None:
        self.rest_api = aws.apigateway.RestApi(
            "api",
            name=self._args.settings.name("api"),
            description="ecommerce API for partners and admin tools",
            # The back office's authorizer names the key API Gateway meters (partner or back-office).
            api_key_source="AUTHORIZER" if self._args.back_office is not None else "HEADER",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            opts=self._child,
        )

    # -------------------------------------------------------- gateway responses
    def _gateway_responses(self) -> list[aws.apigateway.Response]:
        """API Gateway's own answers (bad body, unknown resource, no key, throttled, too large, the
        4XX/5XX catch-alls) in the platform's error body with the security headers and the request
        id (shop.declarations.GATEWAY_RESPONSES). Like the methods, they take effect with the next
        deployment (returned for it to wait on)."""
        headers = gateway_response_headers(self._args.cors_origin)
        return [
            aws.apigateway.Response(
                gateway_response_name(response),
                rest_api_id=self.rest_api.id,
                response_type=response.type,
                status_code=None if response.status is None else str(response.status),
                response_templates={"application/json": gateway_response_template(response)},
                response_parameters=headers,
                opts=self._child,
            )
            for response in GATEWAY_RESPONSES
        ]

    # -------------------------------------------------------- customer authorizer
    def _customer_authorizer(self, routes: Iterable[Route]) -> list[pulumi.Resource]:
        """The Cognito authorizer the customer routes use (returned); its 401 is the UNAUTHORIZED
        gateway response, in the platform's body."""
        self.authorizer = None
        if not any(route.access == "customer" for route in routes):
            return []
        if self._args.user_pool_arn is None:
            raise ValueError("ApiGateway: customer routes need user_pool_arn (the Cognito user pool)")
        self.authorizer = aws.apigateway.Authorizer(
            "customers",
            name="customers",
            rest_api=self.rest_api.id,
            type="COGNITO_USER_POOLS",
            provider_arns=[self._args.user_pool_arn],
            identity_source=f"method.request.header.{ID_TOKEN_HEADER}",
            opts=self._child,
        )
        return [self.authorizer]

    # -------------------------------------------------------- back-office authorizer
    def _back_office_authorizer(self, routes: Iterable[Route]) -> list[pulumi.Resource]:
        """The REQUEST authorizer of the admin and staff methods (returned for the deployment), and
        API Gateway's permission to invoke its function, scoped to this authorizer."""
        self.back_office_authorizer = None
        if not any(is_back_office(route) for route in routes):
            return []
        back_office = self._args.back_office
        if back_office is None:
            raise ValueError("ApiGateway: back-office routes need back_office (the authorizer function and key)")
        self.back_office_authorizer = aws.apigateway.Authorizer(
            "backoffice",
            name="backoffice",
            rest_api=self.rest_api.id,
            type="REQUEST",
            authorizer_uri=back_office.function_invoke_arn,
            authorizer_result_ttl_in_seconds=BACK_OFFICE_AUTHORIZER_TTL_SECONDS,
            identity_source=BACK_OFFICE_IDENTITY_SOURCE,
            opts=self._child,
        )
        permission = aws.lambda_.Permission(
            "apigateway-authorizer",
            action="lambda:InvokeFunction",
            function=back_office.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.format(
                "{0}/authorizers/{1}", self.rest_api.execution_arn, self.back_office_authorizer.id
            ),
            opts=self._child,
        )
        return [self.back_office_authorizer, permission]

    # -------------------------------------------------------- resources
    def _resources(self, routes: Iterable[Route]) -> dict[str, aws.apigateway.Resource]:
        resources: dict[str, aws.apigateway.Resource] = {}
        for path in resource_paths(routes):
            parent_path, _, part = path.rpartition("/")
            parent_id = resources[parent_path].id if parent_path else self.rest_api.root_resource_id
            resources[path] = aws.apigateway.Resource(
                logical(path), rest_api=self.rest_api.id, parent_id=parent_id, path_part=part, opts=self._child
            )
        return resources

    # -------------------------------------------------------- models
    def _models(
        self, routes: Iterable[Route]
    ) -> tuple[aws.apigateway.RequestValidator, dict[str, aws.apigateway.Model], dict[str, dict[str, Any]]]:
        validator = aws.apigateway.RequestValidator(
            "body",
            rest_api=self.rest_api.id,
            name="body",
            validate_request_body=True,
            validate_request_parameters=False,
            opts=self._child,
        )
        schemas: dict[str, dict[str, Any]] = {}
        models: dict[str, aws.apigateway.Model] = {}
        for body in sorted({r.body for r in routes if r.body}):
            schemas[body] = body_schema(body)
            models[body] = aws.apigateway.Model(
                body,
                rest_api=self.rest_api.id,
                name=body,
                content_type="application/json",
                schema=json.dumps(schemas[body], sort_keys=True),
                opts=self._child,
            )
        return validator, models, schemas

    # -------------------------------------------------------- methods
    def _methods(
        self,
        routes: Iterable[Route],
        resources: Mapping[str, aws.apigateway.Resource],
        validator: aws.apigateway.RequestValidator,
        models: Mapping[str, aws.apigateway.Model],
    ) -> list[pulumi.Resource]:
        """A method and its Lambda proxy integration per route (returned for the deployment to wait on)."""
        created: list[pulumi.Resource] = []
        for route in routes:
            resource = resources[route.path]
            authorization, authorizer = self._authorization(route)
            method = aws.apigateway.Method(
                f"{route.method}-{logical(route.path)}",
                rest_api=self.rest_api.id,
                resource_id=resource.id,
                http_method=route.method,
                authorization=authorization,
                authorizer_id=authorizer.id if authorizer is not None else None,
                api_key_required=is_back_office(route),
                operation_name=route.operation,
                request_validator_id=validator.id if route.body else None,
                request_models={"application/json": models[route.body].name} if route.body else None,
                request_parameters=query_parameters(route) or None,
                opts=self._child,
            )
            integration = aws.apigateway.Integration(
                f"{route.method}-{logical(route.path)}",
                rest_api=self.rest_api.id,
                resource_id=resource.id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=self._args.function_invoke_arn,
                timeout_milliseconds=API_GATEWAY_INTEGRATION_TIMEOUT_MS,
                opts=self._child,
            )
            created += [method, integration]
        return created

    def _authorization(self, route: Route) -> tuple[str, aws.apigateway.Authorizer | None]:
        """A method's authorization type and authorizer: Cognito for customer routes, the REQUEST
        authorizer for back-office routes, none for public ones."""
        if route.access == "customer" and self.authorizer is not None:
            return "COGNITO_USER_POOLS", self.authorizer
        if is_back_office(route) and self.back_office_authorizer is not None:
            return "CUSTOM", self.back_office_authorizer
        return "NONE", None

    # -------------------------------------------------------- CORS
    def _cors(
        self, cors: Mapping[str, list[str]], resources: Mapping[str, aws.apigateway.Resource]
    ) -> list[pulumi.Resource]:
        """OPTIONS with a mock integration on every public resource (returned for the deployment)."""
        created: list[pulumi.Resource] = []
        for path, allowed in cors.items():
            created += self._preflight(
                logical(path), resources[path], preflight_values(self._args.cors_origin, allowed)
            )
        return created

    def _preflight(
        self, frag: str, resource: aws.apigateway.Resource, values: Mapping[str, pulumi.Input[str]]
    ) -> list[pulumi.Resource]:
        rest_api_id, child = self.rest_api.id, self._child
        options = aws.apigateway.Method(
            f"OPTIONS-{frag}",
            rest_api=rest_api_id,
            resource_id=resource.id,
            http_method="OPTIONS",
            authorization="NONE",
            opts=child,
        )
        mock = aws.apigateway.Integration(
            f"OPTIONS-{frag}",
            rest_api=rest_api_id,
            resource_id=resource.id,
            http_method=options.http_method,
            type="MOCK",
            request_templates={"application/json": '{"statusCode": 200}'},
            opts=child,
        )
        method_response = aws.apigateway.MethodResponse(
            f"OPTIONS-{frag}",
            rest_api=rest_api_id,
            resource_id=resource.id,
            http_method=options.http_method,
            status_code="200",
            response_parameters={f"method.response.header.{header}": True for header in values},
            opts=child,
        )
        integration_response = aws.apigateway.IntegrationResponse(
            f"OPTIONS-{frag}",
            rest_api=rest_api_id,
            resource_id=resource.id,
            http_method=options.http_method,
            status_code=method_response.status_code,
            response_parameters={f"method.response.header.{header}": value for header, value in values.items()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[mock]),
        )
        return [options, mock, method_response, integration_response]

    # -------------------------------------------------------- deployment
    def _deployment(
        self,
        routes: Sequence[Route],
        schemas: Mapping[str, Any],
        cors: Mapping[str, list[str]],
        snapshot: list[pulumi.Resource],
    ) -> None:
        function = self._args.settings.name("api")
        self.fingerprint = pulumi.Output.from_input(self._args.cors_origin).apply(
            lambda origin: deployment_fingerprint(
                routes,
                schemas,
                {
                    "type": "AWS_PROXY",
                    "function": function,
                    "backOfficeAuthorizer": {
                        "type": "REQUEST",
                        "ttl": BACK_OFFICE_AUTHORIZER_TTL_SECONDS,
                        "identitySource": BACK_OFFICE_IDENTITY_SOURCE,
                        "apiKeySource": "AUTHORIZER" if self._args.back_office is not None else "HEADER",
                    },
                    "gatewayResponses": {
                        r.type: [r.status, gateway_response_template(r), dict(API_ERROR_HEADERS)]
                        for r in GATEWAY_RESPONSES
                    },
                },
                {"origin": origin, "methods": cors, "headers": CORS_ALLOW_HEADERS, "maxAge": CORS_MAX_AGE_SECONDS},
            )
        )
        self.deployment = aws.apigateway.Deployment(
            "api",
            rest_api=self.rest_api.id,
            description="ecommerce API",
            triggers={"redeployment": self.fingerprint},
            opts=pulumi.ResourceOptions(parent=self, depends_on=snapshot),
        )

    # -------------------------------------------------------- stage
    def _stage(self) -> None:
        settings = self._args.settings
        self.access_log_group = aws.cloudwatch.LogGroup(
            "api-access",
            name=f"/aws/apigateway/{settings.name('api-access')}",
            retention_in_days=settings.profile.log_retention_days,
            kms_key_id=self._args.key_arn,
            opts=self._child,
        )
        # API Gateway would create this group itself on the first execution log, never expiring.
        self.execution_log_group = aws.cloudwatch.LogGroup(
            "api-execution",
            name=pulumi.Output.format("API-Gateway-Execution-Logs_{0}/{1}", self.rest_api.id, STAGE_NAME),
            retention_in_days=settings.profile.log_retention_days,
            kms_key_id=self._args.key_arn,
            tags={"Name": settings.name("api-execution")},  # the AWS-given name has no readable part
            opts=self._child,
        )
        self.stage = aws.apigateway.Stage(
            "api",
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=STAGE_NAME,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.stage_depends_on)),
        )
        aws.apigateway.MethodSettings(
            "all",
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=settings.profile.api_rate_limit,
                throttling_burst_limit=settings.profile.api_burst_limit,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.execution_log_group]),
        )

    # -------------------------------------------------------- invoke permission
    def _invoke_permission(self) -> None:
        aws.lambda_.Permission(
            "apigateway-invoke",
            action="lambda:InvokeFunction",
            function=self._args.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.format("{0}/{1}/*", self.rest_api.execution_arn, STAGE_NAME),
            opts=self._child,
        )

    # -------------------------------------------------------- partners
    def _partners(self) -> None:
        settings, child = self._args.settings, self._child
        partner_rate, partner_burst, partner_quota = partner_limits(settings)
        self.usage_plan = aws.apigateway.UsagePlan(
            "partners",
            name=settings.name("partners"),
            description="partner clients (x-api-key)",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=self.rest_api.id, stage=self.stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=partner_rate, burst_limit=partner_burst
            ),
            quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(limit=partner_quota, period="DAY"),
            opts=child,
        )
        self.api_key = aws.apigateway.ApiKey(
            "partner",
            name=settings.name("partner"),
            description="partner / admin client key",
            enabled=True,
            opts=child,
        )
        aws.apigateway.UsagePlanKey(
            "partner",
            key_id=self.api_key.id,
            key_type="API_KEY",
            usage_plan_id=self.usage_plan.id,
            opts=child,
        )
        self._back_office_plan(partner_rate, partner_burst, partner_quota)

    def _back_office_plan(self, rate: int, burst: int, quota: int) -> None:
        """The usage plan of the back-office key: every token caller shares it (one staff team), with
        the partner plan's throttle and quota, so a token cannot buy more than a key."""
        self.back_office_usage_plan = None
        back_office = self._args.back_office
        if back_office is None:
            return
        settings, child = self._args.settings, self._child
        self.back_office_usage_plan = aws.apigateway.UsagePlan(
            "backoffice",
            name=settings.name("backoffice"),
            description="back office: callers admitted by an ID token (the back-office key)",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=self.rest_api.id, stage=self.stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(rate_limit=rate, burst_limit=burst),
            quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(limit=quota, period="DAY"),
            opts=child,
        )
        aws.apigateway.UsagePlanKey(
            "backoffice",
            key_id=back_office.key_id,
            key_type="API_KEY",
            usage_plan_id=self.back_office_usage_plan.id,
            opts=child,
        )

    # -------------------------------------------------------- custom domain
    def _custom_domain(self) -> None:
        settings = self._args.settings
        self.url = pulumi.Output.format(
            "https://{0}.execute-api.{1}.amazonaws.com/{2}", self.rest_api.id, settings.region, self.stage.stage_name
        )
        self.domain_name = None
        if settings.domain_name and settings.certificate_arn:
            self.domain_name = aws.apigateway.DomainName(
                "api",
                domain_name=f"api.{settings.domain_name}",
                regional_certificate_arn=settings.certificate_arn,
                endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
                security_policy="TLS_1_2",
                opts=self._child,
            )
            aws.apigateway.BasePathMapping(
                "api",
                domain_name=self.domain_name.domain_name,
                rest_api=self.rest_api.id,
                stage_name=self.stage.stage_name,
                opts=self._child,
            )


def preflight_values(origin: pulumi.Input[str], methods: Iterable[str]) -> dict[str, pulumi.Input[str]]:
    """The preflight answer's header values (API Gateway wants them as quoted literals)."""
    return {
        "Access-Control-Allow-Origin": pulumi.Output.format("'{0}'", origin),
        "Access-Control-Allow-Methods": f"'{','.join(methods)}'",
        "Access-Control-Allow-Headers": f"'{','.join(CORS_ALLOW_HEADERS)}'",
        "Access-Control-Max-Age": f"'{CORS_MAX_AGE_SECONDS}'",
    }


def partner_limits(settings: Settings) -> tuple[int, int, int]:
    """Per-key throttle (rps, burst) and daily quota: a tenth of the stage's limits."""
    profile = settings.profile
    rate = max(1, profile.api_rate_limit // 10)
    burst = max(1, profile.api_burst_limit // 10)
    return rate, burst, rate * 3600
