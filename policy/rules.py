"""The platform's guardrails as plain functions over resource properties.

Each rule takes resources as the Pulumi engine describes them to a policy pack
(type token, engine-style camelCase property names, resource options) and
returns the violations it finds as messages. Nothing here talks to the policy
SDK: ``policy/__main__.py`` adapts the SDK's arguments to :class:`Subject` and
registers the rules, and ``tests/policy/`` feeds the same functions the
resources of the real program (run under mocks) and deliberately broken ones.

Values that are unknown during ``pulumi preview`` (computed by the provider)
are never judged: a rule only reports what it can see, and ``pulumi up`` runs
the policies again with the values known.

Decisions (see README, "Policy pack"):

- Open ingress: the platform's public entry points are CloudFront and API
  Gateway, AWS-managed endpoints without security groups. The ALB admits only
  CloudFront's origin-facing prefix list. So :data:`OPEN_INGRESS_ALLOWED` is
  empty; an entry would name a security group and the ports it may open.
- Wildcard IAM actions (``*`` or ``service:*``, or ``NotAction`` in an Allow)
  are refused in every policy document. The one exception is the account-root
  administration statement of a KMS key policy (principal
  ``arn:<partition>:iam::<account>:root``, action ``kms:*``): without it a key
  can become unmanageable, and it delegates the decision to IAM policies,
  which are themselves checked here.
- Production is recognised by the resource's ``Environment`` tag (which the
  required-tags rule makes mandatory), falling back to the stack name in the
  URN.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Sentinels the engine uses for values that are not known during preview
# (pulumi_policy.proxy); repeated here so the rules stay SDK-free.
_UNKNOWN = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)

REQUIRED_TAGS: tuple[str, ...] = ("Name", "Environment", "Project", "ManagedBy", "CostCenter", "Owner")
ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
PROTECTED_ENVIRONMENTS: frozenset[str] = frozenset({"prod"})

# Security groups allowed to accept traffic from anywhere, by name pattern,
# with the ports they may open. Empty by design: see the module docstring.
OPEN_INGRESS_ALLOWED: Mapping[str, frozenset[int]] = {}

# Log groups that cannot use the stack's regional customer-managed key:
# Lambda@Edge writes to ``/aws/lambda/us-east-1.<function>`` in whichever
# region served the request, and a regional key does not exist there.
KMS_EXEMPT_LOG_GROUPS: tuple[str, ...] = ("/aws/lambda/us-east-1.*",)

# AWS-managed policies that grant wildcard actions; attaching one is the same
# as writing the wildcard.
WILDCARD_MANAGED_POLICIES: tuple[str, ...] = (
    "AdministratorAccess",
    "PowerUserAccess",
    "*FullAccess",
    "IAMFullAccess",
)

PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TABLE = "aws:dynamodb/table:Table"
CLUSTER = "aws:rds/cluster:Cluster"
DB_INSTANCE = "aws:rds/instance:Instance"
PROXY = "aws:rds/proxy:Proxy"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
KMS_KEY = "aws:kms/key:Key"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
BACKUP_VAULT = "aws:backup/vault:Vault"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ECR_REPOSITORY = "aws:ecr/repository:Repository"

# Resource types whose property holds an IAM policy document (JSON or object).
POLICY_DOCUMENT_PROPS: Mapping[str, tuple[str, ...]] = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    KMS_KEY: ("policy",),
    "aws:kms/keyPolicy:KeyPolicy": ("policy",),
    BUCKET_POLICY: ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": ("policyDocument",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
}
KEY_POLICY_TYPES = frozenset({KMS_KEY, "aws:kms/keyPolicy:KeyPolicy"})


@dataclass(frozen=True)
class Subject:
    """One resource as a policy sees it."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    # Region the resource is created in (its provider's, or its own ``region``).
    region: str | None = None
    # URNs of the resources this one depends on (property dependencies included).
    dependencies: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Violation:
    urn: str
    message: str


ResourceRule = Callable[[Subject], list[str]]
StackRule = Callable[[Sequence[Subject]], list[Violation]]


# --------------------------------------------------------------------------- helpers


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWN


def known(value: Any) -> bool:
    """Whether a value is present and known (not a preview placeholder)."""
    return value is not None and not is_unknown(value)


def dig(props: Mapping[str, Any], *path: str | int) -> Any:
    """``props[a][b][0]...`` or None when any step is missing."""
    value: Any = props
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) <= key:
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
        if value is None:
            return None
    return value


