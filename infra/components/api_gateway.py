"""API Gateway (REST) in front of the API function, for partners and admin tools.

- Resources and methods for exactly ``shop.declarations.ROUTES`` (Lambda proxy
  integration); ``access="api_key"`` routes require the partner API key.
- Write endpoints get a request validator and a JSON-schema (draft-04) model,
  so a malformed body is answered 400 by API Gateway before the function runs.
  The schema comes from the app: its exported OpenAPI document
  (``src/shop/api/openapi.json``) if present, else the pydantic model
  ``shop.api.models.<body>``; see :func:`body_schema`.
- Deployment and Stage are separate; the deployment's ``triggers`` carry a
  fingerprint of routes, methods, models, integrations and CORS, so any change
  to them creates a new deployment (see :func:`deployment_fingerprint`).
- Stage: throttling from the profile, execution metrics, JSON access logs to a
  30-day log group, X-Ray.
- ``aws.apigateway.Account`` (the CloudWatch role API Gateway logs with) is a
  per-account, per-region setting: this stack sets it for its region, and the
  last stack to set it wins. Any role with the same permissions works.
- Usage plan (throttle + daily quota) and one API key for partner clients.
- CORS: OPTIONS (mock integration) on every public resource; the allowed origin
  is ``*`` outside prod and the storefront's own origin in prod.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.iam import service_trust_policy
from infra.settings import Settings
from shop import declarations
from shop.declarations import (
    API_KEY_HEADER,
    IDEMPOTENCY_HEADER,
    ORDER_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    Route,
    error_json,
)

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DOCUMENT = ROOT / "src" / "shop" / "api" / "openapi.json"
MODELS_MODULE = "shop.api.models"
DRAFT_04 = "http://json-schema.org/draft-04/schema#"
STAGE_NAME = "v1"
ACCESS_LOG_RETENTION_DAYS = 30
CORS_HEADERS = ("Content-Type", REQUEST_ID_HEADER, IDEMPOTENCY_HEADER, ORDER_TOKEN_HEADER, API_KEY_HEADER)
CORS_MAX_AGE_SECONDS = 600

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

# What API Gateway answers when a body fails its model: the platform's error shape.
BAD_REQUEST_BODY_TEMPLATE = error_json("validation_error", "$context.error.message", {"errors": []})

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


def body_schema(name: str) -> tuple[dict[str, Any], str]:
    """The draft-04 schema of request body ``name`` and where it came from.

    Source order: the app's OpenAPI document, the app's pydantic model, and,
    while neither exists, a schema that only requires a JSON object.
    """
    if OPENAPI_DOCUMENT.exists():
        document = json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))
        schemas = (document.get("components") or {}).get("schemas") or {}
        if name in schemas:
            return {"$schema": DRAFT_04, **to_draft4(schemas[name], schemas)}, "openapi"
    try:
        module = importlib.import_module(MODELS_MODULE)
    except ModuleNotFoundError as error:
        if error.name is None or not MODELS_MODULE.startswith(error.name):
            raise
        module = None
    model = getattr(module, name, None) if module is not None else None
    if model is not None and hasattr(model, "model_json_schema"):
        raw = model.model_json_schema()
        return {"$schema": DRAFT_04, **to_draft4(raw, raw.get("$defs") or {})}, "pydantic"
    return {"$schema": DRAFT_04, "type": "object"}, "fallback"


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


def cors_methods(routes: Iterable[Route]) -> dict[str, list[str]]:
    """Public paths → the methods browsers may use there (OPTIONS included)."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if route.access == "public":
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
    key: aws.kms.Key
    function: aws.lambda_.Function
    # The origin browsers may call from ("*" outside prod; the storefront's in prod).
    cors_origin: pulumi.Input[str]
    # Read at construction time so tests can change the routes.
    routes: tuple[Route, ...] = field(default_factory=lambda: declarations.ROUTES)


