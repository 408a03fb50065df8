"""GitHub's OIDC identity provider and the deploy role the workflows assume with it.

An AWS account holds one OIDC provider per URL (a second ``CreateOpenIDConnectProvider`` for the
same URL fails with EntityAlreadyExists): when the account already has GitHub's, pass its ARN
(``oidcProviderArn``) and this component trusts it instead of creating one. AWS verifies GitHub's
tokens against its own library of trusted root CAs, so the thumbprint is not what secures the
provider; the provider still requires one in older accounts' API, and GitHub publishes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap.policies import AUDIENCE, GITHUB_OIDC_URL, deploy_policy, github_subjects, trust_policy
from bootstrap.settings import DEPLOY_ROLE_NAME, MAX_SESSION_SECONDS, BootstrapSettings

# The certificate thumbprint GitHub documents for token.actions.githubusercontent.com.
GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"


@dataclass
class GithubOidcArgs:
    settings: BootstrapSettings


class GithubOidc(pulumi.ComponentResource):
    """OIDC provider (or the account's existing one) + the deploy role and its policy."""

    provider_arn: pulumi.Output[str]
    role: aws.iam.Role
    policy: aws.iam.Policy

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce-bootstrap:github:Oidc", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        self.provider_arn = self._identity_provider()
        self.role = self._role()
        self.policy = self._policy()
        aws.iam.RolePolicyAttachment("deploy", role=self.role.name, policy_arn=self.policy.arn, opts=self._child)
        self.register_outputs({"providerArn": self.provider_arn, "roleArn": self.role.arn})

    def _identity_provider(self) -> pulumi.Output[str]:
        if self._settings.oidc_provider_arn:
            return pulumi.Output.from_input(self._settings.oidc_provider_arn)
        provider = aws.iam.OpenIdConnectProvider(
            "github",
            url=GITHUB_OIDC_URL,
            client_id_lists=[AUDIENCE],
            thumbprint_lists=[GITHUB_THUMBPRINT],
            tags=self._settings.tags,
            opts=self._child,
        )
        return provider.arn

    def _role(self) -> aws.iam.Role:
        subjects = github_subjects(self._settings)
        return aws.iam.Role(
            "deploy",
            name=DEPLOY_ROLE_NAME,
            description=f"GitHub Actions of {self._settings.repository} deploy the app's stacks (OIDC, no keys)",
            assume_role_policy=self.provider_arn.apply(lambda arn: json.dumps(trust_policy(arn, subjects))),
            max_session_duration=MAX_SESSION_SECONDS,
            tags=self._settings.tags,
            opts=self._child,
        )

    def _policy(self) -> aws.iam.Policy:
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        document = pulumi.Output.all(partition.partition, identity.account_id, self.provider_arn).apply(
            lambda v: json.dumps(
                deploy_policy(partition=v[0], account=v[1], deploy_role_name=DEPLOY_ROLE_NAME, provider_arn=v[2])
            )
        )
        return aws.iam.Policy(
            "deploy",
            name=f"{DEPLOY_ROLE_NAME}-policy",
            description="What a deploy of the app's stacks needs; IAM only on the app's own roles",
            policy=document,
            tags=self._settings.tags,
            opts=self._child,
        )
