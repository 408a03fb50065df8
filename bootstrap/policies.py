"""What the deploy role trusts and what it may do, as plain data (tested without AWS).

Trust: GitHub's OIDC provider, audience ``sts.amazonaws.com``, and a ``sub`` that is exactly one
of this repository's subjects: ``repo:<owner>/<name>:ref:refs/heads/<branch>`` (a push workflow
without an environment), ``...:environment:<name>`` (a job that names a GitHub environment: the
claim then names the environment, not the branch) and ``...:pull_request`` (preview and review
stacks). ``StringEquals``, no wildcards: another repository, a fork or a tag never matches.

Permissions: full control of the services the app's stacks are made of, because their resources
have ids AWS picks (VPCs, distributions, keys, APIs), while IAM, the one service that can widen
access, is cut down to the app's own ``ecommerce-*`` roles and policies, passed only to the
services that run them; read-only IAM calls anywhere (Pulumi refreshes what it manages); the
deploy role and the OIDC provider themselves are out of reach, and the AWS-managed admin
policies cannot be attached to anything.
"""

from __future__ import annotations

from typing import Any

from bootstrap.settings import BootstrapSettings
from shop.declarations import PROJECT

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
AUDIENCE = "sts.amazonaws.com"

# Services whose resources the app's stacks create, update and delete.
DEPLOY_SERVICES = (
    "apigateway",
    "application-autoscaling",
    "backup",
    "backup-storage",
    "cloudfront",
    "cloudwatch",
    "cognito-idp",
    "dynamodb",
    "ec2",
    "ecr",
    "elasticloadbalancing",
    "events",
    "kms",
    "lambda",
    "logs",
    "rds",
    "s3",
    "scheduler",
    "schemas",
    "secretsmanager",
    "ses",
    "sns",
    "sqs",
    "ssm",
    "wafv2",
    "xray",
)
# Read-only calls outside those services that a deploy, a preflight or a refresh makes.
READ_ACTIONS = (
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "acm:ListTagsForCertificate",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "servicequotas:GetServiceQuota",
    "sts:GetCallerIdentity",
    "tag:GetResources",
)
# IAM changes the app's stacks make, on their own roles and policies only.
ROLE_WRITE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:TagPolicy",
    "iam:TagRole",
    "iam:UntagPolicy",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
# The services the app's roles are passed to (their trust policies' principals).
PASSED_TO_SERVICES = (
    "apigateway.amazonaws.com",
    "backup.amazonaws.com",
    "edgelambda.amazonaws.com",
    "lambda.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "rds.amazonaws.com",
    "scheduler.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)
# Service-linked roles AWS creates on first use of a service in an account.
SERVICE_LINKED_ROLES = (
    "backup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "ops.apigateway.amazonaws.com",
    "rds.amazonaws.com",
    "replicator.lambda.amazonaws.com",
    "logger.cloudfront.amazonaws.com",
)
# AWS-managed policies that would hand out everything; no app role may get one.
ESCALATION_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


def github_subjects(settings: BootstrapSettings) -> list[str]:
    """Every ``sub`` claim the deploy role accepts, spelled out."""
    repo = f"repo:{settings.repository}"
    subjects = [f"{repo}:ref:refs/heads/{branch}" for branch in settings.branches]
    subjects += [f"{repo}:environment:{name}" for name in settings.environments]
    if settings.pull_requests:
        subjects.append(f"{repo}:pull_request")
    return subjects


def trust_policy(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOfOneRepository",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subjects,
                    }
                },
            }
        ],
    }


def deploy_policy(*, partition: str, account: str, deploy_role_name: str, provider_arn: str) -> dict[str, Any]:
    iam = f"arn:{partition}:iam::{account}"
    app_roles = f"{iam}:role/{PROJECT}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StackServices",
                "Effect": "Allow",
                "Action": [f"{service}:*" for service in DEPLOY_SERVICES],
                "Resource": "*",
            },
            {"Sid": "ReadOnlyLookups", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "AppRolesAndPolicies",
                "Effect": "Allow",
                "Action": list(ROLE_WRITE_ACTIONS),
                "Resource": [app_roles, f"{iam}:policy/{PROJECT}-*"],
            },
            {
                "Sid": "PassAppRolesToTheirServices",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": app_roles,
                "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
            },
            {
                "Sid": "ServiceLinkedRolesOnFirstUse",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"{iam}:role/aws-service-role/*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
            },
            {
                "Sid": "NoAdminPoliciesOnAppRoles",
                "Effect": "Deny",
                "Action": ["iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"iam:PolicyARN": [f"arn:{partition}:iam::aws:policy/{p}" for p in ESCALATION_POLICIES]}
                },
            },
            {
                "Sid": "HandsOffTheDeployRoleAndTheProvider",
                "Effect": "Deny",
                "NotAction": [a for a in READ_ACTIONS if a.startswith("iam:")],
                "Resource": [f"{iam}:role/{deploy_role_name}", provider_arn],
            },
        ],
    }
