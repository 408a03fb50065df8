"""The policy pack (policy/), run offline through the policy SDK's own objects.

Every policy is evaluated the way ``pulumi preview --policy-pack policy`` would
evaluate it: the resource's properties wrapped in the SDK's unknown-checking
proxy, resource options, provider. Each policy passes on the real program's
resources for dev, staging and prod, and reports a violation on a resource
broken in the way the policy exists to catch.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from infra.tagging import is_taggable
from policy import rules as R  # noqa: N812 (R.<rule> reads well in tables)
from policy.__main__ import policies
from tests.infra.harness import Program, Resource

POLICIES = {p.name: p for p in policies()}
Findings = list[tuple[str, str, str]]  # (policy, urn, message)


# --------------------------------------------------------------------------- running the pack


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(resource.options.get("protect")),
        ignore_changes=list(resource.options.get("ignoreChanges") or []),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def _provider(resource: Resource, by_urn: dict[str, Resource], region: str) -> PolicyProviderResource:
    if resource.provider:
        urn = resource.provider.rsplit("::", 1)[0]
        provider = by_urn.get(urn)
        if provider is not None:
            return PolicyProviderResource(provider.type, unknown_checking_proxy(provider.inputs), urn, provider.name)
    return PolicyProviderResource(
        "pulumi:providers:aws", unknown_checking_proxy({"region": region}), "default", "default"
    )


def evaluate(resources: Iterable[Resource], region: str = "us-west-2", only: str | None = None) -> Findings:
    """Run every (or one) policy of the pack over ``resources``; return what they report."""
    resources = [r for r in resources if r.custom]
    by_urn = {r.urn: r for r in resources}
    findings: Findings = []
    for name, policy in POLICIES.items():
        if only and name != only:
            continue

        def report(message: str, urn: str | None = None, _name: str = name, _default: str = "") -> None:
            findings.append((_name, urn or _default, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type,
                    unknown_checking_proxy(copy.deepcopy(r.inputs)),
                    r.urn,
                    r.name,
                    _options(r),
                    _provider(r, by_urn, region),
                )
                policy.validate(args, lambda m, u=None, _r=r, _n=name: findings.append((_n, u or _r.urn, m)))
        elif isinstance(policy, StackValidationPolicy):
            sdk = {
                r.urn: PolicyResource(
                    r.type,
                    unknown_checking_proxy(copy.deepcopy(r.inputs)),
                    r.urn,
                    r.name,
                    _options(r),
                    _provider(r, by_urn, region),
                    None,
                    [],
                    {},
                )
                for r in resources
            }
            for r in resources:
                sdk[r.urn].dependencies = [sdk[d] for d in r.dependencies if d in sdk]
            policy.validate(StackValidationArgs(list(sdk.values())), report)
    return findings


def fake(type_token: str, name: str, inputs: dict[str, Any], stack: str = "dev", **kwargs: Any) -> Resource:
    """A resource as the harness would record it, with the standard tags unless given."""
    if is_taggable(type_token) and "tags" not in inputs:
        inputs = {"tags": tags(stack, name), **inputs}
    return Resource(
        type=type_token,
        name=name,
        urn=f"urn:pulumi:{stack}::ecommerce::{type_token}::{name}",
        inputs=inputs,
        outputs={},
        parent=None,
        provider=None,
        custom=True,
        dependencies=kwargs.pop("dependencies", []),
        options={"protect": kwargs.pop("protect", False)},
    )


def tags(stack: str, name: str) -> dict[str, str]:
    return {
        "Name": f"ecommerce-{name}-{stack}",
        "Environment": stack,
        "Project": "ecommerce",
        "ManagedBy": "Pulumi",
        "CostCenter": "engineering",
        "Owner": "platform-team",
    }


def violations_of(policy: str, *resources: Resource) -> list[str]:
    return [message for name, _, message in evaluate(resources, only=policy) if name == policy]


# --------------------------------------------------------------------------- the real program


def test_the_pack_registers_every_rule_as_mandatory() -> None:
    names = {rule.name for rule in R.rules(is_taggable)}
    assert names == set(POLICIES)
    assert len(names) >= 11
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in POLICIES.values())


def test_every_policy_passes_on_the_real_program(program: Program) -> None:
    findings = evaluate(program.resources, region=str(program.config["aws:region"]))
    assert findings == [], "\n".join(f"{p}: {u.split('::')[-1]}: {m}" for p, u, m in findings)


# Which resource types each policy judges; the program must give every policy
# something to judge, or "passes on the real program" would prove nothing.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "encryption-at-rest": (R.TABLE, R.CLUSTER, R.TOPIC, R.LOG_GROUP, R.BACKUP_VAULT, *R.BUCKET_SSE),
    "buckets-encrypted": R.BUCKET,
    "no-public-buckets": (R.BUCKET_PAB, R.BUCKET_POLICY),
    "buckets-blocked": R.BUCKET,
    "no-open-ingress": (R.SECURITY_GROUP, R.DEFAULT_SECURITY_GROUP, R.SECURITY_GROUP_RULE, R.INGRESS_RULE),
    "no-wildcard-iam-actions": tuple(R.POLICY_DOCUMENT_PROPS),
    "required-tags": (),
    "prod-data-protection": (R.TABLE, R.CLUSTER, R.KMS_KEY),
    "log-retention": (R.LOG_GROUP,),
    "function-log-groups": (R.FUNCTION,),
    "proxy-tls": (R.PROXY,),
}
JUDGED_ON_THE_REAL_PROGRAM = set(APPLIES_TO)


def test_the_real_program_gives_the_policies_something_to_judge(prod: Program) -> None:
    assert set(APPLIES_TO) == set(POLICIES)
    present = {r.type for r in prod.resources}
    assert any(is_taggable(t) for t in present)
    judged = {name for name, types in APPLIES_TO.items() if not types or present & set(types)}
    assert judged >= JUDGED_ON_THE_REAL_PROGRAM, JUDGED_ON_THE_REAL_PROGRAM - judged


# --------------------------------------------------------------------------- broken resources

_KEY_POLICY_ROOT = {
    "Sid": "AccountAdministers",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_encryption_at_rest_fails_on_unencrypted_stores() -> None:
    table = fake(R.TABLE, "sessions", {"name": "ecommerce-sessions-dev", "serverSideEncryption": {"enabled": False}})
    no_key = fake(R.TABLE, "cache", {"name": "ecommerce-cache-dev", "serverSideEncryption": {"enabled": True}})
    cluster = fake(R.CLUSTER, "aurora", {"storageEncrypted": False})
    topic = fake(R.TOPIC, "alarms", {"name": "ecommerce-alarms-dev"})
    group = fake(R.LOG_GROUP, "api", {"name": "/aws/lambda/ecommerce-api-dev", "retentionInDays": 7})
    sse = fake(R.BUCKET_SSE[0], "static", {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {}}]})
    vault = fake(R.BACKUP_VAULT, "vault", {"name": "ecommerce-backups-dev"})
    found = violations_of("encryption-at-rest", table, no_key, cluster, topic, group, sse, vault)
    assert len(found) == 7, found
    assert any("kmsKeyArn" in m for m in found)
    assert any("storageEncrypted" in m for m in found)
    assert any("kmsMasterKeyId" in m for m in found)


def test_encryption_at_rest_accepts_encrypted_stores_and_the_edge_log_exemption() -> None:
    key = "arn:aws:kms:us-west-2:123456789012:key/k"
    good = [
        fake(R.TABLE, "t", {"serverSideEncryption": {"enabled": True, "kmsKeyArn": key}}),
        fake(R.CLUSTER, "c", {"storageEncrypted": True, "kmsKeyId": key}),
        fake(R.TOPIC, "s", {"kmsMasterKeyId": key}),
        fake(R.LOG_GROUP, "l", {"name": "/aws/lambda/x", "kmsKeyId": key, "retentionInDays": 7}),
        fake(R.LOG_GROUP, "edge", {"name": "/aws/lambda/us-east-1.ecommerce-edge-dev", "retentionInDays": 7}),
        # Unknown during preview: not judged.
        fake(R.CLUSTER, "u", {"storageEncrypted": UNKNOWN_BOOLEAN_VALUE}),
    ]
    assert violations_of("encryption-at-rest", *good) == []


def test_buckets_without_encryption_or_public_access_block_fail() -> None:
    bucket = fake(R.BUCKET[0], "static", {"bucket": "ecommerce-static-dev"})
    assert violations_of("buckets-encrypted", bucket)
    assert violations_of("buckets-blocked", bucket)
    sse = fake(
        R.BUCKET_SSE[0],
        "static",
        {
            "bucket": "ecommerce-static-dev",
            "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
        },
    )
    # A block attached through a dependency (the bucket name unknown at preview).
    pab = fake(
        R.BUCKET_PAB,
        "static",
        {"bucket": UNKNOWN_STRING_VALUE, **dict.fromkeys(("blockPublicAcls", "blockPublicPolicy"), True)}
        | dict.fromkeys(("ignorePublicAcls", "restrictPublicBuckets"), True),
        dependencies=[bucket.urn],
    )
    assert violations_of("buckets-encrypted", bucket, sse) == []
    assert violations_of("buckets-blocked", bucket, pab) == []


def test_no_public_buckets_fails_on_open_block_acl_and_anyone_policy() -> None:
    flags = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    half_open = fake(R.BUCKET_PAB, "logs", {**flags, "blockPublicPolicy": False, "bucket": "b"})
    acl = fake(R.BUCKET_ACL[0], "logs", {"bucket": "b", "acl": "public-read"})
    anyone = fake(
        R.BUCKET_POLICY,
        "static",
        {"bucket": "b", "policy": _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"})},
    )
    found = violations_of("no-public-buckets", half_open, acl, anyone)
    assert len(found) == 3, found
    assert "blockPublicPolicy" in found[0]
    cloudfront_only = fake(
        R.BUCKET_POLICY,
        "static-oac",
        {
            "bucket": "b",
            "policy": _doc(
                {"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject"},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
        },
    )
    assert violations_of("no-public-buckets", fake(R.BUCKET_PAB, "ok", {**flags, "bucket": "b"}), cloudfront_only) == []


@pytest.mark.parametrize(
    ("type_token", "inputs"),
    [
        (
            R.SECURITY_GROUP,
            {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]},
        ),
        (R.SECURITY_GROUP_RULE, {"type": "ingress", "fromPort": 22, "toPort": 22, "ipv6CidrBlocks": ["::/0"]}),
        (R.INGRESS_RULE, {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv4": "0.0.0.0/0"}),
        (R.INGRESS_RULE, {"ipProtocol": "-1", "cidrIpv6": "::/0"}),
    ],
)
def test_open_ingress_fails(type_token: str, inputs: dict[str, Any]) -> None:
    found = violations_of("no-open-ingress", fake(type_token, "alb", inputs))
    assert len(found) == 1 and "not a designed entry point" in found[0], found


def test_open_ingress_allows_prefix_lists_egress_and_allow_listed_entry_points() -> None:
    ok = [
        fake(R.INGRESS_RULE, "alb-https", {"fromPort": 443, "toPort": 443, "prefixListId": "pl-82a045eb"}),
        fake(
            R.SECURITY_GROUP_RULE, "egress", {"type": "egress", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
        ),
        fake(R.INGRESS_RULE, "internal", {"fromPort": 5432, "toPort": 5432, "cidrIpv4": "10.0.0.0/16"}),
    ]
    assert violations_of("no-open-ingress", *ok) == []
    entry = fake(R.INGRESS_RULE, "public-https", {"fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"})
    assert R.check_no_open_ingress(R.Subject(entry.type, entry.name, entry.urn, entry.inputs))
    allowed = {"public-*": frozenset({443})}
    assert R.check_no_open_ingress(R.Subject(entry.type, entry.name, entry.urn, entry.inputs), allowed) == []
    wider = fake(R.INGRESS_RULE, "public-all", {"fromPort": 0, "toPort": 65535, "cidrIpv4": "0.0.0.0/0"})
    assert R.check_no_open_ingress(R.Subject(wider.type, wider.name, wider.urn, wider.inputs), allowed)


@pytest.mark.parametrize(
    ("type_token", "inputs"),
    [
        ("aws:iam/rolePolicy:RolePolicy", {"policy": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}),
        ("aws:iam/policy:Policy", {"policy": {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:*"]}]}}),
        ("aws:iam/role:Role", {"inlinePolicies": [{"name": "p", "policy": _doc({"Action": "s3:*", "Resource": "*"})}]}),
        ("aws:iam/rolePolicy:RolePolicy", {"policy": _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        ("aws:lambda/permission:Permission", {"action": "lambda:*", "principal": "apigateway.amazonaws.com"}),
        # A key policy may keep the account-root statement, but nothing else wild.
        (
            R.KMS_KEY,
            {
                "policy": _doc(
                    _KEY_POLICY_ROOT,
                    {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*"},
                )
            },
        ),
        # The root exception holds for key policies only.
        (R.BUCKET_POLICY, {"bucket": "b", "policy": _doc({**_KEY_POLICY_ROOT, "Action": "s3:*"})}),
    ],
)
def test_wildcard_iam_actions_fail(type_token: str, inputs: dict[str, Any]) -> None:
    assert violations_of("no-wildcard-iam-actions", fake(type_token, "fn", inputs))


def test_wildcard_rule_accepts_scoped_actions_and_the_key_root_statement() -> None:
    ok = [
        fake(R.KMS_KEY, "data", {"policy": _doc(_KEY_POLICY_ROOT)}, protect=True),
        fake(
            "aws:iam/rolePolicy:RolePolicy", "p", {"policy": _doc({"Action": ["kms:GenerateDataKey*", "kms:Decrypt"]})}
        ),
        fake(
            "aws:iam/rolePolicy:RolePolicy",
            "deny",
            {"policy": _doc({"Effect": "Deny", "Action": "*", "Resource": "*"})},
        ),
        fake(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "vpc",
            {"policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"},
        ),
    ]
    assert violations_of("no-wildcard-iam-actions", *ok) == []


def test_required_tags_fail_when_missing_or_wrong() -> None:
    untagged = fake("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "ecommerce-vpc-dev"}})
    wrong = fake("aws:s3/bucket:Bucket", "b", {"tags": {**tags("dev", "b"), "Environment": "qa", "ManagedBy": "hand"}})
    found = violations_of("required-tags", untagged, wrong)
    assert any("Environment, Project, ManagedBy, CostCenter, Owner" in m for m in found), found
    assert any("'qa'" in m for m in found) and any("ManagedBy" in m for m in found)
    # Untaggable types are not asked for tags.
    assert violations_of("required-tags", fake("aws:kms/alias:Alias", "a", {"name": "alias/x"})) == []


def test_prod_data_protection_fails_on_unprotected_prod_stores_only() -> None:
    table = {"name": "t", "pointInTimeRecovery": {"enabled": False}, "deletionProtectionEnabled": False}
    cluster = {"deletionProtection": False, "skipFinalSnapshot": True, "storageEncrypted": True}
    prod = [
        fake(R.TABLE, "sessions", table, stack="prod"),
        fake(R.CLUSTER, "aurora", cluster, stack="prod"),
        fake(R.BUCKET[0], "static", {"forceDestroy": True}, stack="prod"),
        fake(R.KMS_KEY, "data", {"policy": _doc(_KEY_POLICY_ROOT)}, stack="prod"),
    ]
    found = violations_of("prod-data-protection", *prod)
    for text in ("point-in-time", "table needs deletion", "database needs deletion", "final snapshot", "force_destroy"):
        assert any(text in m for m in found), (text, found)
    assert sum("protect in Pulumi" in m for m in found) == 3
    dev = [fake(r.type, r.name, {**r.inputs, "tags": tags("dev", r.name)}, stack="dev") for r in prod]
    assert violations_of("prod-data-protection", *dev) == []
    # The Environment tag decides, whatever the stack is called.
    renamed = fake(R.TABLE, "sessions", {**table, "tags": tags("prod", "sessions")}, stack="pr-123")
    assert violations_of("prod-data-protection", renamed)


def test_log_retention_fails_without_retention_and_functions_need_managed_groups() -> None:
    forever = fake(R.LOG_GROUP, "api", {"name": "/aws/lambda/ecommerce-api-dev", "kmsKeyId": "k"})
    assert violations_of("log-retention", forever)
    assert violations_of("log-retention", fake(R.LOG_GROUP, "ok", {"name": "x", "retentionInDays": 7})) == []

    fn = fake(R.FUNCTION, "api", {"name": "ecommerce-api-dev"})
    assert violations_of("function-log-groups", fn)
    group = fake(R.LOG_GROUP, "api", {"name": "/aws/lambda/ecommerce-api-dev", "retentionInDays": 7})
    assert violations_of("function-log-groups", fn, group) == []
    custom = fake(
        R.FUNCTION, "api2", {"name": "f", "loggingConfig": {"logGroup": "/ecommerce/api", "logFormat": "JSON"}}
    )
    assert violations_of("function-log-groups", custom, group)
    edge = fake(R.FUNCTION, "edge", {"name": "ecommerce-edge-dev", "publish": True})
    cdn = fake(R.DISTRIBUTION, "cdn", {"enabled": True}, dependencies=[edge.urn])
    assert violations_of("function-log-groups", edge, cdn) == []


def test_proxy_tls_fails_without_tls_or_iam() -> None:
    no_tls = fake(R.PROXY, "proxy", {"requireTls": False, "auths": [{"iamAuth": "REQUIRED", "authScheme": "SECRETS"}]})
    no_iam = fake(R.PROXY, "proxy2", {"requireTls": True, "auths": [{"iamAuth": "DISABLED", "authScheme": "SECRETS"}]})
    assert any("requireTls" in m for m in violations_of("proxy-tls", no_tls))
    assert any("IAM" in m for m in violations_of("proxy-tls", no_iam))
    good = fake(R.PROXY, "ok", {"requireTls": True, "defaultAuthScheme": "IAM_AUTH"})
    assert violations_of("proxy-tls", good) == []


# --------------------------------------------------------------------------- the real program, broken


def _break(program: Program, type_token: str, change: Callable[[dict[str, Any]], None]) -> list[Resource]:
    """The program's resources with the first ``type_token`` resource modified."""
    resources = copy.deepcopy(program.resources)
    # The data key, where there is more than one key (prod's DR-region backup key has no policy of its own).
    target = next(
        (r for r in resources if r.type == type_token and (type_token != R.KMS_KEY or r.name == "data")), None
    )
    if target is None:
        pytest.skip(f"the program has no {type_token} yet")
    change(target.inputs)
    return resources