def _number(value: Any) -> float | None:
    """A number, or None. Numbers reach policies as floats (protobuf), from the engine as from the mocks."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def first(value: Any) -> Any:
    """A nested block may be an object or a one-element list depending on the provider version."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value[0] if value else None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def environment_of(subject: Subject) -> str | None:
    tags = subject.props.get("tags")
    if isinstance(tags, Mapping):
        env = tags.get("Environment")
        if isinstance(env, str) and env in ENVIRONMENTS:
            return env
    match = re.match(r"^urn:pulumi:([^:]+)::", subject.urn)
    if match and match.group(1) in ENVIRONMENTS:
        return match.group(1)
    return None


def is_protected_environment(subject: Subject) -> bool:
    return environment_of(subject) in PROTECTED_ENVIRONMENTS


def load_document(raw: Any) -> Mapping[str, Any] | None:
    """A policy document from a JSON string or an object; None when unknown or unparsable."""
    if not known(raw):
        return None
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, Mapping) else None
    return None


def _refers_to(subject: Subject, target: Subject, prop: str) -> bool:
    """Whether ``subject.props[prop]`` names ``target`` (by value or by dependency)."""
    value = subject.props.get(prop)
    if known(value) and isinstance(value, str) and value == target.props.get("bucket"):
        return True
    return target.urn in subject.dependencies


# --------------------------------------------------------------------------- encryption at rest


def check_encryption_at_rest(subject: Subject) -> list[str]:
    p = subject.props
    if subject.type == TABLE:
        sse = first(p.get("serverSideEncryption"))
        enabled = dig(sse, "enabled") if isinstance(sse, Mapping) else None
        if is_unknown(enabled):
            return []
        if enabled is not True:
            return ["DynamoDB table must enable server-side encryption with the customer-managed key"]
        if not dig(sse, "kmsKeyArn"):
            return ["DynamoDB table encryption must name the customer-managed key (serverSideEncryption.kmsKeyArn)"]
    elif subject.type in (CLUSTER, DB_INSTANCE):
        value = p.get("storageEncrypted")
        if not is_unknown(value) and value is not True:
            return ["RDS storage must be encrypted (storageEncrypted: true)"]
    elif subject.type == BACKUP_VAULT:
        if not p.get("kmsKeyArn"):
            return ["backup vault must encrypt recovery points with the customer-managed key (kmsKeyArn)"]
    elif subject.type == TOPIC:
        if not p.get("kmsMasterKeyId"):
            return ["SNS topic must be encrypted with a KMS key (kmsMasterKeyId)"]
    elif subject.type == LOG_GROUP:
        name = p.get("name")
        exempt = isinstance(name, str) and any(fnmatch.fnmatchcase(name, pat) for pat in KMS_EXEMPT_LOG_GROUPS)
        if not exempt and not p.get("kmsKeyId"):
            return [f"log group {name!r} must be encrypted with the customer-managed key (kmsKeyId)"]
    elif subject.type == ECR_REPOSITORY:
        enc = first(p.get("encryptionConfigurations"))
        if isinstance(enc, Mapping) and enc.get("encryptionType") not in (None, "AES256", "KMS", "KMS_DSSE"):
            return ["ECR repository has an unknown encryption type"]
    elif subject.type in BUCKET:
        sse = first(p.get("serverSideEncryptionConfiguration"))
        if sse is not None and not _sse_ok(sse):
            return ["bucket's inline server-side encryption does not set an algorithm"]
    elif subject.type in BUCKET_SSE and not _sse_ok(p):
        return ["bucket encryption configuration must set sseAlgorithm aws:kms, aws:kms:dsse or AES256"]
    return []


def _sse_ok(config: Mapping[str, Any]) -> bool:
    rules = as_list(config.get("rules") or config.get("rule"))
    if not rules:
        return False
    for rule in rules:
        default = first(dig(rule, "applyServerSideEncryptionByDefault"))
        algorithm = dig(default, "sseAlgorithm") if isinstance(default, Mapping) else None
        if is_unknown(algorithm):
            continue
        if algorithm not in ("aws:kms", "aws:kms:dsse", "AES256"):
            return False
    return True


