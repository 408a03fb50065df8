"""The edge firewall: a CLOUDFRONT-scoped web ACL in us-east-1 on the distribution, AWS managed rule
groups, a per-IP rate limit on checkout and sign-in, and the Stripe webhook neither rate-limited nor
blocked. Rules are judged by evaluating their statements against request paths, as WAF would."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from infra.settings import PROFILES, SettingsError
from shop.declarations import CHECKOUT_PATH, ROUTES, SIGN_IN_PATH, STRIPE_WEBHOOK_PATH
from tests.infra.harness import Program, Resource, run_program

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
MANAGED = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def _transform(value: str, transformations: list[dict[str, Any]]) -> str:
    for t in sorted(transformations, key=lambda t: t["priority"]):
        kind = t["type"]
        if kind == "URL_DECODE":
            value = unquote(value)
        elif kind == "LOWERCASE":
            value = value.lower()
        elif kind != "NONE":
            raise AssertionError(f"the test does not know the transformation {kind}")
    return value


def matches(statement: dict[str, Any], path: str) -> bool:
    """Whether a (scope-down) statement matches a request for ``path``."""
    if "notStatement" in statement:
        return not matches(statement["notStatement"]["statement"], path)
    if "orStatement" in statement:
        return any(matches(s, path) for s in statement["orStatement"]["statements"])
    if "andStatement" in statement:
        return all(matches(s, path) for s in statement["andStatement"]["statements"])
    if "byteMatchStatement" in statement:
        byte = statement["byteMatchStatement"]
        assert set(byte["fieldToMatch"]) == {"uriPath"}, byte["fieldToMatch"]
        value = _transform(path, byte["textTransformations"])
        wanted, constraint = byte["searchString"], byte["positionalConstraint"]
        return {
            "EXACTLY": value == wanted,
            "STARTS_WITH": value.startswith(wanted),
            "ENDS_WITH": value.endswith(wanted),
            "CONTAINS": wanted in value,
        }[constraint]
    raise AssertionError(f"the test does not know the statement {statement}")


def web_acl(program: Program) -> Resource:
    return program.one(WEB_ACL)


def rules(program: Program) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in web_acl(program)["rules"]}


def managed_rules(program: Program) -> list[dict[str, Any]]:
    return [r for r in rules(program).values() if "managedRuleGroupStatement" in r["statement"]]


def rate_rule(program: Program) -> dict[str, Any]:
    (rule,) = [r for r in rules(program).values() if "rateBasedStatement" in r["statement"]]
    return rule


def reaches(rule: dict[str, Any], path: str) -> bool:
    """Whether a rule applies to a request for ``path`` at all (its scope-down matches)."""
    statement = rule["statement"]
    inner = statement.get("managedRuleGroupStatement") or statement["rateBasedStatement"]
    scope = inner.get("scopeDownStatement")
    return True if scope is None else matches(scope, path)


@pytest.fixture(params=["staging", "prod"])
def guarded(request: pytest.FixtureRequest) -> Program:
    from tests.infra.conftest import program_for

    return program_for(request.param)


# --------------------------------------------------------------------------- where it lives


def test_the_profile_decides_on_in_prod_off_in_dev(program: Program) -> None:
    expected = {"dev": False, "staging": True, "prod": True}[program.stack]
    assert PROFILES[program.stack].waf is expected
    assert len(program.of_type(WEB_ACL)) == (1 if expected else 0)
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    if expected:
        assert distribution["webAclId"] == web_acl(program).outputs["arn"]
    else:
        assert not distribution.get("webAclId")


def test_dev_can_switch_it_on() -> None:
    program = run_program("dev", {"waf": "true"})
    assert program.one("aws:cloudfront/distribution:Distribution")["webAclId"] == web_acl(program).outputs["arn"]


def test_web_acl_is_cloudfront_scoped_in_us_east_1_through_the_cdns_provider(guarded: Program) -> None:
    acl = web_acl(guarded)
    assert acl["scope"] == "CLOUDFRONT"
    provider = guarded.provider_of(acl)
    assert provider is not None, "a CLOUDFRONT web ACL cannot be created in the stack's region"
    assert provider.inputs["region"] == "us-east-1"
    edge = guarded.one("aws:lambda/function:Function", "edge")
    assert guarded.provider_of(edge) is provider, "one explicit us-east-1 provider for the edge"
    assert acl["defaultAction"] == {"allow": {}}
    assert acl["visibilityConfig"]["cloudwatchMetricsEnabled"] is True


def test_rules_have_unique_priorities_and_metrics(guarded: Program) -> None:
    all_rules = list(rules(guarded).values())
    assert len({r["priority"] for r in all_rules}) == len(all_rules)
    metrics = [r["visibilityConfig"]["metricName"] for r in all_rules]
    assert len(set(metrics)) == len(metrics) and all(len(m) <= 128 for m in metrics)


# --------------------------------------------------------------------------- the rules


def test_aws_managed_rule_groups_core_known_bad_inputs_and_ip_reputation(guarded: Program) -> None:
    groups = managed_rules(guarded)
    assert {r["statement"]["managedRuleGroupStatement"]["name"] for r in groups} == MANAGED
    for rule in groups:
        assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        # The groups' own actions (block) apply; nothing is left in count mode.
        assert rule["overrideAction"] == {"none": {}}


@pytest.mark.parametrize("path", ["/api/checkout", "/api/products", "/", "/api/admin/products", "/API/webhooks/stripe"])
def test_managed_groups_inspect_everything_but_the_webhook(guarded: Program, path: str) -> None:
    assert all(reaches(rule, path) for rule in managed_rules(guarded)), path


def test_the_stripe_webhook_is_never_blocked_by_a_managed_group(guarded: Program) -> None:
    assert STRIPE_WEBHOOK_PATH == "/api/webhooks/stripe"
    for rule in managed_rules(guarded):
        assert not reaches(rule, STRIPE_WEBHOOK_PATH), rule["name"]


def test_rate_limit_per_ip_on_checkout_and_sign_in(guarded: Program) -> None:
    rule = rate_rule(guarded)
    rate = rule["statement"]["rateBasedStatement"]
    assert rate["aggregateKeyType"] == "IP"
    assert rate["limit"] == PROFILES[guarded.stack].waf_rate_limit
    assert rate["evaluationWindowSec"] == 300
    assert rule["action"]["block"]["customResponse"]["responseCode"] == 429
    # The checkout path is the one the API serves.
    assert ("POST", CHECKOUT_PATH) in {(r.method, r.path) for r in ROUTES}


@pytest.mark.parametrize(
    ("path", "limited"),
    [
        (CHECKOUT_PATH, True),
        (SIGN_IN_PATH, True),
        ("/api/Checkout", True),  # case and encoding tricks do not escape the limit
        ("/api/%63heckout", True),
        ("/api/products", False),
        ("/api/carts/c1/items/p1", False),
        ("/", False),
        (STRIPE_WEBHOOK_PATH, False),
    ],
)
def test_rate_rule_scope(guarded: Program, path: str, limited: bool) -> None:
    assert reaches(rate_rule(guarded), path) is limited


def test_the_webhook_is_reached_by_no_blocking_rule_at_all(guarded: Program) -> None:
    """Neither rate-limited nor inspected by a managed group: only the default action (allow) applies."""
    assert [r["name"] for r in rules(guarded).values() if reaches(r, STRIPE_WEBHOOK_PATH)] == []


@pytest.mark.parametrize("limit", ["5", "0", "3000000000"])
def test_rate_limit_out_of_wafs_range_is_refused(limit: str) -> None:
    with pytest.raises(SettingsError, match="wafRateLimit"):
        run_program("prod", {"wafRateLimit": limit})


def test_an_unknown_egress_mode_is_refused() -> None:
    with pytest.raises(SettingsError, match="egress"):
        run_program("dev", {"egress": "none"})
