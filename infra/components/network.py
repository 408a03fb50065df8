"""The VPC: three AZs, public / private / database subnets, egress (NAT gateways or a NAT
instance), VPC endpoints, security groups and flow logs.

Subnet layout (computed from the VPC CIDR, one subnet of each tier per AZ):

- private (API and migration function ENIs, RDS Proxy, the internal ALB and CloudFront's
  VPC-origin ENIs): the first three /20s, room for Lambda's ENIs at high concurrency;
  default route to the AZ's NAT gateway, or to the NAT instance.
- public (NAT gateways or the NAT instance only): three /24s from the fourth /20; default
  route to the internet gateway. Nothing else in the stack holds a public IPv4 address.
- database (Aurora): three /24s from the fifth /20; no route out of the VPC.

Egress (``egress`` in the profile; ARCHITECTURE.md "Egress" says who needs what):

- ``nat_gateway``: ``natGateways`` managed NAT gateways (3 = one per AZ, staging and prod).
- ``nat_instance``: one t4g.nano instance running Amazon Linux 2023 (its AMI read from AWS's
  public SSM parameter) that masquerades the VPC's HTTPS traffic; dev, about a tenth of a NAT
  gateway's price, one AZ, no managed failover.

Security groups hold no inline rules; every rule is its own resource and names a security
group or a managed prefix list as its peer, never a CIDR, except HTTPS egress to the
internet (Stripe, AWS APIs without a VPC endpoint) through NAT.

Destroy: Lambda releases a VPC function's ENIs up to ~35 minutes after the function is
deleted, and until then the ENIs hold the function's security group and subnets. Those
resources get a delete timeout of 45 minutes (the provider retries DependencyViolation until
then) so ``pulumi destroy`` finishes in one run.
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
ANY_IPV4 = "0.0.0.0/0"
# How long deleting a subnet or security group may wait for Lambda to release its ENIs.
ENI_RELEASE_DELETE_TIMEOUT = "45m"
# The NAT instance: Graviton, smallest size, Amazon Linux 2023 from AWS's public parameter.
NAT_INSTANCE_TYPE = "t4g.nano"
NAT_INSTANCE_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
NAT_INSTANCE_VOLUME_GB = 8
# Interface endpoints created with ``secretsEndpoints`` (the proxy's and the function's secrets).
SECRETS_ENDPOINT_SERVICES = ("secretsmanager", "ssm")


def nat_instance_user_data(vpc_cidr: str = VPC_CIDR) -> str:
    """Boot script: forward IPv4 and masquerade the VPC's traffic out of the primary interface."""
    return "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            "dnf install -y iptables-services",
            "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf",
            "sysctl --system",
            "iface=$(ip route show default | awk '{print $5; exit}')",
            "iptables -F FORWARD",
            f'iptables -t nat -A POSTROUTING -o "$iface" -s {vpc_cidr} -j MASQUERADE',
            "iptables-save > /etc/sysconfig/iptables",
            "systemctl enable --now iptables",
            "",
        ]
    )


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
    """VPC, subnets, routes, egress, VPC endpoints, security groups and flow logs."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    database_subnets: list[aws.ec2.Subnet]
    public_route_table: aws.ec2.RouteTable
    private_route_tables: list[aws.ec2.RouteTable]
    database_route_table: aws.ec2.RouteTable
    nat_gateways: list[aws.ec2.NatGateway]
    nat_eips: list[aws.ec2.Eip]
    # The NAT instance (egress = nat_instance) and its security group.
    nat_instance: aws.ec2.Instance | None
    nat_security_group: aws.ec2.SecurityGroup | None
    dynamodb_endpoint: aws.ec2.VpcEndpoint
    s3_endpoint: aws.ec2.VpcEndpoint
    # Secrets Manager and SSM interface endpoints (secrets_endpoints), by service.
    interface_endpoints: dict[str, aws.ec2.VpcEndpoint]
    endpoint_security_group: aws.ec2.SecurityGroup | None
    alb_security_group: aws.ec2.SecurityGroup
    function_security_group: aws.ec2.SecurityGroup
    # None when the profile connects the functions straight to Aurora (no RDS Proxy).
    proxy_security_group: aws.ec2.SecurityGroup | None
    database_security_group: aws.ec2.SecurityGroup
    flow_log_group: aws.cloudwatch.LogGroup
    flow_log: aws.ec2.FlowLog
    # The AZ names the subnets use, in subnet order.
    availability_zones: list[pulumi.Output[str]]
    # The one port the ALB listens on for CloudFront: 443 with a regional certificate
    # (HTTPS listener), 80 otherwise. The ALB listener and the VPC origin must use it.
    alb_listener_port: int

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:network:Network", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        # The database profile decides whether an RDS Proxy sits between functions and Aurora.
        self._with_proxy: bool = bool(getattr(args.settings.profile, "rds_proxy", True))
        self.alb_listener_port = HTTPS_PORT if self._settings.certificate_arn else HTTP_PORT

        igw = self._vpc_and_subnets()
        self._public_routes(igw)
        self._security_groups()
        self._egress(igw)
        self._private_and_database_routes()
        self._gateway_endpoints()
        self._interface_endpoints()
        self._security_group_rules()
        self._flow_logs(args.key_arn)

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "publicSubnetIds": [s.id for s in self.public_subnets],
                "privateSubnetIds": [s.id for s in self.private_subnets],
                "databaseSubnetIds": [s.id for s in self.database_subnets],
                "natGatewayPublicIps": self.egress_public_ips,
                "flowLogGroupName": self.flow_log_group.name,
            }
        )

    @property
    def egress_public_ips(self) -> list[pulumi.Output[str]]:
        """The public IPv4 addresses the VPC's egress leaves from (allow-list these at Stripe, say)."""
        if self.nat_instance is not None:
            return [self.nat_instance.public_ip]
        return [e.public_ip for e in self.nat_eips]

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

        # NAT needs it; so do CloudFront VPC origins (a VPC without one cannot host a VPC origin).
        igw = aws.ec2.InternetGateway("igw", vpc_id=self.vpc.id, opts=child)
        self.public_subnets = self._subnets("public", layout.public)
        # Lambda's ENIs in the private subnets outlive the functions by up to ~35 minutes.
        self.private_subnets = self._subnets("private", layout.private, self._eni_release())
        self.database_subnets = self._subnets("database", layout.database)
        return igw

    def _eni_release(self) -> pulumi.ResourceOptions:
        """Options for what Lambda's lingering ENIs hold: wait for them on delete."""
        return pulumi.ResourceOptions(
            parent=self, custom_timeouts=pulumi.CustomTimeouts(delete=ENI_RELEASE_DELETE_TIMEOUT)
        )

    def _subnets(
        self, tier: str, cidrs: tuple[str, ...], opts: pulumi.ResourceOptions | None = None
    ) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{tier}-{i + 1}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=self.availability_zones[i],
                map_public_ip_on_launch=False,
                tags={"Tier": tier},
                opts=opts or self._child,
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
            destination_cidr_block=ANY_IPV4,
            gateway_id=igw.id,
            opts=child,
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(
                f"public-{i + 1}", subnet_id=subnet.id, route_table_id=self.public_route_table.id, opts=child
            )

    def _egress(self, igw: aws.ec2.InternetGateway) -> None:
        self.nat_eips, self.nat_gateways = [], []
        self.nat_instance = self.nat_security_group = None
        if self._settings.profile.egress == "nat_instance":
            self._nat_instance(igw)
        else:
            self._nat_gateways(igw)

    def _nat_gateways(self, igw: aws.ec2.InternetGateway) -> None:
        """NAT gateways in the first N public subnets (3 in staging/prod: one per AZ)."""
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

    def _nat_instance(self, igw: aws.ec2.InternetGateway) -> None:
        """One NAT instance in the first public subnet: forwards, masquerades, checks no source/dest."""
        ami = aws.ssm.get_parameter_output(name=NAT_INSTANCE_AMI_PARAMETER)
        self.nat_security_group = self._group("nat-sg", "NAT instance: HTTPS from the VPC's functions, out to 443")
        self.nat_instance = aws.ec2.Instance(
            "nat",
            ami=ami.value,
            instance_type=NAT_INSTANCE_TYPE,
            subnet_id=self.public_subnets[0].id,
            vpc_security_group_ids=[self.nat_security_group.id],
            associate_public_ip_address=True,
            source_dest_check=False,
            user_data=nat_instance_user_data(),
            user_data_replace_on_change=True,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens="required", http_endpoint="enabled"),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3", volume_size=NAT_INSTANCE_VOLUME_GB, encrypted=True, delete_on_termination=True
            ),
            tags={"Name": self._settings.name("nat")},
            # A newer AMI in the parameter must not replace a working NAT on every deploy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw], ignore_changes=["ami"]),
        )

    def _private_and_database_routes(self) -> None:
        """Private: one route table per AZ, default route to the AZ's NAT gateway (the first one
        when there are fewer NAT gateways than AZs), or to the NAT instance.
        Database: isolated, only the VPC's local route."""
        child, nat_count = self._child, len(self.nat_gateways)
        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            table = aws.ec2.RouteTable(f"private-{i + 1}", vpc_id=self.vpc.id, opts=child)
            target: dict[str, pulumi.Input[str]] = (
                {"network_interface_id": self.nat_instance.primary_network_interface_id}
                if self.nat_instance is not None
                else {"nat_gateway_id": self.nat_gateways[i if i < nat_count else 0].id}
            )
            aws.ec2.Route(
                f"private-{i + 1}-nat", route_table_id=table.id, destination_cidr_block=ANY_IPV4, **target, opts=child
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
        network and off NAT (no data charges)."""
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

    def _interface_endpoints(self) -> None:
        """With ``secretsEndpoints``: Secrets Manager (the proxy's credentials) and SSM (the
        Stripe parameters) answer inside the VPC, through private DNS, in every private subnet."""
        self.interface_endpoints = {}
        self.endpoint_security_group = None
        if not self._settings.profile.secrets_endpoints:
            return
        self.endpoint_security_group = self._group("endpoints-sg", "Interface endpoints: HTTPS from the VPC's clients")
        for service in SECRETS_ENDPOINT_SERVICES:
            self.interface_endpoints[service] = aws.ec2.VpcEndpoint(
                service,
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self._settings.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[self.endpoint_security_group.id],
                opts=self._child,
            )

    # ------------------------------------------------------------ security groups
    def _group(self, logical: str, description: str) -> aws.ec2.SecurityGroup:
        # Every group may be held by an ENI Lambda has not released yet: wait for it on delete.
        return aws.ec2.SecurityGroup(
            logical,
            name=self._settings.name(logical),
            description=description,
            vpc_id=self.vpc.id,
            opts=self._eni_release(),
        )

    def _security_groups(self) -> None:
        group = self._group
        self.alb_security_group = group("alb-sg", "ALB: reachable from CloudFront VPC origins only")
        self.function_security_group = group("function-sg", "API function: no inbound; egress to proxy and AWS APIs")
        self.proxy_security_group = (
            group("proxy-sg", "RDS Proxy: PostgreSQL from the API function only") if self._with_proxy else None
        )
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
        """Every allowed flow, one row each: (direction, logical name, group, port, description, peer).

        The ALB's only inbound rule (from CloudFront's VPC-origin security group) is declared
        with the VPC origin (infra/components/load_balancer.py): that group exists only once
        CloudFront has created the VPC origin."""
        for kind, logical, group, port, description, peer in (
            self._function_rules() + self._database_rules() + self._egress_rules()
        ):
            self._rule(kind, logical, group, port, description, **peer)

    def _function_rules(self) -> list[tuple[Any, str, aws.ec2.SecurityGroup, int, str, dict[str, Any]]]:
        egress = aws.vpc.SecurityGroupEgressRule
        function = self.function_security_group
        dynamodb, s3 = self.dynamodb_endpoint.prefix_list_id, self.s3_endpoint.prefix_list_id
        return [
            (egress, "function-to-dynamodb", function, HTTPS_PORT,
             "HTTPS to DynamoDB through the gateway endpoint", {"prefix_list_id": dynamodb}),
            (egress, "function-to-s3", function, HTTPS_PORT,
             "HTTPS to S3 through the gateway endpoint", {"prefix_list_id": s3}),
            # Stripe (api.stripe.com) and the AWS APIs without a VPC endpoint (SSM without
            # secretsEndpoints, STS, X-Ray), through NAT. Port 443 only; never inbound.
            (egress, "function-to-aws-apis", function, HTTPS_PORT,
             "HTTPS to Stripe and AWS APIs without a VPC endpoint, through NAT", {"cidr_ipv4": ANY_IPV4}),
        ]  # fmt: skip

    def _database_rules(self) -> list[tuple[Any, str, aws.ec2.SecurityGroup, int, str, dict[str, Any]]]:
        """Function -> RDS Proxy -> Aurora; or, without a proxy, function -> Aurora."""
        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        function, proxy, database = (
            self.function_security_group,
            self.proxy_security_group,
            self.database_security_group,
        )
        if proxy is None:
            return [
                (egress, "function-to-database", function, DB_PORT,
                 "PostgreSQL to Aurora", {"referenced_security_group_id": database.id}),
                (ingress, "database-from-function", database, DB_PORT,
                 "PostgreSQL from the API and migration functions", {"referenced_security_group_id": function.id}),
            ]  # fmt: skip
        secrets: dict[str, Any] = (
            {"referenced_security_group_id": self.endpoint_security_group.id}
            if self.endpoint_security_group is not None
            else {"cidr_ipv4": ANY_IPV4}
        )
        return [
            (egress, "function-to-proxy", function, DB_PORT,
             "PostgreSQL to the RDS Proxy", {"referenced_security_group_id": proxy.id}),
            (ingress, "proxy-from-function", proxy, DB_PORT,
             "PostgreSQL from the API function", {"referenced_security_group_id": function.id}),
            (egress, "proxy-to-database", proxy, DB_PORT,
             "PostgreSQL to Aurora", {"referenced_security_group_id": database.id}),
            # The proxy reads the database credentials from Secrets Manager: through NAT, or
            # through the interface endpoint when the profile has one.
            (egress, "proxy-to-secrets-manager", proxy, HTTPS_PORT,
             "HTTPS to Secrets Manager for the database credentials", secrets),
            (ingress, "database-from-proxy", database, DB_PORT,
             "PostgreSQL from the RDS Proxy", {"referenced_security_group_id": proxy.id}),
        ]  # fmt: skip

    def _egress_rules(self) -> list[tuple[Any, str, aws.ec2.SecurityGroup, int, str, dict[str, Any]]]:
        """The NAT instance (HTTPS from the function and proxy groups, HTTPS out) and the
        interface endpoints (HTTPS from the function and proxy groups)."""
        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        clients = [("function", self.function_security_group)]
        if self.proxy_security_group is not None:
            clients.append(("proxy", self.proxy_security_group))
        rows: list[tuple[Any, str, aws.ec2.SecurityGroup, int, str, dict[str, Any]]] = []
        for target, group in (("nat", self.nat_security_group), ("endpoints", self.endpoint_security_group)):
            if group is None:
                continue
            rows += [
                (ingress, f"{target}-from-{client}", group, HTTPS_PORT, f"HTTPS from the {client} group",
                 {"referenced_security_group_id": sg.id})
                for client, sg in clients
            ]  # fmt: skip
        if self.nat_security_group is not None:
            rows.append(
                (egress, "nat-to-internet", self.nat_security_group, HTTPS_PORT,
                 "HTTPS to the internet (masqueraded VPC traffic, package updates)", {"cidr_ipv4": ANY_IPV4})
            )  # fmt: skip
        return rows

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
