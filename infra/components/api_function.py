"""The API function: ECR repository, arm64 container image, log group, role, Lambda.

``pulumi up`` builds ``docker/api.Dockerfile`` for linux/arm64 (buildx emulates
arm64 on an x86 machine), pushes it to the repository, and the function runs
the pushed digest (``<repository>@sha256:...``), never a mutable tag: a new
image means a new digest means a function update, and a re-push of the same
tag cannot change what runs. Lambda refuses image indexes (what buildx makes
when it attaches provenance attestations); pulumi-docker-build turns buildx's
default provenance off, so one platform gives one plain image manifest.

The function is invoked synchronously only (API Gateway proxy integration and
the ALB target), so a dead-letter queue or on-failure destination, which AWS
applies to asynchronous invocations only, would never receive anything; errors
go back to the caller and into the logs, metrics and X-Ray traces instead.

The role can do exactly what the code does (see :func:`function_policy`).

The function registers itself as the ALB's Lambda target (permission for
elasticloadbalancing.amazonaws.com scoped to the target group, then the
attachment), so the ALB and CloudFront can exist before it and the
storefront's origin can reach it as its CORS origin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.iam import policy_document
from infra.image_context import CONTEXT_LABEL, context_sha256
from infra.lambda_helpers import (
    ENI_ACTIONS,
    LOG_ACTIONS,
    DatabaseAccess,
    FunctionNetwork,
    SecureParameter,
    database_environment,
    database_statements,
    function_log_group,
    function_role,
    network_interfaces_statement,
    own_log_group_statement,
    parameter_read_statements,
)
from infra.settings import Settings
from shop.declarations import (
    CACHE_TTL_SECONDS,
    CART_TTL_SECONDS,
    LIBRARY_ENVIRONMENT,
    MEDIA_PREFIX,
    METRICS_NAMESPACE,
    SERVICE_NAME,
    TABLES,
    Env,
)

__all__ = ["ENI_ACTIONS", "LOG_ACTIONS", "ApiFunction", "ApiFunctionArgs", "function_policy"]

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "docker/api.Dockerfile"
HANDLER = "shop.api.handler.handler"
IMAGES_KEPT = 10

# What the shop's code calls on its tables: carts (get/put/update/delete), the
# catalog cache (batch get, put, update) and Powertools idempotency (get, put,
# update, delete). No scans, no queries (no table has an index), no table admin.
DYNAMODB_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# X-Ray has no resource-level permissions for these: the resource must be "*".
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def function_policy(
    *,
    table_arns: list[pulumi.Output[str]],
    index_arns: list[pulumi.Output[str]],
    database: DatabaseAccess,
    log_group_arn: pulumi.Input[str],
    key_arn: pulumi.Input[str],
    region: str,
    parameter_arns: Sequence[pulumi.Input[str]] = (),
    statements: Sequence[Mapping[str, Any]] = (),
    media_bucket_arn: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """The function role's policy document: one statement per thing the code does."""
    return policy_document(
        *media_upload_statements(media_bucket_arn, key_arn, region),
        {"Sid": "Tables", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": [*table_arns, *index_arns]},
        *database_statements(database, key_arn, region),
        own_log_group_statement(log_group_arn),
        {"Sid": "XRayNoResourceLevelPermissions", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
        network_interfaces_statement(),
        {
            "Sid": "TableEncryptionKeyThroughDynamoDB",
            "Effect": "Allow",
            "Action": list(KMS_ACTIONS),
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        },
        *parameter_read_statements(parameter_arns, key_arn, region),
        *statements,
    )


def media_upload_statements(
    bucket_arn: pulumi.Input[str] | None, key_arn: pulumi.Input[str], region: str
) -> list[dict[str, Any]]:
    """What a presigned image POST needs of its signer: PutObject below media/ (nothing else in the
    bucket) and, for SSE-KMS, a data key from the stack's key through S3 only."""
    if bucket_arn is None:
        return []
    return [
        {
            "Sid": "ProductImageUploads",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": pulumi.Output.format("{0}/{1}/*", bucket_arn, MEDIA_PREFIX),
        },
        {
            "Sid": "ProductImageEncryptionThroughS3",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]


def function_environment(
    settings: Settings,
    database: DatabaseAccess,
    tables: Mapping[str, aws.dynamodb.Table],
    cors_origin: pulumi.Input[str],
    log_level: str,
    parameters: Mapping[Env, SecureParameter] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The API function's environment: names from ``Env``, defaults from ``shop.declarations``."""
    variables: dict[str, pulumi.Input[str]] = {
        Env.ENVIRONMENT: settings.environment,
        **database_environment(database, reader=True),
        Env.CACHE_TTL_SECONDS: str(CACHE_TTL_SECONDS),
        Env.CART_TTL_SECONDS: str(CART_TTL_SECONDS),
        Env.CORS_ALLOW_ORIGIN: cors_origin,
        Env.LOG_LEVEL: log_level,
        Env.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        **LIBRARY_ENVIRONMENT,
    }
    for spec in TABLES:
        variables[spec.env] = tables[spec.logical].name
    for env, parameter in (parameters or {}).items():
        variables[env] = parameter.name
    return variables


@dataclass
class ApiFunctionArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    network: FunctionNetwork
    database: DatabaseAccess
    # Logical table name (TableSpec.logical) → table, for every spec in TABLES.
    tables: Mapping[str, aws.dynamodb.Table]
    # The ALB's Lambda target group the function registers itself in.
    target_group_arn: pulumi.Input[str]
    # The origin browsers may call the API from (see infra.settings.cors_allow_origin).
    cors_origin: pulumi.Input[str]
    # SSM SecureString parameters the code reads at call time, by the variable that names each.
    parameters: Mapping[Env, SecureParameter] = field(default_factory=dict)
    # Plain values other components own, by variable (e.g. identity.py's user pool for the token verifier).
    environment: Mapping[Env, pulumi.Input[str]] = field(default_factory=dict)
    # Statements other components own (events.py: events:PutEvents on the bus, after commit).
    statements: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    # The bucket product images are uploaded to (presigned POSTs the function signs, below media/).
    media_bucket_arn: pulumi.Input[str] | None = None


class ApiFunction(pulumi.ComponentResource):
    """ECR repository + image + the container-image API Lambda on arm64."""

    repository: aws.ecr.Repository
    image: docker_build.Image
    image_uri: pulumi.Output[str]
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    function: aws.lambda_.Function
    alb_permission: aws.lambda_.Permission

    def __init__(self, name: str, args: ApiFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:compute:ApiFunction", name, None, opts)
        missing = {spec.logical for spec in TABLES} - args.tables.keys()
        if missing:
            raise ValueError(f"ApiFunction: no table given for {sorted(missing)}")
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        function_name = args.settings.name("api")

        repository_policy = self._repository()
        self._image()
        self.log_group = function_log_group(
            "api", function_name, args.settings.profile.log_retention_days, args.key_arn, self._child
        )
        policy = self._role()
        self._function(function_name, depends_on=[self.log_group, policy, repository_policy])
        self._alb_target()

        self.register_outputs(
            {
                "repositoryUrl": self.repository.repository_url,
                "imageUri": self.image_uri,
                "functionName": self.function.name,
                "functionArn": self.function.arn,
            }
        )

    # ------------------------------------------------------------ image
    def _repository(self) -> aws.ecr.RepositoryPolicy:
        """The repository, its lifecycle, and the policy through which Lambda pulls (returned)."""
        settings, child = self._args.settings, self._child
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.repository = aws.ecr.Repository(
            "api",
            name=settings.name("api"),
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            image_tag_mutability="MUTABLE",
            # AES-256 (S3-managed) at rest: Lambda pulls the image with its own
            # service permissions, which a customer-managed key would also have to admit.
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            force_delete=not settings.profile.protect_data,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            "api",
            repository=self.repository.name,
            policy=pulumi.Output.json_dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"keep the last {IMAGES_KEPT} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": IMAGES_KEPT,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        # Lambda pulls the image with these two calls, for this account's functions only.
        lambda_functions = pulumi.Output.format(
            "arn:{0}:lambda:{1}:{2}:function:*", partition.partition, settings.region, identity.account_id
        )
        return aws.ecr.RepositoryPolicy(
            "api",
            repository=self.repository.name,
            policy=policy_document(
                {
                    "Sid": "LambdaPullsImages",
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Condition": {"StringLike": {"aws:sourceArn": lambda_functions}},
                }
            ),
            opts=child,
        )

    def _image(self) -> None:
        auth = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        self.image = docker_build.Image(
            "api",
            context=docker_build.BuildContextArgs(location=os.path.relpath(ROOT)),
            dockerfile=docker_build.DockerfileArgs(location=os.path.relpath(ROOT / DOCKERFILE)),
            platforms=[docker_build.Platform.LINUX_ARM64],
            # Built and pushed on `pulumi up` only: a preview needs no Docker. The context's hash
            # as a label still shows a preview that the image (and so the function) will change.
            build_on_preview=False,
            push=True,
            labels={CONTEXT_LABEL: context_sha256(ROOT, DOCKERFILE)},
            tags=[pulumi.Output.format("{0}:{1}", self.repository.repository_url, self._args.settings.suffix)],
            registries=[
                docker_build.RegistryArgs(
                    address=self.repository.repository_url,
                    username=auth.user_name,
                    password=pulumi.Output.secret(auth.password),
                )
            ],
            opts=self._child,
        )
        self.image_uri = pulumi.Output.format("{0}@{1}", self.repository.repository_url, self.image.digest)

    # ------------------------------------------------------------ role
    def _role(self) -> aws.iam.RolePolicy:
        args = self._args
        self.role = function_role("api", args.settings.name("api-function"), self._child)
        table_arns = [args.tables[spec.logical].arn for spec in TABLES]
        index_arns = [
            pulumi.Output.format("{0}/index/*", args.tables[spec.logical].arn) for spec in TABLES if spec.indexes
        ]
        return aws.iam.RolePolicy(
            "api",
            role=self.role.id,
            policy=function_policy(
                table_arns=table_arns,
                index_arns=index_arns,
                database=args.database,
                log_group_arn=self.log_group.arn,
                key_arn=args.key_arn,
                region=args.settings.region,
                parameter_arns=[parameter.arn for parameter in args.parameters.values()],
                statements=args.statements,
                media_bucket_arn=args.media_bucket_arn,
            ),
            opts=self._child,
        )

    # ------------------------------------------------------------ function
    def _function(self, function_name: str, depends_on: list[pulumi.Resource]) -> None:
        args, profile = self._args, self._args.settings.profile
        log_level = "DEBUG" if args.settings.environment == "dev" else "INFO"
        variables = function_environment(
            args.settings, args.database, args.tables, args.cors_origin, log_level, args.parameters
        )
        variables.update({str(k): v for k, v in args.environment.items()})
        self.function = aws.lambda_.Function(
            "api",
            name=function_name,
            role=self.role.arn,
            package_type="Image",
            image_uri=self.image_uri,
            architectures=["arm64"],
            memory_size=profile.lambda_memory_mb,
            timeout=profile.lambda_timeout_seconds,
            reserved_concurrent_executions=profile.reserved_concurrent_executions,
            vpc_config=args.network.vpc_config(),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={str(k): v for k, v in variables.items()}),
            # JSON logs with Lambda's level filter at the app's own level (it would drop DEBUG otherwise).
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=self.log_group.name,
                application_log_level=log_level,
                system_log_level="WARN",
            ),
            # The log group must exist first (or Lambda creates one without
            # retention), Lambda checks the ENI permissions at creation, and it
            # would write its own repository policy if ours were not there yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    # ------------------------------------------------------------ ALB target
    def _alb_target(self) -> None:
        target_group_arn = self._args.target_group_arn
        self.alb_permission = aws.lambda_.Permission(
            "alb-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=target_group_arn,
            opts=self._child,
        )
        # Registering the target makes the ALB invoke the function: the
        # permission must exist first.
        aws.lb.TargetGroupAttachment(
            "api",
            target_group_arn=target_group_arn,
            target_id=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.alb_permission]),
        )
