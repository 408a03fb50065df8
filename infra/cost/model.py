"""What a stack costs at rest, computed from the program's resource graph.

The graph is what ``pulumi up`` would create: every custom resource with its type token and inputs
(``tests.infra.harness.run_program`` produces it under the infra tests' mocks). Each resource type is
either *priced* (a function that turns the resource into bill lines) or *free at rest* (a table with
the reason). A type in neither is an error, so a new resource that costs money cannot become a silent
zero.

Consistency rule for the report: a priced type always shows its lines, including $0 lines for things
billed only by usage or by bytes stored (with the reason and the unit price, so the reader sees what
usage would cost); a free-at-rest type is left out of the table and counted in one summary line.
No free tiers are applied: they belong to an account, not to a stack.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra.cost import measured as measured_mod
from infra.cost.prices import CostModelError, PriceBook


class GraphResource(Protocol):
    """What the model reads of a resource (tests.infra.harness.Resource has these)."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool


@dataclass(frozen=True)
class Line:
    item: str
    type: str
    quantity: float
    unit: str
    unit_price: float
    note: str = ""
    # Grouping for the summary table in ARCHITECTURE.md.
    group: str = "other"

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class Estimate:
    stack: str
    region: str
    lines: list[Line]
    free: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def by_group(self) -> dict[str, float]:
        groups: dict[str, float] = {}
        for line in self.lines:
            groups[line.group] = groups.get(line.group, 0.0) + line.monthly
        return groups


