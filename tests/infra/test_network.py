"""The network component, for every stack: AZs and subnet layout, NAT, routes,
gateway endpoints, every security-group rule, the default security group, flow
logs, and the exports. Cross-references are resolved through the recorded
resources (by id or ARN), so these tests check wiring, not mere presence."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from infra.components.network import _nth, subnet_layout
from infra.settings import PROFILES
from tests.infra.harness import ACCOUNT, Program, Resource, run_program

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CLOUDFRONT_PREFIX_LIST = "pl-82a045eb"  # what the mocks answer for the origin-facing list
VPC_ORIGIN_SERVICE_GROUP = "sg-0cf0v0c0r1g1n5000"  # what the mocks answer for CloudFront's VPC-origin group
# AWS counts a rule naming a prefix list as the list's max entries; CloudFront's
# origin-facing list has 55, and a security group holds 60 inbound rules.
CLOUDFRONT_PREFIX_LIST_WEIGHT = 55
INBOUND_RULES_PER_GROUP = 60


def vpc(program: Program) -> Resource:
    return program.one("aws:ec2/vpc:Vpc")


def subnets(program: Program, tier: str) -> list[Resource]:
    found = [s for s in program.of_type(SUBNET) if s["tags"].get("Tier") == tier]
    return sorted(found, key=lambda s: s.name)


def group(program: Program, logical: str) -> Resource:
    return program.one(SG, logical)


def peer(program: Program, rule: Resource) -> str:
    """A rule's peer as a readable token: a group's logical name, a prefix list, or a CIDR."""
    if rule.get("referencedSecurityGroupId"):
        if rule["referencedSecurityGroupId"] == VPC_ORIGIN_SERVICE_GROUP:
            return "sg:CloudFront-VPCOrigins-Service-SG"
        return "sg:" + program.by_id(rule["referencedSecurityGroupId"]).name
    if rule.get("prefixListId"):
        pl = rule["prefixListId"]
        if pl == CLOUDFRONT_PREFIX_LIST:
            return "pl:cloudfront-origin-facing"
        endpoints = [
            e for e in program.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.outputs.get("prefixListId") == pl
        ]
        assert len(endpoints) == 1, f"prefix list {pl} is neither CloudFront's nor a gateway endpoint's"
        return "pl:" + endpoints[0]["serviceName"].rsplit(".", 1)[-1]
    cidr = rule.get("cidrIpv4") or rule.get("cidrIpv6")
    assert cidr, f"rule {rule.name} has no peer"
    return "cidr:" + cidr


def rules(program: Program) -> set[tuple[str, str, str, int, int, str]]:
    found = set()
    for direction, token in (("in", INGRESS), ("out", EGRESS)):
        for r in program.of_type(token):
            found.add(
                (
                    program.by_id(r["securityGroupId"]).name,
                    direction,
                    r["ipProtocol"],
                    int(r["fromPort"]),
                    int(r["toPort"]),
                    peer(program, r),
                )
            )
    return found


# --------------------------------------------------------------------------- VPC and subnets


def test_vpc_has_dns_and_three_tiers_of_three_subnets(program: Program) -> None:
    v = vpc(program)
    assert v["enableDnsHostnames"] is True
    assert v["enableDnsSupport"] is True
    network = ipaddress.ip_network(v["cidrBlock"])
    all_cidrs = []
    for tier in ("public", "private", "database"):
        tier_subnets = subnets(program, tier)
        assert len(tier_subnets) == 3, tier
        # One per AZ: the first three AZs the region reports (the mocks report four).
        assert [s["availabilityZone"] for s in tier_subnets] == ["us-west-2a", "us-west-2b", "us-west-2c"], tier
        for s in tier_subnets:
            assert s["vpcId"] == v.id
            assert not s.get("mapPublicIpOnLaunch"), f"{s.name} hands out public IPs"
            cidr = ipaddress.ip_network(s["cidrBlock"])
            assert cidr.subnet_of(network)  # type: ignore[arg-type]
            all_cidrs.append(cidr)
    for i, a in enumerate(all_cidrs):
        for b in all_cidrs[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"
    # Lambda ENIs and the proxy live in the private subnets: they get the room.
    assert all(ipaddress.ip_network(s["cidrBlock"]).prefixlen == 20 for s in subnets(program, "private"))
    assert len(program.of_type(SUBNET)) == 9, "no subnets besides the three tiers"


def test_azs_are_looked_up_not_hard_coded() -> None:
    """Another region gives subnets in that region's AZs."""
    other = run_program("dev", {"aws:region": "eu-west-1"})
    assert {s["availabilityZone"] for s in other.of_type(SUBNET)} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}


