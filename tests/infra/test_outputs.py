"""The stack's outputs: a stable, complete list of camelCase names; links that work as links.

Operators and tests/integration read these names, so renaming or dropping one
is a breaking change: this list changes only deliberately.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.settings import PROFILES
from tests.infra.harness import ACCOUNT, Program

EXPECTED_OUTPUTS = (
    # stack
    "environment",
    "environmentSuffix",
    "region",
    "kmsKeyArn",
    # network
    "vpcId",
    "publicSubnetIds",
    "privateSubnetIds",
    "databaseSubnetIds",
    "natGatewayPublicIps",
    "flowLogGroupName",
    "albSecurityGroupId",
    "functionSecurityGroupId",
    "databaseSecurityGroupId",
    # data
    "sessionsTableName",
    "cacheTableName",
    "idempotencyTableName",
    "auroraClusterId",
    "auroraClusterArn",
    "dbWriterHost",
    "dbReaderHost",
    "dbUser",
    "dbSecretArn",
    # compute and delivery
    "ecrRepositoryUrl",
    "imageUri",
    "apiFunctionName",
    "apiFunctionArn",
    "migrationFunctionName",
    "expiryFunctionName",
    "apiLogGroupName",
    "restApiId",
    "apiUrl",
    "apiStage",
    "apiKeyId",
    "backOfficeApiKeyId",
    "authorizerFunctionName",
    "apiAccessLogGroupName",
    "albDnsName",
    "cloudfrontDistributionId",
    "cloudfrontDomainName",
    "storefrontUrl",
    "edgeFunctionVersionArn",
    "staticBucketName",
    "logsBucketName",
    "artifactsBucketName",
    # observability
    "alarmTopicArn",
    "userPoolId",
    "userPoolClientId",
    "userPoolIssuer",
    "dashboardName",
    "dashboardUrl",
    "eventBusName",
    "eventArchiveName",
    "relayFunctionName",
    "notifierFunctionName",
    "notificationsQueueName",
    "notificationsDlqName",
    "senderIdentityArn",
)

# Only stacks with an RDS Proxy (profile.rds_proxy) export these.
PROXY_OUTPUTS = ("dbProxyName", "dbProxyEndpoint", "dbProxyReadOnlyEndpoint", "proxySecurityGroupId")

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
ARN = re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")


def test_the_stack_exports_the_full_stable_list(program: Program) -> None:
    assert len(EXPECTED_OUTPUTS) >= 25
    assert len(set(EXPECTED_OUTPUTS)) == len(EXPECTED_OUTPUTS)
    with_proxy = PROFILES[program.config["ecommerce:environment"]].rds_proxy
    assert sorted(program.outputs) == sorted(EXPECTED_OUTPUTS + (PROXY_OUTPUTS if with_proxy else ()))
    assert all(CAMEL_CASE.match(name) for name in program.outputs)


def test_every_output_has_a_value(program: Program) -> None:
    for name, value in program.outputs.items():
        assert value not in (None, "", [], {}), name


def test_links_are_absolute_https_urls(program: Program) -> None:
    region = program.config["aws:region"]
    links = {
        name: value for name, value in program.outputs.items() if name.endswith("Url") and name != "ecrRepositoryUrl"
    }
    assert set(links) == {"apiUrl", "storefrontUrl", "dashboardUrl"}
    for name, url in links.items():
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc and " " not in url, (name, url)

    api = urlsplit(links["apiUrl"])
    assert re.fullmatch(rf"[a-z0-9]+\.execute-api\.{region}\.amazonaws\.com", api.netloc), api.netloc
    assert api.path == f"/{program.outputs['apiStage']}", "the API URL ends with the stage"
    assert urlsplit(links["storefrontUrl"]).netloc == program.outputs["cloudfrontDomainName"]
    dashboard = urlsplit(links["dashboardUrl"])
    assert dashboard.netloc == f"{region}.console.aws.amazon.com"
    assert dashboard.query == f"region={region}"
    assert dashboard.fragment == f"dashboards/dashboard/{program.outputs['dashboardName']}"


def test_identifiers_have_their_aws_shapes(program: Program) -> None:
    out: dict[str, Any] = program.outputs
    region = program.config["aws:region"]
    for name in ("kmsKeyArn", "auroraClusterArn", "dbSecretArn", "apiFunctionArn", "alarmTopicArn"):
        assert ARN.match(out[name]), (name, out[name])
        assert f":{region}:{ACCOUNT}:" in out[name], name
    assert out["edgeFunctionVersionArn"].startswith(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:")
    assert re.fullmatch(r".+:\d+", out["edgeFunctionVersionArn"]), "a published version, as CloudFront requires"
    assert out["vpcId"].startswith("vpc-")
    for name in ("publicSubnetIds", "privateSubnetIds", "databaseSubnetIds"):
        assert len(out[name]) == 3 and all(s.startswith("subnet-") for s in out[name]), name
    profile = PROFILES[program.config["ecommerce:environment"]]
    assert len(out["natGatewayPublicIps"]) == profile.nat_gateways
    groups = ("albSecurityGroupId", "functionSecurityGroupId", "databaseSecurityGroupId")
    for name in groups + (("proxySecurityGroupId",) if profile.rds_proxy else ()):
        assert out[name].startswith("sg-"), name
    assert out["albDnsName"].endswith(f".{region}.elb.amazonaws.com")
    if profile.rds_proxy:
        assert out["dbProxyEndpoint"] == out["dbWriterHost"] != out["dbProxyReadOnlyEndpoint"] == out["dbReaderHost"]
    else:
        assert out["dbWriterHost"].endswith(".rds.amazonaws.com") and ".proxy-" not in out["dbWriterHost"]
    assert out["imageUri"].startswith(out["ecrRepositoryUrl"] + "@sha256:"), "the image is pinned by digest"
    assert out["environment"] == program.config["ecommerce:environment"]
    named = ("sessionsTableName", "cacheTableName", "idempotencyTableName", "dashboardName")
    for name in named + (("dbProxyName",) if profile.rds_proxy else ()):
        assert out[name].startswith("ecommerce-") and out[name].endswith(f"-{out['environmentSuffix']}"), name


def test_no_output_carries_a_secret(program: Program) -> None:
    """The API keys' values (partner, back office) and the database password stay out of the outputs
    (ids and ARNs only)."""
    keys = program.of_type("aws:apigateway/apiKey:ApiKey")
    assert {key.name for key in keys} == {"partner", "backoffice"}
    values = [str(v) for v in program.outputs.values()]
    for key in keys:
        secret_value = key.outputs.get("value")
        assert secret_value and all(secret_value not in v for v in values), key.name
    assert not any(
        "password" in name.lower() or ("secret" in name.lower() and "Arn" not in name) for name in program.outputs
    )


def integration_output_names() -> set[str]:
    """Output names tests/integration asks for: ``need("x", ...)`` arguments, ``parametrize("output", [...])``
    values and ``*_OUTPUTS`` constants."""
    names: set[str] = set()
    for source in (Path(__file__).resolve().parents[1] / "integration").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "need":
                values = list(node.args)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "parametrize"
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "output"
            ):
                values = list(getattr(node.args[1], "elts", []))
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith("_OUTPUTS") for t in node.targets
            ):
                values = list(getattr(node.value, "elts", []))
            names.update(v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return names


def test_the_integration_tests_ask_only_for_exported_names() -> None:
    """tests/integration reads outputs by name; a renamed output must not turn them into silent skips."""
    asked = integration_output_names()
    assert {"apiUrl", "storefrontUrl", "apiKeyId", "sessionsTableName", "dbProxyName", "alarmTopicArn"} <= asked
    assert asked <= set(EXPECTED_OUTPUTS + PROXY_OUTPUTS), asked - set(EXPECTED_OUTPUTS + PROXY_OUTPUTS)
