"""The bootstrap program's configuration, read once and validated (bad config fails before anything
is created, naming the key and what it accepts)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pulumi

from shop.declarations import PROJECT

REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# GitHub environment and branch names as they appear in the OIDC `sub` claim; no wildcards, so
# every subject the trust policy admits is spelled out.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
BACKENDS = ("cloud", "s3")
# The deploy role's name: outside the app's `ecommerce-*` names, which the role may manage.
DEPLOY_ROLE_NAME = f"github-actions-{PROJECT}-deploy"
# The longest a deploy job may hold its credentials: a first prod `pulumi up` (Aurora, CloudFront,
# Lambda@Edge) can take well over an hour. AWS allows 1 to 12 hours.
MAX_SESSION_SECONDS = 4 * 3600


class BootstrapConfigError(ValueError):
    """A config value the bootstrap program cannot use."""


@dataclass(frozen=True)
class BootstrapSettings:
    region: str
    repository: str
    branches: tuple[str, ...]
    environments: tuple[str, ...]
    pull_requests: bool
    manage_api_gateway_account: bool
    state_backend: Literal["cloud", "s3"]
    oidc_provider_arn: str | None
    tags: dict[str, str]


def _names(config: pulumi.Config, key: str, default: list[str]) -> tuple[str, ...]:
    value = config.get_object(key)
    names = default if value is None else value
    if not isinstance(names, list) or not all(isinstance(n, str) and NAME.match(n) for n in names):
        raise BootstrapConfigError(f"config {key} must be a list of branch or environment names, not {value!r}")
    return tuple(names)


def load_bootstrap_settings() -> BootstrapSettings:
    config = pulumi.Config()
    region = pulumi.Config("aws").get("region")
    if not region:
        raise BootstrapConfigError(
            "config aws:region is required (for example: pulumi config set aws:region us-west-2)"
        )
    repository = config.get("githubRepository") or ""
    if not REPOSITORY.match(repository):
        raise BootstrapConfigError(
            f"config githubRepository must be the repository as owner/name (for example acme/shop), not {repository!r}"
        )
    backend = config.get("stateBackend") or "cloud"
    if backend not in BACKENDS:
        raise BootstrapConfigError(f"config stateBackend = {backend!r} is not valid; allowed values: cloud, s3")
    branches = _names(config, "deployBranches", ["main"])
    environments = _names(config, "deployEnvironments", ["staging", "prod"])
    pull_requests = config.get_bool("pullRequests")
    if not branches and not environments and pull_requests is False:
        raise BootstrapConfigError(
            "config: the deploy role must trust at least one branch, environment or pull requests"
        )
    return BootstrapSettings(
        region=region,
        repository=repository,
        branches=branches,
        environments=environments,
        pull_requests=True if pull_requests is None else pull_requests,
        manage_api_gateway_account=config.get_bool("manageApiGatewayAccount") is not False,
        state_backend="s3" if backend == "s3" else "cloud",
        oidc_provider_arn=config.get("oidcProviderArn"),
        tags={"Project": PROJECT, "ManagedBy": "Pulumi", "Stack": "bootstrap"},
    )