def test_subnet_layout_is_computed_from_any_large_enough_vpc_cidr() -> None:
    layout = subnet_layout("172.20.0.0/16")
    assert layout.private == ("172.20.0.0/20", "172.20.16.0/20", "172.20.32.0/20")
    assert layout.public == ("172.20.48.0/24", "172.20.49.0/24", "172.20.50.0/24")
    assert layout.database == ("172.20.64.0/24", "172.20.65.0/24", "172.20.66.0/24")
    assert subnet_layout("10.1.0.0/17").private[2] == "10.1.32.0/20"
    with pytest.raises(ValueError, match="too small"):
        subnet_layout("10.0.0.0/20")


def test_a_region_with_fewer_than_three_azs_fails_clearly() -> None:
    assert _nth(2)(["x-1a", "x-1b", "x-1c", "x-1d"]) == "x-1c"
    with pytest.raises(ValueError, match="2 available AZs"):
        _nth(0)(["x-1a", "x-1b"])


# --------------------------------------------------------------------------- NAT and routes


def route_table_of(program: Program, subnet: Resource) -> Resource:
    assoc = [a for a in program.of_type(ASSOCIATION) if a["subnetId"] == subnet.id]
    assert len(assoc) == 1, f"{subnet.name} has {len(assoc)} route table associations"
    return program.by_id(assoc[0]["routeTableId"])


def routes_of(program: Program, table: Resource) -> list[Resource]:
    return [r for r in program.of_type(ROUTE) if r["routeTableId"] == table.id]


def test_egress_follows_the_profile_nat_gateway_per_az_in_staging_and_prod(program: Program) -> None:
    expected = {"dev": 0, "staging": 3, "prod": 3}[program.stack]
    assert PROFILES[program.stack].egress == ("nat_instance" if program.stack == "dev" else "nat_gateway")
    nats = program.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == expected
    public_ids = {s.id for s in subnets(program, "public")}
    nat_zones = set()
    for nat in nats:
        assert nat["subnetId"] in public_ids, f"{nat.name} is not in a public subnet"
        nat_zones.add(program.by_id(nat["subnetId"])["availabilityZone"])
        eip = program.by_id(nat["allocationId"])
        assert eip.type == "aws:ec2/eip:Eip" and eip["domain"] == "vpc"
    assert len(nat_zones) == expected, "NAT gateways share an AZ"
    instances = program.of_type("aws:ec2/instance:Instance")
    assert len(instances) == (1 if program.stack == "dev" else 0)
    addresses = [program.by_id(n["allocationId"]).outputs["publicIp"] for n in nats] + [
        i.outputs["publicIp"] for i in instances
    ]
    assert sorted(program.outputs["natGatewayPublicIps"]) == sorted(addresses)


def test_dev_nat_instance_is_a_small_arm64_masquerading_router_in_a_public_subnet(dev: Program) -> None:
    nat = dev.one("aws:ec2/instance:Instance")
    assert nat["instanceType"] == "t4g.nano"
    # The AMI comes from AWS's public parameter for Amazon Linux 2023 on arm64 (not hard-coded).
    assert nat["ami"] == "ami-0a1b2c3d4e5f60718"
    assert "ami" in dev.one("aws:ec2/instance:Instance").options["ignoreChanges"]
    assert nat["sourceDestCheck"] is False, "a NAT instance must forward traffic that is not its own"
    assert nat["associatePublicIpAddress"] is True
    assert nat["subnetId"] in {s.id for s in subnets(dev, "public")}
    assert nat["metadataOptions"]["httpTokens"] == "required"
    assert nat["rootBlockDevice"]["encrypted"] is True
    script = nat["userData"]
    assert "net.ipv4.ip_forward = 1" in script
    assert "MASQUERADE" in script and f"-s {vpc(dev)['cidrBlock']}" in script
    groups = [dev.by_id(g).name for g in nat["vpcSecurityGroupIds"]]
    assert groups == ["nat-sg"]


def test_staging_and_prod_cannot_lose_nat_per_az_by_accident(program: Program) -> None:
    """The profile itself keeps one NAT gateway per AZ outside dev."""
    if program.stack == "dev":
        pytest.skip("dev uses a NAT instance")
    profile = PROFILES[program.stack]
    assert (profile.egress, profile.nat_gateways) == ("nat_gateway", 3)


