"""The VPC: three AZs, public / private / database subnets, NAT, gateway endpoints,
security groups and flow logs.

Subnet layout (computed from the VPC CIDR, one subnet of each tier per AZ):

- private (API function ENIs, RDS Proxy): the first three /20s, room for Lambda's
  ENIs at high concurrency; default route to a NAT gateway.
- public (ALB, NAT gateways): three /24s from the fourth /20; default route to
  the internet gateway.
- database (Aurora): three /24s from the fifth /20; no route out of the VPC.

Security groups hold no inline rules; every rule is its own resource and names a
security group or a managed prefix list as its peer, never a CIDR, except the
function's HTTPS egress to AWS APIs without a VPC endpoint (see below).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.iam import policy_document, service_trust_policy
from infra.lambda_helpers import FunctionNetwork
from infra.settings import Settings
from shop.declarations import DB_PORT

AZ_COUNT = 3
VPC_CIDR = "10.0.0.0/16"
HTTPS_PORT = 443
HTTP_PORT = 80
# CloudFront's managed prefix list of origin-facing addresses. A rule that names
# it counts as the list's max entries (55) against the security group's quota of
# 60 inbound rules, so the ALB group can afford exactly one such rule.
CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


@dataclass(frozen=True)
class SubnetLayout:
    public: tuple[str, ...]
    private: tuple[str, ...]
    database: tuple[str, ...]


def subnet_layout(vpc_cidr: str = VPC_CIDR, az_count: int = AZ_COUNT) -> SubnetLayout:
    """Carve the VPC CIDR into one private /20, one public /24 and one database /24 per AZ."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(vpc.subnets(new_prefix=20))
    if len(blocks) < az_count + 2:
        raise ValueError(f"VPC CIDR {vpc_cidr} is too small for {az_count} AZs (needs {az_count + 2} /20 blocks)")
    private = tuple(str(b) for b in blocks[:az_count])
    public = tuple(str(s) for s in list(blocks[az_count].subnets(new_prefix=24))[:az_count])
    database = tuple(str(s) for s in list(blocks[az_count + 1].subnets(new_prefix=24))[:az_count])
    return SubnetLayout(public=public, private=private, database=database)


def _nth(index: int) -> Callable[[list[str]], str]:
    """The index-th AZ name, failing clearly in a region with too few AZs."""

    def pick(names: list[str]) -> str:
        if len(names) < AZ_COUNT:
            raise ValueError(f"the region offers {len(names)} available AZs; the platform needs {AZ_COUNT}")
        return names[index]

    return pick


@dataclass
class NetworkArgs:
    settings: Settings
    # The customer-managed key for the flow log group.
    key_arn: pulumi.Input[str]