# Types AWS does not bill for at rest (nor for existing at all), with the reason.
FREE_AT_REST: dict[str, str] = {
    "pulumi:providers:aws": "a Pulumi provider, not an AWS resource",
    "docker-build:index:Image": "an image build at deploy time; its storage is priced on the ECR repository",
    "aws:apigateway/account:Account": "account-level setting (the CloudWatch role)",
    "aws:ssm/parameter:Parameter": "standard-tier parameters cost nothing; reads are API calls (usage)",
    "aws:scheduler/schedule:Schedule": "EventBridge Scheduler: 14 M invocations/month free; the expiry job"
    " uses 8,640 (every 5 min), the relay 43,800 (every minute); their functions are priced per invocation",
    "aws:apigateway/apiKey:ApiKey": "no charge for keys",
    "aws:apigateway/deployment:Deployment": "configuration; requests are priced on the REST API",
    "aws:apigateway/integration:Integration": "configuration of the REST API",
    "aws:apigateway/integrationResponse:IntegrationResponse": "configuration of the REST API",
    "aws:apigateway/method:Method": "configuration of the REST API",
    "aws:apigateway/methodResponse:MethodResponse": "configuration of the REST API",
    "aws:apigateway/methodSettings:MethodSettings": "configuration of the stage",
    "aws:apigateway/model:Model": "configuration of the REST API",
    "aws:apigateway/requestValidator:RequestValidator": "configuration of the REST API",
    "aws:apigateway/resource:Resource": "configuration of the REST API",
    "aws:apigateway/response:Response": "configuration of the REST API",
    "aws:apigateway/authorizer:Authorizer": "no charge for a Cognito authorizer; requests are priced on the REST API",
    "aws:apigateway/usagePlan:UsagePlan": "no charge for usage plans",
    "aws:apigateway/usagePlanKey:UsagePlanKey": "no charge for usage plans",
    "aws:appautoscaling/policy:Policy": "no charge; the capacity it sets is priced on the table",
    "aws:appautoscaling/target:Target": "no charge; its minimum is what the table is priced at",
    "aws:backup/selection:Selection": "configuration of the backup plan",
    "aws:backup/vault:Vault": "a vault has no charge; recovery points are priced on the plan",
    "random:index/randomId:RandomId": "a value in the state (the final snapshot name suffix)",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "configuration of the distribution",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "configuration of the distribution",
    "aws:cloudfront/cachePolicy:CachePolicy": "configuration of the distribution",
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": "configuration of the distribution",
    "aws:cloudfront/function:Function": "billed per invocation only",
    "aws:cloudfront/vpcOrigin:VpcOrigin": "no additional charge (the internal ALB is priced on its own)",
    "aws:cognito/userPool:UserPool": (
        "no charge at rest: the Lite plan bills monthly active users only, and the first 10,000 MAUs are free"
    ),
    "aws:cognito/userPoolClient:UserPoolClient": "configuration of the user pool",
    "aws:cognito/userGroup:UserGroup": "configuration of the user pool",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups have no charge",
    "aws:ec2/securityGroup:SecurityGroup": "security groups have no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security groups have no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security groups have no charge",
    "aws:ec2/internetGateway:InternetGateway": "no charge for an internet gateway (data transfer out is usage)",
    "aws:ec2/route:Route": "routing has no charge",
    "aws:ec2/routeTable:RouteTable": "routing has no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "routing has no charge",
    "aws:ec2/subnet:Subnet": "subnets have no charge",
    "aws:ec2/vpc:Vpc": "a VPC has no charge",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "configuration of the repository",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "configuration of the repository",
    "aws:iam/policy:Policy": "IAM has no charge",
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM has no charge",
    "aws:kms/alias:Alias": "aliases have no charge; the key is priced",
    "aws:lambda/invocation:Invocation": "runs once per deploy (migrations), not at rest",
    "aws:lambda/permission:Permission": "configuration of the function",
    "aws:lb/listener:Listener": "configuration of the load balancer",
    "aws:lb/listenerRule:ListenerRule": "configuration (the first 10 rules a request evaluates are free of LCU)",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": "configuration of the target group",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "configuration of the proxy",
    "aws:rds/proxyEndpoint:ProxyEndpoint": "billed through the proxy's ACU-hours (no per-endpoint fee listed)",
    "aws:rds/proxyTarget:ProxyTarget": "configuration of the proxy; read to size the proxy's charge",
    "aws:rds/subnetGroup:SubnetGroup": "configuration of the cluster",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "configuration of the bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2": "storage is priced on the bucket",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "configuration of the bucket",
    "aws:s3/bucketPolicy:BucketPolicy": "configuration of the bucket",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "configuration of the bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "configuration of the bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "no charge at rest (SSE-S3, or SSE-KMS with a bucket key)"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "configuration of the bucket (old versions are storage)",
    "aws:sns/topic:Topic": "no charge for a topic; publishes and e-mail deliveries are usage",
    "aws:sns/topicPolicy:TopicPolicy": "configuration of the topic",
    "aws:sns/topicSubscription:TopicSubscription": "no charge for a subscription",
    "aws:wafv2/ipSet:IpSet": "no charge for IP sets; the rules that use them are priced on the web ACL",
    "aws:wafv2/regexPatternSet:RegexPatternSet": "no charge for pattern sets",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "no charge for associating a web ACL",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "log delivery is usage",
    "aws:cloudwatch/eventRule:EventRule": "no charge for rules; events are priced on the bus",
    "aws:cloudwatch/eventTarget:EventTarget": "no charge for targets; deliveries to SQS are priced on the queue",
    "aws:schemas/registry:Registry": "no charge for registries (schema discovery, not used, is billed)",
    "aws:schemas/schema:Schema": "no charge for schemas in a registry",
    "aws:sqs/queuePolicy:QueuePolicy": "configuration of the queue",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "configuration of the queue",
    "aws:xray/samplingRule:SamplingRule": "no charge for rules; the traces they keep are priced on the health checks",
}


@dataclass
class Graph:
    """The resources with the look-ups the pricing functions need."""

    resources: list[GraphResource]

    def of_type(self, token: str) -> list[GraphResource]:
        return [r for r in self.resources if r.type == token]

    def arn_of(self, resource: GraphResource) -> str:
        return str(resource.outputs.get("arn", ""))

    def cluster(self, identifier: str) -> GraphResource:
        for r in self.of_type("aws:rds/cluster:Cluster"):
            if r.inputs.get("clusterIdentifier") == identifier:
                return r
        raise CostModelError(f"no aws:rds/cluster:Cluster with identifier {identifier!r}")

    def instances_of(self, cluster: GraphResource) -> list[GraphResource]:
        ident = cluster.inputs.get("clusterIdentifier")
        instances = self.of_type("aws:rds/clusterInstance:ClusterInstance")
        return [r for r in instances if r.inputs.get("clusterIdentifier") == ident]

    def proxied_clusters(self) -> set[str]:
        return {str(t.inputs.get("dbClusterIdentifier")) for t in self.of_type("aws:rds/proxyTarget:ProxyTarget")}

    def autoscaling_min(self, resource_id: str, dimension: str) -> float | None:
        for t in self.of_type("aws:appautoscaling/target:Target"):
            if t.inputs.get("resourceId") == resource_id and t.inputs.get("scalableDimension") == dimension:
                return float(t.inputs["minCapacity"])
        return None