def check_buckets_encrypted(resources: Sequence[Subject]) -> list[Violation]:
    """Every bucket has a server-side encryption configuration (inline or its own resource)."""
    configs = [r for r in resources if r.type in BUCKET_SSE]
    violations = []
    for bucket in (r for r in resources if r.type in BUCKET):
        if bucket.props.get("serverSideEncryptionConfiguration"):
            continue
        if not any(_refers_to(c, bucket, "bucket") for c in configs):
            message = f"bucket {bucket.name} has no server-side encryption configuration"
            violations.append(Violation(bucket.urn, message))
    return violations


# --------------------------------------------------------------------------- public buckets

_PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def check_no_public_buckets(subject: Subject) -> list[str]:
    p = subject.props
    if subject.type == BUCKET_PAB:
        off = [flag for flag in _PAB_FLAGS if not is_unknown(p.get(flag)) and p.get(flag) is not True]
        return [f"bucket public access block must set {', '.join(off)} to true"] if off else []
    if subject.type in BUCKET + BUCKET_ACL:
        acl = p.get("acl")
        if acl in PUBLIC_CANNED_ACLS:
            return [f"bucket ACL {acl!r} makes objects public"]
        grants = as_list(dig(p, "accessControlPolicy", "grants"))
        for grant in grants:
            uri = dig(grant, "grantee", "uri") or ""
            if isinstance(uri, str) and uri.endswith(("/global/AllUsers", "/global/AuthenticatedUsers")):
                return ["bucket ACL grants access to all users"]
    if subject.type == BUCKET_POLICY:
        doc = load_document(p.get("policy"))
        for statement in _statements(doc):
            if statement.get("Effect", "Allow") == "Allow" and _principal_is_anyone(statement.get("Principal")):
                return ["bucket policy allows anyone (Principal '*'); grant a service or account instead"]
    return []


def _principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def check_buckets_blocked(resources: Sequence[Subject]) -> list[Violation]:
    """Every bucket has a public access block (whose flags check_no_public_buckets verifies)."""
    blocks = [r for r in resources if r.type == BUCKET_PAB]
    return [
        Violation(bucket.urn, f"bucket {bucket.name} has no public access block")
        for bucket in resources
        if bucket.type in BUCKET and not any(_refers_to(b, bucket, "bucket") for b in blocks)
    ]


# --------------------------------------------------------------------------- open ingress


def _allowed_open(subject: Subject, ports: Iterable[int], allowed: Mapping[str, frozenset[int]]) -> bool:
    names = {subject.name, str(subject.props.get("name") or "")}
    for pattern, allowed_ports in allowed.items():
        if any(fnmatch.fnmatchcase(n, pattern) for n in names) and set(ports) <= allowed_ports:
            return True
    return False


def _port_range(rule: Mapping[str, Any]) -> list[int]:
    low, high = _number(rule.get("fromPort")), _number(rule.get("toPort"))
    if low is None or high is None or low < 0 or high - low > 1024:
        return [-1]  # all ports, or a range too wide to allow-list
    return list(range(int(low), int(high) + 1))


def check_no_open_ingress(subject: Subject, allowed: Mapping[str, frozenset[int]] = OPEN_INGRESS_ALLOWED) -> list[str]:
    p = subject.props
    rules: list[tuple[Mapping[str, Any], set[str]]] = []
    if subject.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for rule in as_list(p.get("ingress")):
            if isinstance(rule, Mapping):
                cidrs = set(as_list(rule.get("cidrBlocks"))) | set(as_list(rule.get("ipv6CidrBlocks")))
                rules.append((rule, cidrs))
    elif subject.type == SECURITY_GROUP_RULE and p.get("type") == "ingress":
        rules.append((p, set(as_list(p.get("cidrBlocks"))) | set(as_list(p.get("ipv6CidrBlocks")))))
    elif subject.type == INGRESS_RULE:
        rules.append((p, {c for c in (p.get("cidrIpv4"), p.get("cidrIpv6")) if isinstance(c, str)}))
    messages = []
    for rule, cidrs in rules:
        open_cidrs = sorted(cidrs & OPEN_CIDRS)
        if open_cidrs and not _allowed_open(subject, _port_range(rule), allowed):
            messages.append(
                f"ingress from {', '.join(open_cidrs)} (ports {rule.get('fromPort')}-{rule.get('toPort')}) "
                "is not a designed entry point (policy/rules.py OPEN_INGRESS_ALLOWED)"
            )
    return messages


# --------------------------------------------------------------------------- wildcard IAM


