"""CloudWatch dashboard, alarms and the encrypted SNS topic they notify.

Every widget and alarm names its metric with the real dimensions of the
resources it watches (function name, ALB and target-group ARN suffixes, API
name and stage, cluster identifier, proxy name, table names), so nothing is
a placeholder. Thresholds come from the profile (``alarm_*`` fields, the
cluster's ``aurora_max_acu``).

Missing data is decided per alarm (see :data:`MISSING_DATA`):

- traffic-driven metrics (errors, throttles, 5xx, latency, DynamoDB throttle
  events) have no data points when there is no traffic, and no traffic is not
  a failure: ``notBreaching``;
- the ALB's unhealthy-host count is reported every minute while health checks
  run, so its silence means the check stopped: ``breaching``;
- the database's capacity and connections are reported every minute while
  the cluster exists; a gap is a CloudWatch delay, not a state change:
  ``missing`` (keep the current state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from infra.settings import Settings
from shop.declarations import METRICS_NAMESPACE, SERVICE_NAME

MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]

# Period (seconds) of alarm evaluation and of the dashboard's graphs.
ALARM_PERIOD = 300
GRAPH_PERIOD = 60
BUSINESS_PERIOD = 300

# One decision per alarm (logical name → treat_missing_data); see the module docstring.
MISSING_DATA: dict[str, MissingData] = {
    "alb-unhealthy-hosts": "breaching",
    "alb-5xx": "notBreaching",
    "lambda-errors": "notBreaching",
    "lambda-throttles": "notBreaching",
    "lambda-p99-duration": "notBreaching",
    "db-connections": "missing",
    "db-acu-at-max": "missing",
    "api-5xx-rate": "notBreaching",
    "dynamo-throttles": "notBreaching",
}

WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
WIDGETS_PER_ROW = 24 // WIDGET_WIDTH


@dataclass
class MonitoringArgs:
    settings: Settings
    key: aws.kms.Key
    function: aws.lambda_.Function
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage
    cluster: aws.rds.Cluster
    proxy: aws.rds.Proxy
    tables: Mapping[str, aws.dynamodb.Table]
    # False when the target group runs no health checks (Lambda targets may
    # not): then there is no unhealthy-host metric to alarm on.
    target_health_checks: bool = True


def dashboard_url(region: str, name: pulumi.Input[str]) -> pulumi.Output[str]:
    """The console link of a CloudWatch dashboard."""
    return pulumi.Output.format(
        "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#dashboards/dashboard/{1}", region, name
    )


def _metric(namespace: str, name: str, dimensions: Sequence[tuple[str, Any]], **options: Any) -> list[Any]:
    """A dashboard metric row: namespace, name, dimension pairs, then rendering options."""
    row: list[Any] = [namespace, name]
    for key, value in dimensions:
        row += [key, value]
    if options:
        row.append(options)
    return row


def _sum_query(
    query_id: str, namespace: str, metric_name: str, dimensions: pulumi.Input[Mapping[str, pulumi.Input[str]]]
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """An input to alarm metric math: the metric's Sum per alarm period (not returned itself)."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dimensions,
            stat="Sum",
            period=ALARM_PERIOD,
        ),
    )