@dataclass
class Context:
    graph: Graph
    prices: PriceBook
    measured: measured_mod.Measured

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    def line(
        self, item: str, r: GraphResource, quantity: float, unit: str, price_key: str, note: str = "", group: str = ""
    ) -> Line:
        price = self.prices[price_key]
        return Line(item, r.type, quantity, unit, price.usd, note, group or "other")

    def hourly(
        self, item: str, r: GraphResource, price_key: str, count: float = 1, note: str = "", group: str = ""
    ) -> Line:
        return self.line(item, r, count * self.hours, self.prices[price_key].unit + "s", price_key, note, group)


def _label(r: GraphResource) -> str:
    return str(r.inputs.get("name") or r.inputs.get("identifier") or r.inputs.get("clusterIdentifier") or r.name)


# --------------------------------------------------------------------------- database


def idle_acu(ctx: Context, cluster: GraphResource) -> tuple[float, str]:
    """The capacity one Serverless v2 instance of ``cluster`` holds with no traffic, and why."""
    scaling = cluster.inputs.get("serverlessv2ScalingConfiguration") or {}
    minimum = float(scaling.get("minCapacity", 0.5))
    if minimum > 0:
        return minimum, f"minimum capacity {minimum:g} ACU, held around the clock"
    ident = str(cluster.inputs.get("clusterIdentifier"))
    resumed = ctx.prices.rule("aurora_resumed_min_acu")
    if ident in ctx.graph.proxied_clusters():
        return resumed, f"minimum 0 ACU, but the RDS Proxy's connections keep it from pausing ({resumed:g} ACU)"
    if scaling.get("secondsUntilAutoPause") is None:
        return resumed, f"minimum 0 ACU without secondsUntilAutoPause ({resumed:g} ACU)"
    return 0.0, f"minimum 0 ACU: auto-pauses after {scaling['secondsUntilAutoPause']:g} s without connections"


def _iopt(cluster: GraphResource) -> bool:
    return str(cluster.inputs.get("storageType") or "") == "aurora-iopt1"


def price_cluster_instance(ctx: Context, r: GraphResource) -> list[Line]:
    if r.inputs.get("instanceClass") != "db.serverless":
        raise CostModelError(f"{r.name}: instance class {r.inputs.get('instanceClass')!r} has no price in the model")
    retention = float(r.inputs.get("performanceInsightsRetentionPeriod") or 0)
    if r.inputs.get("performanceInsightsEnabled") and retention > ctx.prices.rule("performance_insights_free_days"):
        raise CostModelError(f"{r.name}: Performance Insights retention of {retention:g} days is not priced")
    cluster = ctx.graph.cluster(str(r.inputs.get("clusterIdentifier")))
    acu, why = idle_acu(ctx, cluster)
    key = "aurora_iopt_acu_hour" if _iopt(cluster) else "aurora_acu_hour"
    role = "writer" if float(r.inputs.get("promotionTier") or 0) == 0 else "reader"
    return [ctx.line(f"Aurora Serverless v2 {role} {_label(r)}", r, acu * ctx.hours, "ACU-hours", key, why, "aurora")]


def price_cluster(ctx: Context, r: GraphResource) -> list[Line]:
    key = "aurora_iopt_storage_gb_month" if _iopt(r) else "aurora_storage_gb_month"
    lines = [
        ctx.line(
            f"Aurora storage {_label(r)}",
            r,
            0,
            "GB-months",
            key,
            "billed per GB used, no minimum; an idle shop stores almost nothing",
            "storage",
        )
    ]
    if r.inputs.get("manageMasterUserPassword"):
        lines.append(
            ctx.line(
                f"Secrets Manager: master user secret of {_label(r)}",
                r,
                1,
                "secrets",
                "secretsmanager_secret_month",
                "RDS keeps the master password in Secrets Manager",
                "other",
            )
        )
    return lines


def price_proxy(ctx: Context, r: GraphResource) -> list[Line]:
    name = r.inputs.get("name")
    targets = [t for t in ctx.graph.of_type("aws:rds/proxyTarget:ProxyTarget") if t.inputs.get("dbProxyName") == name]
    capacity = 0.0
    for target in targets:
        cluster = ctx.graph.cluster(str(target.inputs.get("dbClusterIdentifier")))
        acu, _ = idle_acu(ctx, cluster)
        capacity += acu * len(ctx.graph.instances_of(cluster))
    minimum = ctx.prices.rule("rds_proxy_min_acu")
    billed = max(minimum, capacity)
    note = f"targets idle at {capacity:g} ACU; a proxy for Serverless v2 bills at least {minimum:g} ACU"
    return [ctx.line(f"RDS Proxy {name}", r, billed * ctx.hours, "ACU-hours", "rds_proxy_acu_hour", note, "rds proxy")]


