"""The bootstrap program (bootstrap/) under the same Pulumi mocks as infra/: who the deploy role
trusts, what it may do, and the account-wide pieces it owns."""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from typing import Any

import pytest

from bootstrap.policies import AUDIENCE, GITHUB_OIDC_HOST, PASSED_TO_SERVICES, READ_ACTIONS
from bootstrap.settings import DEPLOY_ROLE_NAME, BootstrapConfigError
from tests.infra.conftest import program_for
from tests.infra.harness import ACCOUNT, ROOT, STACKS, Program, run_program

MAIN = ROOT / "bootstrap" / "__main__.py"
REPO = "acme/ecommerce-platform"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
# IAM quotas (IAM and AWS STS quotas, AWS docs): managed policy document 6,144 characters and role
# trust policy 2,048 by default (whitespace not counted); role names 64 characters.
MANAGED_POLICY_MAX = 6144
TRUST_POLICY_MAX = 2048
ROLE_NAME_MAX = 64


def bootstrap(**overrides: Any) -> Program:
    return run_program("dev", {"githubRepository": REPO, **overrides}, main=MAIN)


@functools.cache
def default() -> Program:
    return bootstrap()


def deploy_role(program: Program) -> Any:
    return program.one(ROLE, "deploy")


def trust(program: Program) -> dict[str, Any]:
    (statement,) = json.loads(deploy_role(program)["assumeRolePolicy"])["Statement"]
    return dict(statement)


def statements(program: Program) -> list[dict[str, Any]]:
    return list(json.loads(program.one(POLICY, "deploy")["policy"])["Statement"])


def as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def compact(document: str) -> int:
    return len(re.sub(r"\s", "", document))


# --------------------------------------------------------------------------- trust


def test_the_role_trusts_githubs_provider_for_sts_only() -> None:
    program = default()
    provider = program.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == f"https://{GITHUB_OIDC_HOST}"
    assert provider["clientIdLists"] == [AUDIENCE]
    statement = trust(program)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    # Exact matches only: no StringLike, so no pattern can admit another repository.
    assert set(statement["Condition"]) == {"StringEquals"}
    assert statement["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:aud"] == AUDIENCE


def test_sub_admits_this_repositorys_branches_environments_and_pull_requests_only() -> None:
    subjects = trust(default())["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"]
    assert sorted(subjects) == sorted(
        [
            f"repo:{REPO}:ref:refs/heads/main",
            f"repo:{REPO}:environment:staging",
            f"repo:{REPO}:environment:prod",
            f"repo:{REPO}:pull_request",
        ]
    )
    assert not any(c in s for s in subjects for c in "*?")


def test_sub_follows_the_config() -> None:
    program = bootstrap(deployBranches=["release"], deployEnvironments=["production"], pullRequests="false")
    subjects = trust(program)["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"]
    assert sorted(subjects) == [f"repo:{REPO}:environment:production", f"repo:{REPO}:ref:refs/heads/release"]


def test_an_existing_provider_is_trusted_not_created() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
    program = bootstrap(oidcProviderArn=arn)
    assert program.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert trust(program)["Principal"] == {"Federated": arn}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"githubRepository": None}, "githubRepository"),
        ({"githubRepository": "not a repo"}, "githubRepository"),
        ({"stateBackend": "gcs"}, "stateBackend"),
        ({"deployEnvironments": ["prod*"]}, "deployEnvironments"),
    ],
)
def test_bad_config_fails_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(BootstrapConfigError, match=message):
        bootstrap(**overrides)


# --------------------------------------------------------------------------- permissions


def test_no_iam_wildcard_and_no_iam_write_on_every_resource() -> None:
    for statement in statements(default()):
        if statement["Effect"] != "Allow":
            continue
        assert "NotAction" not in statement and "NotResource" not in statement
        actions = as_list(statement["Action"])
        assert "*" not in actions
        assert not any(a.lower().startswith("iam:") and "*" in a for a in actions), statement
        if "*" in as_list(statement["Resource"]):
            iam = [a for a in actions if a.startswith("iam:")]
            assert set(iam) <= set(READ_ACTIONS), statement
            assert all(a.split(":")[1].startswith(("Get", "List")) for a in iam)


def test_iam_writes_reach_only_the_apps_own_roles_and_policies() -> None:
    for statement in statements(default()):
        actions = as_list(statement["Action"]) if "Action" in statement else []
        writes = [a for a in actions if a.startswith("iam:") and a not in READ_ACTIONS]
        if statement["Effect"] != "Allow" or not writes:
            continue
        for resource in as_list(statement["Resource"]):
            assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:(role|policy)/(ecommerce-\*|aws-service-role/\*)", resource)
            assert not fnmatch.fnmatch(f"arn:aws:iam::{ACCOUNT}:role/{DEPLOY_ROLE_NAME}", resource)
        if "iam:PassRole" in writes:
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"]


def test_the_deploy_role_and_provider_are_out_of_its_own_reach() -> None:
    program = default()
    provider_arn = program.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]
    (deny,) = [s for s in statements(program) if s.get("Sid") == "HandsOffTheDeployRoleAndTheProvider"]
    assert deny["Effect"] == "Deny"
    assert set(deny["Resource"]) == {f"arn:aws:iam::{ACCOUNT}:role/{DEPLOY_ROLE_NAME}", provider_arn}
    assert all(a in READ_ACTIONS for a in deny["NotAction"])


