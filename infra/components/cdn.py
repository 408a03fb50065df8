"""CloudFront in front of everything a shopper touches, and its Lambda@Edge function.

- Default behaviour: the static bucket through Origin Access Control (SigV4,
  always signed); the bucket's policy admits this one distribution only.
- ``/api/*``: the internal ALB through its CloudFront VPC origin (HTTP, or
  HTTPS to ``alb.<domainName>`` when a regional certificate is configured),
  caching disabled, every viewer header except Host forwarded.
- With ``waf`` in the profile: an AWS WAF web ACL (infra/components/waf.py)
  on the distribution, created in us-east-1 through the same explicit provider.
- Viewers: HTTPS only (redirect on the static behaviour, refuse plain HTTP on
  the API), TLSv1.2_2021 with a custom certificate (CloudFront's default
  certificate has a fixed policy), security headers on every response,
  standard logging to the logs bucket, ``index.html`` as the root object,
  price class from the profile.
- The edge function: Python zip of ``src/shop/edge/*.py`` plus a generated
  ``config.json`` (Lambda@Edge has no environment variables), deployed through
  an explicit us-east-1 provider, published, associated as ``viewer-request``
  on both behaviours. Outside prod ``config.json`` carries the SHA-256 of the
  storefront credential, never the credential.
- The storefront page (``storefront/``, when present) is uploaded to the
  static bucket.

Destroying a stack: CloudFront keeps replicas of an edge function for a while
after the distribution is gone (usually a few hours), and Lambda refuses to
delete a function with replicas. The edge function is therefore retained on
delete: ``pulumi destroy`` finishes in one run and leaves the function (no
cost at rest) in us-east-1; delete it once its replicas are gone (README,
"Tear down"). Re-creating a stack with the same suffix needs that done first.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.components.load_balancer import ORIGIN_VERIFY_HEADER
from infra.components.storage import CLOUDFRONT_LOG_PREFIX
from infra.components.waf import Waf, WafArgs
from infra.iam import deny_insecure_transport, policy_document, service_trust_policy
from infra.settings import Settings
from shop.declarations import (
    API_PREFIX,
    FRAME_OPTIONS,
    HSTS_MAX_AGE_SECONDS,
    REFERRER_POLICY,
    STRIPE_ORIGINS,
    cognito_origin,
    storefront_content_security_policy,
)

ROOT = Path(__file__).resolve().parents[2]
EDGE_SOURCE = ROOT / "src" / "shop" / "edge"
STOREFRONT = ROOT / "storefront"
EDGE_REGION = "us-east-1"  # Lambda@Edge functions must live in us-east-1.
EDGE_RUNTIME = "python3.13"
EDGE_HANDLER = "handler.handler"
EDGE_MEMORY_MB = 128  # the viewer-trigger maximum
EDGE_TIMEOUT_SECONDS = 5  # the viewer-trigger maximum
EDGE_CONFIG_FILENAME = "config.json"
STATIC_ORIGIN = "static"
API_ORIGIN = "alb"
API_PATH_PATTERN = f"{API_PREFIX}/*"
MINIMUM_TLS = "TLSv1.2_2021"


def edge_code(environment: str, credential: str | None) -> pulumi.AssetArchive:
    """The edge function's zip: its Python files and the rendered ``config.json``."""
    from shop.edge.config import render_config

    digest = None
    if credential is not None:
        user, sep, password = credential.partition(":")
        if not (user and sep and password):
            raise ValueError("config ecommerce:storefrontCredential must look like 'user:password'")
        digest = hashlib.sha256(credential.encode("utf-8")).hexdigest()
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        path.name: pulumi.FileAsset(str(path)) for path in sorted(EDGE_SOURCE.glob("*.py"))
    }
    assets[EDGE_CONFIG_FILENAME] = pulumi.StringAsset(render_config(environment, digest))
    return pulumi.AssetArchive(assets)


