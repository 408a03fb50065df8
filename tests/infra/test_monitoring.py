"""Dashboard, alarms, alarm topic and log groups, as the real program declares them.

What matters in AWS and the mocks cannot check for us: a widget or alarm whose
dimensions do not name the real resource shows nothing and never fires, an
alarm without the topic as its action pages nobody, an unencrypted topic or a
log group without retention breaks the platform's rules.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from infra.components.monitoring import MISSING_DATA
from infra.settings import PROFILES, Profile
from shop.declarations import METRICS_NAMESPACE, SERVICE_NAME, TABLES
from tests.infra.conftest import program_for
from tests.infra.harness import ACCOUNT, Program, Resource, run_program

MONITORING = "ecommerce:observability:Monitoring"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def profile_of(program: Program) -> Profile:
    return PROFILES[program.config["ecommerce:environment"]]


def monitoring(program: Program) -> Resource:
    return program.one(MONITORING)


def api_function(program: Program) -> Resource:
    return program.one("aws:lambda/function:Function", "api")


def expected_dimensions(program: Program) -> dict[str, Any]:
    """The dimension values of the resources the platform runs, read from the program."""
    return {
        "FunctionName": api_function(program)["name"],
        "LoadBalancer": program.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"],
        "TargetGroup": program.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"],
        "ApiName": program.one("aws:apigateway/restApi:RestApi")["name"],
        "Stage": program.one("aws:apigateway/stage:Stage")["stageName"],
        "DBClusterIdentifier": program.one("aws:rds/cluster:Cluster")["clusterIdentifier"],
        "ProxyName": {p["name"] for p in program.of_type("aws:rds/proxy:Proxy")},
        "TableName": {t["name"] for t in program.of_type("aws:dynamodb/table:Table")},
        "service": SERVICE_NAME,
    }


# --------------------------------------------------------------------------- dashboard


def dashboard(program: Program) -> dict[str, Any]:
    resource = program.one("aws:cloudwatch/dashboard:Dashboard")
    assert resource.parent == monitoring(program).urn
    body = json.loads(resource["dashboardBody"])
    assert isinstance(body, dict)
    return body


def metric_rows(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, metric, dimensions, options) of every metric row; expressions skipped."""
    rows = []
    for row in widget["properties"].get("metrics", []):
        if isinstance(row[0], dict):
            continue
        options = row[-1] if isinstance(row[-1], dict) else {}
        values = row[2:-1] if options else row[2:]
        assert len(values) % 2 == 0, row
        rows.append((row[0], row[1], dict(zip(values[::2], values[1::2], strict=True)), options))
    return rows