def test_public_subnets_route_to_the_internet_gateway(program: Program) -> None:
    igw = program.one("aws:ec2/internetGateway:InternetGateway")
    assert igw["vpcId"] == vpc(program).id
    for subnet in subnets(program, "public"):
        table = route_table_of(program, subnet)
        default = [r for r in routes_of(program, table) if r["destinationCidrBlock"] == "0.0.0.0/0"]
        assert len(default) == 1 and default[0]["gatewayId"] == igw.id, subnet.name


def test_private_subnets_route_to_a_nat_gateway_in_their_own_az_when_there_is_one(program: Program) -> None:
    nats = program.of_type("aws:ec2/natGateway:NatGateway")
    tables = set()
    for subnet in subnets(program, "private"):
        table = route_table_of(program, subnet)
        tables.add(table.id)
        default = [r for r in routes_of(program, table) if r["destinationCidrBlock"] == "0.0.0.0/0"]
        assert len(default) == 1, subnet.name
        assert not default[0].get("gatewayId"), f"{subnet.name} routes straight to the internet gateway"
        if not nats:
            # The NAT instance's primary interface.
            nat_instance = program.one("aws:ec2/instance:Instance")
            assert default[0]["networkInterfaceId"] == nat_instance.outputs["primaryNetworkInterfaceId"]
            continue
        nat = program.by_id(default[0]["natGatewayId"])
        if len(nats) == 3:
            assert program.by_id(nat["subnetId"])["availabilityZone"] == subnet["availabilityZone"]
    assert len(tables) == 3, "one private route table per AZ"


def test_database_subnets_have_no_route_out_of_the_vpc(program: Program) -> None:
    for subnet in subnets(program, "database"):
        table = route_table_of(program, subnet)
        assert routes_of(program, table) == [], f"{subnet.name} has routes besides the local one"
        assert not table.get("routes"), f"{subnet.name}'s route table has inline routes"


