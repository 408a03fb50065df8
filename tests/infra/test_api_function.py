"""The API function: ECR, the arm64 image, its log group, its role (statement by statement), the Lambda."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.components.api_function import DYNAMODB_ACTIONS, ENI_ACTIONS, HANDLER, XRAY_ACTIONS
from infra.settings import PROFILES
from shop.declarations import (
    API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS,
    DATABASE_BUDGET,
    DYNAMODB_BUDGET,
    TABLES,
    Env,
)
from tests.infra.harness import ACCOUNT, ROOT, Program, Resource

DIGEST_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+@sha256:[0-9a-f]{64}$")


def function(program: Program) -> Resource:
    return program.one("aws:lambda/function:Function", "api")


def role_policy(program: Program) -> dict[str, dict[str, Any]]:
    """The function role's inline policy, by statement Sid."""
    doc = json.loads(program.one("aws:iam/rolePolicy:RolePolicy", "api").inputs["policy"])
    assert doc["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in doc["Statement"]}
    assert len(statements) == len(doc["Statement"]), "every statement has its own Sid"
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- ECR and image


def test_repository_scans_expires_and_encrypts(program: Program) -> None:
    repo = program.one("aws:ecr/repository:Repository")
    assert repo.inputs["name"] == f"ecommerce-api-{program.stack}"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] in ("AES256", "KMS")
    assert repo.inputs["forceDelete"] is (program.stack != "prod")
    lifecycle = program.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.inputs["repository"] == repo.inputs["name"]
    (rule,) = json.loads(lifecycle.inputs["policy"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}


def test_only_this_accounts_lambda_functions_may_pull(program: Program) -> None:
    policy = program.one("aws:ecr/repositoryPolicy:RepositoryPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    region = program.config["aws:region"]
    assert statement["Condition"] == {"StringLike": {"aws:sourceArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:*"}}


def test_image_is_built_for_arm64_from_the_repo_and_pushed_to_ecr(program: Program) -> None:
    image = program.one("docker-build:index:Image")
    repo_url = program.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert image.inputs["platforms"] == ["linux/arm64"]
    assert image.inputs["push"] is True
    assert Path(os.path.abspath(image.inputs["context"]["location"])) == ROOT
    dockerfile = Path(os.path.abspath(image.inputs["dockerfile"]["location"]))
    assert dockerfile == ROOT / "docker" / "api.Dockerfile" and dockerfile.is_file()
    assert all(tag.startswith(f"{repo_url}:") for tag in image.inputs["tags"])
    (registry,) = image.inputs["registries"]
    # Credentials come from ecr.get_authorization_token (the mock's token), never from a file.
    assert registry == {"address": repo_url, "username": "AWS", "password": "token"}


def test_function_runs_the_pushed_digest_not_a_tag(program: Program) -> None:
    uri = function(program).inputs["imageUri"]
    image = program.one("docker-build:index:Image")
    repo_url = program.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert DIGEST_URI.match(uri), uri
    assert uri == f"{repo_url}@{image.outputs['digest']}"
    assert ":latest" not in uri
    assert program.outputs["imageUri"] == uri


def test_dockerfile_uses_the_arm64_lambda_base_and_hash_checked_requirements() -> None:
    text = (ROOT / "docker" / "api.Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    logical = re.sub(r"\\\n\s*", " ", "\n".join(lines))  # join continuation lines
    instructions = [" ".join(line.split()) for line in logical.splitlines() if line.strip()]
    assert instructions[0] == "FROM public.ecr.aws/lambda/python:3.13-arm64"
    (run,) = [i for i in instructions if i.startswith("RUN pip install")]
    assert "--require-hashes" in run and "-r /tmp/lambda.txt" in run and '--target "${LAMBDA_TASK_ROOT}"' in run
    assert "COPY requirements/lambda.txt /tmp/lambda.txt" in instructions
    (copy_index,) = [n for n, i in enumerate(instructions) if i.startswith("COPY src/shop ")]
    # The shop is byte-compiled after it is copied (the task root is read-only at run time).
    (compiled,) = [n for n, i in enumerate(instructions) if i.startswith("RUN python -m compileall")]
    assert compiled > copy_index and instructions[compiled].endswith('"${LAMBDA_TASK_ROOT}/shop"')
    assert instructions[-1] == f'CMD ["{HANDLER}"]'
    # Every pinned requirement of the image carries a hash (pip refuses otherwise).
    lock = (ROOT / "requirements" / "lambda.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==", lock, flags=re.MULTILINE)
    assert pins and len(re.findall(r"^[A-Za-z0-9_.-]+==[^\n]*\\\n\s+--hash=sha256:", lock, flags=re.M)) == len(pins)


def test_build_context_sends_only_what_the_image_needs() -> None:
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [ln for ln in lines if ln and not ln.startswith("#")]
    assert rules[0] == "*"  # deny everything, then allow
    assert "!requirements/lambda.txt" in rules and "!src/shop/" in rules


# --------------------------------------------------------------------------- the function


def test_function_shape_comes_from_the_profile(program: Program) -> None:
    fn = function(program).inputs
    profile = PROFILES[program.stack]
    assert fn["name"] == f"ecommerce-api-{program.stack}"
    assert fn["packageType"] == "Image"
    assert fn["architectures"] == ["arm64"]
    assert fn["memorySize"] == profile.lambda_memory_mb
    assert fn["timeout"] == profile.lambda_timeout_seconds
    # pulumi-aws: -1 is no reservation (the function shares the region's unreserved pool).
    assert fn["reservedConcurrentExecutions"] == (profile.lambda_reserved_concurrency or -1)
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert "handler" not in fn and "runtime" not in fn  # the image's CMD decides


def test_function_timeout_nests_the_client_budgets_inside_api_gateways_limit(program: Program) -> None:
    """A hung dependency must give a 503 from the function, not a 504 from API Gateway.

    One request can wait out one failing DynamoDB call and one failing database call; the function's
    timeout must cover both and stay below API Gateway's 29 s integration timeout (a hard limit of
    the REST API), or the caller sees API Gateway's timeout instead of the platform's error.
    """
    timeout = function(program).inputs["timeout"]
    clients = DYNAMODB_BUDGET.worst_case_seconds + DATABASE_BUDGET.worst_case_seconds
    assert DYNAMODB_BUDGET.worst_case_seconds < timeout and DATABASE_BUDGET.worst_case_seconds < timeout
    assert clients < timeout < API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS


def test_function_runs_in_the_private_subnets_with_its_security_group(program: Program) -> None:
    vpc = function(program).inputs["vpcConfig"]
    assert vpc["subnetIds"] == program.outputs["privateSubnetIds"]
    assert len(vpc["subnetIds"]) == 3
    assert vpc["securityGroupIds"] == [program.outputs["functionSecurityGroupId"]]


def test_no_dead_letter_queue_because_every_invocation_is_synchronous(program: Program) -> None:
    # API Gateway and the ALB invoke synchronously; DLQs and on-failure
    # destinations apply to asynchronous invocations only.
    assert function(program).inputs.get("deadLetterConfig") is None
    assert not program.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    principals = {p.inputs["principal"] for p in program.of_type("aws:lambda/permission:Permission")}
    assert principals == {"apigateway.amazonaws.com", "elasticloadbalancing.amazonaws.com"}


def test_environment_names_are_the_shared_declarations_and_values_come_from_the_data_layer(program: Program) -> None:
    env = function(program).inputs["environment"]["variables"]
    assert set(env) <= {e.value for e in Env}
    # Local-only settings never reach AWS.
    assert Env.DATABASE_URL not in env and Env.DATABASE_READER_URL not in env
    for spec in TABLES:
        table = program.one("aws:dynamodb/table:Table", spec.logical)
        assert env[spec.env] == table.inputs["name"]
    assert env[Env.DB_WRITER_HOST] == program.outputs["dbWriterHost"]
    assert env[Env.DB_READER_HOST] == program.outputs["dbReaderHost"]
    # A separate read-only endpoint where there are readers behind a proxy; dev has neither.
    assert (env[Env.DB_WRITER_HOST] != env[Env.DB_READER_HOST]) == PROFILES[program.stack].rds_proxy
    assert env[Env.DB_PORT] == "5432"
    assert env[Env.DB_NAME] == "shop"
    assert env[Env.DB_IAM_AUTH] == "true"
    assert env[Env.ENVIRONMENT] == program.stack
    assert env[Env.POWERTOOLS_SERVICE_NAME] == "ecommerce-api"
    assert int(env[Env.CACHE_TTL_SECONDS]) > 0 and int(env[Env.CART_TTL_SECONDS]) > 0
    if program.stack == "prod":
        # Only the storefront's own origin (the distribution's domain: no custom domain here).
        assert env[Env.CORS_ALLOW_ORIGIN] == f"https://{program.outputs['cloudfrontDomainName']}"
    else:
        assert env[Env.CORS_ALLOW_ORIGIN] == "*"


def test_function_and_api_gateway_preflight_agree_on_the_cors_origin(program: Program) -> None:
    env = function(program).inputs["environment"]["variables"]
    preflights = {
        r.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        for r in program.of_type("aws:apigateway/integrationResponse:IntegrationResponse")
    }
    assert preflights == {f"'{env[Env.CORS_ALLOW_ORIGIN]}'"}


def test_prod_cors_origin_is_the_custom_domain_when_cloudfront_serves_one() -> None:
    from tests.infra.harness import run_program

    program = run_program(
        "prod",
        {
            "domainName": "shop.example.com",
            "certificateArn": f"arn:aws:acm:us-west-2:{ACCOUNT}:certificate/1",
            "cloudfrontCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/2",
        },
    )
    assert function(program).inputs["environment"]["variables"][Env.CORS_ALLOW_ORIGIN] == "https://shop.example.com"


def test_log_group_exists_before_the_function_with_profile_retention(program: Program) -> None:
    fn = function(program)
    group = program.one("aws:cloudwatch/logGroup:LogGroup", "api")
    assert group.inputs["name"] == f"/aws/lambda/{fn.inputs['name']}"
    assert group.inputs["retentionInDays"] == PROFILES[program.stack].log_retention_days
    assert group.inputs["kmsKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    assert group.urn in fn.dependencies
    logging = fn.inputs["loggingConfig"]
    assert logging["logGroup"] == group.inputs["name"]
    assert logging["logFormat"] == "JSON"
    # Lambda's own filter lets through what the app logs at its configured level.
    assert logging["applicationLogLevel"] == fn.inputs["environment"]["variables"]["LOG_LEVEL"]


def test_function_waits_for_its_permissions(program: Program) -> None:
    # Lambda checks the role's ENI permissions when it creates a VPC function.
    fn = function(program)
    assert program.one("aws:iam/rolePolicy:RolePolicy", "api").urn in fn.dependencies
    # ... and may pull the image before it is created.
    assert program.one("aws:ecr/repositoryPolicy:RepositoryPolicy").urn in fn.dependencies


# --------------------------------------------------------------------------- the role


def test_role_is_assumable_by_lambda_only(program: Program) -> None:
    role = program.one("aws:iam/role:Role", "api")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    assert function(program).inputs["role"] == role.outputs["arn"]


def test_role_has_one_inline_policy_and_no_managed_policies(program: Program) -> None:
    role = program.one("aws:iam/role:Role", "api")
    assert not role.inputs.get("managedPolicyArns")
    attachments = [
        a for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.id
    ]
    assert not attachments
    inline = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    assert [p.name for p in inline] == ["api"]


def test_policy_has_exactly_these_statements(program: Program) -> None:
    assert set(role_policy(program)) == {
        "Tables",
        "DatabaseIamSignIn",
        "OwnLogGroup",
        "XRayNoResourceLevelPermissions",
        "VpcNetworkInterfacesNoResourceLevelPermissions",
        "TableEncryptionKeyThroughDynamoDB",
        "ReadOwnParameters",
        "ParameterKeyThroughSsm",
        "PublishToTheShopsBus",
        "ProductImageUploads",
        "ProductImageEncryptionThroughS3",
    }


def test_the_function_publishes_to_the_shops_bus_only(program: Program) -> None:
    """After a commit the function runs one relay batch (shop.events.relay.after_commit)."""
    bus = program.one("aws:cloudwatch/eventBus:EventBus", "bus")
    statement = role_policy(program)["PublishToTheShopsBus"]
    assert statement["Action"] == "events:PutEvents" and statement["Resource"] == bus.outputs["arn"]
    function = program.one("aws:lambda/function:Function", "api")
    assert function.inputs["environment"]["variables"]["EVENT_BUS_NAME"] == bus.inputs["name"]


def test_image_uploads_reach_the_static_buckets_media_prefix_only(program: Program) -> None:
    """The function signs presigned POSTs: it may put objects below media/ of the static bucket and
    nothing else there (no read, no delete, no other prefix), and use the stack key only via S3."""
    statements = role_policy(program)
    static = program.one("aws:s3/bucket:Bucket", "static")
    key = program.one("aws:kms/key:Key", "data")
    uploads = statements["ProductImageUploads"]
    assert uploads["Action"] == "s3:PutObject"
    assert uploads["Resource"] == f"{static.outputs['arn']}/media/*"
    s3_actions = [
        action
        for statement in statements.values()
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        if action.startswith("s3:")
    ]
    assert s3_actions == ["s3:PutObject"]
    encryption = statements["ProductImageEncryptionThroughS3"]
    assert encryption["Action"] == "kms:GenerateDataKey" and encryption["Resource"] == key.outputs["arn"]
    region = program.config["aws:region"]
    assert encryption["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    env = program.one("aws:lambda/function:Function", "api").inputs["environment"]["variables"]
    assert env["MEDIA_BUCKET"] == static.outputs["bucket"]
    assert env["MEDIA_KMS_KEY_ID"] == key.outputs["arn"]


def test_the_order_token_secret_is_a_securestring_only_this_function_reads(program: Program) -> None:
    """The HMAC key of order tokens: encrypted with the stack key, generated once (never rotated by an
    update, which would void every issued token), readable by the function and decryptable via SSM only."""
    parameter = program.one("aws:ssm/parameter:Parameter", "order-token-secret")
    key = program.one("aws:kms/key:Key", "data")
    assert parameter.inputs["type"] == "SecureString" and parameter.inputs["tier"] == "Standard"
    assert parameter.inputs["keyId"] == key.outputs["arn"]
    assert len(parameter.inputs["value"]) >= 48
    assert "value" in parameter.options["ignoreChanges"]
    env = function(program).inputs["environment"]["variables"]
    assert env[Env.ORDER_TOKEN_SECRET_PARAMETER] == parameter.inputs["name"]
    statements = role_policy(program)
    assert statements["ReadOwnParameters"]["Action"] == "ssm:GetParameter"
    assert parameter.outputs["arn"] in statements["ReadOwnParameters"]["Resource"]
    decrypt = statements["ParameterKeyThroughSsm"]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == key.outputs["arn"]
    condition = decrypt["Condition"]["StringEquals"]
    assert re.fullmatch(r"ssm\.[a-z]{2}-[a-z]+-\d\.amazonaws\.com", condition["kms:ViaService"])
    assert parameter.outputs["arn"] in condition["kms:EncryptionContext:PARAMETER_ARN"]


def test_no_statement_uses_a_wildcard_action_or_denies(program: Program) -> None:
    for sid, statement in role_policy(program).items():
        assert statement["Effect"] == "Allow", sid
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{sid}: {action}"


def test_star_resources_only_where_aws_has_no_narrower_form(program: Program) -> None:
    starred = {sid for sid, s in role_policy(program).items() if "*" in as_list(s["Resource"])}
    assert starred == {"XRayNoResourceLevelPermissions", "VpcNetworkInterfacesNoResourceLevelPermissions"}


def test_tables_statement_names_the_three_tables(program: Program) -> None:
    statement = role_policy(program)["Tables"]
    assert sorted(statement["Action"]) == sorted(DYNAMODB_ACTIONS)
    # Reads and writes items; never scans, never manages tables.
    assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable"} & set(statement["Action"])
    expected = [program.one("aws:dynamodb/table:Table", spec.logical).outputs["arn"] for spec in TABLES]
    expected += [f"{arn}/index/*" for arn, spec in zip(expected[:], TABLES, strict=True) if spec.indexes]
    assert sorted(as_list(statement["Resource"])) == sorted(expected)
    assert len(TABLES) == 3


_DYNAMODB_CALL = re.compile(
    r"\.(get_item|put_item|update_item|delete_item|batch_get_item|batch_write_item|query|scan|"
    r"transact_get_items|transact_write_items|describe_table)\("
)


# IAM has no action for a transaction: its Put and Update parts are authorised as PutItem and
# UpdateItem (DynamoDB developer guide, "Using IAM with DynamoDB transactions"). The cart merge
# (shop.domain.customer_carts) uses only those two parts.
_TRANSACTION_PARTS = {"dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem"}}


def _dynamodb_actions_called(paths: list[Path]) -> set[str]:
    actions = {
        "dynamodb:" + "".join(part.capitalize() for part in call.split("_"))
        for path in paths
        for call in _DYNAMODB_CALL.findall(path.read_text())
    }
    for transaction, parts in _TRANSACTION_PARTS.items():
        if transaction in actions:
            actions = (actions - {transaction}) | parts
    return actions


def test_the_cart_merge_transaction_has_only_put_and_update_parts() -> None:
    """What _TRANSACTION_PARTS assumes: no Delete or ConditionCheck part (those would need more grants)."""
    source = (ROOT / "src" / "shop" / "domain" / "customer_carts.py").read_text()
    parts = set(re.findall(r'\{\s*"(Put|Update|Delete|ConditionCheck)"\s*:', source))
    assert parts == {"Put", "Update"}


def test_table_actions_are_exactly_what_the_shop_and_powertools_call() -> None:
    """The policy follows the code: every DynamoDB call the image's code makes, and nothing else."""
    import aws_lambda_powertools.utilities.idempotency.persistence.dynamodb as idempotency

    image_code = [
        p
        for p in (ROOT / "src" / "shop").rglob("*.py")
        if not {"local", "edge"} & set(p.relative_to(ROOT / "src" / "shop").parts)
    ]
    called = _dynamodb_actions_called(image_code) | _dynamodb_actions_called([Path(idempotency.__file__)])
    assert called == set(DYNAMODB_ACTIONS)


def test_database_statement_is_rds_db_connect_for_the_functions_user_on_the_proxy(program: Program) -> None:
    """rds-db:connect as the application role: on the proxy (prx-...), or on the cluster (dev, no proxy)."""
    statement = role_policy(program)["DatabaseIamSignIn"]
    env = function(program).inputs["environment"]["variables"]
    region = program.config["aws:region"]
    assert statement["Action"] == "rds-db:connect"
    resource = statement["Resource"]
    assert env[Env.DB_USER] == "shop_app"
    assert resource.split(":dbuser:")[1].startswith("prx-" if PROFILES[program.stack].rds_proxy else "cluster-")
    assert re.fullmatch(
        rf"arn:aws:rds-db:{region}:{ACCOUNT}:dbuser:(prx-[0-9a-z]+|cluster-[0-9A-Z]+)/{re.escape(env[Env.DB_USER])}",
        resource,
    )


def test_logs_statement_names_the_functions_log_group(program: Program) -> None:
    statement = role_policy(program)["OwnLogGroup"]
    group = program.one("aws:cloudwatch/logGroup:LogGroup", "api")
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"{group.outputs['arn']}:*"


def test_xray_statement_is_the_two_write_calls(program: Program) -> None:
    statement = role_policy(program)["XRayNoResourceLevelPermissions"]
    assert sorted(statement["Action"]) == sorted(XRAY_ACTIONS) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def test_eni_statement_matches_the_vpc_access_execution_role(program: Program) -> None:
    statement = role_policy(program)["VpcNetworkInterfacesNoResourceLevelPermissions"]
    assert sorted(statement["Action"]) == sorted(ENI_ACTIONS)
    assert all(a.startswith("ec2:") for a in statement["Action"])


def test_kms_statement_is_the_table_key_through_dynamodb_only(program: Program) -> None:
    statement = role_policy(program)["TableEncryptionKeyThroughDynamoDB"]
    region = program.config["aws:region"]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}}


@pytest.mark.parametrize("output", ["apiFunctionName", "apiFunctionArn", "ecrRepositoryUrl", "imageUri"])
def test_function_outputs_are_exported(program: Program, output: str) -> None:
    fn = function(program)
    value = program.outputs[output]
    assert value
    if output == "apiFunctionName":
        assert value == fn.inputs["name"]
    if output == "apiFunctionArn":
        assert value == fn.outputs["arn"]


# --------------------------------------------------------------------------- what the image holds

_IMAGE_PROBE = """
import importlib.abc, importlib.metadata, json, sys, types

PRELOADED = set(sys.modules)  # what the interpreter's site hooks loaded, not the handler

# .dockerignore leaves these parts of the repository out of the image ...
BLOCKED = ("shop.local", "shop.edge", "infra", "tests")
# ... and pip installs exactly the distributions of requirements/lambda.txt (argv[2]).
PINNED = set(json.loads(sys.argv[2]))
OWNERS = importlib.metadata.packages_distributions()

def normal(name):
    return "-".join(name.replace("_", "-").replace(".", "-").lower().split("-"))

class NotInImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(name + " is not in the image")
        if top in sys.stdlib_module_names or top == "shop" or top.startswith("_"):
            return None
        if not {normal(d) for d in OWNERS.get(top, [])} & PINNED:
            raise ImportError(name + " is not in requirements/lambda.txt")
        return None

sys.meta_path.insert(0, NotInImage())
module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(__import__(module_name, fromlist=["_"]), function_name)
context = types.SimpleNamespace(
    function_name="ecommerce-api-probe", function_version="$LATEST", memory_limit_in_mb=3072,
    invoked_function_arn="arn:aws:lambda:us-west-2:123456789012:function:ecommerce-api-probe",
    aws_request_id="00000000-0000-4000-8000-000000000000", log_group_name="/aws/lambda/probe",
    log_stream_name="probe", get_remaining_time_in_millis=lambda: 30000,
)
statuses = [handler(event, context)["statusCode"] for event in json.loads(sys.stdin.read())]
loaded = {name.split(".")[0] for name in set(sys.modules) - PRELOADED}
third_party = loaded - set(sys.stdlib_module_names) - {"shop"}
print(json.dumps({
    "statuses": statuses,
    # (modules no distribution owns, like Cython's cython_runtime, are created in memory)
    "imported": {top: OWNERS[top] for top in sorted(third_party) if top in OWNERS},
}))
"""


def test_the_image_serves_the_health_check_with_only_what_it_installs(dev: Program) -> None:
    """Run the image's CMD as Lambda would: the function's own environment, ALB and API Gateway
    health events, and everything the image does not contain blocked from import."""
    from tests.app.events import alb_event, rest_event

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env.update(function(dev).inputs["environment"]["variables"])
    env.update({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2", "POWERTOOLS_TRACE_DISABLED": "true"})
    events = [alb_event("GET", "/api/health"), rest_event("GET", "/api/health")]
    lock = (ROOT / "requirements" / "lambda.txt").read_text()
    pinned = {re.sub(r"[-_.]+", "-", n).lower() for n in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, flags=re.M)}
    completed = subprocess.run(
        [sys.executable, "-c", _IMAGE_PROBE, HANDLER, json.dumps(sorted(pinned))],
        cwd=ROOT / "src",
        env=env,
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [200, 200]
    imported: dict[str, list[str]] = report["imported"]
    assert imported, "the handler imports its dependencies"
    for top, distributions in imported.items():
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions}
        assert names & pinned, f"the handler imports {top} ({distributions}), which requirements/lambda.txt lacks"