# --------------------------------------------------------------------------- network


def price_nat(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.hourly(
            f"NAT gateway {r.name}", r, "nat_gateway_hour", note="per hour, plus its public IPv4 address", group="nat"
        )
    ]


def price_eip(ctx: Context, r: GraphResource) -> list[Line]:
    nat = [
        n
        for n in ctx.graph.of_type("aws:ec2/natGateway:NatGateway")
        if n.inputs.get("allocationId") == r.outputs.get("allocationId")
    ]
    note = "public IPv4 address of a NAT gateway" if nat else "public IPv4 address"
    return [ctx.hourly(f"Elastic IP {r.name}", r, "public_ipv4_hour", note=note, group="nat" if nat else "public ipv4")]


def price_instance(ctx: Context, r: GraphResource) -> list[Line]:
    """An EC2 instance (the NAT instance): its hours, its root volume, its public IPv4 address."""
    kind = str(r.inputs.get("instanceType"))
    key = f"ec2_{kind.replace('.', '_')}_hour"
    if key not in ctx.prices.prices:
        raise CostModelError(f"{r.name}: instance type {kind!r} has no price in the model")
    root = r.inputs.get("rootBlockDevice") or {}
    if str(root.get("volumeType") or "gp3") != "gp3":
        raise CostModelError(f"{r.name}: root volume type {root.get('volumeType')!r} is not priced")
    size = float(root.get("volumeSize") or 8)
    lines = [
        ctx.hourly(f"EC2 {kind} {r.name}", r, key, note="on-demand, per hour", group="nat"),
        ctx.line(f"EBS gp3 root volume of {r.name}", r, size, "GB-months", "ebs_gp3_gb_month", f"{size:g} GB", "nat"),
    ]
    if r.inputs.get("associatePublicIpAddress"):
        lines.append(
            ctx.hourly(
                f"public IPv4 of {r.name}",
                r,
                "public_ipv4_hour",
                note="the instance's public IPv4 address",
                group="nat",
            )
        )
    return lines


def price_vpc_endpoint(ctx: Context, r: GraphResource) -> list[Line]:
    kind = r.inputs.get("vpcEndpointType") or "Gateway"
    service = str(r.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    if kind == "Gateway":
        return [
            ctx.line(
                f"gateway endpoint {service}",
                r,
                0,
                "hours",
                "vpc_interface_endpoint_az_hour",
                "gateway endpoints (S3, DynamoDB) have no hourly or data charge",
                "endpoints",
            )
        ]
    if kind != "Interface":
        raise CostModelError(f"{r.name}: VPC endpoint type {kind!r} has no price in the model")
    azs = len(r.inputs.get("subnetIds") or [])
    return [
        ctx.hourly(
            f"interface endpoint {service} ({azs} AZ)",
            r,
            "vpc_interface_endpoint_az_hour",
            azs,
            "per AZ-hour, plus $0.01 per GB processed",
            "endpoints",
        )
    ]


def price_load_balancer(ctx: Context, r: GraphResource) -> list[Line]:
    if (r.inputs.get("loadBalancerType") or "application") != "application":
        raise CostModelError(f"{r.name}: load balancer type {r.inputs.get('loadBalancerType')!r} is not priced")
    label = _label(r)
    lines = [
        ctx.hourly(f"ALB {label}", r, "alb_hour", note="per hour", group="load balancer"),
        ctx.line(
            f"ALB {label} capacity",
            r,
            0,
            "LCU-hours",
            "alb_lcu_hour",
            "no traffic, no LCU (health checks do not consume LCUs)",
            "load balancer",
        ),
    ]
    if not r.inputs.get("internal"):
        azs = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or [])
        lines.append(
            ctx.hourly(
                f"ALB {label} public IPv4 ({azs} AZ)",
                r,
                "public_ipv4_hour",
                azs,
                "an internet-facing ALB holds one public IPv4 address per AZ",
                "load balancer",
            )
        )
    return lines


# --------------------------------------------------------------------------- health checks and tracing


