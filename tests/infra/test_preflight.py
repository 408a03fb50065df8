"""``python -m infra.preflight``: each check against the answers AWS gives.

moto does not emulate Lambda's account settings or RDS's engine catalogue, so those clients are
botocore ``Stubber``s fed the services' documented response shapes (the Stubber validates every
response against the service model). API Gateway's account setting, IAM, ACM, STS, EC2, Service
Quotas and ECR run against the moto server the rest of the tests use (``tests/conftest.py``).
Docker is a stand-in executable on disk, run as a real subprocess.
"""

from __future__ import annotations

import datetime
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra import preflight
from infra.components.database import ENGINE_VERSION
from infra.preflight import Context, Result, load_stack_settings
from shop.local.services import DynamoHandle
from tests.infra.harness import (
    TEST_ALARM_EMAIL,
    TEST_STOREFRONT_CREDENTIAL,
    TEST_STRIPE_PUBLISHABLE_KEY,
    TEST_STRIPE_SECRETS,
)

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
# Settings a stack file gets from its operator (the committed files leave them out).
STRIPE = {
    **{key.partition(":")[2]: value for key, value in TEST_STRIPE_SECRETS.items()},
    "stripePublishableKey": TEST_STRIPE_PUBLISHABLE_KEY,
}
OPERATOR = {
    "dev": {"storefrontCredential": TEST_STOREFRONT_CREDENTIAL, **STRIPE},
    "staging": {"storefrontCredential": TEST_STOREFRONT_CREDENTIAL, **STRIPE},
    "prod": {"alarmEmail": TEST_ALARM_EMAIL, **STRIPE},
}
DOMAIN = "shop.preflight-tests.net"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


def settings_for(stack: str, **overrides: str | None) -> Any:
    return load_stack_settings(stack, {**OPERATOR[stack], **overrides})


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name=REGION, aws_access_key_id="stub", aws_secret_access_key="stub", config=NO_RETRIES
    )
    return client, Stubber(client)


class Clients:
    """Clients on the moto server, except the services given as stubbed clients."""

    def __init__(self, endpoint: str, **stubs: Any) -> None:
        self.endpoint = endpoint
        self.stubs = stubs

    def __call__(self, service: str, region: str) -> Any:
        if service in self.stubs:
            return self.stubs[service]
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )


@pytest.fixture(scope="module")
def moto(dynamodb: DynamoHandle) -> str:
    """The session's moto server (it serves every service moto emulates, not only DynamoDB)."""
    return dynamodb.endpoint_url


def context(stack: str, clients: Any, **overrides: str | None) -> Context:
    return Context(settings=settings_for(stack, **overrides), clients=clients)


# --------------------------------------------------------------------------- Lambda concurrency


def account_settings(quota: int, unreserved: int) -> dict[str, Any]:
    """GetAccountSettings, as the Lambda API reference documents it."""
    return {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 3},
    }


def lambda_check(stack: str, quota: int, unreserved: int, existing: int | None = None, **overrides: str) -> Result:
    client, stub = stubbed("lambda")
    stub.add_response("get_account_settings", account_settings(quota, unreserved), {})
    function = {"FunctionName": f"ecommerce-api-{stack}"}
    if existing is None:
        stub.add_client_error("get_function_concurrency", "ResourceNotFoundException", http_status_code=404)
    else:
        stub.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": existing}, function)
    with stub:
        result = preflight.check_lambda_concurrency(
            context(stack, Clients("http://unused", **{"lambda": client}), **overrides)
        )
        stub.assert_no_pending_responses()
    return result


def test_concurrency_fits_the_usual_quota() -> None:
    result = lambda_check("prod", quota=1_000, unreserved=990)  # a dev copy reserves 10
    assert result.status == "OK", result
    assert "reserves 800 of 1000; 190 stay unreserved" in result.detail


def test_a_new_accounts_quota_of_10_fails_naming_the_key() -> None:
    result = lambda_check("dev", quota=10, unreserved=10)
    assert result.status == "FAIL"
    assert "ecommerce:lambdaReservedConcurrency = 10 would leave 0" in result.detail
    assert result.fixes[0] == "pulumi config set lambdaReservedConcurrency none"
    # The quota increase that would make the reservation fit: 10 + 100.
    assert "--service-code lambda --quota-code L-B99A9384 --desired-value 110" in result.fixes[-1]


