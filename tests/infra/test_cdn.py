"""CloudFront and the Lambda@Edge function: origins, OAC, TLS, headers, logging, the edge constraints."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.components.cdn import EDGE_SOURCE
from infra.settings import PROFILES, SettingsError
from shop.declarations import STRIPE_ORIGINS, cognito_origin, storefront_content_security_policy
from shop.edge.config import parse_config
from tests.infra.harness import ACCOUNT, TEST_STOREFRONT_CREDENTIAL, Program, Resource, run_program

ALB_CERT = f"arn:aws:acm:us-west-2:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
CF_CERT = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/66666666-7777-8888-9999-000000000000"


def distribution(program: Program) -> Resource:
    return program.one("aws:cloudfront/distribution:Distribution")


def edge(program: Program) -> Resource:
    return program.one("aws:lambda/function:Function", "edge")


def origin(program: Program, origin_id: str) -> dict[str, Any]:
    (found,) = [o for o in distribution(program).inputs["origins"] if o["originId"] == origin_id]
    return found


def behaviours(program: Program) -> dict[str, dict[str, Any]]:
    d = distribution(program).inputs
    found = {"default": d["defaultCacheBehavior"]}
    found.update({b["pathPattern"]: b for b in d.get("orderedCacheBehaviors", [])})
    return found


def edge_files(program: Program) -> dict[str, Any]:
    archive = edge(program).inputs["code"]
    assets: dict[str, Any] = archive.assets
    return assets


# --------------------------------------------------------------------------- Lambda@Edge


def test_edge_function_is_deployed_through_an_explicit_us_east_1_provider(program: Program) -> None:
    fn = edge(program)
    provider = program.provider_of(fn)
    assert provider is not None, "the edge function must not use the stack's default (regional) provider"
    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["region"] == "us-east-1"
    assert provider.parent == program.one("ecommerce:delivery:Cdn").urn
    assert fn.outputs["arn"].startswith(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:")
    # Only the edge function and the CloudFront-scoped web ACL live there: everything else
    # stays in the stack's region.
    expected = ["edge", "cdn"] if PROFILES[program.stack].waf else ["edge"]
    assert sorted(r.name for r in program if program.provider_of(r) is provider) == sorted(expected)


def test_destroy_leaves_the_edge_function_behind_instead_of_failing(program: Program) -> None:
    """Lambda refuses to delete a function CloudFront still has replicas of (hours after the
    distribution is gone): the function is retained on delete, so one ``pulumi destroy`` finishes."""
    assert edge(program).options["retainOnDelete"] is True
    # Nothing else of the CDN is retained: every other leftover would be a silent cost or a name clash.
    cdn = program.one("ecommerce:delivery:Cdn")
    retained = [r.name for r in program if r.parent == cdn.urn and r.options.get("retainOnDelete")]
    assert retained == ["edge"]


def test_edge_function_stays_within_lambda_at_edge_limits(program: Program) -> None:
    fn = edge(program).inputs
    assert fn["runtime"] == "python3.13"
    assert fn["handler"] == "handler.handler"
    assert fn["publish"] is True
    assert fn["memorySize"] <= 128  # viewer triggers
    assert fn["timeout"] <= 5  # viewer triggers
    assert fn.get("architectures", ["x86_64"]) == ["x86_64"]
    assert fn.get("packageType", "Zip") == "Zip" and "imageUri" not in fn
    for unsupported in (
        "vpcConfig",
        "environment",
        "reservedConcurrentExecutions",
        "deadLetterConfig",
        "layers",
        "tracingConfig",
        "fileSystemConfig",
        "ephemeralStorage",
        "snapStart",
    ):
        assert fn.get(unsupported) in (None, [], {}), unsupported


def test_edge_zip_holds_the_edge_sources_and_a_config(program: Program) -> None:
    files = edge_files(program)
    sources = {p.name for p in EDGE_SOURCE.glob("*.py")}
    assert "handler.py" in sources
    assert set(files) == sources | {"config.json"}
    for name in sources:
        assert Path(files[name].path).resolve() == (EDGE_SOURCE / name).resolve()


def test_edge_config_carries_the_credential_hash_outside_prod_only(program: Program) -> None:
    config = parse_config(edge_files(program)["config.json"].text)
    assert config.environment == program.stack
    if program.stack == "prod":
        assert config.basic_auth_sha256 is None
    else:
        assert config.basic_auth_sha256 == hashlib.sha256(TEST_STOREFRONT_CREDENTIAL.encode()).hexdigest()


def test_the_storefront_credential_itself_is_never_deployed(program: Program) -> None:
    password = TEST_STOREFRONT_CREDENTIAL.split(":", 1)[1]
    assert password not in edge_files(program)["config.json"].text
    for resource in program:
        assert password not in json.dumps(resource.inputs, default=str), resource.name
    assert password not in json.dumps(program.outputs, default=str)


_EDGE_PROBE = """
import base64, json, sys
import handler