# Every metric the issue asks for, with the dimensions that identify our resource.
REQUIRED_METRICS: dict[tuple[str, str], set[str]] = {
    ("AWS/Lambda", "Invocations"): {"FunctionName"},
    ("AWS/Lambda", "Errors"): {"FunctionName"},
    ("AWS/Lambda", "Throttles"): {"FunctionName"},
    ("AWS/Lambda", "Duration"): {"FunctionName"},
    ("AWS/Lambda", "ConcurrentExecutions"): {"FunctionName"},
    ("AWS/ApplicationELB", "RequestCount"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "TargetResponseTime"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "UnHealthyHostCount"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApiGateway", "Count"): {"ApiName", "Stage"},
    ("AWS/ApiGateway", "4XXError"): {"ApiName", "Stage"},
    ("AWS/ApiGateway", "5XXError"): {"ApiName", "Stage"},
    ("AWS/ApiGateway", "Latency"): {"ApiName", "Stage"},
    ("AWS/RDS", "ServerlessDatabaseCapacity"): {"DBClusterIdentifier"},
    ("AWS/RDS", "CPUUtilization"): {"DBClusterIdentifier"},
    ("AWS/RDS", "ClientConnections"): {"ProxyName"},
    ("AWS/DynamoDB", "ConsumedReadCapacityUnits"): {"TableName"},
    ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"): {"TableName"},
    ("AWS/DynamoDB", "ReadThrottleEvents"): {"TableName"},
    ("AWS/DynamoDB", "WriteThrottleEvents"): {"TableName"},
    (METRICS_NAMESPACE, "OrdersPlaced"): {"service"},
    (METRICS_NAMESPACE, "Revenue"): {"service"},
}


def test_the_dashboard_shows_every_required_metric_with_real_dimensions(program: Program) -> None:
    expected = expected_dimensions(program)
    seen: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for widget in dashboard(program)["widgets"]:
        if widget["type"] != "metric":
            continue
        assert widget["properties"]["region"] == program.config["aws:region"]
        for namespace, name, dims, _ in metric_rows(widget):
            assert dims, f"{namespace} {name} has no dimensions: it would graph nothing of ours"
            for key, value in dims.items():
                want = expected[key]
                assert value in want if isinstance(want, set) else value == want, (namespace, name, key, value)
            seen[(namespace, name)].append(dims)
    proxied = bool(program.of_type("aws:rds/proxy:Proxy"))
    for (namespace, name), keys in REQUIRED_METRICS.items():
        if "ProxyName" in keys and not proxied:
            assert (namespace, name) not in seen, "a proxy widget without a proxy (dev) graphs nothing"
            continue
        assert (namespace, name) in seen, f"the dashboard lacks {namespace} {name}"
        assert any(set(d) == keys for d in seen[(namespace, name)]), (namespace, name, seen[(namespace, name)])
    # Aurora connections (cluster) and RDS Proxy connections (proxy) both appear.
    db_connections = {frozenset(d) for d in seen[("AWS/RDS", "DatabaseConnections")]}
    assert {frozenset({"DBClusterIdentifier"}), *([frozenset({"ProxyName"})] if proxied else [])} <= db_connections
    # Every table's capacity and throttles are graphed.
    for metric in ("ConsumedReadCapacityUnits", "WriteThrottleEvents"):
        assert {d["TableName"] for d in seen[("AWS/DynamoDB", metric)]} == expected["TableName"]
    assert len(expected["TableName"]) == len(TABLES)


def test_duration_and_latency_graphs_show_averages_and_p99(program: Program) -> None:
    stats: dict[tuple[str, str], set[str]] = defaultdict(set)
    for widget in dashboard(program)["widgets"]:
        if widget["type"] == "metric":
            for namespace, name, _, options in metric_rows(widget):
                stats[(namespace, name)].add(options.get("stat", "Average"))
    assert {"Average", "p99"} <= stats[("AWS/Lambda", "Duration")]
    assert "p99" in stats[("AWS/ApiGateway", "Latency")]
    assert "p99" in stats[("AWS/ApplicationELB", "TargetResponseTime")]
    assert stats[(METRICS_NAMESPACE, "OrdersPlaced")] == {"Sum"}
    assert stats[(METRICS_NAMESPACE, "Revenue")] == {"Sum"}


def test_the_dashboard_layout_fits_the_grid_and_lists_every_alarm(program: Program) -> None:
    widgets = dashboard(program)["widgets"]
    cells: set[tuple[int, int]] = set()
    for w in widgets:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24, w
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"widgets overlap at {(x, y)}"
                cells.add((x, y))
    alarm_widgets = [w for w in widgets if w["type"] == "alarm"]
    assert len(alarm_widgets) == 1
    arns = {a.outputs["arn"] for a in program.of_type(ALARM)}
    assert set(alarm_widgets[0]["properties"]["alarms"]) == arns


def test_the_api_5xx_rate_on_the_dashboard_is_metric_math(program: Program) -> None:
    expressions = [
        row[0]
        for w in dashboard(program)["widgets"]
        if w["type"] == "metric"
        for row in w["properties"]["metrics"]
        if isinstance(row[0], dict)
    ]
    assert any("100 * errors / requests" in e["expression"] for e in expressions)


# --------------------------------------------------------------------------- alarms


def alarms(program: Program) -> dict[str, Resource]:
    found = {a.name: a for a in program.of_type(ALARM)}
    assert all(a.parent == monitoring(program).urn for a in found.values())
    return found


def _single(alarm: Resource) -> tuple[str, str, dict[str, str]]:
    return alarm["namespace"], alarm["metricName"], alarm["dimensions"]


def _queries(alarm: Resource) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm["metricQueries"]}


