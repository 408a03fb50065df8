"""S3: static assets (served by CloudFront), logs (ALB and CloudFront), artifacts.

Bucket names are global across all AWS accounts, so they carry the account id:
``ecommerce-<kind>-<account>-<suffix>`` (``settings.name(f"{kind}-{account}")``).
Every bucket blocks public access, is versioned, encrypted, and refuses plain
HTTP. Ownership is ``BucketOwnerEnforced`` (no ACLs) except on the logs bucket:
CloudFront standard logging writes through an ACL, so that one bucket uses
``ObjectWriter``. The logs bucket is SSE-S3 because ALB log delivery does not
support SSE-KMS; the others use the customer-managed key.

The static bucket's policy (TLS-only + read for exactly one distribution) needs
the distribution's ARN, and the distribution needs the bucket, so that policy
is created by :class:`infra.components.cdn.Cdn`, using :func:`infra.iam.deny_insecure_transport`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import deny_insecure_transport, policy_document
from infra.settings import Settings

# Key prefixes inside the logs bucket.
ALB_LOG_PREFIX = "alb"
CLOUDFRONT_LOG_PREFIX = "cloudfront/"

# Lifecycle of the logs bucket (days). No GLACIER step (the seed had one at 60): Glacier bills
# at least 90 days per object, so a log moved there at 60 and expired at 90 costs more than
# staying in STANDARD_IA, plus a transition request per (small) object.
LOGS_TO_STANDARD_IA = 30
LOGS_EXPIRE = 90
LOGS_NONCURRENT_EXPIRE = 30


@dataclass
class StorageArgs:
    settings: Settings
    key_arn: pulumi.Input[str]


class Storage(pulumi.ComponentResource):
    """Three buckets with their guard rails; see the module docstring."""

    static_bucket: aws.s3.Bucket
    logs_bucket: aws.s3.Bucket
    artifacts_bucket: aws.s3.Bucket
    # The logs bucket's ownership controls and policy: log writers (ALB,
    # CloudFront) must be created after these.
    logs_ready: list[pulumi.Resource]
    # By bucket kind: bucket policies wait for these (S3 rejects concurrent changes).
    public_access_blocks: dict[str, aws.s3.BucketPublicAccessBlock]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:storage:Storage", name, None, opts)
        self._settings, self._key_arn = args.settings, args.key_arn
        self._account = aws.get_caller_identity_output().account_id

        self.logs_ready = []
        self.public_access_blocks = {}
        self.static_bucket = self._bucket("static", "BucketOwnerEnforced", kms=True)
        self.logs_bucket = self._bucket("logs", "ObjectWriter", kms=False)
        self.artifacts_bucket = self._bucket("artifacts", "BucketOwnerEnforced", kms=True)
        self._logs_lifecycle()
        self._logs_policy()
        self._artifacts_policy()

        self.register_outputs(
            {
                "staticBucket": self.static_bucket.bucket,
                "logsBucket": self.logs_bucket.bucket,
                "artifactsBucket": self.artifacts_bucket.bucket,
            }
        )

    def _bucket(self, kind: str, ownership: str, kms: bool) -> aws.s3.Bucket:
        """A bucket with its public access block, ownership, encryption and versioning."""
        settings, account, child = self._settings, self._account, pulumi.ResourceOptions(parent=self)
        b = aws.s3.Bucket(
            kind,
            bucket=account.apply(lambda a: settings.name(f"{kind}-{a}")),
            force_destroy=not settings.profile.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.profile.protect_data),
        )
        self.public_access_blocks[kind] = aws.s3.BucketPublicAccessBlock(
            kind,
            bucket=b.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        ownership_controls = aws.s3.BucketOwnershipControls(
            kind,
            bucket=b.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=ownership),
            opts=child,
        )
        if kind == "logs":
            self.logs_ready.append(ownership_controls)
        by_default = (
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=self._key_arn
            )
            if kms
            else aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            kind,
            bucket=b.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=by_default,
                    bucket_key_enabled=kms,
                )
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(
            kind,
            bucket=b.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        return b

    # ------------------------------------------------------------ logs bucket
    def _logs_lifecycle(self) -> None:
        aws.s3.BucketLifecycleConfiguration(
            "logs",
            bucket=self.logs_bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="age-out-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=LOGS_TO_STANDARD_IA, storage_class="STANDARD_IA"
                        ),
                    ],
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=LOGS_EXPIRE),
                    noncurrent_version_expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=LOGS_NONCURRENT_EXPIRE
                        )
                    ),
                    abort_incomplete_multipart_upload=(
                        aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7
                        )
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _logs_policy(self) -> None:
        # ALB access logs land under alb/AWSLogs/<account>/, written by the
        # log delivery service principal (regions opened since August 2022) or,
        # in older regions such as us-west-2, by the region's Elastic Load
        # Balancing account. ALB checks this policy when logging is switched on.
        alb_log_objects = pulumi.Output.format(
            "{0}/{1}/AWSLogs/{2}/*", self.logs_bucket.arn, ALB_LOG_PREFIX, self._account
        )
        elb_account = aws.elb.get_service_account_output()
        logs_policy = aws.s3.BucketPolicy(
            "logs",
            bucket=self.logs_bucket.id,
            policy=policy_document(
                deny_insecure_transport(self.logs_bucket.arn),
                {
                    "Sid": "AlbAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": alb_log_objects,
                },
                {
                    "Sid": "AlbAccessLogDeliveryRegionalAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": elb_account.arn},
                    "Action": "s3:PutObject",
                    "Resource": alb_log_objects,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_blocks["logs"]]),
        )
        self.logs_ready.append(logs_policy)

    def _artifacts_policy(self) -> None:
        aws.s3.BucketPolicy(
            "artifacts",
            bucket=self.artifacts_bucket.id,
            policy=policy_document(deny_insecure_transport(self.artifacts_bucket.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_blocks["artifacts"]]),
        )