class ApiGateway(pulumi.ComponentResource):
    rest_api: aws.apigateway.RestApi
    deployment: aws.apigateway.Deployment
    stage: aws.apigateway.Stage
    usage_plan: aws.apigateway.UsagePlan
    api_key: aws.apigateway.ApiKey
    access_log_group: aws.cloudwatch.LogGroup
    url: pulumi.Output[str]
    fingerprint: pulumi.Output[str]
    model_sources: dict[str, str]

    def __init__(self, name: str, args: ApiGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:ApiGateway", name, None, opts)
        settings, profile, routes = args.settings, args.settings.profile, args.routes
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()

        self.rest_api = aws.apigateway.RestApi(
            "api",
            name=settings.name("api"),
            description="ecommerce API for partners and admin tools",
            api_key_source="HEADER",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            opts=child,
        )
        rest_api_id = self.rest_api.id

        # Validation failures answer in the platform's error format (a gateway
        # response, like the methods, takes effect with the next deployment).
        bad_request_body = aws.apigateway.Response(
            "bad-request-body",
            rest_api_id=rest_api_id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={"application/json": BAD_REQUEST_BODY_TEMPLATE},
            opts=child,
        )

        # -------------------------------------------------------- resources
        resources: dict[str, aws.apigateway.Resource] = {}
        for path in resource_paths(routes):
            parent_path, _, part = path.rpartition("/")
            parent_id = resources[parent_path].id if parent_path else self.rest_api.root_resource_id
            resources[path] = aws.apigateway.Resource(
                logical(path), rest_api=rest_api_id, parent_id=parent_id, path_part=part, opts=child
            )

        # -------------------------------------------------------- models
        validator = aws.apigateway.RequestValidator(
            "body",
            rest_api=rest_api_id,
            name="body",
            validate_request_body=True,
            validate_request_parameters=False,
            opts=child,
        )
        schemas: dict[str, dict[str, Any]] = {}
        self.model_sources = {}
        models: dict[str, aws.apigateway.Model] = {}
        for body in sorted({r.body for r in routes if r.body}):
            schema, source = body_schema(body)
            schemas[body], self.model_sources[body] = schema, source
            models[body] = aws.apigateway.Model(
                body,
                rest_api=rest_api_id,
                name=body,
                content_type="application/json",
                schema=json.dumps(schema, sort_keys=True),
                opts=child,
            )

        # -------------------------------------------------------- methods
        snapshot: list[pulumi.Resource] = [*models.values(), validator, bad_request_body]
        for route in routes:
            resource = resources[route.path]
            method = aws.apigateway.Method(
                f"{route.method}-{logical(route.path)}",
                rest_api=rest_api_id,
                resource_id=resource.id,
                http_method=route.method,
                authorization="NONE",
                api_key_required=route.access == "api_key",
                operation_name=route.operation,
                request_validator_id=validator.id if route.body else None,
                request_models={"application/json": models[route.body].name} if route.body else None,
                opts=child,
            )
            integration = aws.apigateway.Integration(
                f"{route.method}-{logical(route.path)}",
                rest_api=rest_api_id,
                resource_id=resource.id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=args.function.invoke_arn,
                opts=child,
            )
            snapshot += [method, integration]

        allow_origin = pulumi.Output.format("'{0}'", args.cors_origin)
        cors = cors_methods(routes)
        for path, allowed in cors.items():
            resource = resources[path]
            frag = logical(path)
            header_names = ("Origin", "Methods", "Headers", "Max-Age")
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
                response_parameters={f"method.response.header.Access-Control-Allow-{h}": True for h in header_names},
                opts=child,
            )
            integration_response = aws.apigateway.IntegrationResponse(
                f"OPTIONS-{frag}",
                rest_api=rest_api_id,
                resource_id=resource.id,
                http_method=options.http_method,
                status_code=method_response.status_code,
                response_parameters={
                    "method.response.header.Access-Control-Allow-Origin": allow_origin,
                    "method.response.header.Access-Control-Allow-Methods": f"'{','.join(allowed)}'",
                    "method.response.header.Access-Control-Allow-Headers": f"'{','.join(CORS_HEADERS)}'",
                    "method.response.header.Access-Control-Allow-Max-Age": f"'{CORS_MAX_AGE_SECONDS}'",
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[mock]),
            )
            snapshot += [options, mock, method_response, integration_response]

        # -------------------------------------------------------- deployment
        self.fingerprint = pulumi.Output.from_input(args.cors_origin).apply(
            lambda origin: deployment_fingerprint(
                routes,
                schemas,
                {"type": "AWS_PROXY", "function": settings.name("api"), "badRequestBody": BAD_REQUEST_BODY_TEMPLATE},
                {"origin": origin, "methods": cors, "headers": CORS_HEADERS, "maxAge": CORS_MAX_AGE_SECONDS},
            )
        )
        self.deployment = aws.apigateway.Deployment(
            "api",
            rest_api=rest_api_id,
            description="ecommerce API",
            triggers={"redeployment": self.fingerprint},
            opts=pulumi.ResourceOptions(parent=self, depends_on=snapshot),
        )

        # -------------------------------------------------------- logging role (account-wide)
        logging_role = aws.iam.Role(
            "apigateway-logs",
            name=settings.name("apigateway-logs"),
            assume_role_policy=service_trust_policy(
                "apigateway.amazonaws.com", condition={"StringEquals": {"aws:SourceAccount": identity.account_id}}
            ),
            opts=child,
        )
        logging_policy = aws.iam.RolePolicy(
            "apigateway-logs",
            role=logging_role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # The account setting serves every API in this region, so
                            # the role covers this region's log groups, not just ours.
                            "Sid": "ApiGatewayLogsInThisRegion",
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogGroup",
                                "logs:CreateLogStream",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                                "logs:FilterLogEvents",
                                "logs:GetLogEvents",
                                "logs:PutLogEvents",
                            ],
                            "Resource": pulumi.Output.format(
                                "arn:{0}:logs:{1}:{2}:*", partition.partition, settings.region, identity.account_id
                            ),
                        }
                    ],
                }
            ),
            opts=child,
        )
        account = aws.apigateway.Account(
            "account",
            cloudwatch_role_arn=logging_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logging_policy]),
        )

        # -------------------------------------------------------- stage
        self.access_log_group = aws.cloudwatch.LogGroup(
            "api-access",
            name=f"/aws/apigateway/{settings.name('api-access')}",
            retention_in_days=ACCESS_LOG_RETENTION_DAYS,
            kms_key_id=args.key.arn,
            opts=child,
        )
        self.stage = aws.apigateway.Stage(
            "api",
            rest_api=rest_api_id,
            deployment=self.deployment.id,
            stage_name=STAGE_NAME,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        aws.apigateway.MethodSettings(
            "all",
            rest_api=rest_api_id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=profile.api_rate_limit,
                throttling_burst_limit=profile.api_burst_limit,
            ),
            opts=child,
        )

        # -------------------------------------------------------- invoke permission
        aws.lambda_.Permission(
            "apigateway-invoke",
            action="lambda:InvokeFunction",
            function=args.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.format("{0}/{1}/*", self.rest_api.execution_arn, STAGE_NAME),
            opts=child,
        )

        # -------------------------------------------------------- partners
        partner_rate, partner_burst, partner_quota = partner_limits(settings)
        self.usage_plan = aws.apigateway.UsagePlan(
            "partners",
            name=settings.name("partners"),
            description="partner clients (x-api-key)",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=rest_api_id, stage=self.stage.stage_name)],
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

        # -------------------------------------------------------- custom domain
        self.url = pulumi.Output.format(
            "https://{0}.execute-api.{1}.amazonaws.com/{2}", rest_api_id, settings.region, self.stage.stage_name
        )
        self.domain_name: aws.apigateway.DomainName | None = None
        if settings.domain_name and settings.certificate_arn:
            self.domain_name = aws.apigateway.DomainName(
                "api",
                domain_name=f"api.{settings.domain_name}",
                regional_certificate_arn=settings.certificate_arn,
                endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
                security_policy="TLS_1_2",
                opts=child,
            )
            aws.apigateway.BasePathMapping(
                "api",
                domain_name=self.domain_name.domain_name,
                rest_api=rest_api_id,
                stage_name=self.stage.stage_name,
                opts=child,
            )

        self.register_outputs({"url": self.url, "stage": self.stage.stage_name, "apiKeyId": self.api_key.id})


def partner_limits(settings: Settings) -> tuple[int, int, int]:
    """Per-key throttle (rps, burst) and daily quota: a tenth of the stage's limits."""
    profile = settings.profile
    rate = max(1, profile.api_rate_limit // 10)
    burst = max(1, profile.api_burst_limit // 10)
    return rate, burst, rate * 3600