def _statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def is_wildcard_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def is_account_root_admin(statement: Mapping[str, Any]) -> bool:
    """The key-policy statement that leaves the key's administration to the account's IAM."""
    principal = statement.get("Principal")
    arns = as_list(principal.get("AWS")) if isinstance(principal, Mapping) else []
    return (
        statement.get("Effect", "Allow") == "Allow"
        and len(arns) == 1
        and isinstance(arns[0], str)
        and re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:root", arns[0]) is not None
        and as_list(statement.get("Action")) == ["kms:*"]
        and not statement.get("NotAction")
    )


def wildcard_findings(doc: Mapping[str, Any] | None, *, key_policy: bool = False) -> list[str]:
    findings = []
    for index, statement in enumerate(_statements(doc)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        label = statement.get("Sid") or f"#{index}"
        if statement.get("NotAction"):
            findings.append(f"statement {label} allows NotAction (every other action)")
        wild = [a for a in as_list(statement.get("Action")) if is_wildcard_action(a)]
        if wild and not (key_policy and is_account_root_admin(statement)):
            findings.append(f"statement {label} allows wildcard actions {wild}")
    return findings


def check_no_wildcard_actions(subject: Subject) -> list[str]:
    p = subject.props
    messages: list[str] = []
    for prop in POLICY_DOCUMENT_PROPS.get(subject.type, ()):
        doc = load_document(p.get(prop))
        messages += [f"{prop}: {m}" for m in wildcard_findings(doc, key_policy=subject.type in KEY_POLICY_TYPES)]
    if subject.type == "aws:iam/role:Role":
        for inline in as_list(p.get("inlinePolicies")):
            if isinstance(inline, Mapping):
                doc = load_document(inline.get("policy"))
                messages += [f"inline policy {inline.get('name')}: {m}" for m in wildcard_findings(doc)]
        for arn in as_list(p.get("managedPolicyArns")):
            messages += _managed_policy_findings(arn)
    if subject.type in (
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    ):
        messages += _managed_policy_findings(p.get("policyArn"))
    if subject.type == "aws:lambda/permission:Permission" and is_wildcard_action(p.get("action")):
        messages.append(f"lambda permission grants {p.get('action')!r}")
    return messages


def _managed_policy_findings(arn: Any) -> list[str]:
    if not isinstance(arn, str) or ":iam::aws:policy/" not in arn:
        return []
    name = arn.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in WILDCARD_MANAGED_POLICIES):
        return [f"managed policy {name} grants wildcard actions"]
    return []


# --------------------------------------------------------------------------- tags