def test_every_alarm_watches_the_right_metric_with_the_profile_threshold(program: Program) -> None:
    profile = profile_of(program)
    dims = expected_dimensions(program)
    fn = {"FunctionName": dims["FunctionName"]}
    tg = {"LoadBalancer": dims["LoadBalancer"], "TargetGroup": dims["TargetGroup"]}
    cluster = {"DBClusterIdentifier": dims["DBClusterIdentifier"]}
    dlq = {"QueueName": program.one("aws:sqs/queue:Queue", "notifications-dlq")["name"]}
    found = alarms(program)

    single = {
        "alb-unhealthy-hosts": (("AWS/ApplicationELB", "UnHealthyHostCount", tg), 1, "Maximum"),
        "lambda-errors": (("AWS/Lambda", "Errors", fn), profile.alarm_lambda_errors, "Sum"),
        "lambda-throttles": (("AWS/Lambda", "Throttles", fn), profile.alarm_lambda_throttles, "Sum"),
        "db-connections": (("AWS/RDS", "DatabaseConnections", cluster), profile.alarm_db_connections, "Maximum"),
        "db-acu-at-max": (("AWS/RDS", "ServerlessDatabaseCapacity", cluster), profile.aurora_max_acu, "Maximum"),
        # Any message in the notifications DLQ is a customer e-mail that was not sent (issue 14).
        "notifications-dlq-depth": (("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq), 1, "Maximum"),
    }
    for name, (metric, threshold, statistic) in single.items():
        alarm = found[name]
        assert _single(alarm) == metric, name
        assert alarm["threshold"] == threshold, name
        assert alarm["statistic"] == statistic, name
        assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold", name

    p99 = found["lambda-p99-duration"]
    assert _single(p99) == ("AWS/Lambda", "Duration", fn)
    assert p99["extendedStatistic"] == "p99" and "statistic" not in p99.inputs
    assert p99["threshold"] == profile.alarm_lambda_p99_ms

    rate = found["api-5xx-rate"]
    queries = _queries(rate)
    api = {"ApiName": dims["ApiName"], "Stage": dims["Stage"]}
    assert queries["errors"]["metric"]["metricName"] == "5XXError"
    assert queries["requests"]["metric"]["metricName"] == "Count"
    assert all(queries[q]["metric"]["dimensions"] == api for q in ("errors", "requests"))
    assert [q["id"] for q in rate["metricQueries"] if q.get("returnData")] == ["rate"]
    assert queries["rate"]["expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert rate["threshold"] == profile.alarm_api_5xx_percent

    alb = _queries(found["alb-5xx"])
    assert alb["elb"]["metric"]["metricName"] == "HTTPCode_ELB_5XX_Count"
    assert alb["elb"]["metric"]["dimensions"] == {"LoadBalancer": dims["LoadBalancer"]}
    assert alb["target"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert alb["target"]["metric"]["dimensions"] == tg
    assert found["alb-5xx"]["threshold"] == profile.alarm_alb_5xx_count

    throttles = {n: a for n, a in found.items() if n.startswith("dynamo-throttles-")}
    assert {n.removeprefix("dynamo-throttles-") for n in throttles} == {t.logical for t in TABLES}
    for name, alarm in throttles.items():
        table = next(t["name"] for t in program.of_type("aws:dynamodb/table:Table") if t.name == name[17:])
        metrics = [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
        assert {m["metricName"] for m in metrics} == {"ReadThrottleEvents", "WriteThrottleEvents"}
        assert all(m["dimensions"] == {"TableName": table} for m in metrics)
        assert alarm["threshold"] == profile.alarm_dynamo_throttles
    assert len(found) == len(single) + 3 + len(throttles)


def test_every_alarm_notifies_the_topic_and_treats_missing_data_deliberately(program: Program) -> None:
    topic = program.one("aws:sns/topic:Topic").outputs["arn"]
    for name, alarm in alarms(program).items():
        assert alarm["alarmActions"] == [topic], name
        assert alarm["okActions"] == [topic], name
        kind = "dynamo-throttles" if name.startswith("dynamo-throttles-") else name
        assert alarm["treatMissingData"] == DECIDED_MISSING_DATA[kind], name
        assert alarm["name"] == f"ecommerce-{name}-{program.stack}"
        assert alarm.get("alarmDescription")
    assert DECIDED_MISSING_DATA == MISSING_DATA


# Traffic-driven alarms stay quiet without traffic; the health check's silence is an
# alarm; the database's metrics arrive every minute, so a gap keeps the current state.
DECIDED_MISSING_DATA = {
    "alb-unhealthy-hosts": "breaching",
    "alb-5xx": "notBreaching",
    "lambda-errors": "notBreaching",
    "lambda-throttles": "notBreaching",
    "lambda-p99-duration": "notBreaching",
    "api-5xx-rate": "notBreaching",
    "dynamo-throttles": "notBreaching",
    "db-connections": "missing",
    "db-acu-at-max": "missing",
    "notifications-dlq-depth": "notBreaching",
}


def test_thresholds_follow_config_overrides() -> None:
    program = run_program("staging", {"alarmLambdaErrors": "42", "auroraMaxAcu": "8"})
    found = alarms(program)
    assert found["lambda-errors"]["threshold"] == 42
    assert found["db-acu-at-max"]["threshold"] == 8


# --------------------------------------------------------------------------- topic and logs


def test_the_alarm_topic_is_encrypted_with_the_key_and_only_cloudwatch_publishes(program: Program) -> None:
    topic = program.one("aws:sns/topic:Topic")
    assert topic["kmsMasterKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    assert topic["name"] == f"ecommerce-alarms-{program.stack}"
    policy = json.loads(program.one("aws:sns/topicPolicy:TopicPolicy")["policy"])
    publish = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"].startswith(f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:")
    # The key lets CloudWatch use it for the encrypted topic.
    key_policy = json.loads(program.one("aws:kms/key:Key", "data")["policy"])
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in key_policy["Statement"])


def test_the_email_subscription_exists_only_when_configured(program: Program) -> None:
    subscriptions = program.of_type("aws:sns/topicSubscription:TopicSubscription")
    email = program.config.get("ecommerce:alarmEmail")
    if email:
        (subscription,) = subscriptions
        assert subscription["protocol"] == "email" and subscription["endpoint"] == email
        assert subscription["topic"] == program.one("aws:sns/topic:Topic").outputs["arn"]
    else:
        assert subscriptions == []


def test_an_alarm_email_can_be_added_to_any_stack() -> None:
    program = run_program("dev", {"alarmEmail": "dev-alerts@example.com"})
    (subscription,) = program.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription["endpoint"] == "dev-alerts@example.com"


def test_every_regional_function_the_api_and_the_flow_logs_have_encrypted_log_groups(program: Program) -> None:
    key = program.one("aws:kms/key:Key", "data").outputs["arn"]
    groups = {g["name"]: g for g in program.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for name, group in groups.items():
        assert group.get("retentionInDays", 0) > 0, name
        assert group.get("kmsKeyId") == key, name
    function_group = groups[f"/aws/lambda/{api_function(program)['name']}"]
    assert function_group["retentionInDays"] == profile_of(program).log_retention_days
    stage = program.one("aws:apigateway/stage:Stage")
    access = stage["accessLogSettings"]["destinationArn"]
    assert any(access == g.outputs.get("arn") for g in program.of_type("aws:cloudwatch/logGroup:LogGroup"))
    flow = program.one("aws:ec2/flowLog:FlowLog")
    assert any(
        flow.get("logDestination") == g.outputs.get("arn") for g in program.of_type("aws:cloudwatch/logGroup:LogGroup")
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_dashboard_name_follows_the_convention(stack: str) -> None:
    resource = program_for(stack).one("aws:cloudwatch/dashboard:Dashboard")
    assert resource["dashboardName"] == f"ecommerce-dashboard-{stack}"


def test_alarm_specs_name_real_profile_fields_and_missing_data_decisions() -> None:
    from dataclasses import fields

    from infra.components.monitoring import ALARMS, table_alarm
    from infra.settings import Profile

    profile_fields = {f.name for f in fields(Profile)}
    specs = [*ALARMS, table_alarm("sessions")]
    for spec in specs:
        if isinstance(spec.threshold, str):
            assert spec.threshold in profile_fields, spec.logical
        assert (spec.kind or spec.logical) in MISSING_DATA, spec.logical
    assert len({s.logical for s in specs}) == len(specs)