def event(uri, headers):
    return {"Records": [{"cf": {
        "config": {"eventType": "viewer-request", "distributionDomainName": "d1.cloudfront.net"},
        "request": {"clientIp": "203.0.113.9", "method": "GET", "uri": uri, "querystring": "",
                    "headers": {k.lower(): [{"key": k, "value": v}] for k, v in headers.items()}},
    }}]}

credential = sys.argv[1]
auth = {"Authorization": "Basic " + base64.b64encode(credential.encode()).decode()}
results = {}
for label, uri, headers in [
    ("admin", "/api/admin/products", auth),
    ("anonymous", "/index.html", {}),
    ("authorised", "/index.html", auth),
    ("health", "/api/health", {}),
]:
    out = handler.handler(event(uri, {"Host": "d1.cloudfront.net", **headers}), None)
    results[label] = str(out["status"]) if "status" in out else "forwarded"
print(json.dumps({"module": handler.__file__, "results": results}))
"""


def test_edge_zip_runs_on_its_own_as_lambda_would_load_it(program: Program, tmp_path: Path) -> None:
    """Unpack the zip's files into an empty directory and call ``handler.handler`` there."""
    for name, asset in edge_files(program).items():
        target = tmp_path / name
        if hasattr(asset, "text"):
            target.write_text(asset.text)
        else:
            target.write_bytes(Path(asset.path).read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    completed = subprocess.run(
        [sys.executable, "-c", _EDGE_PROBE, TEST_STOREFRONT_CREDENTIAL],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])  # the handler logs to stdout too
    assert Path(report["module"]).resolve().parent == tmp_path.resolve()  # the zip's copy, not the repo's
    results = report["results"]
    assert results["admin"] == "403"
    assert results["authorised"] == "forwarded"
    assert results["health"] == "forwarded"
    assert results["anonymous"] == ("forwarded" if program.stack == "prod" else "401")


