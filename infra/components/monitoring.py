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

from infra.iam import policy_document
from infra.settings import Profile, Settings
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
    # SQS stops sending metrics for a queue idle for six hours (SQS developer guide, "Available
    # CloudWatch metrics for Amazon SQS"): an empty, idle dead-letter queue reports nothing.
    "notifications-dlq-depth": "notBreaching",
}

WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
WIDGETS_PER_ROW = 24 // WIDGET_WIDTH


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


@dataclass
class MonitoringArgs:
    settings: Settings
    key_arn: pulumi.Input[str]
    # The dimensions of what is watched: names, identifiers and ARN suffixes.
    function_name: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    api_name: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    cluster_identifier: pulumi.Input[str]
    # None when the profile has no RDS Proxy (its dashboard widget is left out).
    proxy_name: pulumi.Input[str] | None
    # Logical table name → physical table name.
    table_names: Mapping[str, pulumi.Input[str]]
    # The notifications dead-letter queue (notifications.py): any message there is an e-mail not sent.
    dlq_name: pulumi.Input[str]


# --------------------------------------------------------------------------- alarms as data

Dimensions = Mapping[str, pulumi.Input[str]]


@dataclass(frozen=True)
class Metric:
    """One metric, one statistic (``p99`` and the like are extended statistics)."""

    namespace: str
    name: str
    dimensions: str  # key into the dimension sets (see Monitoring._dimension_sets)
    statistic: str
    period: int = ALARM_PERIOD


@dataclass(frozen=True)
class MetricMath:
    """Sums of several metrics combined by an expression (the alarm evaluates the expression)."""

    inputs: tuple[tuple[str, str, str, str], ...]  # (query id, namespace, metric name, dimension set)
    result_id: str
    expression: str
    label: str


@dataclass(frozen=True)
class AlarmSpec:
    logical: str
    description: str
    # A number, or the name of the profile field that holds it.
    threshold: float | str
    source: Metric | MetricMath
    evaluation_periods: int
    comparison: str = "GreaterThanOrEqualToThreshold"
    datapoints_to_alarm: int | None = None
    # Key into MISSING_DATA (defaults to the logical name).
    kind: str | None = None


ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        "alb-unhealthy-hosts",
        "The ALB's Lambda target fails its health check.",
        1,
        Metric("AWS/ApplicationELB", "UnHealthyHostCount", "target_group", "Maximum", period=60),
        evaluation_periods=3,
        datapoints_to_alarm=2,
    ),
    AlarmSpec(
        "alb-5xx",
        "5xx responses from the ALB or its target, summed per 5 minutes.",
        "alarm_alb_5xx_count",
        MetricMath(
            (
                ("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "alb"),
                ("target", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "target_group"),
            ),
            "total",
            "FILL(elb, 0) + FILL(target, 0)",
            "ALB 5xx",
        ),
        evaluation_periods=1,
    ),
    AlarmSpec(
        "lambda-errors",
        "The API function's invocation errors per 5 minutes.",
        "alarm_lambda_errors",
        Metric("AWS/Lambda", "Errors", "function", "Sum"),
        evaluation_periods=1,
    ),
    AlarmSpec(
        "lambda-throttles",
        "The API function is throttled (reserved concurrency reached).",
        "alarm_lambda_throttles",
        Metric("AWS/Lambda", "Throttles", "function", "Sum"),
        evaluation_periods=1,
    ),
    AlarmSpec(
        "lambda-p99-duration",
        "The API function's p99 duration (ms), for 3 consecutive 5-minute periods.",
        "alarm_lambda_p99_ms",
        Metric("AWS/Lambda", "Duration", "function", "p99"),
        evaluation_periods=3,
        comparison="GreaterThanThreshold",
    ),
    AlarmSpec(
        "db-connections",
        "Connections to the Aurora cluster approach its limit.",
        "alarm_db_connections",
        Metric("AWS/RDS", "DatabaseConnections", "cluster", "Maximum"),
        evaluation_periods=2,
    ),
    AlarmSpec(
        "db-acu-at-max",
        "Aurora Serverless v2 runs at its maximum capacity (ACU) for 15 minutes.",
        "aurora_max_acu",
        Metric("AWS/RDS", "ServerlessDatabaseCapacity", "cluster", "Maximum"),
        evaluation_periods=3,
    ),
    AlarmSpec(
        "api-5xx-rate",
        "Percentage of API Gateway requests answered 5xx, per 5 minutes.",
        "alarm_api_5xx_percent",
        MetricMath(
            (("errors", "AWS/ApiGateway", "5XXError", "api"), ("requests", "AWS/ApiGateway", "Count", "api")),
            "rate",
            "IF(requests > 0, 100 * errors / requests, 0)",
            "API 5xx rate (%)",
        ),
        evaluation_periods=2,
        comparison="GreaterThanThreshold",
    ),
    AlarmSpec(
        "notifications-dlq-depth",
        "Customer e-mails (or their events) failed MAX_RECEIVE_COUNT times and wait in the dead-letter queue.",
        1,
        Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "dlq", "Maximum"),
        evaluation_periods=1,
    ),
)