def _alb_nodes(ctx: Context, target_group: GraphResource) -> int:
    """AZs (ALB nodes, each health-checking on its own) of the load balancers forwarding to the group."""
    arn = ctx.graph.arn_of(target_group)

    def forwards(actions: Any) -> bool:
        return any(isinstance(a, dict) and a.get("targetGroupArn") == arn for a in actions or [])

    listeners = {ctx.graph.arn_of(listener): listener for listener in ctx.graph.of_type("aws:lb/listener:Listener")}
    lb_arns = {
        str(li.inputs.get("loadBalancerArn")) for li in listeners.values() if forwards(li.inputs.get("defaultActions"))
    }
    for rule in ctx.graph.of_type("aws:lb/listenerRule:ListenerRule"):
        listener = listeners.get(str(rule.inputs.get("listenerArn")))
        if listener is not None and forwards(rule.inputs.get("actions")):
            lb_arns.add(str(listener.inputs.get("loadBalancerArn")))
    return sum(
        len(lb.inputs.get("subnets") or lb.inputs.get("subnetMappings") or [])
        for lb in ctx.graph.of_type("aws:lb/loadBalancer:LoadBalancer")
        if ctx.graph.arn_of(lb) in lb_arns
    )


def traced_per_second(ctx: Context, rate: float, path: str) -> tuple[float, str]:
    """Traces X-Ray records per second for ``rate`` requests a second to ``path``."""
    rules = [
        s
        for s in ctx.graph.of_type("aws:xray/samplingRule:SamplingRule")
        if fnmatch.fnmatchcase(path, str(s.inputs.get("urlPath", "*")))
        and str(s.inputs.get("httpMethod", "*")) in ("*", "GET")
    ]
    if rules:
        rule = min(rules, key=lambda s: float(s.inputs.get("priority", 10000)))
        reservoir = float(rule.inputs.get("reservoirSize", 0))
        fixed = float(rule.inputs.get("fixedRate", 0))
        why = f"sampling rule {rule.inputs.get('ruleName', rule.name)}: {reservoir:g}/s + {fixed:.0%}"
    else:
        reservoir = ctx.prices.rule("xray_default_reservoir_per_second")
        fixed = ctx.prices.rule("xray_default_fixed_rate")
        why = f"default sampling rule: first {reservoir:g}/s + {fixed:.0%} of the rest"
    return min(rate, reservoir) + fixed * max(rate - reservoir, 0.0), why


def _function_by_arn(ctx: Context, arn: str) -> GraphResource:
    for fn in ctx.graph.of_type("aws:lambda/function:Function"):
        if ctx.graph.arn_of(fn) == arn:
            return fn
    raise CostModelError(f"no aws:lambda/function:Function with ARN {arn}")


def lambda_gb_seconds_price(fn: GraphResource) -> str:
    arch = (fn.inputs.get("architectures") or ["x86_64"])[0]
    return f"lambda_{arch}_gb_second"


def price_target_group(ctx: Context, r: GraphResource) -> list[Line]:
    check = r.inputs.get("healthCheck") or {}
    if r.inputs.get("targetType") != "lambda" or not check.get("enabled"):
        return []
    nodes = _alb_nodes(ctx, r)
    interval = float(check.get("interval", 35))
    rate = nodes / interval
    per_month = rate * ctx.hours * 3600
    lines: list[Line] = []
    attachments = [
        a
        for a in ctx.graph.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
        if a.inputs.get("targetGroupArn") == ctx.graph.arn_of(r)
    ]
    why = f"{nodes} ALB nodes x one check every {interval:g} s ({per_month / 1e6:.2f} M a month)"
    for attachment in attachments:
        fn = _function_by_arn(ctx, str(attachment.inputs.get("targetId")))
        label = _label(fn)
        memory_gb = float(fn.inputs.get("memorySize", 128)) / 1024
        step = ctx.prices.rule("lambda_billing_granularity_ms")
        billed_ms = max(step, math.ceil(ctx.measured.health.median_ms / step) * step)
        lines.append(
            ctx.line(
                f"health checks: {label} invocations",
                r,
                per_month / 1e6,
                "million requests",
                "lambda_request_million",
                why,
                "health checks",
            )
        )
        lines.append(
            ctx.line(
                f"health checks: {label} duration",
                r,
                per_month * billed_ms / 1000 * memory_gb,
                "GB-seconds",
                lambda_gb_seconds_price(fn),
                f"{billed_ms:g} ms billed (measured {ctx.measured.health.median_ms:g} ms) at {memory_gb:g} GB",
                "health checks",
            )
        )
        if (fn.inputs.get("tracingConfig") or {}).get("mode") == "Active":
            traced, sampling = traced_per_second(ctx, rate, str(check.get("path", "/")))
            lines.append(
                ctx.line(
                    f"health checks: X-Ray traces of {label}",
                    r,
                    traced * ctx.hours * 3600 / 1e6,
                    "million traces",
                    "xray_trace_recorded_million",
                    sampling,
                    "health checks",
                )
            )
    return lines


