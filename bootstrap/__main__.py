"""One-time account setup for the deploy pipeline: only wiring; each concern is a component in
bootstrap/components/. An account admin runs it once per account and region (README)."""

import sys
from pathlib import Path

# Pulumi runs this file with only bootstrap/ on sys.path: put the repository's roots first.
_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [p for p in (str(_REPO), str(_REPO / "src")) if p not in sys.path]

import pulumi

from bootstrap.components.api_gateway_logging import ApiGatewayLogging, ApiGatewayLoggingArgs
from bootstrap.components.github_oidc import GithubOidc, GithubOidcArgs
from bootstrap.components.state_backend import StateBackend, StateBackendArgs
from bootstrap.settings import load_bootstrap_settings

settings = load_bootstrap_settings()

oidc = GithubOidc("github", GithubOidcArgs(settings=settings))
pulumi.export("deployRoleArn", oidc.role.arn)
pulumi.export("oidcProviderArn", oidc.provider_arn)

if settings.manage_api_gateway_account:
    logging = ApiGatewayLogging("apigateway", ApiGatewayLoggingArgs(settings=settings))
    pulumi.export("apiGatewayCloudWatchRoleArn", logging.role.arn)

if settings.state_backend == "s3":
    backend = StateBackend("state", StateBackendArgs(settings=settings))
    pulumi.export("stateBucketName", backend.bucket.bucket)
    pulumi.export("secretsKeyAlias", backend.alias.name)
