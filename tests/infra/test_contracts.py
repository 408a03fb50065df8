"""Every infra user of a contract in ``shop.declarations`` agrees with it.

The declarations (error envelope, CORS headers and max-age, TTL defaults, database name and
port, the physical-name rule) live once in ``shop.declarations``; these tests read what the
program actually creates and compare it with the declaration, so a copy that drifts fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.settings import PROFILES
from shop import declarations
from shop.declarations import Env
from tests.infra.harness import Program, run_program


def env_of(program: Program, function: str) -> dict[str, str]:
    variables: dict[str, str] = program.one("aws:lambda/function:Function", function).inputs["environment"]["variables"]
    return variables


def test_every_physical_name_follows_the_declared_rule(program: Program) -> None:
    suffix = program.outputs["environmentSuffix"]
    # A sample of the names settings.name builds, for several resource kinds.
    names = {
        ("aws:lambda/function:Function", "api"): "api",
        ("aws:lambda/function:Function", "migrate"): "migrate",
        ("aws:apigateway/restApi:RestApi", "api"): "api",
        ("aws:iam/role:Role", "api"): "api-function",
    }
    for (type_token, logical), short in names.items():
        assert program.one(type_token, logical).inputs["name"] == declarations.physical_name(short, suffix)
    # Security groups keep the rule as a prefix (infra/replacement.py): AWS appends a unique part.
    group = program.one("aws:ec2/securityGroup:SecurityGroup", "function-sg")
    assert group.inputs["namePrefix"] == declarations.physical_name("function-sg", suffix) + "-"


def test_alb_fixed_responses_are_the_declared_error_envelope(program: Program) -> None:
    bodies = []
    for resource in [
        *program.of_type("aws:lb/listener:Listener"),
        *program.of_type("aws:lb/listenerRule:ListenerRule"),
    ]:
        for action in resource.inputs.get("defaultActions", []) + resource.inputs.get("actions", []):
            if "fixedResponse" in action:
                bodies.append(action["fixedResponse"]["messageBody"])
    assert len(bodies) == 2
    for text in bodies:
        error = json.loads(text)["error"]
        assert text == declarations.error_json(error["code"], error["message"])
        assert error["details"] == {}


def test_database_port_is_the_declared_one_on_every_hop(program: Program) -> None:
    cluster = program.one("aws:rds/cluster:Cluster")
    assert cluster.inputs["port"] == declarations.DB_PORT
    assert cluster.inputs["databaseName"] == declarations.DB_NAME
    postgres_rules = [
        r
        for t in (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        )
        for r in program.of_type(t)
        if ("proxy" in r.name or "database" in r.name)
        and not r.name.startswith(("nat-", "endpoints-"))
        and "secrets" not in r.name
    ]
    # function -> proxy -> database, or (no proxy, dev) function -> database.
    assert len(postgres_rules) == (4 if PROFILES[program.stack].rds_proxy else 2)
    for rule in postgres_rules:
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] == declarations.DB_PORT, rule.name
    for function in ("api", "migrate"):
        env = env_of(program, function)
        assert env[Env.DB_PORT] == str(declarations.DB_PORT)
        assert env[Env.DB_NAME] == declarations.DB_NAME


def test_both_vpc_functions_get_the_same_database_environment(program: Program) -> None:
    """Same host, port and database; the API as the application role, migrations as the master user."""
    keys = (Env.DB_WRITER_HOST, Env.DB_PORT, Env.DB_NAME)
    api, migrate = env_of(program, "api"), env_of(program, "migrate")
    assert {k: api[k] for k in keys} == {k: migrate[k] for k in keys}
    assert api[Env.DB_IAM_AUTH] == "true"
    assert api[Env.DB_USER] == declarations.DB_APP_USER != migrate[Env.DB_USER]


def test_function_ttls_are_the_declared_defaults(program: Program) -> None:
    env = env_of(program, "api")
    assert env[Env.CART_TTL_SECONDS] == str(declarations.CART_TTL_SECONDS)
    assert env[Env.CACHE_TTL_SECONDS] == str(declarations.CACHE_TTL_SECONDS)


# --------------------------------------------------------------------------- one component alone

ALONE = """
import pulumi
from infra.components.migrations import Migrations, MigrationsArgs
from infra.lambda_helpers import DatabaseAccess, FunctionNetwork
from infra.settings import load_settings

migrations = Migrations(
    "migrations",
    MigrationsArgs(
        settings=load_settings(),
        key_arn="arn:aws:kms:us-west-2:123456789012:key/alone",
        network=FunctionNetwork(subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-f"]),
        database=DatabaseAccess(
            writer_host="writer.example",
            reader_host="reader.example",
            user="shop_admin",
            connect_arn="arn:aws:rds-db:us-west-2:123456789012:dbuser:prx-1/shop_admin",
        ),
        image_uri="123456789012.dkr.ecr.us-west-2.amazonaws.com/api@sha256:abc",
    ),
)
pulumi.export("function", migrations.function.name)
"""


def test_a_component_builds_alone_from_ids_and_endpoints(tmp_path: Path) -> None:
    main = tmp_path / "alone.py"
    main.write_text(ALONE)
    program = run_program("dev", main=main)
    types = {r.type for r in program}
    # Nothing but the migration component's own resources: no VPC, no database, no sibling.
    assert types == {
        "ecommerce:data:Migrations",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/function:Function",
        "aws:lambda/invocation:Invocation",
    }
    function = program.one("aws:lambda/function:Function")
    assert function.inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert function.inputs["environment"]["variables"][Env.DB_WRITER_HOST] == "writer.example"
    assert program.outputs["function"] == declarations.physical_name("migrate", "dev")  # suffix = stack name


def test_every_policy_document_is_built_by_the_one_helper() -> None:
    """infra.iam.policy_document is the only place a policy document's version and shape are written."""
    infra = Path(__file__).resolve().parents[2] / "infra"
    writers = [p.name for p in sorted(infra.rglob("*.py")) if "2012-10-17" in p.read_text() and p.name != "iam.py"]
    assert writers == []