def test_the_old_staging_reservation_on_a_shared_account_fails_with_what_would_fit() -> None:
    # prod 800 + dev 10 reserved: 190 left; the old staging 100 would leave 90.
    result = lambda_check("staging", quota=1_000, unreserved=190, lambdaReservedConcurrency="100")
    assert result.status == "FAIL"
    assert "would leave 90 of the region's quota 1000 unreserved (810 reserved by other functions)" in result.detail
    # 90 serve 1,125 rps at 80 ms: staging's 1,000 rps throttle still fits.
    assert "or reserve at most 90: pulumi config set lambdaReservedConcurrency 90" in result.fixes
    assert "--desired-value 1010" in result.fixes[-1]


def test_a_redeploy_counts_the_functions_own_reservation() -> None:
    # The function exists and holds 800: unreserved is 190 because of it, not despite it.
    result = lambda_check("prod", quota=1_000, unreserved=190, existing=800)
    assert result.status == "OK", result


def test_no_reservation_passes_and_warns_only_when_the_pool_is_too_small_for_the_throttle() -> None:
    assert lambda_check("staging", quota=1_000, unreserved=190).status == "OK"
    small = lambda_check("staging", quota=50, unreserved=50)
    assert small.status == "WARN"
    assert "fewer than the 80 concurrent executions apiRateLimit = 1000 needs" in small.detail
    assert small.fixes[0] == "pulumi config set apiRateLimit 625"
    assert small.fixes[1].endswith("--desired-value 80")  # 50 + the 30 missing


# --------------------------------------------------------------------------- Aurora engine version


def engine_version(version: str = ENGINE_VERSION, **extra: Any) -> dict[str, Any]:
    """One DBEngineVersion, shaped as DescribeDBEngineVersions documents it."""
    return {
        "Engine": "aurora-postgresql",
        "EngineVersion": version,
        "MajorEngineVersion": version.split(".")[0],
        "DBParameterGroupFamily": f"aurora-postgresql{version.split('.')[0]}",
        "DBEngineDescription": "Aurora (PostgreSQL)",
        "DBEngineVersionDescription": f"Aurora PostgreSQL (Compatible with PostgreSQL {version})",
        "Status": "available",
        "SupportedEngineModes": ["provisioned"],
        "SupportsGlobalDatabases": True,
        "SupportsLogExportsToCloudwatchLogs": True,
        "ExportableLogTypes": ["postgresql"],
        **extra,
    }


SERVERLESS_ORDERABLE = {
    "OrderableDBInstanceOptions": [
        {
            "Engine": "aurora-postgresql",
            "EngineVersion": ENGINE_VERSION,
            "DBInstanceClass": "db.serverless",
            "LicenseModel": "postgresql-license",
            "StorageType": "aurora",
            "SupportedEngineModes": ["provisioned"],
            "Vpc": True,
        }
    ]
}


def engine_check(stack: str, *responses: tuple[str, dict[str, Any]], **overrides: str) -> Result:
    client, stub = stubbed("rds")
    for operation, response in responses:
        stub.add_response(operation, response)
    with stub:
        result = preflight.check_engine_version(context(stack, Clients("http://unused", rds=client), **overrides))
        stub.assert_no_pending_responses()
    return result


def test_the_engine_version_is_offered_with_serverless_v2() -> None:
    support = {"ServerlessV2FeaturesSupport": {"MinCapacity": 0.0, "MaxCapacity": 256.0}}
    result = engine_check(
        "prod",
        ("describe_db_engine_versions", {"DBEngineVersions": [engine_version(**support)]}),
        ("describe_orderable_db_instance_options", SERVERLESS_ORDERABLE),
    )
    assert result.status == "OK", result
    assert f"aurora-postgresql {ENGINE_VERSION} with Serverless v2 is offered in us-west-2" in result.detail