def test_gateway_endpoints_for_dynamodb_and_s3_are_on_every_private_route_table(program: Program) -> None:
    private_tables = {route_table_of(program, s).id for s in subnets(program, "private")}
    endpoints = {e["serviceName"]: e for e in program.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {"com.amazonaws.us-west-2.dynamodb", "com.amazonaws.us-west-2.s3"}
    for endpoint in endpoints.values():
        assert endpoint["vpcEndpointType"] == "Gateway"
        assert endpoint["vpcId"] == vpc(program).id
        assert set(endpoint["routeTableIds"]) == private_tables


# --------------------------------------------------------------------------- security groups


PROXY_AND_DATABASE_RULES = {
    ("function-sg", "out", "tcp", 5432, 5432, "sg:proxy-sg"),
    ("proxy-sg", "in", "tcp", 5432, 5432, "sg:function-sg"),
    ("proxy-sg", "out", "tcp", 5432, 5432, "sg:database-sg"),
    # The proxy fetches the database secret from Secrets Manager (through NAT here).
    ("proxy-sg", "out", "tcp", 443, 443, "cidr:0.0.0.0/0"),
    ("database-sg", "in", "tcp", 5432, 5432, "sg:proxy-sg"),
}


DIRECT_DATABASE_RULES = {
    ("function-sg", "out", "tcp", 5432, 5432, "sg:database-sg"),
    ("database-sg", "in", "tcp", 5432, 5432, "sg:function-sg"),
}


def has_proxy(stack: str) -> bool:
    """Whether the profile puts an RDS Proxy in front of Aurora (the database work's field; on by default)."""
    return bool(getattr(PROFILES[stack], "rds_proxy", True))


def test_every_security_group_rule_is_exactly_the_designed_matrix(program: Program) -> None:
    alb_port = 80  # no certificateArn in the committed stacks: the ALB listens on HTTP
    proxy = has_proxy(program.stack)
    expected = {
        # The internal ALB: only from CloudFront's VPC-origin ENIs, the listener port only.
        ("alb-sg", "in", "tcp", alb_port, alb_port, "sg:CloudFront-VPCOrigins-Service-SG"),
        ("function-sg", "out", "tcp", 443, 443, "pl:dynamodb"),
        ("function-sg", "out", "tcp", 443, 443, "pl:s3"),
        ("function-sg", "out", "tcp", 443, 443, "cidr:0.0.0.0/0"),
        *(PROXY_AND_DATABASE_RULES if proxy else DIRECT_DATABASE_RULES),
    }
    if program.stack == "dev":
        expected |= {
            ("nat-sg", "in", "tcp", 443, 443, "sg:function-sg"),
            ("nat-sg", "out", "tcp", 443, 443, "cidr:0.0.0.0/0"),
        }
        if proxy:
            expected.add(("nat-sg", "in", "tcp", 443, 443, "sg:proxy-sg"))
    assert rules(program) == expected
    assert (program.of_type(SG) and any(g.name == "proxy-sg" for g in program.of_type(SG))) is proxy


def test_the_proxy_reaches_secrets_manager_through_the_interface_endpoint_when_the_profile_has_one() -> None:
    program = run_program("staging", {"secretsEndpoints": "true"})
    endpoints = {
        e["serviceName"].rsplit(".", 1)[-1]: e
        for e in program.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e["vpcEndpointType"] == "Interface"
    }
    assert set(endpoints) == {"secretsmanager", "ssm"}
    private = {s.id for s in subnets(program, "private")}
    for endpoint in endpoints.values():
        assert endpoint["privateDnsEnabled"] is True
        assert set(endpoint["subnetIds"]) == private
        assert [program.by_id(g).name for g in endpoint["securityGroupIds"]] == ["endpoints-sg"]
    found = rules(program)
    assert ("proxy-sg", "out", "tcp", 443, 443, "sg:endpoints-sg") in found
    assert ("proxy-sg", "out", "tcp", 443, 443, "cidr:0.0.0.0/0") not in found
    assert {
        ("endpoints-sg", "in", "tcp", 443, 443, "sg:function-sg"),
        ("endpoints-sg", "in", "tcp", 443, 443, "sg:proxy-sg"),
    } <= found


def test_private_subnets_and_security_groups_wait_for_lambda_to_release_its_enis_on_delete(program: Program) -> None:
    """Lambda keeps a VPC function's ENIs up to ~35 min after deletion; a shorter delete timeout fails destroy."""
    from infra.components.network import ENI_RELEASE_DELETE_TIMEOUT

    minutes = int(ENI_RELEASE_DELETE_TIMEOUT.rstrip("m"))
    assert minutes > 35
    held = subnets(program, "private") + program.of_type(SG)
    assert held
    for resource in held:
        assert resource.options.get("customTimeouts", {}).get("delete") == ENI_RELEASE_DELETE_TIMEOUT, resource.name


def test_groups_have_no_inline_rules_and_belong_to_the_vpc(program: Program) -> None:
    groups = program.of_type(SG)
    assert {g.name for g in groups} >= {"alb-sg", "function-sg", "database-sg"}
    for g in groups:
        assert g["vpcId"] == vpc(program).id
        assert not g.get("ingress") and not g.get("egress"), f"{g.name} has inline rules"


def test_no_ingress_from_anywhere_and_the_only_cidr_egress_is_https(program: Program) -> None:
    # Both loops must judge something: with the rules gone (or renamed types) they would pass empty.
    assert program.of_type(INGRESS) and program.of_type(EGRESS)
    for r in program.of_type(INGRESS):
        assert not r.get("cidrIpv4") and not r.get("cidrIpv6"), f"ingress rule {r.name} names a CIDR"
        assert r["ipProtocol"] != "-1", f"ingress rule {r.name} allows every protocol"
    for r in program.of_type(EGRESS):
        assert r["ipProtocol"] == "tcp", f"egress rule {r.name} allows {r['ipProtocol']}"
        if r.get("cidrIpv4") or r.get("cidrIpv6"):
            assert (int(r["fromPort"]), int(r["toPort"])) == (443, 443), f"{r.name}: CIDR egress beyond HTTPS"
            assert program.by_id(r["securityGroupId"]).name in {"function-sg", "proxy-sg", "nat-sg"}


def test_alb_group_fits_the_inbound_rule_quota(program: Program) -> None:
    """Each CloudFront prefix-list rule weighs 55 of the group's 60 inbound rules: one fits, two fail in AWS."""
    alb = group(program, "alb-sg")
    inbound = [r for r in program.of_type(INGRESS) if r["securityGroupId"] == alb.id]
    weight = sum(
        CLOUDFRONT_PREFIX_LIST_WEIGHT if r.get("prefixListId") == CLOUDFRONT_PREFIX_LIST else 1 for r in inbound
    )
    assert weight <= INBOUND_RULES_PER_GROUP


def test_alb_admits_cloudfront_on_https_when_a_certificate_is_configured() -> None:
    program = run_program(
        "dev",
        {
            "domainName": "shop.example.com",
            "certificateArn": f"arn:aws:acm:us-west-2:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000",
        },
    )
    alb = [r for r in rules(program) if r[0] == "alb-sg"]
    assert alb == [("alb-sg", "in", "tcp", 443, 443, "sg:CloudFront-VPCOrigins-Service-SG")]
    assert {int(listener["port"]) for listener in serving_listeners(program)} <= {443}


def serving_listeners(program: Program) -> list[Resource]:
    """ALB listeners that serve requests (not the HTTP-to-HTTPS redirect)."""
    return [
        listener
        for listener in program.of_type("aws:lb/listener:Listener")
        if all(a.get("type") != "redirect" for a in listener.get("defaultActions") or [])
    ]


def test_cloudfront_can_reach_the_listener_that_serves_requests(program: Program) -> None:
    """The ALB listener carrying the routing rules is the port the ALB group admits."""
    listeners = serving_listeners(program)
    if not listeners:
        pytest.skip("no load balancer in the program yet")
    alb = group(program, "alb-sg")
    admitted = {int(r["fromPort"]) for r in program.of_type(INGRESS) if r["securityGroupId"] == alb.id}
    assert {int(listener["port"]) for listener in listeners} <= admitted


def test_the_default_security_group_allows_nothing(program: Program) -> None:
    default = program.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default["vpcId"] == vpc(program).id
    assert not default.get("ingress") and not default.get("egress")


# --------------------------------------------------------------------------- flow logs


def policy(resource: Resource, key: str) -> dict[str, Any]:
    value = resource[key]
    return json.loads(value) if isinstance(value, str) else value


def test_flow_logs_capture_all_traffic_into_an_encrypted_group_kept_as_the_profile_says(program: Program) -> None:
    flow = program.one("aws:ec2/flowLog:FlowLog")
    assert flow["vpcId"] == vpc(program).id
    assert flow["trafficType"] == "ALL"
    assert flow["logDestinationType"] == "cloud-watch-logs"
    groups = [
        g for g in program.of_type("aws:cloudwatch/logGroup:LogGroup") if g.outputs["arn"] == flow["logDestination"]
    ]
    assert len(groups) == 1
    log_group = groups[0]
    assert log_group["retentionInDays"] == PROFILES[program.stack].log_retention_days
    assert log_group["kmsKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    assert program.outputs["flowLogGroupName"] == log_group["name"]


def test_flow_log_role_is_assumable_by_the_service_for_this_account_and_writes_only_its_group(program: Program) -> None:
    flow = program.one("aws:ec2/flowLog:FlowLog")
    role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == flow["iamRoleArn"])
    trust = policy(role, "assumeRolePolicy")["Statement"]
    assert len(trust) == 1
    assert trust[0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT

    log_group_arn = flow["logDestination"]
    inline = [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]
    attached = [p for p in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if p["role"] == role.id]
    assert len(inline) == 1 and not attached
    for statement in policy(inline[0], "policy")["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert set(resources) <= {log_group_arn, f"{log_group_arn}:*"}, resources
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a.startswith("logs:") and "*" not in a for a in actions), actions
        assert "logs:PutLogEvents" in actions


# --------------------------------------------------------------------------- exports


def test_network_exports_resolve_to_the_resources(program: Program) -> None:
    out = program.outputs
    assert out["vpcId"] == vpc(program).id
    for tier, key in (
        ("public", "publicSubnetIds"),
        ("private", "privateSubnetIds"),
        ("database", "databaseSubnetIds"),
    ):
        assert out[key] == [s.id for s in subnets(program, tier)], key
    for logical, key in (
        ("alb-sg", "albSecurityGroupId"),
        ("function-sg", "functionSecurityGroupId"),
        ("proxy-sg", "proxySecurityGroupId"),
        ("database-sg", "databaseSecurityGroupId"),
    ):
        if key == "proxySecurityGroupId" and not has_proxy(program.stack):
            assert key not in out
            continue
        assert program.by_id(out[key]).name == logical, key


def test_without_an_rds_proxy_the_functions_reach_aurora_directly_and_no_proxy_group_exists() -> None:
    """The database profile may drop the proxy (dev, scale to zero): no proxy group, no proxy rules."""
    program = run_program("staging", {"rdsProxy": "false"})
    found = rules(program)
    assert found >= DIRECT_DATABASE_RULES
    assert not any("proxy-sg" in rule[0] or rule[-1] == "sg:proxy-sg" for rule in found)
    assert "proxy-sg" not in {g.name for g in program.of_type(SG)}
    assert program.outputs.get("proxySecurityGroupId") is None