def table_alarm(logical: str) -> AlarmSpec:
    """Throttled reads and writes on one table (one alarm per table)."""
    table = f"table:{logical}"
    return AlarmSpec(
        f"dynamo-throttles-{logical}",
        f"Throttled reads and writes on the {logical} table, per 5 minutes.",
        "alarm_dynamo_throttles",
        MetricMath(
            (
                ("reads", "AWS/DynamoDB", "ReadThrottleEvents", table),
                ("writes", "AWS/DynamoDB", "WriteThrottleEvents", table),
            ),
            "throttles",
            "FILL(reads, 0) + FILL(writes, 0)",
            f"{logical} throttle events",
        ),
        evaluation_periods=1,
        kind="dynamo-throttles",
    )


def alarm_metric_inputs(source: Metric | MetricMath, dimensions: Mapping[str, Dimensions]) -> dict[str, Any]:
    """The MetricAlarm inputs that name what an alarm watches."""
    if isinstance(source, Metric):
        statistic = (
            {"extended_statistic": source.statistic}
            if source.statistic.startswith("p")
            else {"statistic": source.statistic}
        )
        return {
            "namespace": source.namespace,
            "metric_name": source.name,
            "dimensions": dimensions[source.dimensions],
            "period": source.period,
            **statistic,
        }
    queries = [_sum_query(qid, ns, metric, dimensions[dims]) for qid, ns, metric, dims in source.inputs]
    return {"metric_queries": [*queries, _expression(source.result_id, source.expression, source.label)]}


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
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        self._topic()
        self._alarms()
        self._dashboard()

        self.register_outputs(
            {
                "topicArn": self.topic.arn,
                "dashboardName": self.dashboard.dashboard_name,
                "dashboardUrl": self.dashboard_url,
                "alarmNames": [a.name for _, a in sorted(self.alarms.items())],
            }
        )

    # ------------------------------------------------------------ SNS topic
    def _topic(self) -> None:
        settings, child = self._args.settings, self._child
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.topic = aws.sns.Topic(
            "alarms", name=settings.name("alarms"), kms_master_key_id=self._args.key_arn, opts=child
        )
        alarms_in_this_account = pulumi.Output.format(
            "arn:{0}:cloudwatch:{1}:{2}:alarm:*", partition.partition, settings.region, identity.account_id
        )
        self.topic_policy = aws.sns.TopicPolicy(
            "alarms",
            arn=self.topic.arn,
            policy=policy_document(
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": identity.account_id},
                        "ArnLike": {"aws:SourceArn": alarms_in_this_account},
                    },
                },
                {
                    "Sid": "AccountManages",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": pulumi.Output.format("arn:{0}:iam::{1}:root", partition.partition, identity.account_id)
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
            ),
            opts=child,
        )
        self.subscription = None
        if settings.alarm_email:
            self.subscription = aws.sns.TopicSubscription(
                "alarm-email", topic=self.topic.arn, protocol="email", endpoint=settings.alarm_email, opts=child
            )

    # ------------------------------------------------------------ dimensions
    def _dimension_sets(self) -> dict[str, Dimensions]:
        args = self._args
        lb, tg = args.load_balancer_arn_suffix, args.target_group_arn_suffix
        sets: dict[str, Dimensions] = {
            "function": {"FunctionName": args.function_name},
            "alb": {"LoadBalancer": lb},
            "target_group": {"LoadBalancer": lb, "TargetGroup": tg},
            "api": {"ApiName": args.api_name, "Stage": args.stage_name},
            "cluster": {"DBClusterIdentifier": args.cluster_identifier},
            "dlq": {"QueueName": args.dlq_name},
        }
        for logical, table_name in args.table_names.items():
            sets[f"table:{logical}"] = {"TableName": table_name}
        return sets

    # ------------------------------------------------------------ alarms
    def _alarms(self) -> None:
        """One alarm per spec (ALARMS, then one per table), all notifying the topic."""
        profile, actions = self._args.settings.profile, [self.topic.arn]
        dimensions = self._dimension_sets()
        specs = [*ALARMS, *(table_alarm(logical) for logical in sorted(self._args.table_names))]
        self.alarms = {}
        for spec in specs:
            threshold = getattr(profile, spec.threshold) if isinstance(spec.threshold, str) else spec.threshold
            self.alarms[spec.logical] = aws.cloudwatch.MetricAlarm(
                spec.logical,
                name=self._args.settings.name(spec.logical),
                alarm_description=spec.description,
                threshold=threshold,
                treat_missing_data=MISSING_DATA[spec.kind or spec.logical],
                alarm_actions=actions,
                ok_actions=actions,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.datapoints_to_alarm,
                comparison_operator=spec.comparison,
                opts=self._child,
                **alarm_metric_inputs(spec.source, dimensions),
            )

    # ------------------------------------------------------------ dashboard
    def _dashboard(self) -> None:
        args, profile, region = self._args, self._args.settings.profile, self._args.settings.region
        lb, tg = args.load_balancer_arn_suffix, args.target_group_arn_suffix
        pairs: dict[str, Sequence[tuple[str, Any]]] = {
            "function": [("FunctionName", args.function_name)],
            "alb": [("LoadBalancer", lb)],
            "target_group": [("TargetGroup", tg), ("LoadBalancer", lb)],
            "api": [("ApiName", args.api_name), ("Stage", args.stage_name)],
            "cluster": [("DBClusterIdentifier", args.cluster_identifier)],
        }
        if args.proxy_name is not None:
            pairs["proxy"] = [("ProxyName", args.proxy_name)]
        widgets = dashboard_widgets(region, profile, pairs, sorted(args.table_names.items()))
        widgets.append(
            {
                "type": "alarm",
                "properties": {"title": "Alarms", "alarms": [a.arn for _, a in sorted(self.alarms.items())]},
            }
        )
        for index, widget in enumerate(widgets):
            widget.update(
                x=(index % WIDGETS_PER_ROW) * WIDGET_WIDTH,
                y=(index // WIDGETS_PER_ROW) * WIDGET_HEIGHT,
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            )
        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=args.settings.name("dashboard"),
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=self._child,
        )
        self.dashboard_url = dashboard_url(region, self.dashboard.dashboard_name)