# --------------------------------------------------------------------------- data


def price_table(ctx: Context, r: GraphResource) -> list[Line]:
    name = str(r.inputs.get("name"))
    if (r.inputs.get("tableClass") or "STANDARD") != "STANDARD":
        raise CostModelError(f"{name}: table class {r.inputs.get('tableClass')!r} is not priced")
    storage = ctx.line(
        f"DynamoDB {name} storage",
        r,
        0,
        "GB-months",
        "dynamodb_storage_gb_month",
        "billed per GB stored (and per GB for point-in-time recovery); ~0 at rest",
        "dynamodb",
    )
    if r.inputs.get("billingMode") == "PAY_PER_REQUEST":
        return [
            ctx.line(
                f"DynamoDB {name} (on-demand)",
                r,
                0,
                "million write request units",
                "dynamodb_write_request_million",
                "on-demand: billed per request, nothing at rest",
                "dynamodb",
            ),
            storage,
        ]
    lines: list[Line] = []
    capacities = [(f"table/{name}", r.inputs, name)] + [
        (f"table/{name}/index/{g['name']}", g, f"{name} index {g['name']}")
        for g in r.inputs.get("globalSecondaryIndexes") or []
    ]
    for resource_id, spec, label in capacities:
        for kind, field_name, dimension_kind, key in (
            ("write", "writeCapacity", "WriteCapacityUnits", "dynamodb_wcu_hour"),
            ("read", "readCapacity", "ReadCapacityUnits", "dynamodb_rcu_hour"),
        ):
            dimension = f"dynamodb:{'index' if '/index/' in resource_id else 'table'}:{dimension_kind}"
            scaled = ctx.graph.autoscaling_min(resource_id, dimension)
            units = scaled if scaled is not None else float(spec.get(field_name) or 0)
            why = f"autoscaling minimum {units:g}" if scaled is not None else f"fixed {units:g}"
            lines.append(
                ctx.line(
                    f"DynamoDB {label} {kind} capacity",
                    r,
                    units * ctx.hours,
                    f"{'WCU' if kind == 'write' else 'RCU'}-hours",
                    key,
                    why,
                    "dynamodb",
                )
            )
    return [*lines, storage]


def price_backup_plan(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"AWS Backup plan {_label(r)}",
            r,
            0,
            "GB-months",
            "backup_aurora_gb_month",
            "billed per GB of recovery points ($0.10/GB-month for DynamoDB); ~0 for idle data",
            "other",
        )
    ]


def price_bucket(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"S3 {r.inputs.get('bucket') or r.name}",
            r,
            0,
            "GB-months",
            "s3_standard_gb_month",
            "billed per GB stored and per request; the static site and logs are megabytes",
            "storage",
        )
    ]


def price_repository(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"ECR {_label(r)}",
            r,
            0,
            "GB-months",
            "ecr_storage_gb_month",
            "billed per GB of images kept (the lifecycle policy caps the count); not measured here",
            "storage",
        )
    ]


def price_log_group(ctx: Context, r: GraphResource) -> list[Line]:
    days = r.inputs.get("retentionInDays")
    retention = f"{float(days):g} days" if days else "unlimited"
    return [
        ctx.line(
            f"log group {_label(r)}",
            r,
            0,
            "GB ingested",
            "cloudwatch_logs_ingest_gb",
            f"billed per GB ingested and stored (retention {retention})",
            "storage",
        )
    ]


def price_flow_log(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"VPC flow log {r.name}",
            r,
            0,
            "GB ingested",
            "cloudwatch_logs_ingest_gb",
            "billed per GB of records; at rest only stray traffic to public ENIs",
            "storage",
        )
    ]


# --------------------------------------------------------------------------- everything else


def price_key(ctx: Context, r: GraphResource) -> list[Line]:
    note = "per key; each of the first two yearly rotations adds $1" if r.inputs.get("enableKeyRotation") else "per key"
    return [ctx.line(f"KMS key {r.name}", r, 1, "keys", "kms_key_month", note, "other")]