def test_a_version_the_region_does_not_offer_fails_listing_what_it_offers() -> None:
    result = engine_check(
        "dev",
        ("describe_db_engine_versions", {"DBEngineVersions": []}),
        ("describe_db_engine_versions", {"DBEngineVersions": [engine_version("16.6"), engine_version("16.9")]}),
    )
    assert result.status == "FAIL"
    assert f"{ENGINE_VERSION} is not offered in us-west-2; offered there: 16.6, 16.9" in result.detail
    assert "ENGINE_VERSION in infra/components/database.py" in result.fixes[0]


def test_capacity_outside_what_the_version_supports_fails_with_the_config_key() -> None:
    support = {"ServerlessV2FeaturesSupport": {"MinCapacity": 0.5, "MaxCapacity": 128.0}}
    result = engine_check(
        "prod",
        ("describe_db_engine_versions", {"DBEngineVersions": [engine_version(**support)]}),
        ("describe_orderable_db_instance_options", SERVERLESS_ORDERABLE),
        auroraMaxAcu="200",
    )
    assert result.status == "FAIL"
    assert "allows at most 128 ACU; auroraMaxAcu = 200" in result.detail
    assert "pulumi config set auroraMaxAcu 128" in result.fixes


def test_no_serverless_instance_class_fails() -> None:
    result = engine_check(
        "dev",
        ("describe_db_engine_versions", {"DBEngineVersions": [engine_version()]}),
        ("describe_orderable_db_instance_options", {"OrderableDBInstanceOptions": []}),
    )
    assert result.status == "FAIL" and "db.serverless" in result.detail


def test_throttling_becomes_a_line_not_a_trace() -> None:
    client, stub = stubbed("rds")
    stub.add_client_error("describe_db_engine_versions", "ThrottlingException", "Rate exceeded", 400)
    with stub:
        (result,) = preflight._guarded(
            "aurora engine", lambda: preflight.check_engine_version(context("dev", Clients("x", rds=client)))
        )
    assert result.status == "FAIL"
    assert result.detail == "DescribeDBEngineVersions was throttled by AWS, also after retries"


# --------------------------------------------------------------------------- API Gateway account (moto)


def set_logging_role(moto: str, region: str, arn: str) -> None:
    Clients(moto)("apigateway", region).update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
    )


def role(moto: str, name: str, tags: dict[str, str]) -> str:
    iam = Clients(moto)("iam", "us-east-1")
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(created["Role"]["Arn"])


def test_an_unset_logging_role_is_fine_when_this_stack_sets_it(moto: str) -> None:
    # A region no other test touches: its account setting starts empty.
    result = preflight.check_api_gateway_account(
        context("dev", Clients(moto), **{"aws:region": "ca-central-1", "manageApiGatewayAccount": "true"})
    )
    assert result.status == "OK", result
    assert "not set in ca-central-1; this stack sets it (role ecommerce-apigateway-logs-dev)" in result.detail


def test_an_unset_logging_role_fails_when_no_stack_sets_it(moto: str) -> None:
    # The default: app stacks leave the setting to the bootstrap program.
    result = preflight.check_api_gateway_account(context("dev", Clients(moto), **{"aws:region": "ca-central-1"}))
    assert result.status == "FAIL"
    assert "bootstrap program (bootstrap/)" in result.fixes[0]
    assert "update-account --region ca-central-1" in result.fixes[0]


def test_the_logging_role_and_its_owner_are_reported(moto: str) -> None:
    arn = role(moto, "ecommerce-apigateway-logs-staging", {"ManagedBy": "Pulumi", "Environment": "staging"})
    set_logging_role(moto, "eu-west-1", arn)
    clients = Clients(moto)
    owning = {"aws:region": "eu-west-1", "manageApiGatewayAccount": "true"}
    theirs = preflight.check_api_gateway_account(context("dev", clients, **owning))
    # dev would take the setting over from staging: a warning, with the owner named.
    assert theirs.status == "WARN"
    assert arn in theirs.detail and "tags ManagedBy=Pulumi, Environment=staging" in theirs.detail
    own = preflight.check_api_gateway_account(context("staging", clients, **owning))
    assert own.status == "OK" and "this stack sets it" in own.detail


def test_a_logging_role_that_no_longer_exists_fails(moto: str) -> None:
    set_logging_role(moto, "eu-west-2", "arn:aws:iam::123456789012:role/deleted-long-ago")
    result = preflight.check_api_gateway_account(context("dev", Clients(moto), **{"aws:region": "eu-west-2"}))
    assert result.status == "FAIL" and "the role is gone" in result.detail