# --------------------------------------------------------------------------- dashboard

Pairs = Mapping[str, Sequence[tuple[str, Any]]]


def _graph(region: str, title: str, metrics: list[list[Any]], **properties: Any) -> dict[str, Any]:
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


def _max_line(label: str, value: float) -> dict[str, Any]:
    return {"horizontal": [{"label": label, "value": value}]}


def _function_and_alb_widgets(region: str, profile: Profile, p: Pairs) -> list[dict[str, Any]]:
    lambda_ns, alb_ns = "AWS/Lambda", "AWS/ApplicationELB"
    fn, alb, tg = p["function"], p["alb"], p["target_group"]
    return [
        _graph(
            region,
            "API function: invocations, errors, throttles",
            [_metric(lambda_ns, name, fn, stat="Sum") for name in ("Invocations", "Errors", "Throttles")],
        ),
        _graph(
            region,
            "API function: duration (ms)",
            [
                _metric(lambda_ns, "Duration", fn, stat="Average", label="average"),
                _metric(lambda_ns, "Duration", fn, stat="p99", label="p99"),
            ],
            annotations=_max_line("p99 alarm", profile.alarm_lambda_p99_ms),
        ),
        _graph(
            region,
            "API function: concurrent executions",
            [_metric(lambda_ns, "ConcurrentExecutions", fn, stat="Maximum")],
            annotations=_max_line(
                "reserved concurrency" if profile.lambda_reserved_concurrency else "unreserved minimum",
                profile.throttle_concurrency,
            ),
        ),
        _graph(
            region,
            "ALB: requests and 5xx",
            [
                _metric(alb_ns, "RequestCount", alb, stat="Sum"),
                _metric(alb_ns, "HTTPCode_ELB_5XX_Count", alb, stat="Sum", label="ELB 5xx"),
                _metric(alb_ns, "HTTPCode_Target_5XX_Count", tg, stat="Sum", label="target 5xx"),
            ],
        ),
        _graph(
            region,
            "ALB: target response time (s)",
            [
                _metric(alb_ns, "TargetResponseTime", tg, stat="Average", label="average"),
                _metric(alb_ns, "TargetResponseTime", tg, stat="p99", label="p99"),
            ],
        ),
        _graph(
            region,
            "ALB: healthy and unhealthy targets",
            [
                _metric(alb_ns, "UnHealthyHostCount", tg, stat="Maximum"),
                _metric(alb_ns, "HealthyHostCount", tg, stat="Minimum"),
            ],
        ),
    ]


