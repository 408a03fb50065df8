"""What every Lambda function of the platform shares: its log group, a Lambda-trusted role, the
policy statements a VPC function needs (own log group, ENIs, the database through RDS Proxy or the cluster), its
VPC attachment, and the environment through which it finds the database; for the functions that run one
command of the API image, the function itself and the EventBridge Scheduler schedule that invokes one.

Components (the API function, the migration function) import from here, never from each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document, service_trust_policy
from infra.settings import Settings
from shop.declarations import DB_NAME, DB_PORT, Env

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
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class FunctionNetwork:
    """Where a VPC function's ENIs live: the private subnets and the function security group."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]

    def vpc_config(self) -> aws.lambda_.FunctionVpcConfigArgs:
        return aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=list(self.subnet_ids), security_group_ids=list(self.security_group_ids)
        )


@dataclass(frozen=True)
class DatabaseAccess:
    """How a VPC function reaches the database: the hosts (RDS Proxy or cluster endpoints) and how it
    signs in as ``user``: an IAM token (``connect_arn``, the ``rds-db:connect`` resource), or the
    password in a Secrets Manager secret (``secret_arn``: the migration function without a proxy).

    ``ready`` lists what must exist before a function may connect (the database component)."""

    writer_host: pulumi.Input[str]
    reader_host: pulumi.Input[str]
    user: str
    connect_arn: pulumi.Input[str] | None
    secret_arn: pulumi.Input[str] | None = None
    name: str = DB_NAME
    port: int = DB_PORT
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.connect_arn is None) == (self.secret_arn is None):
            raise ValueError("DatabaseAccess signs in one way: an IAM connect ARN or a secret, not both or neither")


def database_environment(database: DatabaseAccess, *, reader: bool) -> dict[str, pulumi.Input[str]]:
    """The environment a VPC function connects to the database with (IAM auth through the proxy);
    the reader endpoint only for functions that read from replicas."""
    variables: dict[str, pulumi.Input[str]] = {Env.DB_WRITER_HOST: database.writer_host}
    if reader:
        variables[Env.DB_READER_HOST] = database.reader_host
    variables.update(
        {
            Env.DB_PORT: str(database.port),
            Env.DB_NAME: database.name,
            Env.DB_USER: database.user,
            Env.DB_IAM_AUTH: "true" if database.connect_arn is not None else "false",
        }
    )
    if database.secret_arn is not None:
        variables[Env.DB_SECRET_ARN] = database.secret_arn
    return variables


def own_log_group_statement(log_group_arn: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "Sid": "OwnLogGroup",
        "Effect": "Allow",
        "Action": list(LOG_ACTIONS),
        "Resource": pulumi.Output.format("{0}:*", log_group_arn),
    }


def network_interfaces_statement() -> dict[str, Any]:
    return {
        "Sid": "VpcNetworkInterfacesNoResourceLevelPermissions",
        "Effect": "Allow",
        "Action": list(ENI_ACTIONS),
        "Resource": "*",
    }


