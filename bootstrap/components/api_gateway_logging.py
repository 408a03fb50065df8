"""API Gateway's CloudWatch role for this region (``aws.apigateway.Account``).

The setting is one per account and region: whichever stack sets it last wins, and deleting the
resource resets the role ARN (pulumi-aws v7), stopping API Gateway logging in the region. The
app's stacks therefore do not own it by default (their flag for it is off); this bootstrap
program does, once per account and region, so that review stacks coming and going never touch it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap.settings import BootstrapSettings
from infra.iam import service_trust_policy
from shop.declarations import PROJECT

# What API Gateway does with the role: create its execution-log groups and write to them.
LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:PutLogEvents",
)


@dataclass
class ApiGatewayLoggingArgs:
    settings: BootstrapSettings


class ApiGatewayLogging(pulumi.ComponentResource):
    """The role API Gateway writes execution logs with, set as the region's account setting."""

    role: aws.iam.Role
    account: aws.apigateway.Account

    def __init__(self, name: str, args: ApiGatewayLoggingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce-bootstrap:apigateway:Logging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.role = aws.iam.Role(
            "apigateway-logs",
            name=f"{PROJECT}-apigateway-cloudwatch-{args.settings.region}",
            assume_role_policy=service_trust_policy(
                "apigateway.amazonaws.com", condition={"StringEquals": {"aws:SourceAccount": identity.account_id}}
            ),
            tags=args.settings.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            "apigateway-logs",
            role=self.role.id,
            policy=pulumi.Output.all(partition.partition, identity.account_id).apply(
                lambda v: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "ExecutionLogsInThisRegion",
                                "Effect": "Allow",
                                "Action": list(LOG_ACTIONS),
                                "Resource": f"arn:{v[0]}:logs:{args.settings.region}:{v[1]}:*",
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        self.account = aws.apigateway.Account(
            "account",
            cloudwatch_role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"roleArn": self.role.arn})
