"""The S3 state backend and its KMS secrets provider (``stateBackend: s3``).

The bucket holds every stack's state: versioned (a bad write can be rolled back), encrypted with
the key, private (public access blocked, ACLs off), TLS only, and protected from ``pulumi
destroy``. The key encrypts the stacks' secrets (``awskms://alias/...``) and the bucket; it
rotates yearly and is protected too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap.settings import BootstrapSettings
from shop.declarations import PROJECT

SECRETS_ALIAS = f"alias/{PROJECT}-pulumi-secrets"


@dataclass
class StateBackendArgs:
    settings: BootstrapSettings


class StateBackend(pulumi.ComponentResource):
    key: aws.kms.Key
    bucket: aws.s3.Bucket
    alias: aws.kms.Alias

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce-bootstrap:state:Backend", name, None, opts)
        tags = args.settings.tags
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        self.key = aws.kms.Key(
            "secrets",
            description="Pulumi state and secrets of the ecommerce stacks",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=kept,
        )
        self.alias = aws.kms.Alias("secrets", name=SECRETS_ALIAS, target_key_id=self.key.key_id, opts=child)
        self.bucket = aws.s3.Bucket(
            "state",
            bucket=pulumi.Output.format("{0}-pulumi-state-{1}-{2}", PROJECT, identity.account_id, args.settings.region),
            tags=tags,
            opts=kept,
        )
        self._lock_down()
        self.register_outputs({"bucket": self.bucket.bucket, "keyArn": self.key.arn, "alias": self.alias.name})

    def _lock_down(self) -> None:
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketVersioning(
            "state",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "state",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            "state",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            "state",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPolicy(
            "state",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [self.bucket.arn, pulumi.Output.format("{0}/*", self.bucket.arn)],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