def database_statements(database: DatabaseAccess, key_arn: pulumi.Input[str], region: str) -> list[dict[str, Any]]:
    """Signing in to the database: ``rds-db:connect`` as the user, or reading its one secret (and
    decrypting it only through Secrets Manager)."""
    if database.connect_arn is not None:
        return [
            {
                "Sid": "DatabaseIamSignIn",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": database.connect_arn,
            }
        ]
    return [
        {
            "Sid": "ReadTheDatabaseSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": database.secret_arn,
        },
        {
            "Sid": "DecryptItThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]


def function_log_group(
    logical: str, function_name: str, retention_days: int, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """The log group Lambda would otherwise create itself, unencrypted and never expiring."""
    return aws.cloudwatch.LogGroup(
        logical,
        name=f"/aws/lambda/{function_name}",
        retention_in_days=retention_days,
        kms_key_id=key_arn,
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


def function_role_and_log_group(
    logical: str,
    function_name: str,
    settings: Settings,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.cloudwatch.LogGroup, aws.iam.Role]:
    """A function's log group (``logical``, the stack's retention, encrypted with ``key_arn``) and its
    Lambda-trusted role (``logical``, named ``<logical>-function``); the caller grants the role its
    least-privilege inline policy. ``opts`` carries the parent."""
    log_group = function_log_group(logical, function_name, settings.profile.log_retention_days, key_arn, opts)
    role = function_role(logical, settings.name(f"{logical}-function"), opts)
    return log_group, role


@dataclass(frozen=True)
class SecureParameter:
    """An SSM SecureString parameter a function reads at call time: its name (for the environment)
    and its ARN (for the role)."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


def parameter_read_statements(
    parameter_arns: Sequence[pulumi.Input[str]], key_arn: pulumi.Input[str], region: str
) -> list[dict[str, Any]]:
    """Read (and decrypt, through SSM only) exactly these parameters; nothing when there are none."""
    if not parameter_arns:
        return []
    return [
        {"Sid": "ReadOwnParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": list(parameter_arns)},
        {
            "Sid": "ParameterKeyThroughSsm",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            # SSM decrypts a SecureString with the encryption context PARAMETER_ARN = the parameter's ARN.
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"ssm.{region}.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": list(parameter_arns),
                }
            },
        },
    ]


@dataclass(frozen=True)
class CommandFunctionSpec:
    """A function that runs one command of the API image (migrations and jobs in the VPC, the
    back-office authorizer outside it)."""

    logical: str
    function_name: pulumi.Input[str]
    command: str
    memory_mb: int
    timeout_seconds: int


def image_command_function(
    spec: CommandFunctionSpec,
    *,
    role_arn: pulumi.Input[str],
    image_uri: pulumi.Input[str],
    network: FunctionNetwork | None,
    log_group: aws.cloudwatch.LogGroup,
    variables: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.lambda_.Function:
    """The API image on arm64 with ``spec.command`` as its entry point, in the VPC (``network``; None:
    outside any VPC), JSON logs to ``log_group``; ``opts`` carries the parent and what the function
    must wait for."""
    return aws.lambda_.Function(
        spec.logical,
        name=spec.function_name,
        role=role_arn,
        package_type="Image",
        image_uri=image_uri,
        image_config=aws.lambda_.FunctionImageConfigArgs(commands=[spec.command]),
        architectures=["arm64"],
        memory_size=spec.memory_mb,
        timeout=spec.timeout_seconds,
        vpc_config=network.vpc_config() if network is not None else None,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables={str(k): v for k, v in variables.items()}),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        opts=opts,
    )


def function_schedule(
    logical: str,
    *,
    schedule_name: str,
    role_name: str,
    schedule_expression: str,
    function_arn: pulumi.Input[str],
    invoke_sid: str,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, aws.scheduler.Schedule]:
    """An EventBridge Scheduler schedule (``logical``) that invokes one function on
    ``schedule_expression``, with no flexible window and no retries (the next run is the retry), and
    its own role (``<logical>-schedule``, with the policy of that name) that may invoke exactly that
    function. ``opts`` carries the parent; the schedule also waits for the policy."""
    role = aws.iam.Role(
        f"{logical}-schedule",
        name=role_name,
        assume_role_policy=service_trust_policy("scheduler.amazonaws.com"),
        opts=opts,
    )
    invoke = aws.iam.RolePolicy(
        f"{logical}-schedule",
        role=role.id,
        policy=policy_document(
            {"Sid": invoke_sid, "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}
        ),
        opts=opts,
    )
    schedule = aws.scheduler.Schedule(
        logical,
        name=schedule_name,
        schedule_expression=schedule_expression,
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=function_arn,
            role_arn=role.arn,
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=0),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[invoke])),
    )
    return role, schedule