def storefront_files() -> list[Path]:
    """The storefront's files to publish (nothing hidden, no tests)."""
    if not STOREFRONT.is_dir():
        return []
    return sorted(
        p
        for p in STOREFRONT.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") or part in ("node_modules", "__pycache__", "tests") for part in p.parts)
    )


@dataclass
class CdnArgs:
    settings: Settings
    # The static bucket (origin and policy) and what must exist before its policy (public access block).
    static_bucket_id: pulumi.Input[str]
    static_bucket_arn: pulumi.Input[str]
    static_bucket_domain_name: pulumi.Input[str]
    static_bucket_ready: Sequence[pulumi.Resource]
    # The logs bucket and what standard logging needs first (its ACL settings).
    logs_bucket_domain_name: pulumi.Input[str]
    logs_ready: Sequence[pulumi.Resource]
    # The ALB's DNS name (the API origin when no regional certificate is configured) and
    # CloudFront's VPC origin for it.
    alb_dns_name: pulumi.Input[str]
    vpc_origin_id: pulumi.Input[str]


class Cdn(pulumi.ComponentResource):
    distribution: aws.cloudfront.Distribution
    edge_function: aws.lambda_.Function
    edge_provider: aws.Provider
    edge_role: aws.iam.Role
    # The web ACL on the distribution (profile field waf).
    waf: Waf | None
    origin_access_control: aws.cloudfront.OriginAccessControl
    response_headers_policy: aws.cloudfront.ResponseHeadersPolicy
    static_bucket_policy: aws.s3.BucketPolicy
    url: pulumi.Output[str]
    # The storefront's origin (scheme + host, no path): the custom domain when CloudFront serves one.
    origin: pulumi.Output[str]

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:Cdn", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        self._edge_function()
        edge = self.edge_function.qualified_arn
        self._policies()
        self._firewall()
        aliases = self._distribution(edge)
        self._static_bucket_policy()
        self._storefront()

        self.url = pulumi.Output.format("https://{0}/", self.distribution.domain_name)
        self.origin = (
            pulumi.Output.from_input(f"https://{aliases[0]}")
            if aliases
            else pulumi.Output.format("https://{0}", self.distribution.domain_name)
        )
        self.register_outputs(
            {
                "domainName": self.distribution.domain_name,
                "distributionId": self.distribution.id,
                "edgeFunctionVersionArn": edge,
                "url": self.url,
            }
        )

    # -------------------------------------------------------- edge function
    def _edge_role(self, edge_name: str) -> aws.iam.RolePolicy:
        """The edge function's role, and its right to write its own log groups in every edge region."""
        settings, child = self._args.settings, self._child
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.edge_role = aws.iam.Role(
            "edge",
            name=settings.name("edge-function"),
            assume_role_policy=service_trust_policy("edgelambda.amazonaws.com", "lambda.amazonaws.com"),
            opts=child,
        )
        # Replicas log in the region that served the request, to
        # /aws/lambda/us-east-1.<name>; test invocations log to /aws/lambda/<name>.
        return aws.iam.RolePolicy(
            "edge",
            role=self.edge_role.id,
            policy=policy_document(
                {
                    "Sid": "OwnLogGroupsInEveryEdgeRegion",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [
                        pulumi.Output.format(
                            "arn:{0}:logs:*:{1}:log-group:/aws/lambda/{2}.{3}:*",
                            partition.partition,
                            identity.account_id,
                            EDGE_REGION,
                            edge_name,
                        ),
                        pulumi.Output.format(
                            "arn:{0}:logs:{1}:{2}:log-group:/aws/lambda/{3}:*",
                            partition.partition,
                            EDGE_REGION,
                            identity.account_id,
                            edge_name,
                        ),
                    ],
                }
            ),
            opts=child,
        )

    def _edge_function(self) -> None:
        settings, child = self._args.settings, self._child
        self.edge_provider = aws.Provider("us-east-1", region=EDGE_REGION, opts=child)
        edge_name = settings.name("edge")
        edge_logs = self._edge_role(edge_name)
        credential, environment = settings.storefront_credential, settings.environment
        code: pulumi.Input[pulumi.Archive] = (
            credential.apply(lambda c: edge_code(environment, c))
            if credential is not None
            else edge_code(environment, None)
        )
        self.edge_function = aws.lambda_.Function(
            "edge",
            name=edge_name,
            description="viewer-request guard for the storefront and API",
            role=self.edge_role.arn,
            runtime=EDGE_RUNTIME,
            handler=EDGE_HANDLER,
            code=code,
            # Lambda@Edge runs x86_64 functions only.
            architectures=["x86_64"],
            memory_size=EDGE_MEMORY_MB,
            timeout=EDGE_TIMEOUT_SECONDS,
            publish=True,
            # Lambda cannot delete a function CloudFront still has replicas of (hours after the
            # distribution is gone): leave it behind on destroy rather than fail the run.
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.edge_provider, depends_on=[edge_logs], retain_on_delete=True
            ),
        )

    # -------------------------------------------------------- policies
    def _policies(self) -> None:
        settings, child = self._args.settings, self._child
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            "static",
            name=settings.name("static"),
            description="CloudFront reads the static bucket (SigV4)",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        headers = aws.cloudfront
        self.response_headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            "security-headers",
            name=settings.name("security-headers"),
            comment="security headers on every response",
            security_headers_config=headers.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=headers.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS, include_subdomains=True, override=True
                ),
                content_type_options=headers.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=headers.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option=FRAME_OPTIONS, override=True
                ),
                referrer_policy=headers.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy=REFERRER_POLICY, override=True
                ),
                content_security_policy=headers.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=storefront_content_security_policy(
                        STRIPE_ORIGINS, cognito_origin(settings.region)
                    ),
                    override=True,
                ),
            ),
            opts=child,
        )

    # -------------------------------------------------------- firewall
    def _firewall(self) -> None:
        settings = self._args.settings
        self.waf = (
            Waf("waf", WafArgs(settings=settings, provider=self.edge_provider), opts=self._child)
            if settings.profile.waf
            else None
        )

    # -------------------------------------------------------- distribution
    def _viewer_certificate(self) -> tuple[aws.cloudfront.DistributionViewerCertificateArgs, list[str] | None]:
        settings = self._args.settings
        if settings.cloudfront_certificate_arn:
            certificate = aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=settings.cloudfront_certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MINIMUM_TLS,
            )
            return certificate, ([settings.domain_name] if settings.domain_name else None)
        return aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True), None

    def _origins(self) -> list[aws.cloudfront.DistributionOriginArgs]:
        settings = self._args.settings
        # With a certificate the ALB speaks HTTPS only (port 80 redirects), under alb.<domainName>.
        https_to_alb = bool(settings.certificate_arn and settings.domain_name)
        alb_domain: pulumi.Input[str] = f"alb.{settings.domain_name}" if https_to_alb else self._args.alb_dns_name
        verify = (
            [aws.cloudfront.DistributionOriginCustomHeaderArgs(name=ORIGIN_VERIFY_HEADER, value=secret)]
            if (secret := settings.origin_verify_secret) is not None
            else None
        )
        return [
            aws.cloudfront.DistributionOriginArgs(
                origin_id=STATIC_ORIGIN,
                domain_name=self._args.static_bucket_domain_name,
                origin_access_control_id=self.origin_access_control.id,
            ),
            aws.cloudfront.DistributionOriginArgs(
                origin_id=API_ORIGIN,
                domain_name=alb_domain,
                custom_headers=verify,
                # The protocol and ports are the VPC origin's (infra/components/load_balancer.py).
                vpc_origin_config=aws.cloudfront.DistributionOriginVpcOriginConfigArgs(
                    vpc_origin_id=self._args.vpc_origin_id,
                    origin_read_timeout=settings.profile.lambda_timeout_seconds,
                ),
            ),
        ]

    def _behaviors(
        self, edge: pulumi.Input[str]
    ) -> tuple[
        aws.cloudfront.DistributionDefaultCacheBehaviorArgs, aws.cloudfront.DistributionOrderedCacheBehaviorArgs
    ]:
        """The static default behaviour and the /api/* behaviour, both guarded by the edge function."""
        caching_optimized = aws.cloudfront.get_cache_policy_output(name="Managed-CachingOptimized").id
        caching_disabled = aws.cloudfront.get_cache_policy_output(name="Managed-CachingDisabled").id
        all_viewer_except_host = aws.cloudfront.get_origin_request_policy_output(
            name="Managed-AllViewerExceptHostHeader"
        ).id
        static = aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            target_origin_id=STATIC_ORIGIN,
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=["GET", "HEAD", "OPTIONS"],
            cached_methods=["GET", "HEAD"],
            compress=True,
            cache_policy_id=caching_optimized,
            response_headers_policy_id=self.response_headers_policy.id,
            lambda_function_associations=[
                aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type="viewer-request", lambda_arn=edge, include_body=False
                )
            ],
        )
        api = aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
            path_pattern=API_PATH_PATTERN,
            target_origin_id=API_ORIGIN,
            # An API client must not be redirected (a POST would turn into a GET).
            viewer_protocol_policy="https-only",
            allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            cached_methods=["GET", "HEAD"],
            compress=True,
            cache_policy_id=caching_disabled,
            origin_request_policy_id=all_viewer_except_host,
            response_headers_policy_id=self.response_headers_policy.id,
            lambda_function_associations=[
                aws.cloudfront.DistributionOrderedCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type="viewer-request", lambda_arn=edge, include_body=False
                )
            ],
        )
        return static, api

    def _distribution(self, edge: pulumi.Input[str]) -> list[str] | None:
        """The distribution; returns its aliases (the custom domain, when it serves one)."""
        settings = self._args.settings
        viewer_certificate, aliases = self._viewer_certificate()
        origins = self._origins()
        static, api = self._behaviors(edge)
        self.distribution = aws.cloudfront.Distribution(
            "cdn",
            comment=settings.name("cdn"),
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=settings.profile.cloudfront_price_class,
            default_root_object="index.html",
            aliases=aliases,
            origins=origins,
            web_acl_id=self.waf.web_acl.arn if self.waf is not None else None,
            default_cache_behavior=static,
            ordered_cache_behaviors=[api],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=viewer_certificate,
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=self._args.logs_bucket_domain_name,
                prefix=CLOUDFRONT_LOG_PREFIX,
                include_cookies=False,
            ),
            # Standard logging needs the logs bucket's ACLs (ObjectWriter) in place.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.logs_ready)),
        )
        return aliases

    # -------------------------------------------------------- static bucket policy
    def _static_bucket_policy(self) -> None:
        bucket_arn = self._args.static_bucket_arn
        self.static_bucket_policy = aws.s3.BucketPolicy(
            "static",
            bucket=self._args.static_bucket_id,
            policy=policy_document(
                deny_insecure_transport(bucket_arn),
                {
                    "Sid": "ThisDistributionReads",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.format("{0}/*", bucket_arn),
                    "Condition": {"StringEquals": {"AWS:SourceArn": self.distribution.arn}},
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self._args.static_bucket_ready)),
        )

    # -------------------------------------------------------- storefront
    def _storefront(self) -> None:
        for path in storefront_files():
            key = path.relative_to(STOREFRONT).as_posix()
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            aws.s3.BucketObjectv2(
                f"storefront-{key}",
                bucket=self._args.static_bucket_id,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=content_type,
                cache_control="no-cache" if path.suffix == ".html" else "public, max-age=300",
                opts=self._child,
            )
