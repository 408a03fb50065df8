"""The application load balancer CloudFront forwards ``/api/*`` to, and CloudFront's VPC origin for it.

Internal, in the private subnets: no public address, no route from the internet.
CloudFront reaches it through a CloudFront VPC origin (declared here): CloudFront
places its own ENIs in the ALB's subnets, in a security group it creates and
names ``CloudFront-VPCOrigins-Service-SG``; the ALB's security group (owned by
the network component) admits the listener port from that group and nothing
else. Only distributions of this account can use a VPC origin at all. The API function is its only target
(a Lambda target group: the ALB invokes the function, no connection into the
VPC is involved). The function registers itself in the target group (see
:class:`infra.components.api_function.ApiFunction`): the ALB exists before the
function so that CloudFront, and through it the function's CORS origin, can
be declared first. Admin paths are forwarded only with an ID token (the function
verifies it and its groups; the API key is honoured on API Gateway only).

Listener rules, by priority:

1. ``/api/admin`` and ``/api/admin/*`` with a non-empty ``X-Id-Token`` → the function.
2. ``/api/admin`` and ``/api/admin/*`` otherwise → fixed 401 (JSON error body).
3. ``/api/*`` → the function.
4. anything else (default action) → fixed 404 (JSON error body).

With ``originVerifySecret`` set, every forwarding rule also requires CloudFront's secret header.

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
from shop.declarations import ADMIN_PREFIX, API_PREFIX, HEALTH_PATH, ID_TOKEN_HEADER, error_json

# One check a minute per ALB node (3 nodes: ~131,000 invocations a month instead of
# ~1.58 M at 5 s); an unhealthy function shows after two failed checks, about 2 minutes.
HEALTH_CHECK_INTERVAL_SECONDS = 60
HEALTH_CHECK_TIMEOUT_SECONDS = 5
# The security group CloudFront creates in the VPC for its VPC-origin ENIs.
VPC_ORIGIN_SERVICE_SECURITY_GROUP = "CloudFront-VPCOrigins-Service-SG"
# CloudFront deletes its ENIs and security group before the VPC origin's deletion completes.
VPC_ORIGIN_DELETE_TIMEOUT = "30m"
# X-Ray sampling rule priority for the health checks (lower wins; the default rule is 10000).
HEALTH_SAMPLING_PRIORITY = 1
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# CloudFront adds this header (with ``originVerifySecret``) to every request it sends the ALB.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
ADMIN_TOKEN_RULE_PRIORITY = 5
ADMIN_RULE_PRIORITY = 10
API_RULE_PRIORITY = 20


@dataclass
class LoadBalancerArgs:
    settings: Settings
    # The private subnets, the VPC and the ALB's security group (CloudFront's VPC origin only).
    subnet_ids: Sequence[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    # The one port CloudFront may reach the listener on (443 with a certificate, 80 otherwise).
    listener_port: int
    # The logs bucket's name, and what must exist before the ALB may log there (its bucket policy).
    logs_bucket: pulumi.Input[str]
    logs_ready: Sequence[pulumi.Resource]


class LoadBalancer(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    # The listener the rules are on (HTTPS when a certificate is configured).
    listener: aws.lb.Listener
    # CloudFront's way into the VPC, and the rule that lets its ENIs reach the listener.
    vpc_origin: aws.cloudfront.VpcOrigin
    vpc_origin_ingress: aws.vpc.SecurityGroupIngressRule
    health_sampling_rule: aws.xray.SamplingRule

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:LoadBalancer", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)

        self._load_balancer(args)
        self._target_group()
        self._listeners()
        self._rules()
        self._vpc_origin(args)
        self._health_sampling()

        self.register_outputs(
            {
                "dnsName": self.load_balancer.dns_name,
                "targetGroupArn": self.target_group.arn,
                "vpcOriginId": self.vpc_origin.id,
            }
        )

    # ------------------------------------------------------------ load balancer
    def _load_balancer(self, args: LoadBalancerArgs) -> None:
        settings = self._settings
        self.load_balancer = aws.lb.LoadBalancer(
            "alb",
            name=settings.name("alb"),
            load_balancer_type="application",
            internal=True,
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

    # ------------------------------------------------------------ VPC origin
    def _vpc_origin(self, args: LoadBalancerArgs) -> None:
        """CloudFront's VPC origin for the ALB, and the ALB's one inbound rule: from CloudFront's
        service-managed security group (it exists once the VPC origin does), listener port only."""
        settings = self._settings
        https = args.listener_port == 443
        self.vpc_origin = aws.cloudfront.VpcOrigin(
            "alb",
            vpc_origin_endpoint_config=aws.cloudfront.VpcOriginVpcOriginEndpointConfigArgs(
                name=settings.name("alb"),
                arn=self.load_balancer.arn,
                http_port=80,
                https_port=443,
                origin_protocol_policy="https-only" if https else "http-only",
                origin_ssl_protocols=aws.cloudfront.VpcOriginVpcOriginEndpointConfigOriginSslProtocolsArgs(
                    items=["TLSv1.2"], quantity=1
                ),
            ),
            timeouts=aws.cloudfront.VpcOriginTimeoutsArgs(delete=VPC_ORIGIN_DELETE_TIMEOUT),
            # The listener must exist before CloudFront checks the origin.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.listener]),
        )
        service_group = aws.ec2.get_security_group_output(
            vpc_id=args.vpc_id,
            name=VPC_ORIGIN_SERVICE_SECURITY_GROUP,
            opts=pulumi.InvokeOutputOptions(depends_on=[self.vpc_origin]),
        )
        self.vpc_origin_ingress = aws.vpc.SecurityGroupIngressRule(
            "alb-from-vpc-origin",
            security_group_id=args.security_group_id,
            ip_protocol="tcp",
            from_port=args.listener_port,
            to_port=args.listener_port,
            referenced_security_group_id=service_group.id,
            description="CloudFront VPC-origin ENIs to the listener",
            opts=self._child,
        )

    # ------------------------------------------------------------ tracing
    def _health_sampling(self) -> None:
        """Record no X-Ray trace for the health path: the checks would otherwise fill the
        default rule's reservoir (one a second) around the clock."""
        self.health_sampling_rule = aws.xray.SamplingRule(
            "health-checks",
            rule_name=self._settings.name("hc"),  # at most 32 characters
            priority=HEALTH_SAMPLING_PRIORITY,
            version=1,
            reservoir_size=0,
            fixed_rate=0.0,
            url_path=HEALTH_PATH,
            host="*",
            http_method="GET",
            service_name="*",
            service_type="*",
            resource_arn="*",
            opts=self._child,
        )

    # ------------------------------------------------------------ rules
    def _rules(self) -> None:
        """/api/* goes to the function (with the origin secret, if set); admin paths only with an ID token.

        Defence in depth behind the edge function, which already refuses /api/admin/* without a
        token: an admin request without ``X-Id-Token`` is answered 401 here too; with one it goes
        to the function, which verifies the token and its groups (the ALB cannot verify a JWT).
        """
        child = self._child
        origin = self._origin_conditions()
        admin_paths = aws.lb.ListenerRuleConditionArgs(
            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[ADMIN_PREFIX, f"{ADMIN_PREFIX}/*"])
        )
        aws.lb.ListenerRule(
            "admin-with-token",
            listener_arn=self.listener.arn,
            priority=ADMIN_TOKEN_RULE_PRIORITY,
            conditions=[
                admin_paths,
                # "?*": a header with at least one character (an empty one does not match).
                aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=ID_TOKEN_HEADER, values=["?*"]
                    )
                ),
                *origin,
            ],
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)],
            opts=child,
        )
        aws.lb.ListenerRule(
            "admin-unauthorized",
            listener_arn=self.listener.arn,
            priority=ADMIN_RULE_PRIORITY,
            conditions=[admin_paths],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="application/json",
                        status_code="401",
                        message_body=error_json("unauthorized", "sign-in required"),
                    ),
                )
            ],
            # The rule that answered 403 before: updated in place (same priority), not replaced,
            # so no second rule ever claims priority 10 while the first still holds it.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(aliases=[pulumi.Alias(name="admin-forbidden")])
            ),
        )
        api_conditions = [
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[f"{API_PREFIX}/*"])
            ),
            *origin,
        ]
        aws.lb.ListenerRule(
            "api",
            listener_arn=self.listener.arn,
            priority=API_RULE_PRIORITY,
            conditions=api_conditions,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)],
            opts=child,
        )

    def _origin_conditions(self) -> list[aws.lb.ListenerRuleConditionArgs]:
        """Defence in depth: only our distribution knows the secret; another distribution of this
        account pointed at the VPC origin gets the default 404."""
        secret = self._settings.origin_verify_secret
        if secret is None:
            return []
        return [
            aws.lb.ListenerRuleConditionArgs(
                http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                    http_header_name=ORIGIN_VERIFY_HEADER, values=[secret]
                )
            )
        ]