def price_alarm(ctx: Context, r: GraphResource) -> list[Line]:
    queries = r.inputs.get("metricQueries") or []
    metrics = [q["metric"] for q in queries if q.get("metric")] if queries else [r.inputs]
    if any("ANOMALY_DETECTION_BAND" in str(q.get("expression", "")) for q in queries):
        raise CostModelError(f"{r.name}: anomaly-detection alarms are not priced")
    high = any(float(m.get("period", 60)) < 60 for m in metrics)
    key = "cloudwatch_high_resolution_alarm_metric_month" if high else "cloudwatch_alarm_metric_month"
    return [ctx.line(f"alarm {_label(r)}", r, len(metrics), "alarm metrics", key, "per metric evaluated", "monitoring")]


def price_dashboard(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"dashboard {r.inputs.get('dashboardName', r.name)}",
            r,
            1,
            "dashboards",
            "cloudwatch_dashboard_month",
            "",
            "monitoring",
        )
    ]


def price_secret(ctx: Context, r: GraphResource) -> list[Line]:
    return [ctx.line(f"secret {_label(r)}", r, 1, "secrets", "secretsmanager_secret_month", "", "other")]


PAID_MANAGED_RULE_GROUPS = {
    "AWSManagedRulesBotControlRuleSet",
    "AWSManagedRulesATPRuleSet",
    "AWSManagedRulesACFPRuleSet",
}


def price_web_acl(ctx: Context, r: GraphResource) -> list[Line]:
    rules = r.inputs.get("rules") or []
    for rule in rules:
        managed = ((rule.get("statement") or {}).get("managedRuleGroupStatement") or {}).get("name")
        if managed in PAID_MANAGED_RULE_GROUPS:
            raise CostModelError(f"{r.name}: managed rule group {managed} has a subscription fee the model lacks")
    label = _label(r)
    return [
        ctx.line(f"WAF web ACL {label}", r, 1, "web ACLs", "waf_web_acl_month", "", "other"),
        ctx.line(
            f"WAF rules of {label}",
            r,
            len(rules),
            "rules",
            "waf_rule_month",
            "per rule or rule group; requests are $0.60 per million",
            "other",
        ),
    ]


def price_rule_group(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"WAF rule group {_label(r)}",
            r,
            0,
            "rules",
            "waf_rule_month",
            "billed as one rule of each web ACL that uses it",
            "other",
        )
    ]


def price_stage(ctx: Context, r: GraphResource) -> list[Line]:
    if not r.inputs.get("cacheClusterEnabled"):
        return []
    if str(r.inputs.get("cacheClusterSize", "0.5")) != "0.5":
        raise CostModelError(f"{r.name}: stage cache size {r.inputs.get('cacheClusterSize')} is not priced")
    return [ctx.hourly(f"API Gateway cache {r.name}", r, "apigateway_cache_0_5_gb_hour", note="0.5 GB", group="other")]


def price_rest_api(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"API Gateway REST {_label(r)}",
            r,
            0,
            "million requests",
            "apigateway_rest_request_million",
            "billed per request only",
            "other",
        )
    ]


def price_function(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"Lambda {_label(r)}",
            r,
            0,
            "million requests",
            "lambda_request_million",
            "billed per invocation and GB-second only (health checks are priced on the target group)",
            "other",
        )
    ]


def price_distribution(ctx: Context, r: GraphResource) -> list[Line]:
    return [
        ctx.line(
            f"CloudFront {r.inputs.get('comment') or r.name}",
            r,
            0,
            "10,000 HTTPS requests",
            "cloudfront_https_request_10k",
            "no monthly fee: billed per request and GB out",
            "other",
        )
    ]


def _usage_line(ctx: Context, r: GraphResource, item: str, unit: str, key: str, note: str) -> list[Line]:
    return [ctx.line(item, r, 0, unit, key, note, "events")]


def price_event_bus(ctx: Context, r: GraphResource) -> list[Line]:
    return _usage_line(
        ctx,
        r,
        f"event bus {_label(r)}",
        "million events",
        "eventbridge_custom_event_million",
        "per event published (usage)",
    )


def price_event_archive(ctx: Context, r: GraphResource) -> list[Line]:
    return _usage_line(
        ctx,
        r,
        f"event archive {_label(r)}",
        "GB archived",
        "eventbridge_archive_gb",
        "per GB of events archived, plus storage (usage)",
    )


def price_queue(ctx: Context, r: GraphResource) -> list[Line]:
    return _usage_line(
        ctx,
        r,
        f"SQS queue {_label(r)}",
        "million requests",
        "sqs_request_million",
        "per request; its consumer's polling is priced on the event source mapping",
    )


