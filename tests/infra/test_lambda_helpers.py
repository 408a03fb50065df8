"""What the shared Lambda helpers make for the command functions, pinned by URN.

A changed URN is a replacement of a deployed resource (a role, log group or schedule deleted and
created again), so each resource the helpers create keeps the URN it had before they existed: the
component is its parent, the component's logical name its own.
"""

from __future__ import annotations

import json

import pytest

from tests.infra.harness import PROJECT, Program, Resource

# Component type -> the logical name of its function, log group, role and inline policy.
COMMAND_FUNCTIONS = {
    "ecommerce:data:Migrations": "migrate",
    "ecommerce:app:Jobs": "expire",
    "ecommerce:events:EventRelay": "relay",
    "ecommerce:events:Notifications": "notifier",
    "ecommerce:security:BackOfficeAuthorizer": "authorizer",
}
# Component type -> the logical name of the schedule (its role and policy: ``<name>-schedule``) and
# the Sid of the one statement that lets the schedule invoke the function.
SCHEDULES = {"ecommerce:app:Jobs": ("expire", "InvokeExpiry"), "ecommerce:events:EventRelay": ("relay", "InvokeRelay")}

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"


def _child(program: Program, component: str, type_token: str, logical: str) -> Resource:
    [parent] = [r for r in program if r.type == component]
    resource = program.by_urn(f"urn:pulumi:{program.stack}::{PROJECT}::{component}${type_token}::{logical}")
    assert resource.parent == parent.urn
    return resource


def _trusted_services(role: Resource) -> list[object]:
    return [s["Principal"] for s in json.loads(role["assumeRolePolicy"])["Statement"]]


@pytest.mark.parametrize(("component", "logical"), COMMAND_FUNCTIONS.items())
def test_each_command_function_keeps_its_role_and_log_group(program: Program, component: str, logical: str) -> None:
    log_group = _child(program, component, LOG_GROUP, logical)
    role = _child(program, component, ROLE, logical)
    policy = _child(program, component, ROLE_POLICY, logical)
    function = _child(program, component, FUNCTION, logical)
    api_log_group = program.one(LOG_GROUP, "api")
    assert log_group["name"] == f"/aws/lambda/{function['name']}"
    assert log_group["retentionInDays"] == api_log_group["retentionInDays"]
    assert log_group["kmsKeyId"] == api_log_group["kmsKeyId"] is not None
    assert role["name"] == function["name"].replace(logical, f"{logical}-function", 1)
    assert _trusted_services(role) == [{"Service": "lambda.amazonaws.com"}]
    assert function["role"] == role.outputs["arn"] and policy["role"] == role.id
    # The component's own least-privilege policy, which always lets it write its own log group.
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["OwnLogGroup"]["Resource"] == f"{log_group.outputs['arn']}:*"
    assert {log_group.urn, policy.urn} <= set(function.dependencies)


@pytest.mark.parametrize(("component", "schedule_of"), SCHEDULES.items())
def test_each_schedule_keeps_its_urns_and_invokes_only_its_function(
    program: Program, component: str, schedule_of: tuple[str, str]
) -> None:
    logical, sid = schedule_of
    function = _child(program, component, FUNCTION, logical)
    schedule = _child(program, component, SCHEDULE, logical)
    role = _child(program, component, ROLE, f"{logical}-schedule")
    invoke = _child(program, component, ROLE_POLICY, f"{logical}-schedule")
    assert schedule["name"] == function["name"]
    assert role["name"] == function["name"].replace(logical, f"{logical}-schedule", 1)
    assert _trusted_services(role) == [{"Service": "scheduler.amazonaws.com"}]
    assert invoke["role"] == role.id
    assert json.loads(invoke["policy"])["Statement"] == [
        {"Sid": sid, "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function.outputs["arn"]}
    ]
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["target"] == {
        "arn": function.outputs["arn"],
        "roleArn": role.outputs["arn"],
        "retryPolicy": {"maximumRetryAttempts": 0},
    }
    # Not created before its role may invoke the function.
    assert invoke.urn in schedule.dependencies