def _api_and_database_widgets(region: str, profile: Profile, p: Pairs) -> list[dict[str, Any]]:
    api_ns, rds_ns = "AWS/ApiGateway", "AWS/RDS"
    api, cluster, proxy = p["api"], p["cluster"], p.get("proxy")
    rate = {"expression": "IF(requests > 0, 100 * errors / requests, 0)", "label": "5xx rate (%)", "id": "rate"}
    return [
        _graph(
            region,
            "API Gateway: requests, 4xx, 5xx",
            [
                _metric(api_ns, "Count", api, stat="Sum", id="requests"),
                _metric(api_ns, "4XXError", api, stat="Sum"),
                _metric(api_ns, "5XXError", api, stat="Sum", id="errors"),
                [rate],
            ],
        ),
        _graph(
            region,
            "API Gateway: latency (ms)",
            [
                _metric(api_ns, "Latency", api, stat="p99", label="p99"),
                _metric(api_ns, "IntegrationLatency", api, stat="p99", label="integration p99"),
            ],
        ),
        _graph(
            region,
            "Aurora: capacity (ACU)",
            [_metric(rds_ns, "ServerlessDatabaseCapacity", cluster, stat="Maximum")],
            annotations=_max_line("max ACU", profile.aurora_max_acu),
        ),
        _graph(
            region,
            "Aurora: connections",
            [_metric(rds_ns, "DatabaseConnections", cluster, stat="Maximum")],
            annotations=_max_line("alarm", profile.alarm_db_connections),
        ),
        _graph(region, "Aurora: CPU (%)", [_metric(rds_ns, "CPUUtilization", cluster, stat="Maximum")]),
    ] + (
        [
            _graph(
                region,
                "RDS Proxy: connections",
                [
                    _metric(rds_ns, "ClientConnections", proxy, stat="Maximum", label="client"),
                    _metric(rds_ns, "DatabaseConnections", proxy, stat="Maximum", label="database"),
                ],
            )
        ]
        if proxy is not None
        else []
    )


def _table_and_business_widgets(region: str, tables: Sequence[tuple[str, pulumi.Input[str]]]) -> list[dict[str, Any]]:
    ddb_ns, business = "AWS/DynamoDB", [("service", SERVICE_NAME)]

    def per_table(pattern: str) -> list[list[Any]]:
        return [
            _metric(ddb_ns, pattern.format(kind), [("TableName", name)], stat="Sum")
            for _, name in tables
            for kind in ("Read", "Write")
        ]

    return [
        _graph(region, "DynamoDB: consumed capacity", per_table("Consumed{0}CapacityUnits")),
        _graph(region, "DynamoDB: throttle events", per_table("{0}ThrottleEvents")),
        _graph(
            region,
            "Business: orders placed",
            [_metric(METRICS_NAMESPACE, "OrdersPlaced", business, stat="Sum")],
            period=BUSINESS_PERIOD,
        ),
        _graph(
            region,
            "Business: revenue (cents)",
            [_metric(METRICS_NAMESPACE, "Revenue", business, stat="Sum")],
            period=BUSINESS_PERIOD,
        ),
    ]


def dashboard_widgets(
    region: str, profile: Profile, pairs: Pairs, tables: Sequence[tuple[str, pulumi.Input[str]]]
) -> list[dict[str, Any]]:
    """The dashboard's graphs, in reading order (the alarm list follows them)."""
    return [
        *_function_and_alb_widgets(region, profile, pairs),
        *_api_and_database_widgets(region, profile, pairs),
        *_table_and_business_widgets(region, tables),
    ]
