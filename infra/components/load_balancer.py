"""The application load balancer CloudFront forwards ``/api/*`` to.

Public subnets, but reachable from CloudFront only: its security group (owned
by the network component) admits 80/443 from CloudFront's origin-facing
managed prefix list and nothing else. The API function is its only target
(a Lambda target group: the ALB invokes the function, no connection into the
VPC is involved). The function registers itself in the target group (see
:class:`infra.components.api_function.ApiFunction`): the ALB exists before the
function so that CloudFront, and through it the function's CORS origin, can
be declared first. Admin paths are never forwarded: they exist on API Gateway
only, behind the API key.

Listener rules, by priority:

1. ``/api/admin`` and ``/api/admin/*`` → fixed 403 (JSON error body).
2. ``/api/*`` → the function.
3. anything else (default action) → fixed 404 (JSON error body).

With ``certificateArn`` set the rules live on an HTTPS listener and port 80
redirects to it; otherwise they live on the HTTP listener.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.storage import ALB_LOG_PREFIX
from infra.settings import Settings
from shop.declarations import ADMIN_PREFIX, API_PREFIX, HEALTH_PATH, error_json

HEALTH_CHECK_INTERVAL_SECONDS = 5
HEALTH_CHECK_TIMEOUT_SECONDS = 2
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# CloudFront adds this header (with ``originVerifySecret``) to every request it sends the ALB.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
ADMIN_RULE_PRIORITY = 10
API_RULE_PRIORITY = 20


@dataclass
class LoadBalancerArgs:
    settings: Settings
    # The public subnets and the ALB's security group (CloudFront's origin-facing addresses only).
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    # The logs bucket's name, and what must exist before the ALB may log there (its bucket policy).
    logs_bucket: pulumi.Input[str]
    logs_ready: Sequence[pulumi.Resource]


class LoadBalancer(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    # The listener the rules are on (HTTPS when a certificate is configured).
    listener: aws.lb.Listener

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:LoadBalancer", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)

        self._load_balancer(args)
        self._target_group()
        self._listeners()
        self._rules()

        self.register_outputs({"dnsName": self.load_balancer.dns_name, "targetGroupArn": self.target_group.arn})

    # ------------------------------------------------------------ load balancer
    def _load_balancer(self, args: LoadBalancerArgs) -> None:
        settings = self._settings
        self.load_balancer = aws.lb.LoadBalancer(
            "alb",
            name=settings.name("alb"),
            load_balancer_type="application",
            internal=False,
            subnets=list(args.subnet_ids),
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=settings.profile.protect_data,
            idle_timeout=60,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=args.logs_bucket, prefix=ALB_LOG_PREFIX, enabled=True),
            # ALB checks that it may write to the bucket when logging is enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.logs_ready)),
        )

    # ------------------------------------------------------------ target group
    def _target_group(self) -> None:
        settings, child = self._settings, self._child
        self.target_group = aws.lb.TargetGroup(
            "api",
            name=settings.name("api"),
            target_type="lambda",
            lambda_multi_value_headers_enabled=False,
            # Lambda target groups do not health-check unless told to.
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=HEALTH_PATH,
                interval=HEALTH_CHECK_INTERVAL_SECONDS,
                timeout=HEALTH_CHECK_TIMEOUT_SECONDS,
                healthy_threshold=2,
                unhealthy_threshold=2,
                matcher="200",
            ),
            opts=child,
        )

    # ------------------------------------------------------------ listeners
    def _listeners(self) -> None:
        """HTTPS (and an HTTP redirect) with a certificate, HTTP otherwise; unknown paths get a 404."""
        settings, child = self._settings, self._child
        not_found = aws.lb.ListenerDefaultActionArgs(
            type="fixed-response",
            fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                content_type="application/json",
                status_code="404",
                message_body=error_json("not_found", "no such resource"),
            ),
        )
        if settings.certificate_arn:
            self.listener = aws.lb.Listener(
                "https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=settings.certificate_arn,
                default_actions=[not_found],
                opts=child,
            )
            aws.lb.Listener(
                "http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=child,
            )
        else:
            self.listener = aws.lb.Listener(
                "http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[not_found],
                opts=child,
            )

    # ------------------------------------------------------------ rules
    def _rules(self) -> None:
        """Admin paths are refused here; /api/* goes to the function (with the origin secret, if set)."""
        settings, child = self._settings, self._child
        aws.lb.ListenerRule(
            "admin-forbidden",
            listener_arn=self.listener.arn,
            priority=ADMIN_RULE_PRIORITY,
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[ADMIN_PREFIX, f"{ADMIN_PREFIX}/*"])
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="application/json",
                        status_code="403",
                        message_body=error_json("forbidden", "admin operations are not served here"),
                    ),
                )
            ],
            opts=child,
        )
        api_conditions = [
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[f"{API_PREFIX}/*"])
            )
        ]
        if settings.origin_verify_secret is not None:
            # Only our distribution knows the secret: other CloudFront distributions
            # (which the prefix list also admits) get the default 404.
            api_conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=ORIGIN_VERIFY_HEADER, values=[settings.origin_verify_secret]
                    )
                )
            )
        aws.lb.ListenerRule(
            "api",
            listener_arn=self.listener.arn,
            priority=API_RULE_PRIORITY,
            conditions=api_conditions,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)],
            opts=child,
        )