class Network(pulumi.ComponentResource):
    """VPC, subnets, routes, NAT, gateway endpoints, security groups and flow logs."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    database_subnets: list[aws.ec2.Subnet]
    public_route_table: aws.ec2.RouteTable
    private_route_tables: list[aws.ec2.RouteTable]
    database_route_table: aws.ec2.RouteTable
    nat_gateways: list[aws.ec2.NatGateway]
    nat_eips: list[aws.ec2.Eip]
    dynamodb_endpoint: aws.ec2.VpcEndpoint
    s3_endpoint: aws.ec2.VpcEndpoint
    alb_security_group: aws.ec2.SecurityGroup
    function_security_group: aws.ec2.SecurityGroup
    proxy_security_group: aws.ec2.SecurityGroup
    database_security_group: aws.ec2.SecurityGroup
    flow_log_group: aws.cloudwatch.LogGroup
    flow_log: aws.ec2.FlowLog
    # The AZ names the subnets use, in subnet order.
    availability_zones: list[pulumi.Output[str]]
    # The one port CloudFront may reach the ALB on: 443 with a regional
    # certificate (HTTPS listener), 80 otherwise. The ALB listener must use it.
    alb_listener_port: int

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:network:Network", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)

        igw = self._vpc_and_subnets()
        self._public_routes(igw)
        self._nat_gateways(igw)
        self._private_and_database_routes()
        self._gateway_endpoints()
        self._security_groups()
        self._security_group_rules()
        self._flow_logs(args.key_arn)

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "publicSubnetIds": [s.id for s in self.public_subnets],
                "privateSubnetIds": [s.id for s in self.private_subnets],
                "databaseSubnetIds": [s.id for s in self.database_subnets],
                "natGatewayPublicIps": [e.public_ip for e in self.nat_eips],
                "flowLogGroupName": self.flow_log_group.name,
            }
        )

    # ------------------------------------------------------------ VPC and subnets
    def _vpc_and_subnets(self) -> aws.ec2.InternetGateway:
        """The VPC, its (empty) default security group, the internet gateway (returned), three tiers."""
        child = self._child
        layout = subnet_layout(VPC_CIDR)
        zones = aws.get_availability_zones_output(
            state="available",
            # Regular AZs only: no Local or Wavelength Zones.
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        )
        self.availability_zones = [zones.names.apply(_nth(i)) for i in range(AZ_COUNT)]

        self.vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            opts=child,
        )
        # The default security group matches nothing and allows nothing.
        aws.ec2.DefaultSecurityGroup("default-sg", vpc_id=self.vpc.id, opts=child)

        igw = aws.ec2.InternetGateway("igw", vpc_id=self.vpc.id, opts=child)
        self.public_subnets = self._subnets("public", layout.public)
        self.private_subnets = self._subnets("private", layout.private)
        self.database_subnets = self._subnets("database", layout.database)
        return igw

    def _subnets(self, tier: str, cidrs: tuple[str, ...]) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{tier}-{i + 1}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=self.availability_zones[i],
                map_public_ip_on_launch=False,
                tags={"Tier": tier},
                opts=self._child,
            )
            for i, cidr in enumerate(cidrs)
        ]

    # ------------------------------------------------------------ routes
    def _public_routes(self, igw: aws.ec2.InternetGateway) -> None:
        """Public: one route table, default route to the internet gateway."""
        child = self._child
        self.public_route_table = aws.ec2.RouteTable("public", vpc_id=self.vpc.id, opts=child)
        aws.ec2.Route(
            "public-internet",
            route_table_id=self.public_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(
                f"public-{i + 1}", subnet_id=subnet.id, route_table_id=self.public_route_table.id, opts=child
            )

    def _nat_gateways(self, igw: aws.ec2.InternetGateway) -> None:
        """NAT gateways in the first N public subnets (1 in dev: cheap, one AZ's
        egress depends on another; 3 in staging/prod: one per AZ)."""
        self.nat_eips = []
        self.nat_gateways = []
        for i in range(self._settings.profile.nat_gateways):
            eip = aws.ec2.Eip(f"nat-{i + 1}", domain="vpc", opts=self._child)
            self.nat_eips.append(eip)
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"nat-{i + 1}",
                    allocation_id=eip.allocation_id,
                    subnet_id=self.public_subnets[i].id,
                    connectivity_type="public",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

    def _private_and_database_routes(self) -> None:
        """Private: one route table per AZ, default route to the AZ's NAT gateway
        (or the first one when there are fewer NAT gateways than AZs).
        Database: isolated, only the VPC's local route."""
        child, nat_count = self._child, len(self.nat_gateways)
        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            table = aws.ec2.RouteTable(f"private-{i + 1}", vpc_id=self.vpc.id, opts=child)
            aws.ec2.Route(
                f"private-{i + 1}-nat",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat_gateways[i if i < nat_count else 0].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"private-{i + 1}", subnet_id=subnet.id, route_table_id=table.id, opts=child)
            self.private_route_tables.append(table)

        self.database_route_table = aws.ec2.RouteTable("database", vpc_id=self.vpc.id, opts=child)
        for i, subnet in enumerate(self.database_subnets):
            aws.ec2.RouteTableAssociation(
                f"database-{i + 1}", subnet_id=subnet.id, route_table_id=self.database_route_table.id, opts=child
            )

    def _gateway_endpoints(self) -> None:
        """DynamoDB and S3 traffic from the private subnets stays on the AWS
        network and off the NAT gateways (no data charges)."""
        private_table_ids = [t.id for t in self.private_route_tables]

        def endpoint(service: str) -> aws.ec2.VpcEndpoint:
            return aws.ec2.VpcEndpoint(
                service,
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self._settings.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=private_table_ids,
                opts=self._child,
            )

        self.dynamodb_endpoint = endpoint("dynamodb")
        self.s3_endpoint = endpoint("s3")

    # ------------------------------------------------------------ security groups
    def _security_groups(self) -> None:
        def group(logical: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                logical,
                name=self._settings.name(logical),
                description=description,
                vpc_id=self.vpc.id,
                opts=self._child,
            )

        self.alb_security_group = group("alb-sg", "ALB: reachable from CloudFront origin-facing addresses only")
        self.function_security_group = group("function-sg", "API function: no inbound; egress to proxy and AWS APIs")
        self.proxy_security_group = group("proxy-sg", "RDS Proxy: PostgreSQL from the API function only")
        self.database_security_group = group("database-sg", "Aurora: PostgreSQL from the RDS Proxy only")

    def _rule(
        self,
        kind: type[aws.vpc.SecurityGroupIngressRule] | type[aws.vpc.SecurityGroupEgressRule],
        logical: str,
        sg: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        *,
        referenced_security_group_id: pulumi.Input[str] | None = None,
        prefix_list_id: pulumi.Input[str] | None = None,
        cidr_ipv4: str | None = None,
    ) -> None:
        """One TCP port, one peer: a security group, a prefix list or (rarely) a CIDR."""
        kind(
            logical,
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            referenced_security_group_id=referenced_security_group_id,
            prefix_list_id=prefix_list_id,
            cidr_ipv4=cidr_ipv4,
            opts=self._child,
        )

    def _security_group_rules(self) -> None:
        """Every allowed flow, one row each: (direction, logical name, group, port, description, peer)."""
        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        alb, function = self.alb_security_group, self.function_security_group
        proxy, database = self.proxy_security_group, self.database_security_group
        cloudfront = aws.ec2.get_managed_prefix_list_output(name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST)
        self.alb_listener_port = HTTPS_PORT if self._settings.certificate_arn else HTTP_PORT
        dynamodb, s3 = self.dynamodb_endpoint.prefix_list_id, self.s3_endpoint.prefix_list_id
        rules: list[tuple[Any, str, aws.ec2.SecurityGroup, int, str, dict[str, Any]]] = [
            # ALB <- CloudFront. The ALB has no egress rule: Lambda targets are
            # invoked through the Lambda service, not connected to.
            (ingress, "alb-from-cloudfront", alb, self.alb_listener_port,
             "CloudFront origin-facing addresses to the listener", {"prefix_list_id": cloudfront.id}),
            # API function -> RDS Proxy, DynamoDB and S3 (gateway endpoints), AWS APIs.
            (egress, "function-to-proxy", function, DB_PORT,
             "PostgreSQL to the RDS Proxy", {"referenced_security_group_id": proxy.id}),
            (egress, "function-to-dynamodb", function, HTTPS_PORT,
             "HTTPS to DynamoDB through the gateway endpoint", {"prefix_list_id": dynamodb}),
            (egress, "function-to-s3", function, HTTPS_PORT,
             "HTTPS to S3 through the gateway endpoint", {"prefix_list_id": s3}),
            # HTTPS to the AWS APIs that have no gateway endpoint (X-Ray, CloudWatch,
            # KMS, STS), through the NAT gateways. Port 443 only; never inbound.
            (egress, "function-to-aws-apis", function, HTTPS_PORT,
             "HTTPS to AWS APIs without a VPC endpoint, through NAT", {"cidr_ipv4": "0.0.0.0/0"}),
            # RDS Proxy <- function; RDS Proxy -> Aurora.
            (ingress, "proxy-from-function", proxy, DB_PORT,
             "PostgreSQL from the API function", {"referenced_security_group_id": function.id}),
            (egress, "proxy-to-database", proxy, DB_PORT,
             "PostgreSQL to Aurora", {"referenced_security_group_id": database.id}),
            # Aurora <- RDS Proxy only. No egress.
            (ingress, "database-from-proxy", database, DB_PORT,
             "PostgreSQL from the RDS Proxy", {"referenced_security_group_id": proxy.id}),
        ]  # fmt: skip
        if not self._settings.profile.rds_proxy:
            # No RDS Proxy (dev, scale to zero): the functions reach Aurora directly.
            rules += [
                (egress, "function-to-database", function, DB_PORT,
                 "PostgreSQL straight to Aurora (no proxy)", {"referenced_security_group_id": database.id}),
                (ingress, "database-from-function", database, DB_PORT,
                 "PostgreSQL from the functions (no proxy)", {"referenced_security_group_id": function.id}),
            ]  # fmt: skip
        for kind, logical, group, port, description, peer in rules:
            self._rule(kind, logical, group, port, description, **peer)

    # ------------------------------------------------------------ flow logs
    def _flow_logs(self, key_arn: pulumi.Input[str]) -> None:
        settings, child = self._settings, self._child
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        self.flow_log_group = aws.cloudwatch.LogGroup(
            "flow-logs",
            name=settings.name("vpc-flow-logs"),
            retention_in_days=settings.profile.log_retention_days,
            kms_key_id=key_arn,
            opts=child,
        )
        assume = service_trust_policy(
            "vpc-flow-logs.amazonaws.com",
            condition={
                "StringEquals": {"aws:SourceAccount": identity.account_id},
                "ArnLike": {
                    "aws:SourceArn": pulumi.Output.format(
                        "arn:{0}:ec2:{1}:{2}:vpc-flow-log/*",
                        partition.partition,
                        settings.region,
                        identity.account_id,
                    )
                },
            },
        )
        role = aws.iam.Role(
            "flow-logs",
            name=settings.name("vpc-flow-logs"),
            description="VPC flow logs delivery to their log group",
            assume_role_policy=assume,
            opts=child,
        )
        delivery = aws.iam.RolePolicy(
            "flow-logs",
            role=role.id,
            policy=policy_document(
                {
                    "Sid": "DeliverToTheFlowLogGroupOnly",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [self.flow_log_group.arn, pulumi.Output.concat(self.flow_log_group.arn, ":*")],
                }
            ),
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            "vpc",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery]),
        )

    @property
    def function_network(self) -> FunctionNetwork:
        """Where the platform's VPC functions run: the private subnets, the function security group."""
        return FunctionNetwork(
            subnet_ids=[s.id for s in self.private_subnets],
            security_group_ids=[self.function_security_group.id],
        )
