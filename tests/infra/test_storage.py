"""S3: the three buckets and their guard rails, for every stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.components.storage import ALB_LOG_PREFIX
from tests.infra.harness import ACCOUNT, Program, Resource

KINDS = ("static", "logs", "artifacts")
ELB_ACCOUNT = "arn:aws:iam::797873946194:root"  # us-west-2's Elastic Load Balancing account (harness)


def bucket(program: Program, kind: str) -> Resource:
    return program.one("aws:s3/bucket:Bucket", kind)


def attached(program: Program, type_token: str, b: Resource) -> list[Resource]:
    """Resources of a type that configure bucket ``b`` (their ``bucket`` input is its name)."""
    return [r for r in program.of_type(type_token) if r.inputs.get("bucket") == b.id]


def only(program: Program, type_token: str, b: Resource) -> Resource:
    found = attached(program, type_token, b)
    assert len(found) == 1, f"{b.name}: expected one {type_token}, found {len(found)}"
    return found[0]


def policy_of(program: Program, b: Resource) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(only(program, "aws:s3/bucketPolicy:BucketPolicy", b).inputs["policy"])
    return doc


@pytest.mark.parametrize("kind", KINDS)
def test_bucket_names_are_globally_unique_and_follow_the_convention(program: Program, kind: str) -> None:
    name = bucket(program, kind).outputs["bucket"]
    assert name == f"ecommerce-{kind}-{ACCOUNT}-{program.stack}"
    assert len(name) <= 63 and name == name.lower()
    assert program.outputs[f"{kind}BucketName"] == name


@pytest.mark.parametrize("kind", KINDS)
def test_force_destroy_only_outside_prod_and_prod_buckets_are_protected(program: Program, kind: str) -> None:
    b = bucket(program, kind)
    assert b.inputs["forceDestroy"] is (program.stack != "prod")
    assert b.options["protect"] is (program.stack == "prod")


@pytest.mark.parametrize("kind", KINDS)
def test_public_access_is_blocked_on_every_bucket(program: Program, kind: str) -> None:
    block = only(program, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket(program, kind))
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag


def test_ownership_enforced_except_the_logs_bucket_cloudfront_logging_needs(program: Program) -> None:
    def ownership(kind: str) -> str:
        controls = only(program, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket(program, kind))
        value: str = controls.inputs["rule"]["objectOwnership"]
        return value

    assert ownership("static") == "BucketOwnerEnforced"
    assert ownership("artifacts") == "BucketOwnerEnforced"
    assert ownership("logs") == "ObjectWriter"


def test_encryption_cmk_for_content_sse_s3_for_logs(program: Program) -> None:
    key_arn = program.one("aws:kms/key:Key", "data").outputs["arn"]
    for kind in ("static", "artifacts"):
        config = only(
            program,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            bucket(program, kind),
        )
        (rule,) = config.inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
        assert rule["bucketKeyEnabled"] is True
    logs = only(
        program,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        bucket(program, "logs"),
    )
    # ALB access log delivery supports SSE-S3 only.
    assert logs.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("kind", KINDS)
def test_versioning_is_enabled(program: Program, kind: str) -> None:
    versioning = only(program, "aws:s3/bucketVersioning:BucketVersioning", bucket(program, kind))
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("kind", KINDS)
def test_every_bucket_policy_refuses_plain_http_first(program: Program, kind: str) -> None:
    b = bucket(program, kind)
    arn = b.outputs["arn"]
    deny = policy_of(program, b)["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert sorted(deny["Resource"]) == sorted([arn, f"{arn}/*"])
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("kind", KINDS)
def test_no_bucket_policy_allows_anyone(program: Program, kind: str) -> None:
    for statement in policy_of(program, bucket(program, kind))["Statement"]:
        if statement["Effect"] == "Allow":
            principal = statement["Principal"]
            assert principal != "*" and set(principal) <= {"Service", "AWS"}, statement
            # An AWS principal is only ever the region's Elastic Load Balancing account, by exact ARN.
            assert "*" not in str(principal.get("AWS", "")), statement
            assert principal.get("AWS", ELB_ACCOUNT) == ELB_ACCOUNT, statement
            assert not str(statement["Action"]).endswith("*"), statement


@pytest.mark.parametrize("kind", KINDS)
def test_bucket_policies_wait_for_the_public_access_block(program: Program, kind: str) -> None:
    b = bucket(program, kind)
    policy = only(program, "aws:s3/bucketPolicy:BucketPolicy", b)
    block = only(program, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)
    assert block.urn in policy.dependencies


def test_logs_lifecycle_ia_30_expire_90_noncurrent_30(program: Program) -> None:
    lifecycle = only(
        program, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket(program, "logs")
    )
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {"prefix": ""}  # every object
    assert [(t["days"], t["storageClass"]) for t in rule["transitions"]] == [(30, "STANDARD_IA")]
    assert rule["expiration"]["days"] == 90
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30


def test_only_the_logs_bucket_ages_out(program: Program) -> None:
    for kind in ("static", "artifacts"):
        assert not attached(
            program, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket(program, kind)
        )


def test_alb_log_delivery_may_write_exactly_where_the_alb_writes(program: Program) -> None:
    logs = bucket(program, "logs")
    statements = {s.get("Sid"): s for s in policy_of(program, logs)["Statement"]}
    assert set(statements) == {
        "DenyInsecureTransport",
        "AlbAccessLogDelivery",
        "AlbAccessLogDeliveryRegionalAccount",
    }
    # Newer regions deliver with the service principal, older ones (us-west-2) with the regional ELB account.
    assert statements["AlbAccessLogDelivery"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert statements["AlbAccessLogDeliveryRegionalAccount"]["Principal"] == {"AWS": ELB_ACCOUNT}
    alb = program.one("aws:lb/loadBalancer:LoadBalancer")
    access_logs = alb.inputs["accessLogs"]
    assert access_logs["bucket"] == logs.outputs["bucket"] and access_logs["enabled"] is True
    # ALB writes <bucket>/<prefix>/AWSLogs/<account>/...
    assert access_logs["prefix"] == ALB_LOG_PREFIX
    for sid in ("AlbAccessLogDelivery", "AlbAccessLogDeliveryRegionalAccount"):
        delivery = statements[sid]
        assert delivery["Effect"] == "Allow"
        assert delivery["Action"] == "s3:PutObject"
        assert delivery["Resource"] == f"{logs.outputs['arn']}/{access_logs['prefix']}/AWSLogs/{ACCOUNT}/*"


def test_artifacts_policy_is_tls_only(program: Program) -> None:
    statements = policy_of(program, bucket(program, "artifacts"))["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport"]


def test_static_bucket_is_readable_by_this_distribution_only(program: Program) -> None:
    static = bucket(program, "static")
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    statements = {s.get("Sid"): s for s in policy_of(program, static)["Statement"]}
    assert set(statements) == {"DenyInsecureTransport", "ThisDistributionReads", "MediaUploadsUseTheStackKey"}
    read = statements["ThisDistributionReads"]
    assert read["Effect"] == "Allow"
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"{static.outputs['arn']}/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}


def test_product_images_are_accepted_only_encrypted_with_the_stacks_key(program: Program) -> None:
    """Whoever signs the upload (the API function's presigned POST), an object below media/ without
    SSE-KMS under the stack's key is refused by the bucket itself."""
    static = bucket(program, "static")
    statements = {s.get("Sid"): s for s in policy_of(program, static)["Statement"]}
    deny = statements["MediaUploadsUseTheStackKey"]
    key = program.one("aws:kms/key:Key", "data")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == "s3:PutObject"
    assert deny["Resource"] == f"{static.outputs['arn']}/media/*"
    assert deny["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key.outputs["arn"]}
    }


def test_the_static_bucket_takes_browser_uploads_from_the_storefront_origin_only(program: Program) -> None:
    static = bucket(program, "static")
    (cors,) = program.of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors.inputs["bucket"] == static.id
    (rule,) = cors.inputs["corsRules"]
    assert rule["allowedMethods"] == ["POST"]
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    assert rule["allowedOrigins"] == [f"https://{distribution.outputs['domainName']}"]


def test_cloudfront_may_decrypt_the_static_assets_for_this_accounts_distributions_only(program: Program) -> None:
    key = program.one("aws:kms/key:Key", "data")
    statements = json.loads(key.inputs["policy"])["Statement"]
    grants = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert len(grants) == 1
    (grant,) = grants
    assert grant["Action"] == "kms:Decrypt"
    assert grant["Condition"] == {"ArnLike": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"}}
    # The distribution's ARN falls under the grant.
    distribution_arn = program.one("aws:cloudfront/distribution:Distribution").outputs["arn"]
    assert distribution_arn.startswith(f"arn:aws:cloudfront::{ACCOUNT}:distribution/")