def price_email_identity(ctx: Context, r: GraphResource) -> list[Line]:
    return _usage_line(
        ctx, r, f"SES identity {_label(r)}", "thousand e-mails", "ses_email_thousand", "per e-mail sent (usage)"
    )


def price_event_source_mapping(ctx: Context, r: GraphResource) -> list[Line]:
    """Lambda polls an SQS queue even when it is empty: the idle pollers' ReceiveMessage requests."""
    pollers = ctx.prices.rule("sqs_event_source_idle_pollers")
    per_minute = pollers * 60 / ctx.prices.rule("sqs_long_poll_seconds")
    millions = per_minute * 60 * ctx.hours / 1e6
    note = f"{pollers:g} idle long polls of an empty queue, {per_minute:g} ReceiveMessage a minute"
    return [
        ctx.line(f"SQS polling of {_label(r)}", r, millions, "million requests", "sqs_request_million", note, "events")
    ]


Pricer = Callable[[Context, GraphResource], list[Line]]

PRICED: dict[str, Pricer] = {
    "aws:rds/cluster:Cluster": price_cluster,
    "aws:rds/clusterInstance:ClusterInstance": price_cluster_instance,
    "aws:rds/proxy:Proxy": price_proxy,
    "aws:ec2/natGateway:NatGateway": price_nat,
    "aws:ec2/eip:Eip": price_eip,
    "aws:ec2/instance:Instance": price_instance,
    "aws:ec2/vpcEndpoint:VpcEndpoint": price_vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": price_load_balancer,
    "aws:lb/targetGroup:TargetGroup": price_target_group,
    "aws:dynamodb/table:Table": price_table,
    "aws:kms/key:Key": price_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": price_alarm,
    "aws:cloudwatch/dashboard:Dashboard": price_dashboard,
    "aws:cloudwatch/logGroup:LogGroup": price_log_group,
    "aws:ec2/flowLog:FlowLog": price_flow_log,
    "aws:secretsmanager/secret:Secret": price_secret,
    "aws:wafv2/webAcl:WebAcl": price_web_acl,
    "aws:wafv2/ruleGroup:RuleGroup": price_rule_group,
    "aws:backup/plan:Plan": price_backup_plan,
    "aws:s3/bucket:Bucket": price_bucket,
    "aws:s3/bucketV2:BucketV2": price_bucket,
    "aws:ecr/repository:Repository": price_repository,
    "aws:apigateway/restApi:RestApi": price_rest_api,
    "aws:apigateway/stage:Stage": price_stage,
    "aws:lambda/function:Function": price_function,
    "aws:cloudfront/distribution:Distribution": price_distribution,
    "aws:cloudwatch/eventBus:EventBus": price_event_bus,
    "aws:cloudwatch/eventArchive:EventArchive": price_event_archive,
    "aws:sqs/queue:Queue": price_queue,
    "aws:sesv2/emailIdentity:EmailIdentity": price_email_identity,
    "aws:lambda/eventSourceMapping:EventSourceMapping": price_event_source_mapping,
}


class UnpricedTypesError(CostModelError):
    """The graph has resource types the model neither prices nor knows to be free."""

    def __init__(self, types: list[str]) -> None:
        self.types = types
        super().__init__(
            "no price and no free-at-rest entry for: "
            + ", ".join(types)
            + " (add each to PRICED or FREE_AT_REST in infra/cost/model.py)"
        )


def unpriced_types(resources: Iterable[GraphResource]) -> list[str]:
    return sorted({r.type for r in resources if r.custom and r.type not in PRICED and r.type not in FREE_AT_REST})


def idle_cost(
    resources: Iterable[GraphResource], prices: PriceBook, measured: measured_mod.Measured, stack: str = ""
) -> Estimate:
    """The monthly bill of ``resources`` with no traffic, line by line."""
    custom = [r for r in resources if r.custom]
    unknown = unpriced_types(custom)
    if unknown:
        raise UnpricedTypesError(unknown)
    ctx = Context(Graph(custom), prices, measured)
    lines: list[Line] = []
    free: dict[str, int] = {}
    for r in custom:
        pricer = PRICED.get(r.type)
        if pricer is None:
            free[r.type] = free.get(r.type, 0) + 1
        else:
            lines.extend(pricer(ctx, r))
    return Estimate(stack, prices.region, lines, free)