def test_edge_role_is_trusted_by_both_lambda_services_and_may_only_log(program: Program) -> None:
    role = program.one("aws:iam/role:Role", "edge")
    assert edge(program).inputs["role"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert sorted(trust["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    policies = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    assert len(policies) == 1
    assert not [
        a for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.id
    ]
    (statement,) = json.loads(policies[0].inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    name = edge(program).inputs["name"]
    for resource in statement["Resource"]:
        # Any region (replicas log where they run), but only this function's groups.
        assert resource.startswith("arn:aws:logs:") and f":{ACCOUNT}:log-group:/aws/lambda/" in resource
        assert resource.endswith((f"/aws/lambda/us-east-1.{name}:*", f"/aws/lambda/{name}:*"))


def test_edge_function_runs_on_viewer_requests_of_both_behaviours(program: Program) -> None:
    version_arn = edge(program).outputs["qualifiedArn"]
    assert version_arn.rsplit(":", 1)[-1].isdigit(), "a published version, not $LATEST"
    assert program.outputs["edgeFunctionVersionArn"] == version_arn
    for name, behaviour in behaviours(program).items():
        assert behaviour["lambdaFunctionAssociations"] == [
            {"eventType": "viewer-request", "lambdaArn": version_arn, "includeBody": False}
        ], name


# --------------------------------------------------------------------------- origins


def test_static_origin_is_the_bucket_through_origin_access_control(program: Program) -> None:
    static = origin(program, "static")
    bucket = program.one("aws:s3/bucket:Bucket", "static")
    oac = program.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert static["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    assert static["originAccessControlId"] == oac.id
    assert "customOriginConfig" not in static and not static.get("s3OriginConfig")  # no legacy OAI
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"
    policy = json.loads(program.one("aws:s3/bucketPolicy:BucketPolicy", "static").inputs["policy"])
    reads = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert [s["Condition"]["StringEquals"]["AWS:SourceArn"] for s in reads] == [distribution(program).outputs["arn"]]


def test_api_origin_is_the_alb_over_http_without_a_certificate(program: Program) -> None:
    alb = origin(program, "alb")
    assert alb["domainName"] == program.one("aws:lb/loadBalancer:LoadBalancer").outputs["dnsName"]
    assert not alb.get("customOriginConfig")
    assert alb["vpcOriginConfig"]["originReadTimeout"] >= PROFILES[program.stack].lambda_timeout_seconds
    config = program.one("aws:cloudfront/vpcOrigin:VpcOrigin").inputs["vpcOriginEndpointConfig"]
    assert config["originProtocolPolicy"] == "http-only"
    assert config["originSslProtocols"]["items"] == ["TLSv1.2"]


def test_default_behaviour_serves_the_static_site_over_https(program: Program) -> None:
    default = behaviours(program)["default"]
    assert default["targetOriginId"] == "static"
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(default["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    assert default["cachePolicyId"] == "managed-Managed-CachingOptimized"
    assert distribution(program).inputs["defaultRootObject"] == "index.html"


def test_api_behaviour_goes_to_the_alb_uncached_with_viewer_headers(program: Program) -> None:
    api = behaviours(program)["/api/*"]
    assert api["targetOriginId"] == "alb"
    assert api["viewerProtocolPolicy"] == "https-only"
    assert set(api["allowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
    assert api["cachePolicyId"] == "managed-Managed-CachingDisabled"
    assert api["originRequestPolicyId"] == "managed-Managed-AllViewerExceptHostHeader"
    assert "forwardedValues" not in api


def test_viewers_never_use_plain_http(program: Program) -> None:
    for name, behaviour in behaviours(program).items():
        assert behaviour["viewerProtocolPolicy"] in ("redirect-to-https", "https-only"), name


def test_security_headers_on_every_response(program: Program) -> None:
    policy = program.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    for name, behaviour in behaviours(program).items():
        assert behaviour["responseHeadersPolicyId"] == policy.id, name
    headers = policy.inputs["securityHeadersConfig"]
    hsts = headers["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= 365 * 24 * 3600 and hsts["override"] is True
    assert headers["contentTypeOptions"]["override"] is True
    assert headers["frameOptions"]["frameOption"] == "DENY"
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    csp = headers["contentSecurityPolicy"]["contentSecurityPolicy"]
    region = str(program.config.get("aws:region", "us-west-2"))
    assert csp == storefront_content_security_policy(STRIPE_ORIGINS, cognito_origin(region))
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    # The browser's sign-up and sign-in calls go to the stack's user pool API, and nowhere else new.
    assert directives["connect-src"].split() == [
        "'self'",
        *STRIPE_ORIGINS.connect,
        f"https://cognito-idp.{region}.amazonaws.com",
    ]
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_storefront_page_works_under_the_content_security_policy() -> None:
    # Same-origin script and stylesheet, no inline script or style.
    storefront = Path(__file__).resolve().parents[2] / "storefront"
    index = (storefront / "index.html").read_text()
    assert "<script>" not in index and "<style" not in index and "style=" not in index
    assert "http://" not in index and "https://" not in index
    assert not re.search(r"\son[a-z]+\s*=", index), "inline event handlers need 'unsafe-inline'"
    for script in storefront.glob("*.js"):
        code = script.read_text()
        # Blocked under script-src 'self' (no 'unsafe-eval') and style-src 'self' (no inline styles).
        for forbidden in ("eval(", "new Function(", 'setAttribute("style"', "setAttribute('style'", 'style="'):
            assert forbidden not in code, f"{script.name} uses {forbidden}"


def test_default_certificate_unless_a_us_east_1_certificate_is_configured(program: Program) -> None:
    d = distribution(program).inputs
    assert d["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert not d.get("aliases")


def test_custom_domain_uses_modern_tls_and_https_to_the_alb() -> None:
    program = run_program(
        "prod",
        {"domainName": "shop.example.com", "certificateArn": ALB_CERT, "cloudfrontCertificateArn": CF_CERT},
    )
    d = distribution(program).inputs
    assert d["viewerCertificate"] == {
        "acmCertificateArn": CF_CERT,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert d["aliases"] == ["shop.example.com"]
    alb = origin(program, "alb")
    assert alb["domainName"] == "alb.shop.example.com"
    config = program.one("aws:cloudfront/vpcOrigin:VpcOrigin").inputs["vpcOriginEndpointConfig"]
    assert config["originProtocolPolicy"] == "https-only"


def test_logging_to_the_logs_bucket_after_its_acls_are_possible(program: Program) -> None:
    d = distribution(program)
    logs = program.one("aws:s3/bucket:Bucket", "logs")
    assert d.inputs["loggingConfig"] == {
        "bucket": logs.outputs["bucketDomainName"],
        "prefix": "cloudfront/",
        "includeCookies": False,
    }
    ownership = program.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "logs")
    assert ownership.inputs["rule"]["objectOwnership"] == "ObjectWriter"
    assert ownership.urn in d.dependencies


def test_price_class_and_basics(program: Program) -> None:
    d = distribution(program).inputs
    assert d["priceClass"] == PROFILES[program.stack].cloudfront_price_class
    assert d["enabled"] is True
    assert d["isIpv6Enabled"] is True
    assert d["restrictions"] == {"geoRestriction": {"restrictionType": "none"}}


def test_storefront_files_are_published_to_the_static_bucket(program: Program) -> None:
    bucket = program.one("aws:s3/bucket:Bucket", "static")
    objects = {o.inputs["key"]: o for o in program.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert "index.html" in objects
    assert objects["index.html"].inputs["contentType"] == "text/html"
    assert all(o.inputs["bucket"] == bucket.id for o in objects.values())


def test_outputs(program: Program) -> None:
    d = distribution(program)
    assert program.outputs["cloudfrontDomainName"] == d.outputs["domainName"]
    assert program.outputs["cloudfrontDistributionId"] == d.id
    assert program.outputs["storefrontUrl"] == f"https://{d.outputs['domainName']}/"


# --------------------------------------------------------------------------- the credential


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_non_prod_stacks_refuse_to_deploy_without_a_storefront_credential(stack: str) -> None:
    with pytest.raises(SettingsError, match="ecommerce:storefrontCredential is required"):
        run_program(stack, {"storefrontCredential": None})


def test_prod_refuses_a_storefront_credential() -> None:
    with pytest.raises(SettingsError, match="must not be set for a prod stack"):
        run_program("prod", {"storefrontCredential": "user:pass"})


@pytest.mark.parametrize("credential", ["no-colon-here", ":s3cr3t-pw", "someone:"])
def test_a_malformed_credential_fails_before_anything_is_declared(credential: str) -> None:
    with pytest.raises(SettingsError, match="must look like 'user:password'") as error:
        run_program("dev", {"storefrontCredential": credential})
    assert credential not in str(error.value)