def test_documents_and_names_fit_aws_quotas() -> None:
    program = default()
    assert compact(program.one(POLICY, "deploy")["policy"]) <= MANAGED_POLICY_MAX
    for role in program.of_type(ROLE):
        assert compact(role["assumeRolePolicy"]) <= TRUST_POLICY_MAX
        assert len(role["name"]) <= ROLE_NAME_MAX
    # 1 to 12 hours; a prod update can outlast the 1-hour default.
    assert 3600 < deploy_role(program)["maxSessionDuration"] <= 12 * 3600


@pytest.mark.parametrize("stack", STACKS)
def test_the_apps_roles_are_ones_the_deploy_role_may_create_and_pass(stack: str) -> None:
    """A cross-check with infra/: each role the app's stacks create is named within the policy's
    role pattern and trusts only services the role may be passed to."""
    role_pattern = next(s for s in statements(default()) if s.get("Sid") == "AppRolesAndPolicies")["Resource"][0]
    app = program_for(stack)
    assert app.of_type(ROLE)
    for role in app.of_type(ROLE):
        assert fnmatch.fnmatch(role.outputs["arn"], role_pattern), role["name"]
        for statement in json.loads(role["assumeRolePolicy"])["Statement"]:
            for service in as_list(statement["Principal"].get("Service", [])):
                assert service in PASSED_TO_SERVICES, (role["name"], service)


# --------------------------------------------------------------------------- account-wide pieces


def test_it_owns_the_regions_api_gateway_cloudwatch_role() -> None:
    program = default()
    account = program.one("aws:apigateway/account:Account")
    role = program.one(ROLE, "apigateway-logs")
    assert account["cloudwatchRoleArn"] == role.outputs["arn"]
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert program.outputs["apiGatewayCloudWatchRoleArn"] == role.outputs["arn"]
    assert bootstrap(manageApiGatewayAccount="false").of_type("aws:apigateway/account:Account") == []


def test_its_cloudwatch_role_is_the_one_an_owning_app_stack_declares() -> None:
    """One declaration (infra/components/api_gateway_account.py): same trust and policy as an app
    stack with ``manageApiGatewayAccount``, only the name differs; the policy covers the region's logs."""
    ours = default()
    theirs = run_program("dev", {"manageApiGatewayAccount": "true"})

    def role_and_policy(program: Program) -> tuple[dict[str, Any], dict[str, Any]]:
        role = program.one(ROLE, "apigateway-logs")
        (policy,) = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]
        return json.loads(role["assumeRolePolicy"]), json.loads(policy["policy"])

    assert role_and_policy(ours) == role_and_policy(theirs)
    _, policy = role_and_policy(ours)
    (statement,) = policy["Statement"]
    assert statement["Resource"] == f"arn:aws:logs:{ours.config['aws:region']}:{ACCOUNT}:*"
    assert "logs:PutLogEvents" in statement["Action"]
    assert ours.one(ROLE, "apigateway-logs")["name"] != theirs.one(ROLE, "apigateway-logs")["name"]


def test_the_s3_backend_is_private_versioned_encrypted_and_protected() -> None:
    assert default().of_type("aws:s3/bucket:Bucket") == []  # Pulumi Cloud: nothing to create
    program = bootstrap(stateBackend="s3")
    bucket, key = program.one("aws:s3/bucket:Bucket"), program.one("aws:kms/key:Key")
    assert bucket.options["protect"] and key.options["protect"]
    assert key["enableKeyRotation"] is True
    assert program.one("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = program.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[
        "rules"
    ]
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.outputs["arn"]
    block = program.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    (tls,) = json.loads(program.one("aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert program.outputs["secretsKeyAlias"].startswith("alias/")
    assert program.outputs["stateBucketName"] == bucket.outputs["bucket"]


def test_every_component_child_has_its_parent() -> None:
    for program in (default(), bootstrap(stateBackend="s3")):
        components = {r.urn for r in program if not r.custom}
        assert components
        for resource in program:
            if resource.custom and not resource.type.startswith("pulumi:providers:"):
                assert resource.parent in components, resource.name


# pulumi-aws module of a resource type -> the IAM service prefixes its create/update/delete calls use.
# IAM is granted separately (ROLE_WRITE_ACTIONS on the app's own roles); a module missing here fails.
IAM_SERVICES_OF_MODULE = {
    "apigateway": ("apigateway",),
    "appautoscaling": ("application-autoscaling",),
    "backup": ("backup",),
    "cloudfront": ("cloudfront",),
    "cloudwatch": ("cloudwatch", "logs"),
    "cognito": ("cognito-idp",),
    "dynamodb": ("dynamodb",),
    "ec2": ("ec2",),
    "ecr": ("ecr",),
    "kms": ("kms",),
    "lambda": ("lambda",),
    "lb": ("elasticloadbalancing",),
    "rds": ("rds",),
    "s3": ("s3",),
    "scheduler": ("scheduler",),
    "secretsmanager": ("secretsmanager",),
    "sns": ("sns",),
    "ssm": ("ssm",),
    "vpc": ("ec2",),
    "wafv2": ("wafv2",),
    "xray": ("xray",),
}


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_role_covers_every_service_the_apps_stacks_use(stack: str) -> None:
    """A service the program uses but the deploy role lacks fails the first pipeline deploy, not a test."""
    from bootstrap.policies import DEPLOY_SERVICES

    modules = {r.type.split(":")[1].split("/")[0] for r in program_for(stack) if r.type.startswith("aws:")}
    unknown = sorted(m for m in modules - {"iam"} if m not in IAM_SERVICES_OF_MODULE)
    assert not unknown, f"map these pulumi-aws modules to IAM services: {unknown}"
    needed = {service for m in modules - {"iam"} for service in IAM_SERVICES_OF_MODULE[m]}
    assert needed <= set(DEPLOY_SERVICES), sorted(needed - set(DEPLOY_SERVICES))
