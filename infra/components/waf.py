"""The AWS WAF web ACL in front of the distribution (profile field ``waf``).

CloudFront-scoped web ACLs live in us-east-1: the component uses the explicit us-east-1 provider
the CDN already creates for its edge function. Rules, in evaluation order:

1. ``rate-checkout-sign-in``: per client IP, at most ``wafRateLimit`` requests in 5 minutes to a
   path starting with one of ``shop.declarations.RATE_LIMITED_PATH_PREFIXES`` (checkout, sign-in);
   card testing and credential stuffing hit exactly these. Over the limit: 429 blocks for that IP.
2. ``ip-reputation``: AWS's IP reputation list (``AWSManagedRulesAmazonIpReputationList``).
3. ``core-rule-set``: ``AWSManagedRulesCommonRuleSet`` (OWASP-style checks, body size limits).
4. ``known-bad-inputs``: ``AWSManagedRulesKnownBadInputsRuleSet`` (Log4Shell and friends).

Every managed group is scoped down to requests whose path is *not* the Stripe webhook
(``shop.declarations.STRIPE_WEBHOOK_PATH``), and the rate rule's paths never cover it: Stripe's
deliveries are neither rate-limited nor blocked (the core rule set would block a webhook body over
8 KB). The webhook verifies Stripe's signature instead. Everything not blocked is allowed.

The three managed groups have no subscription fee; the ACL costs $5 a month plus $1 per rule
(infra/cost prices it), plus $0.60 per million requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from infra.settings import Settings
from shop.declarations import RATE_LIMITED_PATH_PREFIXES, STRIPE_WEBHOOK_PATH

SCOPE = "CLOUDFRONT"
RATE_WINDOW_SECONDS = 300
AWS_VENDOR = "AWS"
# (rule name, managed rule group), in priority order after the rate rule.
MANAGED_RULE_GROUPS: tuple[tuple[str, str], ...] = (
    ("ip-reputation", "AWSManagedRulesAmazonIpReputationList"),
    ("core-rule-set", "AWSManagedRulesCommonRuleSet"),
    ("known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
)
RATE_RULE_NAME = "rate-checkout-sign-in"

if any(STRIPE_WEBHOOK_PATH.startswith(prefix) for prefix in RATE_LIMITED_PATH_PREFIXES):
    raise ValueError("a rate-limited path prefix covers the Stripe webhook path")

_T = TypeVar("_T")
_w = aws.wafv2
_ManagedScope = _w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementArgs
_RateScope = _w.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs


@dataclass
class WafArgs:
    settings: Settings
    # The explicit us-east-1 provider (CLOUDFRONT-scoped web ACLs exist only there).
    provider: aws.Provider


def _empty(block: type[_T]) -> _T:
    """An argument-less block (``uri_path {}``, ``none {}``); the SDK leaves their constructors untyped."""
    return block()


def _visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return _w.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _not_the_webhook() -> aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementArgs:
    """Requests whose path is anything but the Stripe webhook (matched exactly as sent)."""
    webhook = _ManagedScope(
        byte_match_statement=_w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementByteMatchStatementArgs(
            positional_constraint="EXACTLY",
            search_string=STRIPE_WEBHOOK_PATH,
            field_to_match=_w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementByteMatchStatementFieldToMatchArgs(
                uri_path=_empty(
                    _w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs
                )
            ),
            text_transformations=[
                _w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementByteMatchStatementTextTransformationArgs(
                    priority=0, type="NONE"
                )
            ],
        )
    )
    return _ManagedScope(
        not_statement=_w.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementNotStatementArgs(
            statement=webhook
        )
    )


def _path_starts_with(prefix: str) -> aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs:
    """The (URL-decoded, lower-cased) path starts with ``prefix``."""
    transformations = [
        _w.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs(
            priority=i, type=kind
        )
        for i, kind in enumerate(("URL_DECODE", "LOWERCASE"))
    ]
    return _RateScope(
        byte_match_statement=_w.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs(
            positional_constraint="STARTS_WITH",
            search_string=prefix.lower(),
            field_to_match=_w.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs(
                uri_path=_empty(
                    _w.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs
                )
            ),
            text_transformations=transformations,
        )
    )


def rate_scope() -> aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs:
    """Checkout and sign-in paths (one statement, or an OR of them)."""
    statements = [_path_starts_with(p) for p in RATE_LIMITED_PATH_PREFIXES]
    if len(statements) == 1:
        return statements[0]
    return _RateScope(
        or_statement=_w.WebAclRuleStatementRateBasedStatementScopeDownStatementOrStatementArgs(statements=statements)
    )


class Waf(pulumi.ComponentResource):
    web_acl: aws.wafv2.WebAcl

    def __init__(self, name: str, args: WafArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:Waf", name, None, opts)
        self._settings = args.settings
        self.web_acl = aws.wafv2.WebAcl(
            "cdn",
            name=args.settings.name("cdn"),
            description="edge firewall for the storefront and API (CloudFront)",
            scope=SCOPE,
            default_action=_w.WebAclDefaultActionArgs(allow=_w.WebAclDefaultActionAllowArgs()),
            rules=[self._rate_rule(), *self._managed_rules()],
            visibility_config=_w.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=args.settings.name("cdn-waf"),
                sampled_requests_enabled=True,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"webAclArn": self.web_acl.arn})

    def _rate_rule(self) -> aws.wafv2.WebAclRuleArgs:
        return _w.WebAclRuleArgs(
            name=RATE_RULE_NAME,
            priority=0,
            action=_w.WebAclRuleActionArgs(
                block=_w.WebAclRuleActionBlockArgs(
                    custom_response=_w.WebAclRuleActionBlockCustomResponseArgs(response_code=429)
                )
            ),
            statement=_w.WebAclRuleStatementArgs(
                rate_based_statement=_w.WebAclRuleStatementRateBasedStatementArgs(
                    limit=self._settings.profile.waf_rate_limit,
                    aggregate_key_type="IP",
                    evaluation_window_sec=RATE_WINDOW_SECONDS,
                    scope_down_statement=rate_scope(),
                )
            ),
            visibility_config=_visibility(RATE_RULE_NAME),
        )

    def _managed_rules(self) -> list[aws.wafv2.WebAclRuleArgs]:
        return [
            _w.WebAclRuleArgs(
                name=rule,
                priority=i + 1,
                override_action=_w.WebAclRuleOverrideActionArgs(none=_empty(_w.WebAclRuleOverrideActionNoneArgs)),
                statement=_w.WebAclRuleStatementArgs(
                    managed_rule_group_statement=_w.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name=AWS_VENDOR, name=group, scope_down_statement=_not_the_webhook()
                    )
                ),
                visibility_config=_visibility(rule),
            )
            for i, (rule, group) in enumerate(MANAGED_RULE_GROUPS)
        ]