def _expression(query_id: str, expression: str, label: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """The metric-math expression an alarm evaluates."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(id=query_id, expression=expression, label=label, return_data=True)


class Monitoring(pulumi.ComponentResource):
    """Dashboard ``ecommerce-dashboard-<suffix>``, one alarm per failure mode, the alarm topic."""

    topic: aws.sns.Topic
    topic_policy: aws.sns.TopicPolicy
    subscription: aws.sns.TopicSubscription | None
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: aws.cloudwatch.Dashboard
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:observability:Monitoring", name, None, opts)
        settings = args.settings
        profile = settings.profile
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()

        # ------------------------------------------------------------ SNS topic
        self.topic = aws.sns.Topic(
            "alarms",
            name=settings.name("alarms"),
            kms_master_key_id=args.key.arn,
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            "alarms",
            arn=self.topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudWatchAlarmsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": self.topic.arn,
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": identity.account_id},
                                "ArnLike": {
                                    "aws:SourceArn": pulumi.Output.format(
                                        "arn:{0}:cloudwatch:{1}:{2}:alarm:*",
                                        partition.partition,
                                        settings.region,
                                        identity.account_id,
                                    )
                                },
                            },
                        },
                        {
                            "Sid": "AccountManages",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": pulumi.Output.format(
                                    "arn:{0}:iam::{1}:root", partition.partition, identity.account_id
                                )
                            },
                            "Action": [
                                "sns:GetTopicAttributes",
                                "sns:SetTopicAttributes",
                                "sns:Subscribe",
                                "sns:ListSubscriptionsByTopic",
                                "sns:Publish",
                            ],
                            "Resource": self.topic.arn,
                        },
                    ],
                }
            ),
            opts=child,
        )
        self.subscription = None
        if settings.alarm_email:
            self.subscription = aws.sns.TopicSubscription(
                "alarm-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                opts=child,
            )

        # ------------------------------------------------------------ dimensions
        fn = args.function.name
        lb = args.load_balancer.arn_suffix
        tg = args.target_group.arn_suffix
        api_name = args.rest_api.name
        stage = args.stage.stage_name
        cluster = args.cluster.cluster_identifier
        proxy = args.proxy.name
        tables = dict(args.tables)

        fn_dims = {"FunctionName": fn}
        alb_dims = {"LoadBalancer": lb}
        tg_dims = {"LoadBalancer": lb, "TargetGroup": tg}
        api_dims = {"ApiName": api_name, "Stage": stage}
        cluster_dims = {"DBClusterIdentifier": cluster}

        # ------------------------------------------------------------ alarms
        actions = [self.topic.arn]
        self.alarms = {}

        def alarm(
            logical: str, description: str, threshold: float, kind: str | None = None, **kwargs: Any
        ) -> aws.cloudwatch.MetricAlarm:
            resource = aws.cloudwatch.MetricAlarm(
                logical,
                name=settings.name(logical),
                alarm_description=description,
                threshold=threshold,
                treat_missing_data=MISSING_DATA[kind or logical],
                alarm_actions=actions,
                ok_actions=actions,
                opts=child,
                **kwargs,
            )
            self.alarms[logical] = resource
            return resource

        if args.target_health_checks:
            alarm(
                "alb-unhealthy-hosts",
                "The ALB's Lambda target fails its health check.",
                1,
                namespace="AWS/ApplicationELB",
                metric_name="UnHealthyHostCount",
                dimensions=tg_dims,
                statistic="Maximum",
                period=60,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison_operator="GreaterThanOrEqualToThreshold",
            )
        alarm(
            "alb-5xx",
            "5xx responses from the ALB or its target, summed per 5 minutes.",
            profile.alarm_alb_5xx_count,
            metric_queries=[
                _sum_query("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb_dims),
                _sum_query("target", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", tg_dims),
                _expression("total", "FILL(elb, 0) + FILL(target, 0)", "ALB 5xx"),
            ],
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        alarm(
            "lambda-errors",
            "The API function's invocation errors per 5 minutes.",
            profile.alarm_lambda_errors,
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=fn_dims,
            statistic="Sum",
            period=ALARM_PERIOD,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        alarm(
            "lambda-throttles",
            "The API function is throttled (reserved concurrency reached).",
            profile.alarm_lambda_throttles,
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions=fn_dims,
            statistic="Sum",
            period=ALARM_PERIOD,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        alarm(
            "lambda-p99-duration",
            "The API function's p99 duration (ms), for 3 consecutive 5-minute periods.",
            profile.alarm_lambda_p99_ms,
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions=fn_dims,
            extended_statistic="p99",
            period=ALARM_PERIOD,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
        )
        alarm(
            "db-connections",
            "Connections to the Aurora cluster approach its limit.",
            profile.alarm_db_connections,
            namespace="AWS/RDS",
            metric_name="DatabaseConnections",
            dimensions=cluster_dims,
            statistic="Maximum",
            period=ALARM_PERIOD,
            evaluation_periods=2,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        alarm(
            "db-acu-at-max",
            "Aurora Serverless v2 runs at its maximum capacity (ACU) for 15 minutes.",
            profile.aurora_max_acu,
            namespace="AWS/RDS",
            metric_name="ServerlessDatabaseCapacity",
            dimensions=cluster_dims,
            statistic="Maximum",
            period=ALARM_PERIOD,
            evaluation_periods=3,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        alarm(
            "api-5xx-rate",
            "Percentage of API Gateway requests answered 5xx, per 5 minutes.",
            profile.alarm_api_5xx_percent,
            metric_queries=[
                _sum_query("errors", "AWS/ApiGateway", "5XXError", api_dims),
                _sum_query("requests", "AWS/ApiGateway", "Count", api_dims),
                _expression("rate", "IF(requests > 0, 100 * errors / requests, 0)", "API 5xx rate (%)"),
            ],
            evaluation_periods=2,
            comparison_operator="GreaterThanThreshold",
        )
        for logical, table in sorted(tables.items()):
            alarm(
                f"dynamo-throttles-{logical}",
                f"Throttled reads and writes on the {logical} table, per 5 minutes.",
                profile.alarm_dynamo_throttles,
                kind="dynamo-throttles",
                metric_queries=[
                    _sum_query("reads", "AWS/DynamoDB", "ReadThrottleEvents", {"TableName": table.name}),
                    _sum_query("writes", "AWS/DynamoDB", "WriteThrottleEvents", {"TableName": table.name}),
                    _expression("throttles", "FILL(reads, 0) + FILL(writes, 0)", f"{logical} throttle events"),
                ],
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
            )

        # ------------------------------------------------------------ dashboard
        region = settings.region
        lambda_ns, alb_ns, api_ns, rds_ns, ddb_ns = (
            "AWS/Lambda",
            "AWS/ApplicationELB",
            "AWS/ApiGateway",
            "AWS/RDS",
            "AWS/DynamoDB",
        )
        fn_pair = [("FunctionName", fn)]
        alb_pair = [("LoadBalancer", lb)]
        tg_pair = [("TargetGroup", tg), ("LoadBalancer", lb)]
        api_pair = [("ApiName", api_name), ("Stage", stage)]
        cluster_pair = [("DBClusterIdentifier", cluster)]
        proxy_pair = [("ProxyName", proxy)]
        business_pair = [("service", SERVICE_NAME)]

        def graph(title: str, metrics: list[list[Any]], **properties: Any) -> dict[str, Any]:
            return {
                "type": "metric",
                "properties": {
                    "title": title,
                    "region": region,
                    "view": "timeSeries",
                    "stacked": False,
                    "period": GRAPH_PERIOD,
                    "metrics": metrics,
                    **properties,
                },
            }

        def max_line(label: str, value: float) -> dict[str, Any]:
            return {"horizontal": [{"label": label, "value": value}]}

        widgets: list[dict[str, Any]] = [
            graph(
                "API function: invocations, errors, throttles",
                [
                    _metric(lambda_ns, "Invocations", fn_pair, stat="Sum"),
                    _metric(lambda_ns, "Errors", fn_pair, stat="Sum"),
                    _metric(lambda_ns, "Throttles", fn_pair, stat="Sum"),
                ],
            ),
            graph(
                "API function: duration (ms)",
                [
                    _metric(lambda_ns, "Duration", fn_pair, stat="Average", label="average"),
                    _metric(lambda_ns, "Duration", fn_pair, stat="p99", label="p99"),
                ],
                annotations=max_line("p99 alarm", profile.alarm_lambda_p99_ms),
            ),
            graph(
                "API function: concurrent executions",
                [_metric(lambda_ns, "ConcurrentExecutions", fn_pair, stat="Maximum")],
                annotations=max_line(
                    "reserved concurrency" if profile.lambda_reserved_concurrency else "unreserved minimum",
                    profile.throttle_concurrency,
                ),
            ),
            graph(
                "ALB: requests and 5xx",
                [
                    _metric(alb_ns, "RequestCount", alb_pair, stat="Sum"),
                    _metric(alb_ns, "HTTPCode_ELB_5XX_Count", alb_pair, stat="Sum", label="ELB 5xx"),
                    _metric(alb_ns, "HTTPCode_Target_5XX_Count", tg_pair, stat="Sum", label="target 5xx"),
                ],
            ),
            graph(
                "ALB: target response time (s)",
                [
                    _metric(alb_ns, "TargetResponseTime", tg_pair, stat="Average", label="average"),
                    _metric(alb_ns, "TargetResponseTime", tg_pair, stat="p99", label="p99"),
                ],
            ),
            graph(
                "ALB: healthy and unhealthy targets",
                [
                    _metric(alb_ns, "UnHealthyHostCount", tg_pair, stat="Maximum"),
                    _metric(alb_ns, "HealthyHostCount", tg_pair, stat="Minimum"),
                ],
            ),
            graph(
                "API Gateway: requests, 4xx, 5xx",
                [
                    _metric(api_ns, "Count", api_pair, stat="Sum", id="requests"),
                    _metric(api_ns, "4XXError", api_pair, stat="Sum"),
                    _metric(api_ns, "5XXError", api_pair, stat="Sum", id="errors"),
                    [
                        {
                            "expression": "IF(requests > 0, 100 * errors / requests, 0)",
                            "label": "5xx rate (%)",
                            "id": "rate",
                        }
                    ],
                ],
            ),
            graph(
                "API Gateway: latency (ms)",
                [
                    _metric(api_ns, "Latency", api_pair, stat="p99", label="p99"),
                    _metric(api_ns, "IntegrationLatency", api_pair, stat="p99", label="integration p99"),
                ],
            ),
            graph(
                "Aurora: capacity (ACU)",
                [_metric(rds_ns, "ServerlessDatabaseCapacity", cluster_pair, stat="Maximum")],
                annotations=max_line("max ACU", profile.aurora_max_acu),
            ),
            graph(
                "Aurora: connections",
                [_metric(rds_ns, "DatabaseConnections", cluster_pair, stat="Maximum")],
                annotations=max_line("alarm", profile.alarm_db_connections),
            ),
            graph("Aurora: CPU (%)", [_metric(rds_ns, "CPUUtilization", cluster_pair, stat="Maximum")]),
            graph(
                "RDS Proxy: connections",
                [
                    _metric(rds_ns, "ClientConnections", proxy_pair, stat="Maximum", label="client"),
                    _metric(rds_ns, "DatabaseConnections", proxy_pair, stat="Maximum", label="database"),
                ],
            ),
            graph(
                "DynamoDB: consumed capacity",
                [
                    _metric(ddb_ns, f"Consumed{kind}CapacityUnits", [("TableName", table.name)], stat="Sum")
                    for _, table in sorted(tables.items())
                    for kind in ("Read", "Write")
                ],
            ),
            graph(
                "DynamoDB: throttle events",
                [
                    _metric(ddb_ns, f"{kind}ThrottleEvents", [("TableName", table.name)], stat="Sum")
                    for _, table in sorted(tables.items())
                    for kind in ("Read", "Write")
                ],
            ),
            graph(
                "Business: orders placed",
                [_metric(METRICS_NAMESPACE, "OrdersPlaced", business_pair, stat="Sum")],
                period=BUSINESS_PERIOD,
            ),
            graph(
                "Business: revenue (cents)",
                [_metric(METRICS_NAMESPACE, "Revenue", business_pair, stat="Sum")],
                period=BUSINESS_PERIOD,
            ),
            {
                "type": "alarm",
                "properties": {
                    "title": "Alarms",
                    "alarms": [a.arn for _, a in sorted(self.alarms.items())],
                },
            },
        ]
        for index, widget in enumerate(widgets):
            widget.update(
                x=(index % WIDGETS_PER_ROW) * WIDGET_WIDTH,
                y=(index // WIDGETS_PER_ROW) * WIDGET_HEIGHT,
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )

        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=settings.name("dashboard"),
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=child,
        )
        self.dashboard_url = dashboard_url(region, self.dashboard.dashboard_name)

        self.register_outputs(
            {
                "topicArn": self.topic.arn,
                "dashboardName": self.dashboard.dashboard_name,
                "dashboardUrl": self.dashboard_url,
                "alarmNames": [a.name for _, a in sorted(self.alarms.items())],
            }
        )
