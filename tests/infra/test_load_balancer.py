"""The ALB: internal, reachable only through CloudFront's VPC origin, Lambda target with health
checks kept out of the traces, API paths only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.components.load_balancer import HEALTH_CHECK_INTERVAL_SECONDS, HEALTH_CHECK_TIMEOUT_SECONDS
from shop.declarations import HEALTH_PATH, ID_TOKEN_HEADER, ROUTES
from tests.infra.harness import ACCOUNT, Program, Resource, run_program

CERT = f"arn:aws:acm:us-west-2:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
VPC_ORIGIN_SERVICE_GROUP = "sg-0cf0v0c0r1g1n5000"  # the harness's answer for CloudFront-VPCOrigins-Service-SG


def alb(program: Program) -> Resource:
    return program.one("aws:lb/loadBalancer:LoadBalancer")


def target_group(program: Program) -> Resource:
    return program.one("aws:lb/targetGroup:TargetGroup")


def rules_on(program: Program, listener: Resource) -> list[Resource]:
    return [
        r
        for r in program.of_type("aws:lb/listenerRule:ListenerRule")
        if r.inputs["listenerArn"] == listener.outputs["arn"]
    ]


def _pattern(value: str) -> re.Pattern[str]:
    # ALB path patterns: case-sensitive, * matches any characters (slashes too), ? one character.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + r"\Z")


def _matches(condition: dict[str, Any], path: str, headers: dict[str, str]) -> bool:
    if "pathPattern" in condition:
        return any(_pattern(p).match(path) for p in condition["pathPattern"]["values"])
    if "httpHeader" in condition:
        # Header names are case-insensitive; values are matched case-insensitively too, with wildcards.
        wanted = condition["httpHeader"]
        value = {k.lower(): v for k, v in headers.items()}.get(wanted["httpHeaderName"].lower())
        return value is not None and any(
            re.compile(_pattern(v).pattern, re.IGNORECASE).match(value) for v in wanted["values"]
        )
    raise AssertionError(f"the test does not know the condition {condition}")


def route(program: Program, listener: Resource, path: str, headers: dict[str, str] | None = None) -> tuple[str, Any]:
    """What the listener does with a request, evaluating rules as the ALB does (all conditions must match)."""
    for rule in sorted(rules_on(program, listener), key=lambda r: r.inputs["priority"]):
        if all(_matches(c, path, headers or {}) for c in rule.inputs["conditions"]):
            (action,) = rule.inputs["actions"]
            break
    else:
        (action,) = listener.inputs["defaultActions"]
    if action["type"] == "forward":
        return "forward", action["targetGroupArn"]
    if action["type"] == "fixed-response":
        return "fixed", int(action["fixedResponse"]["statusCode"])
    return action["type"], action


# --------------------------------------------------------------------------- load balancer


def test_alb_is_internal_in_the_private_subnets_with_no_public_address(program: Program) -> None:
    lb = alb(program).inputs
    assert lb["loadBalancerType"] == "application"
    assert lb["internal"] is True
    assert lb["subnets"] == program.outputs["privateSubnetIds"]
    assert lb["securityGroups"] == [program.outputs["albSecurityGroupId"]]


def test_cloudfront_reaches_the_alb_through_a_vpc_origin_of_this_alb(program: Program) -> None:
    origin = program.one("aws:cloudfront/vpcOrigin:VpcOrigin")
    config = origin.inputs["vpcOriginEndpointConfig"]
    assert config["arn"] == alb(program).outputs["arn"]
    assert config["originProtocolPolicy"] == "http-only"  # no certificate in the committed stacks
    assert config["originSslProtocols"] == {"items": ["TLSv1.2"], "quantity": 1}
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    (api,) = [o for o in distribution.inputs["origins"] if o["originId"] == "alb"]
    assert api["vpcOriginConfig"]["vpcOriginId"] == origin.id
    assert not api.get("customOriginConfig"), "the API origin must not also be reachable as a public custom origin"
    # CloudFront's delete waits for its ENIs and group to go (they hold the private subnets).
    assert origin.inputs["timeouts"]["delete"]


def test_only_cloudfronts_vpc_origin_service_can_reach_the_listener(program: Program) -> None:
    sg = program.outputs["albSecurityGroupId"]
    ingress = [
        r
        for r in program.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == sg
    ]
    assert len(ingress) == 1, "the ALB admits exactly one peer"
    (rule,) = ingress
    assert rule.inputs["referencedSecurityGroupId"] == VPC_ORIGIN_SERVICE_GROUP
    assert not rule.inputs.get("cidrIpv4") and not rule.inputs.get("cidrIpv6") and not rule.inputs.get("prefixListId")
    # ... and the port it admits is the listener CloudFront talks to.
    (listener,) = [x for x in program.of_type("aws:lb/listener:Listener") if x.inputs.get("protocol") == "HTTP"]
    assert rule.inputs["fromPort"] == rule.inputs["toPort"] == listener.inputs["port"]
    # The lookup of CloudFront's group waits for the VPC origin that creates it.
    origin = program.one("aws:cloudfront/vpcOrigin:VpcOrigin")
    assert origin.urn in rule.dependencies
    assert not program.by_id(sg).inputs.get("ingress")


def test_no_load_balancer_or_instance_besides_nat_holds_a_public_ipv4(program: Program) -> None:
    assert all(lb.inputs["internal"] for lb in program.of_type("aws:lb/loadBalancer:LoadBalancer"))
    public = [i for i in program.of_type("aws:ec2/instance:Instance") if i.inputs.get("associatePublicIpAddress")]
    assert [i.name for i in public] == (["nat"] if program.stack == "dev" else [])
    eips = program.of_type("aws:ec2/eip:Eip")
    nat_allocations = {n.inputs["allocationId"] for n in program.of_type("aws:ec2/natGateway:NatGateway")}
    assert {e.outputs["allocationId"] for e in eips} == nat_allocations


def test_invalid_headers_dropped_and_desync_mitigated(program: Program) -> None:
    lb = alb(program).inputs
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["desyncMitigationMode"] == "strictest"


def test_deletion_protection_in_prod_only(program: Program) -> None:
    assert alb(program).inputs["enableDeletionProtection"] is (program.stack == "prod")


def test_access_logs_go_to_the_logs_bucket_after_its_policy_exists(program: Program) -> None:
    lb = alb(program)
    logs = program.one("aws:s3/bucket:Bucket", "logs")
    assert lb.inputs["accessLogs"] == {"bucket": logs.outputs["bucket"], "prefix": "alb", "enabled": True}
    policy = program.one("aws:s3/bucketPolicy:BucketPolicy", "logs")
    assert policy.urn in lb.dependencies
    assert program.outputs["albDnsName"] == lb.outputs["dnsName"]


# --------------------------------------------------------------------------- lambda target


def test_target_group_is_the_api_function_with_explicit_health_checks(program: Program) -> None:
    tg = target_group(program).inputs
    assert tg["targetType"] == "lambda"
    health = tg["healthCheck"]
    assert health["enabled"] is True  # Lambda targets are not health-checked by default
    assert health["path"] == HEALTH_PATH == "/api/health"
    assert health["interval"] == HEALTH_CHECK_INTERVAL_SECONDS == 60
    assert health["timeout"] == HEALTH_CHECK_TIMEOUT_SECONDS == 5
    assert health["timeout"] < health["interval"]
    assert health["matcher"] == "200"
    assert ("GET", HEALTH_PATH) in {(r.method, r.path) for r in ROUTES}


def test_health_checks_are_never_traced(program: Program) -> None:
    """A sampling rule ahead of the default one records nothing for GET on the health path."""
    (rule,) = program.of_type("aws:xray/samplingRule:SamplingRule")
    r = rule.inputs
    assert r["urlPath"] == HEALTH_PATH and r["httpMethod"] == "GET"
    assert r["reservoirSize"] == 0 and r["fixedRate"] == 0
    assert r["priority"] < 10000  # the default rule's priority
    assert len(r["ruleName"]) <= 32  # X-Ray's limit
    assert r["serviceName"] == r["serviceType"] == r["resourceArn"] == r["host"] == "*"


def test_elb_may_invoke_the_function_for_this_target_group_only(program: Program) -> None:
    (permission,) = [
        p
        for p in program.of_type("aws:lambda/permission:Permission")
        if p.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
    ]
    fn = program.one("aws:lambda/function:Function", "api")
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == fn.inputs["name"]
    assert permission.inputs["sourceArn"] == target_group(program).outputs["arn"]


def test_attachment_registers_the_function_after_the_permission(program: Program) -> None:
    attachment = program.one("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    fn = program.one("aws:lambda/function:Function", "api")
    assert attachment.inputs["targetGroupArn"] == target_group(program).outputs["arn"]
    assert attachment.inputs["targetId"] == fn.outputs["arn"]
    (permission,) = [
        p
        for p in program.of_type("aws:lambda/permission:Permission")
        if p.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
    ]
    assert permission.urn in attachment.dependencies


# --------------------------------------------------------------------------- listener and rules


def test_plain_http_listener_without_a_certificate(program: Program) -> None:
    (listener,) = program.of_type("aws:lb/listener:Listener")
    assert (listener.inputs["protocol"], listener.inputs["port"]) == ("HTTP", 80)
    assert listener.inputs["loadBalancerArn"] == alb(program).outputs["arn"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/health", "forward"),
        ("/api/products", "forward"),
        ("/api/products/p-1", "forward"),
        ("/api/carts/c-1/items/p-1", "forward"),
        ("/api/checkout", "forward"),
        ("/api/admin", 401),
        ("/api/admin/products", 401),
        ("/api/admin/products/p-1/stock", 401),
        ("/", 404),
        ("/index.html", 404),
        ("/apix", 404),
        ("/API/products", 404),
    ],
)
def test_only_api_paths_reach_the_function_and_admin_not_without_a_token(
    program: Program, path: str, expected: Any
) -> None:
    (listener,) = program.of_type("aws:lb/listener:Listener")
    action, target = route(program, listener, path)
    if expected == "forward":
        assert (action, target) == ("forward", target_group(program).outputs["arn"])
    else:
        assert (action, target) == ("fixed", expected)


def test_fixed_responses_use_the_platform_error_shape(program: Program) -> None:
    (listener,) = program.of_type("aws:lb/listener:Listener")
    bodies = [
        a["fixedResponse"] for r in rules_on(program, listener) for a in r.inputs["actions"] if "fixedResponse" in a
    ]
    bodies += [a["fixedResponse"] for a in listener.inputs["defaultActions"]]
    assert len(bodies) == 2
    assert {fixed["statusCode"] for fixed in bodies} == {"401", "404"}
    for fixed in bodies:
        assert fixed["contentType"] == "application/json"
        error = json.loads(fixed["messageBody"])["error"]
        assert set(error) == {"code", "message", "details"}
        assert len(fixed["messageBody"]) <= 1024  # ALB's limit for fixed-response bodies


def test_rule_priorities_are_unique(program: Program) -> None:
    priorities = [r.inputs["priority"] for r in program.of_type("aws:lb/listenerRule:ListenerRule")]
    assert len(priorities) == len(set(priorities))


def test_https_with_redirect_when_a_certificate_is_configured() -> None:
    program = run_program("staging", {"certificateArn": CERT, "domainName": "shop.example.com"})
    listeners = {x.inputs["protocol"]: x for x in program.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {"HTTP", "HTTPS"}
    https, http = listeners["HTTPS"], listeners["HTTP"]
    assert (https.inputs["port"], https.inputs["certificateArn"]) == (443, CERT)
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    (redirect,) = http.inputs["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    # The rules sit on the HTTPS listener; plain HTTP only redirects.
    assert len(rules_on(program, https)) == 3 and not rules_on(program, http)
    assert route(program, https, "/api/products") == ("forward", target_group(program).outputs["arn"])
    assert route(program, https, "/api/admin/products") == ("fixed", 401)


SECRET = "0123456789abcdef0123456789abcdef"


def test_without_an_origin_secret_the_api_rule_matches_on_path_only(program: Program) -> None:
    (rule,) = [r for r in program.of_type("aws:lb/listenerRule:ListenerRule") if r.name == "api"]
    assert [set(c) for c in rule.inputs["conditions"]] == [{"pathPattern"}]
    assert not origin_headers(program)


def origin_headers(program: Program) -> list[dict[str, str]]:
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    (alb,) = [o for o in distribution.inputs["origins"] if o["originId"] == "alb"]
    headers: list[dict[str, str]] = alb.get("customHeaders") or []
    return headers


def test_with_an_origin_secret_only_requests_carrying_it_reach_the_function() -> None:
    program = run_program("prod", {"originVerifySecret": SECRET})
    (listener,) = program.of_type("aws:lb/listener:Listener")
    forward = ("forward", target_group(program).outputs["arn"])
    # What our distribution sends ...
    (header,) = origin_headers(program)
    assert header == {"name": "X-Origin-Verify", "value": SECRET}
    assert route(program, listener, "/api/products", {header["name"]: header["value"]}) == forward
    # ... and what another distribution of the account, pointed at the VPC origin, can send.
    assert route(program, listener, "/api/products") == ("fixed", 404)
    assert route(program, listener, "/api/products", {"X-Origin-Verify": "guess"}) == ("fixed", 404)
    assert route(program, listener, "/api/admin/products", {header["name"]: header["value"]}) == ("fixed", 401)
    token = {ID_TOKEN_HEADER: "header.payload.sig"}
    assert route(program, listener, "/api/admin/products", {header["name"]: header["value"], **token}) == forward
    # A token does not replace the origin secret.
    assert route(program, listener, "/api/admin/products", token) == ("fixed", 401)


@pytest.mark.parametrize(("value", "expected"), [("header.payload.sig", "forward"), ("x", "forward"), ("", 401)])
def test_admin_paths_reach_the_function_only_with_a_token(program: Program, value: str, expected: Any) -> None:
    (listener,) = program.of_type("aws:lb/listener:Listener")
    action = route(program, listener, "/api/admin/orders", {ID_TOKEN_HEADER: value})
    want = ("forward", target_group(program).outputs["arn"]) if expected == "forward" else ("fixed", expected)
    assert action == want


def test_rules_stay_within_albs_five_match_evaluations() -> None:
    """ALB counts every value of every condition of a rule; more than five is refused at deploy time
    (Elastic Load Balancing, "Listener rules": "up to five match evaluations per rule")."""
    program = run_program("prod", {"originVerifySecret": SECRET})
    for rule in program.of_type("aws:lb/listenerRule:ListenerRule"):
        evaluations = sum(len(next(iter(c.values()))["values"]) for c in rule.inputs["conditions"])
        assert evaluations <= 5, rule.name


def test_the_old_admin_rule_is_updated_in_place_not_replaced(program: Program) -> None:
    """Same priority as the rule that answered 403 before, aliased to it: a replacement would create
    the new rule while the old one still holds the priority (PriorityInUse)."""
    rule = program.one("aws:lb/listenerRule:ListenerRule", "admin-unauthorized")
    assert rule.inputs["priority"] == 10
    assert rule.options["aliasNames"] == ["admin-forbidden"]


@pytest.mark.parametrize("secret", ["too-short", "x" * 129, "has spaces in it and is long enough!!"])
def test_a_weak_or_malformed_origin_secret_is_refused(secret: str) -> None:
    from infra.settings import SettingsError

    with pytest.raises(SettingsError, match="originVerifySecret must be 32 to 128"):
        run_program("dev", {"originVerifySecret": secret})
