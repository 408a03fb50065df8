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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.components.order_token_secret import read_statements
from infra.iam import service_trust_policy
from infra.image_context import CONTEXT_LABEL, context_sha256
from infra.settings import Settings
from shop.declarations import METRICS_NAMESPACE, SERVICE_NAME, TABLES, Env

if TYPE_CHECKING:
    from infra.components.database import Database
    from infra.components.network import Network

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "docker/api.Dockerfile"
HANDLER = "shop.api.handler.handler"
DB_PORT = 5432
IMAGES_KEPT = 10
# Seconds a catalog read stays in the DynamoDB cache; seconds a cart lives.
CACHE_TTL_SECONDS = 60
CART_TTL_SECONDS = 24 * 3600

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
# What a VPC-attached function's role needs to manage its ENIs (the actions of
# AWSLambdaVPCAccessExecutionRole). EC2 offers no resource-level form for the
# Describe calls and Lambda names no ENI in advance, so the resource is "*".
ENI_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
# X-Ray has no resource-level permissions for these: the resource must be "*".
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def function_log_group(
    logical: str, function_name: str, settings: Settings, key: aws.kms.Key, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """The log group Lambda would otherwise create itself, unencrypted and never expiring."""
    return aws.cloudwatch.LogGroup(
        logical,
        name=f"/aws/lambda/{function_name}",
        retention_in_days=settings.profile.log_retention_days,
        kms_key_id=key.arn,
        opts=opts,
    )


def function_role(logical: str, role_name: str, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """A role only the Lambda service may assume; its permissions are each caller's inline policy."""
    return aws.iam.Role(
        logical,
        name=role_name,
        assume_role_policy=service_trust_policy("lambda.amazonaws.com"),
        opts=opts,
    )


def function_policy(
    *,
    table_arns: list[pulumi.Output[str]],
    index_arns: list[pulumi.Output[str]],
    connect_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    key_arn: pulumi.Input[str],
    region: str,
    extra_statements: list[dict[str, Any]] | None = None,
) -> pulumi.Output[str]:
    """The function role's policy document: one statement per thing the code does."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Tables",
                    "Effect": "Allow",
                    "Action": list(DYNAMODB_ACTIONS),
                    "Resource": [*table_arns, *index_arns],
                },
                {
                    "Sid": "DatabaseViaProxy",
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": connect_arn,
                },
                {
                    "Sid": "OwnLogGroup",
                    "Effect": "Allow",
                    "Action": list(LOG_ACTIONS),
                    "Resource": pulumi.Output.format("{0}:*", log_group_arn),
                },
                {
                    "Sid": "XRayNoResourceLevelPermissions",
                    "Effect": "Allow",
                    "Action": list(XRAY_ACTIONS),
                    "Resource": "*",
                },
                {
                    "Sid": "VpcNetworkInterfacesNoResourceLevelPermissions",
                    "Effect": "Allow",
                    "Action": list(ENI_ACTIONS),
                    "Resource": "*",
                },
                {
                    "Sid": "TableEncryptionKeyThroughDynamoDB",
                    "Effect": "Allow",
                    "Action": list(KMS_ACTIONS),
                    "Resource": key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
                },
                *(extra_statements or []),
            ],
        }
    )


@dataclass
class ApiFunctionArgs:
    settings: Settings
    key: aws.kms.Key
    network: Network
    database: Database
    # Logical table name (TableSpec.logical) → table, for every spec in TABLES.
    tables: Mapping[str, aws.dynamodb.Table]
    # The ALB's Lambda target group the function registers itself in.
    target_group: aws.lb.TargetGroup
    # The origin browsers may call the API from (see cors_allow_origin).
    cors_origin: pulumi.Input[str]
    # The SSM SecureString with the order-token HMAC key (infra/components/order_token_secret.py).
    order_token_parameter: aws.ssm.Parameter | None = None


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
        settings, profile = args.settings, args.settings.profile
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        function_name = settings.name("api")

        # ------------------------------------------------------------ image
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
        repository_policy = aws.ecr.RepositoryPolicy(
            "api",
            repository=self.repository.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LambdaPullsImages",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            "Condition": {
                                "StringLike": {
                                    "aws:sourceArn": pulumi.Output.format(
                                        "arn:{0}:lambda:{1}:{2}:function:*",
                                        partition.partition,
                                        settings.region,
                                        identity.account_id,
                                    )
                                }
                            },
                        }
                    ],
                }
            ),
            opts=child,
        )

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
            tags=[pulumi.Output.format("{0}:{1}", self.repository.repository_url, settings.suffix)],
            registries=[
                docker_build.RegistryArgs(
                    address=self.repository.repository_url,
                    username=auth.user_name,
                    password=pulumi.Output.secret(auth.password),
                )
            ],
            opts=child,
        )
        self.image_uri = pulumi.Output.format("{0}@{1}", self.repository.repository_url, self.image.digest)

        # ------------------------------------------------------------ logs
        self.log_group = function_log_group("api", function_name, settings, args.key, child)

        # ------------------------------------------------------------ role
        self.role = function_role("api", settings.name("api-function"), child)
        specs = {spec.logical: spec for spec in TABLES}
        missing = specs.keys() - args.tables.keys()
        if missing:
            raise ValueError(f"ApiFunction: no table given for {sorted(missing)}")
        table_arns = [args.tables[logical].arn for logical in specs]
        index_arns = [
            pulumi.Output.format("{0}/index/*", args.tables[logical].arn)
            for logical, spec in specs.items()
            if spec.indexes
        ]
        policy = aws.iam.RolePolicy(
            "api",
            role=self.role.id,
            policy=function_policy(
                table_arns=table_arns,
                index_arns=index_arns,
                connect_arn=args.database.connect_arn,
                log_group_arn=self.log_group.arn,
                key_arn=args.key.arn,
                region=settings.region,
                extra_statements=(
                    read_statements(args.order_token_parameter.arn, args.key.arn, settings.region)
                    if args.order_token_parameter is not None
                    else None
                ),
            ),
            opts=child,
        )

        # ------------------------------------------------------------ function
        log_level = "DEBUG" if settings.environment == "dev" else "INFO"
        variables: dict[str, pulumi.Input[str]] = {
            Env.ENVIRONMENT: settings.environment,
            Env.DB_WRITER_HOST: args.database.writer_host,
            Env.DB_READER_HOST: args.database.reader_host,
            Env.DB_PORT: str(DB_PORT),
            Env.DB_NAME: args.database.database_name,
            Env.DB_USER: args.database.db_user,
            Env.DB_IAM_AUTH: "true",
            Env.CACHE_TTL_SECONDS: str(CACHE_TTL_SECONDS),
            Env.CART_TTL_SECONDS: str(CART_TTL_SECONDS),
            Env.CORS_ALLOW_ORIGIN: args.cors_origin,
            Env.LOG_LEVEL: log_level,
            Env.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
            Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        }
        for logical, spec in specs.items():
            variables[spec.env] = args.tables[logical].name
        if args.order_token_parameter is not None:
            variables[Env.ORDER_TOKEN_SECRET_PARAMETER] = args.order_token_parameter.name

        self.function = aws.lambda_.Function(
            "api",
            name=function_name,
            role=self.role.arn,
            package_type="Image",
            image_uri=self.image_uri,
            architectures=["arm64"],
            memory_size=profile.lambda_memory_mb,
            timeout=profile.lambda_timeout_seconds,
            reserved_concurrent_executions=profile.lambda_reserved_concurrency,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=[s.id for s in args.network.private_subnets],
                security_group_ids=[args.network.function_security_group.id],
            ),
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy, repository_policy]),
        )

        # ------------------------------------------------------------ ALB target
        self.alb_permission = aws.lambda_.Permission(
            "alb-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=args.target_group.arn,
            opts=child,
        )
        # Registering the target makes the ALB invoke the function: the
        # permission must exist first.
        aws.lb.TargetGroupAttachment(
            "api",
            target_group_arn=args.target_group.arn,
            target_id=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.alb_permission]),
        )

        self.register_outputs(
            {
                "repositoryUrl": self.repository.repository_url,
                "imageUri": self.image_uri,
                "functionName": self.function.name,
                "functionArn": self.function.arn,
            }
        )


def cors_allow_origin(settings: Settings, storefront_origin: pulumi.Input[str]) -> pulumi.Input[str]:
    """The origin browsers may call the API from, on both entry points.

    The storefront itself reaches the API through its own CloudFront domain
    (same origin, no CORS needed). Outside prod any origin may call (local
    tools, previews); prod admits only the storefront's origin (its custom
    domain, or the distribution's domain).
    """
    return "*" if not settings.is_prod else storefront_origin