# --------------------------------------------------------------------------- certificates (moto)


def import_certificate(moto: str, region: str, names: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    acm = Clients(moto)("acm", region)
    return str(
        acm.import_certificate(
            Certificate=cert.public_bytes(serialization.Encoding.PEM),
            PrivateKey=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )["CertificateArn"]
    )


def domain(regional: str, cloudfront: str | None) -> dict[str, str | None]:
    return {"domainName": DOMAIN, "certificateArn": regional, "cloudfrontCertificateArn": cloudfront}


def test_certificates_in_the_right_regions_covering_the_names_pass(moto: str) -> None:
    regional = import_certificate(moto, REGION, [f"*.{DOMAIN}"])
    edge = import_certificate(moto, "us-east-1", [DOMAIN, f"www.{DOMAIN}"])
    results = preflight.check_certificates(context("prod", Clients(moto), **domain(regional, edge)))
    assert [r.status for r in results] == ["OK", "OK"], results
    assert f"covers api.{DOMAIN}, alb.{DOMAIN}" in results[0].detail


def test_a_cloudfront_certificate_outside_us_east_1_fails(moto: str) -> None:
    regional = import_certificate(moto, REGION, [f"api.{DOMAIN}", f"alb.{DOMAIN}"])
    wrong = import_certificate(moto, REGION, [DOMAIN])
    results = preflight.check_certificates(context("prod", Clients(moto), **domain(regional, wrong)))
    assert results[0].status == "OK"
    assert results[1].status == "FAIL"
    assert "the certificate for CloudFront must be in us-east-1" in results[1].detail
    assert "aws acm request-certificate --region us-east-1" in results[1].fixes[0]


def test_a_certificate_missing_a_name_or_not_issued_fails(moto: str) -> None:
    partial = import_certificate(moto, REGION, [f"api.{DOMAIN}"])
    acm = Clients(moto)("acm", "us-east-1")
    pending = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    regional, edge = preflight.check_certificates(context("prod", Clients(moto), **domain(partial, pending)))
    assert regional.status == "FAIL" and f"does not cover alb.{DOMAIN}" in regional.detail
    assert edge.status == "FAIL" and "its status is PENDING_VALIDATION, not ISSUED" in edge.detail
    assert "DomainValidationOptions" in edge.fixes[0]


def test_no_domain_needs_no_certificate_and_a_missing_cloudfront_one_warns(moto: str) -> None:
    (none,) = preflight.check_certificates(context("dev", Clients(moto)))
    assert none.status == "OK"
    regional = import_certificate(moto, REGION, [f"*.{DOMAIN}"])
    results = preflight.check_certificates(context("prod", Clients(moto), **domain(regional, None)))
    assert [r.status for r in results] == ["OK", "WARN"]


# --------------------------------------------------------------------------- docker (a stand-in binary)


@pytest.fixture
def fake_docker(tmp_path: Path) -> Any:
    def make(buildx_ls: str, daemon_up: bool = True) -> Path:
        path = tmp_path / "docker"
        path.write_text(
            "#!/bin/sh\n"
            'case "$1 $2" in\n'
            '  "version --format") '
            + ("echo 27.3.1" if daemon_up else 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
            + ";;\n"
            '  "buildx version") echo "github.com/docker/buildx v0.17.1";;\n'
            f'  "buildx ls") printf "%s\\n" "{buildx_ls}";;\n'
            "  *) exit 2;;\n"
            "esac\n"
        )
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
        return path

    return make


def docker_check(docker: Path | None) -> Result:
    ctx = context("dev", Clients("http://unused"))
    ctx.docker = str(docker) if docker else None
    return preflight.check_docker(ctx)


def test_docker_with_an_arm64_builder_passes(fake_docker: Any) -> None:
    result = docker_check(fake_docker("default*  docker  running  v0.17.1  linux/amd64, linux/arm64, linux/386"))
    assert result.status == "OK", result


def test_docker_without_arm64_says_how_to_register_the_emulator(fake_docker: Any) -> None:
    result = docker_check(fake_docker("default*  docker  running  v0.17.1  linux/amd64, linux/386"))
    assert result.status == "FAIL"
    assert "docker run --privileged --rm tonistiigi/binfmt --install arm64" in result.fixes[0]


def test_docker_missing_or_its_daemon_down_fails(fake_docker: Any) -> None:
    assert docker_check(None).status == "FAIL"
    down = docker_check(fake_docker("", daemon_up=False))
    assert down.status == "FAIL"
    assert "daemon does not answer (Cannot connect to the Docker daemon)" in down.detail


# --------------------------------------------------------------------------- the whole run


def test_a_whole_run_against_moto_and_stubs_prints_one_line_per_check(moto: str, fake_docker: Any) -> None:
    lam, lam_stub = stubbed("lambda")
    lam_stub.add_response("get_account_settings", account_settings(10, 10))
    lam_stub.add_client_error("get_function_concurrency", "ResourceNotFoundException", http_status_code=404)
    lam_stub.add_client_error("get_function", "ResourceNotFoundException", http_status_code=404)
    rds, rds_stub = stubbed("rds")
    rds_stub.add_response("describe_db_engine_versions", {"DBEngineVersions": [engine_version()]})
    rds_stub.add_response("describe_orderable_db_instance_options", SERVERLESS_ORDERABLE)
    lines: list[str] = []
    with lam_stub, rds_stub:
        code = preflight.preflight(
            "dev",
            Clients(moto, **{"lambda": lam, "rds": rds}),
            out=lines.append,
            overrides={**OPERATOR["dev"], "manageApiGatewayAccount": "true"},
            docker=str(fake_docker("default* docker running linux/arm64")),
        )
    text = "\n".join(lines)
    assert code == 1, text  # a quota-10 account cannot hold dev's reservation of 10
    statuses = {line.split("] ")[1].split(":")[0]: line[1:5].strip() for line in lines if line.startswith("[")}
    assert statuses == {
        "settings": "OK",
        "credentials": "OK",
        "lambda concurrency": "FAIL",
        "aurora engine": "OK",
        "api gateway logging role": "OK",  # unset in us-west-2, and dev sets it
        "certificates": "OK",
        "availability zones": "OK",
        "network quotas": "OK",
        "ecr login": "OK",
        "existing names": "OK",
        "docker": "OK",
    }, text
    assert "fix: pulumi config set lambdaReservedConcurrency none" in text
    assert lines[-1] == "preflight dev: 10 checks, 1 failed, 0 warnings (lambda concurrency)"


def scrubbed_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS credentials anywhere boto3 looks (files, variables, instance metadata)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def test_missing_credentials_are_one_clear_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in scrubbed_env(tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    lines: list[str] = []
    code = preflight.preflight("prod", out=lines.append, overrides=OPERATOR["prod"], docker=None)
    text = "\n".join(lines)
    assert code == 1
    assert "[FAIL] credentials: no AWS credentials found" in text
    assert "fix: configure credentials: `aws configure`" in text
    assert text.count("[SKIP]") == len(preflight.AWS_CHECKS)
    assert "Traceback" not in text


def test_an_unreachable_endpoint_is_a_clear_line() -> None:
    # Nothing listens on port 9 of the loopback address: the connection is refused at once.
    (result,) = preflight._guarded(
        "credentials", lambda: preflight.check_identity(context("dev", Clients("http://127.0.0.1:9")))
    )
    assert result.status == "FAIL" and result.detail.startswith("cannot reach AWS (Could not connect")


def test_the_command_line_fails_cleanly_on_bad_settings_without_a_trace(tmp_path: Path) -> None:
    # The committed dev stack file lacks the operator's storefront credential: pulumi up would refuse it.
    completed = subprocess.run(
        [sys.executable, "-m", "infra.preflight", "--stack", "dev"],
        cwd=ROOT,
        env=scrubbed_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout.startswith("[FAIL] settings: config ecommerce:storefrontCredential is required")
    assert "Traceback" not in completed.stdout + completed.stderr
    lines: list[str] = []
    assert preflight.preflight("nonesuch", out=lines.append) == 1
    assert lines == [
        "[FAIL] settings: Pulumi.nonesuch.yaml not found: create the stack first (pulumi stack init nonesuch)",
        "       fix: pulumi stack init nonesuch, or name an existing stack: --stack NAME (make preflight STACK=NAME)",
    ]


def test_make_preflight_runs_the_module_for_the_stack() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "$(PY) -m infra.preflight --stack $(STACK)" in makefile


# --------------------------------------------------------------------------- region capacity (moto)


def test_a_region_with_fewer_than_three_azs_fails(moto: str) -> None:
    zones = Clients(moto)("ec2", "us-west-1").describe_availability_zones()["AvailabilityZones"]
    assert len(zones) < 3  # moto models us-west-1 with two
    result = preflight.check_availability_zones(context("dev", Clients(moto), **{"aws:region": "us-west-1"}))
    assert result.status == "FAIL" and "the VPC spans 3" in result.detail
    assert "pulumi config set aws:region" in result.fixes[0]


def test_elastic_ips_at_the_quota_fail_and_the_stacks_own_resources_do_not_count(moto: str) -> None:
    region = "ap-southeast-2"
    ec2 = Clients(moto)("ec2", region)
    for _ in range(5):  # the EC2-VPC Elastic IP default quota
        ec2.allocate_address(Domain="vpc")
    result = preflight.check_network_quotas(context("dev", Clients(moto), **{"aws:region": region}))
    assert result.status == "FAIL"
    assert "Elastic IPs: 5 in use + 1 for this stack > 5 (AWS default)" in result.detail
    assert "--service-code ec2 --quota-code L-0263D0A3 --desired-value 6" in result.fixes[0]
    # Once one of them is this stack's own NAT address, a redeploy adds nothing.
    first = ec2.describe_addresses()["Addresses"][0]["AllocationId"]
    tags = {"Project": "ecommerce", "Name": "ecommerce-nat-1-dev"}
    ec2.create_tags(Resources=[first], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    again = preflight.check_network_quotas(context("dev", Clients(moto), **{"aws:region": region}))
    assert again.status == "OK", again
    assert "Elastic IPs 5+0/5" in again.detail


def test_the_readme_documents_every_check() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Preflight") : readme.index("## Operations")]
    documented = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert documented - {"check", "---"} == {"settings", "credentials", "docker", *(n for n, _ in preflight.AWS_CHECKS)}
    assert "make preflight STACK=" in section


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ExpiredToken", "the credentials were refused (ExpiredToken: The token is expired)"),
        ("AccessDenied", "the caller may not call GetCallerIdentity (AccessDenied)"),
    ],
)
def test_refused_credentials_are_a_clear_line(code: str, expected: str) -> None:
    sts, stub = stubbed("sts")
    stub.add_client_error("get_caller_identity", code, "The token is expired", 403)
    lines: list[str] = []
    with stub:
        status = preflight.preflight("dev", Clients("x", sts=sts), lines.append, OPERATOR["dev"], docker=None)
    assert status == 1
    assert lines[1] == f"[FAIL] credentials: {expected}"
    assert lines[2].startswith("       fix: ")


def test_resources_left_with_the_stacks_names_warn(moto: str) -> None:
    region = "eu-central-1"
    clients = Clients(moto)
    clean = preflight.check_existing_names(context("dev", clients, **{"aws:region": region}))
    assert clean.status == "OK", clean
    # What an earlier copy with the same suffix can leave behind: its log group and a table.
    clients("logs", region).create_log_group(logGroupName="/aws/lambda/ecommerce-api-dev")
    clients("dynamodb", region).create_table(
        TableName="ecommerce-sessions-dev",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    left = preflight.check_existing_names(context("dev", clients, **{"aws:region": region}))
    assert left.status == "WARN"
    assert "log group /aws/lambda/ecommerce-api-dev, DynamoDB table ecommerce-sessions-dev exist" in left.detail
    assert left.fixes[0] == "new stack: pulumi config set environmentSuffix <an unused suffix>"


def test_architectures_preflight_table_names_tests_that_exist() -> None:
    doc = (ROOT / "ARCHITECTURE.md").read_text()
    start = doc.index("### Checked before deploy")
    table = doc[start : doc.index("\n## ", start)]
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", table))
    defined = set(re.findall(r"^def (test_[a-z0-9_]+)", Path(__file__).read_text(), flags=re.M))
    assert named and named <= defined, named - defined