def test_breaking_the_real_key_policy_is_caught(prod: Program) -> None:
    def widen(inputs: dict[str, Any]) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"][1]["Action"] = "kms:*"
        inputs["policy"] = json.dumps(doc)

    found = evaluate(_break(prod, R.KMS_KEY, widen), only="no-wildcard-iam-actions")
    assert len(found) == 1 and "CloudWatchLogsEncrypt" in found[0][2], found


def test_unprotecting_the_real_prod_key_is_caught(prod: Program) -> None:
    resources = copy.deepcopy(prod.resources)
    key = next(r for r in resources if r.type == R.KMS_KEY)
    assert key.options["protect"] is True
    key.options["protect"] = False
    found = evaluate(resources, only="prod-data-protection")
    assert [u for _, u, _ in found] == [key.urn]


def test_dropping_a_tag_on_the_real_program_is_caught(staging: Program) -> None:
    found = evaluate(_break(staging, R.KMS_KEY, lambda i: i["tags"].pop("Owner")), only="required-tags")
    assert len(found) == 1 and "Owner" in found[0][2]


def test_the_pack_starts_as_the_cli_would_run_it() -> None:
    """`pulumi preview --policy-pack policy` runs policy/__main__.py, which serves the analyzer on a port."""
    pack = Path(__file__).resolve().parents[2] / "policy"
    proc = subprocess.Popen(
        [sys.executable, "-u", "__main__.py"], cwd=pack, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit() and int(port) > 0, (port, proc.stderr.read() if proc.poll() is not None else "")
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.update(values)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.pop(key, None)


def _open_to_world(inputs: dict[str, Any]) -> None:
    for key in ("prefixListId", "referencedSecurityGroupId", "cidrIpv6"):
        inputs.pop(key, None)
    inputs["cidrIpv4"] = "0.0.0.0/0"


def _add_wildcard(inputs: dict[str, Any]) -> None:
    doc = json.loads(inputs["policy"])
    doc["Statement"] = [*R.as_list(doc["Statement"]), {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]
    inputs["policy"] = json.dumps(doc)


# (policy, resource type changed, change) — each a way the real program could regress.
BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("encryption-at-rest", R.TABLE, _set(serverSideEncryption={"enabled": False})),
    ("encryption-at-rest", R.TOPIC, _drop("kmsMasterKeyId")),
    ("no-public-buckets", R.BUCKET_PAB, _set(restrictPublicBuckets=False)),
    ("no-open-ingress", R.INGRESS_RULE, _open_to_world),
    ("no-wildcard-iam-actions", "aws:iam/rolePolicy:RolePolicy", _add_wildcard),
    ("prod-data-protection", R.CLUSTER, _set(deletionProtection=False)),
    ("prod-data-protection", R.TABLE, _set(pointInTimeRecovery={"enabled": False})),
    ("log-retention", R.LOG_GROUP, _drop("retentionInDays")),
    ("proxy-tls", R.PROXY, _set(requireTls=False)),
]


@pytest.mark.parametrize(
    ("policy", "type_token", "change"), BREAKS, ids=[f"{p}-{t.split(':')[-1]}" for p, t, _ in BREAKS]
)
def test_breaking_the_real_program_is_caught(prod: Program, policy: str, type_token: str, change: Any) -> None:
    resources = _break(prod, type_token, change)
    broken = next(r for r in resources if r.type == type_token)
    found = evaluate(resources, only=policy)
    assert found and {u for _, u, _ in found} == {broken.urn}, found


@pytest.mark.parametrize(
    ("policy", "removed"),
    [("buckets-encrypted", R.BUCKET_SSE[0]), ("buckets-blocked", R.BUCKET_PAB), ("function-log-groups", R.LOG_GROUP)],
)
def test_removing_a_guard_resource_from_the_real_program_is_caught(dev: Program, policy: str, removed: str) -> None:
    resources = list(dev.resources)
    if policy == "function-log-groups":
        victim = next(
            r for r in resources if r.type == removed and str(r.inputs.get("name")).startswith("/aws/lambda/")
        )
    else:
        victim = next(r for r in resources if r.type == removed)
    resources.remove(victim)
    found = evaluate(resources, only=policy)
    assert len(found) == 1, found