def check_required_tags(subject: Subject, taggable: Callable[[str], bool]) -> list[str]:
    if not taggable(subject.type):
        return []
    tags = subject.props.get("tags")
    if is_unknown(tags):
        return []
    if not isinstance(tags, Mapping):
        return [f"missing tags {', '.join(REQUIRED_TAGS)}"]
    missing = [t for t in REQUIRED_TAGS if t not in tags or (known(tags[t]) and not tags[t])]
    messages = [f"missing tags {', '.join(missing)}"] if missing else []
    env = tags.get("Environment")
    if known(env) and env and env not in ENVIRONMENTS:
        messages.append(f"tag Environment={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    if known(tags.get("ManagedBy")) and tags.get("ManagedBy") not in (None, "Pulumi"):
        messages.append("tag ManagedBy must be 'Pulumi'")
    return messages


# --------------------------------------------------------------------------- data protection


def check_data_protection(subject: Subject) -> list[str]:
    """Production keeps its data: PITR, deletion protection, final snapshots, protect."""
    if not is_protected_environment(subject):
        return []
    p = subject.props
    messages = []
    if subject.type == TABLE:
        pitr = dig(first(p.get("pointInTimeRecovery")) or {}, "enabled")
        if not is_unknown(pitr) and pitr is not True:
            messages.append("production table needs point-in-time recovery")
        if not is_unknown(p.get("deletionProtectionEnabled")) and p.get("deletionProtectionEnabled") is not True:
            messages.append("production table needs deletion protection")
    elif subject.type in (CLUSTER, DB_INSTANCE):
        if not is_unknown(p.get("deletionProtection")) and p.get("deletionProtection") is not True:
            messages.append("production database needs deletion protection")
        if p.get("skipFinalSnapshot") is True or (
            subject.type == CLUSTER and not p.get("skipFinalSnapshot") and not p.get("finalSnapshotIdentifier")
        ):
            messages.append("production database must take a final snapshot (finalSnapshotIdentifier)")
    elif subject.type in BUCKET and p.get("forceDestroy") is True:
        messages.append("production bucket must not be force_destroy")
    if subject.type in (TABLE, CLUSTER, KMS_KEY) and not subject.protect:
        messages.append("production data store must be marked protect in Pulumi")
    return messages


# --------------------------------------------------------------------------- logs


def check_log_retention(subject: Subject) -> list[str]:
    if subject.type != LOG_GROUP:
        return []
    raw = subject.props.get("retentionInDays")
    if is_unknown(raw):
        return []
    days = _number(raw)
    if days is None or days <= 0:
        return [f"log group {subject.props.get('name')!r} must set retentionInDays (it never expires otherwise)"]
    return []


def check_function_log_groups(resources: Sequence[Subject]) -> list[Violation]:
    """Every regional function logs to a log group the stack manages (so retention applies).

    Lambda@Edge functions (those a CloudFront distribution depends on) are
    exempt: their logs land in the region that served each request.
    """
    groups = {r.props.get("name") for r in resources if r.type == LOG_GROUP}
    edge = {dep for r in resources if r.type == DISTRIBUTION for dep in r.dependencies}
    violations = []
    for fn in (r for r in resources if r.type == FUNCTION and r.urn not in edge):
        name = fn.props.get("name")
        configured = dig(first(fn.props.get("loggingConfig")) or {}, "logGroup")
        if not known(name) or is_unknown(configured):
            continue
        target = configured or f"/aws/lambda/{name}"
        if target not in groups:
            violations.append(Violation(fn.urn, f"function {name} logs to {target}, which the stack does not manage"))
    return violations


# --------------------------------------------------------------------------- RDS Proxy


def check_proxy_tls(subject: Subject) -> list[str]:
    if subject.type != PROXY:
        return []
    p = subject.props
    messages = []
    if not is_unknown(p.get("requireTls")) and p.get("requireTls") is not True:
        messages.append("RDS Proxy must require TLS (requireTls: true)")
    auths = [a for a in as_list(p.get("auths")) if isinstance(a, Mapping)]
    iam_end_to_end = p.get("defaultAuthScheme") == "IAM_AUTH"
    if not iam_end_to_end and (not auths or any(a.get("iamAuth") != "REQUIRED" for a in auths)):
        messages.append("RDS Proxy must require IAM authentication (auths[].iamAuth REQUIRED or IAM_AUTH)")
    return messages


# --------------------------------------------------------------------------- the pack


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    resource: ResourceRule | None = None
    stack: StackRule | None = None


def rules(taggable: Callable[[str], bool]) -> list[Rule]:
    """Every rule of the pack; ``taggable`` says which resource types carry tags."""
    return [
        Rule(
            "encryption-at-rest",
            "Tables, databases, topics, log groups and buckets encrypt data at rest.",
            resource=check_encryption_at_rest,
        ),
        Rule(
            "buckets-encrypted",
            "Every S3 bucket has a server-side encryption configuration.",
            stack=check_buckets_encrypted,
        ),
        Rule(
            "no-public-buckets",
            "Public access blocks are fully on; no public ACLs; bucket policies never allow anyone.",
            resource=check_no_public_buckets,
        ),
        Rule("buckets-blocked", "Every S3 bucket has a public access block.", stack=check_buckets_blocked),
        Rule(
            "no-open-ingress",
            "No security group admits 0.0.0.0/0 or ::/0 except the designed entry points.",
            resource=check_no_open_ingress,
        ),
        Rule(
            "no-wildcard-iam-actions",
            "No policy document allows '*' or 'service:*' (except a key policy's account-root statement).",
            resource=check_no_wildcard_actions,
        ),
        Rule(
            "required-tags",
            f"Every taggable resource carries {', '.join(REQUIRED_TAGS)}.",
            resource=lambda s: check_required_tags(s, taggable),
        ),
        Rule(
            "prod-data-protection",
            "In prod: PITR, deletion protection, final snapshots, no force_destroy, protected data stores.",
            resource=check_data_protection,
        ),
        Rule("log-retention", "Every log group sets a retention period.", resource=check_log_retention),
        Rule(
            "function-log-groups",
            "Every regional Lambda function logs to a log group the stack manages.",
            stack=check_function_log_groups,
        ),
        Rule("proxy-tls", "RDS Proxy requires TLS and IAM authentication.", resource=check_proxy_tls),
    ]
