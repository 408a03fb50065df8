"""API Gateway's account settings for this region: the CloudWatch role every REST API logs with.

``aws.apigateway.Account`` is a per-account, per-region setting, not part of any one API, and in
pulumi-aws v7 deleting the resource resets the role to none, which switches off logging for every
stage in the region (their next update fails). So exactly one program per account and region owns
it: the bootstrap program in bootstrap/. An app stack declares this component only with
``manageApiGatewayAccount: true`` (for an account without the bootstrap program).

Everything here is ``retain_on_delete``: destroying the owning stack, or turning the flag off,
forgets the role and the setting instead of resetting the region. (Stacks deployed before the
flag existed hold these resources without that option: see README, "Upgrading a stack deployed
before manageApiGatewayAccount".)

The role and the setting used to be children of the ApiGateway component; aliases keep their
existing URNs, so moving them here replaces nothing in a deployed stack.

:func:`cloudwatch_role` is the one declaration of the role (trust, actions, scope): the bootstrap
program's ApiGatewayLogging component builds its role with it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document, service_trust_policy
from infra.settings import Settings

# Where these resources lived before (the ApiGateway component in infra/__main__.py).
PREVIOUS_PARENT = ("api-gateway", "ecommerce:delivery:ApiGateway")
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


def previous_parent_urn() -> str:
    """The URN of the component these resources were children of (a direct child of the stack)."""
    name, type_ = PREVIOUS_PARENT
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::pulumi:pulumi:Stack${type_}::{name}"


def cloudwatch_role(
    role_name: pulumi.Input[str],
    region: str,
    *,
    opts: pulumi.ResourceOptions,
    tags: pulumi.Input[dict[str, str]] | None = None,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role API Gateway writes execution logs with (``apigateway-logs``) and its inline policy.

    Only API Gateway of this account may assume it (``aws:SourceAccount``, against the confused
    deputy). The account setting serves every API in the region, so the policy covers this region's
    log groups, not just one stack's."""
    identity = aws.get_caller_identity_output()
    partition = aws.get_partition_output()
    role = aws.iam.Role(
        "apigateway-logs",
        name=role_name,
        assume_role_policy=service_trust_policy(
            "apigateway.amazonaws.com", condition={"StringEquals": {"aws:SourceAccount": identity.account_id}}
        ),
        tags=tags,
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        "apigateway-logs",
        role=role.id,
        policy=policy_document(
            {
                "Sid": "ApiGatewayLogsInThisRegion",
                "Effect": "Allow",
                "Action": list(LOG_ACTIONS),
                "Resource": pulumi.Output.format(
                    "arn:{0}:logs:{1}:{2}:*", partition.partition, region, identity.account_id
                ),
            }
        ),
        opts=opts,
    )
    return role, policy


@dataclass
class ApiGatewayAccountArgs:
    settings: Settings


class ApiGatewayAccount(pulumi.ComponentResource):
    role: aws.iam.Role
    account: aws.apigateway.Account

    def __init__(self, name: str, args: ApiGatewayAccountArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:delivery:ApiGatewayAccount", name, None, opts)
        settings = args.settings
        # Kept on delete: the region's other stages log through this role until someone else sets one.
        moved = pulumi.ResourceOptions(
            parent=self, aliases=[pulumi.Alias(parent=previous_parent_urn())], retain_on_delete=True
        )
        self.role, policy = cloudwatch_role(settings.name("apigateway-logs"), settings.region, opts=moved)
        self.account = aws.apigateway.Account(
            "account",
            cloudwatch_role_arn=self.role.arn,
            opts=pulumi.ResourceOptions.merge(moved, pulumi.ResourceOptions(depends_on=[policy])),
        )
        self.register_outputs({"cloudwatchRoleArn": self.role.arn})
