"""Run the real Pulumi program in infra/ under Pulumi's unit-test mocks.

``run_program("prod")`` reads ``Pulumi.prod.yaml``, runs ``infra/__main__.py``
exactly as ``pulumi up`` would (minus the engine), and returns a
:class:`Program`: every registered resource with its type token, logical name,
inputs (after the stack's transforms, as the engine would apply them), parent,
provider and dependencies, plus the stack outputs.

The mocks answer the lookups the program makes (availability zones, caller
identity, region, partition, IAM policy documents, managed policies and prefix
lists) with realistic values, and give resources the computed attributes a
real provider would (ARNs, endpoints, DNS names). An invoke nobody taught the
mocks fails loudly, so a new lookup cannot silently return nothing.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.stack_config import read_stack_config
from tests.infra.pulumi_internals import (
    MockCallArgs,
    MockMonitor,
    MockResourceArgs,
    Mocks,
    deserialize,
    registered_state,
    reset_runtime,
    run_program_in_stack,
    serialize,
    sync_await,
    unwrap_secret,
)

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "__main__.py"
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
STACKS = ("dev", "staging", "prod")
ACCOUNT = "123456789012"
STOREFRONT_CREDENTIAL_KEY = f"{PROJECT}:storefrontCredential"
TEST_STOREFRONT_CREDENTIAL = "tester:correct-horse-battery-staple"
ALARM_EMAIL_KEY = f"{PROJECT}:alarmEmail"
# Not a reserved example domain (prod refuses those); tests never send mail.
TEST_ALARM_EMAIL = "oncall@alerts.shop-operations.net"
# Every stack needs the two Stripe secrets (`pulumi config set --secret ...`); tests use dummies.
TEST_STRIPE_SECRETS = {
    f"{PROJECT}:stripeSecretKey": "sk_test_harnessdummykey0000",
    f"{PROJECT}:stripeWebhookSecret": "whsec_harnessdummysecret0000",
}
# ... and the (plain) publishable key of the same Stripe account and mode.
STRIPE_PUBLISHABLE_KEY_KEY = f"{PROJECT}:stripePublishableKey"
TEST_STRIPE_PUBLISHABLE_KEY = "pk_test_harnessdummykey0000"

_lock = threading.Lock()


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    provider: str | None
    custom: bool
    dependencies: list[str] = field(default_factory=list)
    id: str | None = None
    # Resource options the engine acts on: protect, retainOnDelete, ignoreChanges, ...
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str | None:
        """The URN part of a provider reference (``urn::id``)."""
        return self.provider.split("::" + self.provider.rsplit("::", 1)[-1])[0] if self.provider else None

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


@dataclass
class Program:
    stack: str
    config: dict[str, Any]
    resources: list[Resource]
    outputs: dict[str, Any]

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def by_id(self, resource_id: str) -> Resource:
        for r in self.resources:
            if r.id == resource_id:
                return r
        raise KeyError(resource_id)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def provider_of(self, resource: Resource) -> Resource | None:
        """The explicit provider resource a resource was created with, if any."""
        if not resource.provider:
            return None
        urn = resource.provider.rsplit("::", 1)[0]
        return self.by_urn(urn)


# --------------------------------------------------------------------------- mocks


def _policy_document(args: dict[str, Any]) -> dict[str, Any]:
    """Render aws.iam.get_policy_document arguments the way the provider does."""

    def listify(v: Any) -> Any:
        if isinstance(v, list) and len(v) == 1:
            return v[0]
        return v

    statements = []
    for s in args.get("statements") or []:
        out: dict[str, Any] = {}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        out["Effect"] = s.get("effect", "Allow")
        for key, name in (("actions", "Action"), ("notActions", "NotAction")):
            if s.get(key):
                out[name] = listify(sorted(s[key]))
        for key, name in (("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                out[name] = listify(sorted(s[key]))
        if s.get("principals"):
            principals: dict[str, Any] = {}
            for p in s["principals"]:
                principals[p["type"]] = listify(sorted(p["identifiers"]))
            out["Principal"] = principals
        if s.get("conditions"):
            conditions: dict[str, dict[str, Any]] = {}
            for c in s["conditions"]:
                conditions.setdefault(c["test"], {})[c["variable"]] = listify(c["values"])
            out["Condition"] = conditions
        statements.append(out)
    doc = {"Version": args.get("version", "2012-10-17"), "Statement": statements}
    return {"json": json.dumps(doc, indent=2), "minifiedJson": json.dumps(doc, separators=(",", ":")), "id": "policy"}


def _service_of(type_token: str) -> str:
    module = type_token.split(":")[1].split("/")[0]
    return {
        "lb": "elasticloadbalancing",
        "alb": "elasticloadbalancing",
        "cloudwatch": "logs",
        "apigateway": "apigateway",
        "lambda": "lambda",
        "ec2": "ec2",
    }.get(module, module)


class PlatformMocks(Mocks):
    """Resource and invoke mocks with realistic AWS values."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.transforms: list[Callable[..., Any]] = []
        self._counter = 0
        # Explicit aws providers' ids → their region (e.g. us-east-1 for Lambda@Edge).
        self.provider_regions: dict[str, str] = {}

    # The monitor applies stack transforms itself (see RecordingMonitor).
    def register_transform(self, transform: Any) -> None:
        self.transforms.append(transform)

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        token, a = args.token, args.args
        # Region of the explicit provider, when one is used for the call.
        region = self.region
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{z}" for z in "abcd"]
            return {
                "names": names,
                "zoneIds": [f"usw2-az{i}" for i in range(1, 5)],
                "id": region,
                "state": "available",
                "groupNames": [region],
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }
        if token == "aws:index/getRegion:getRegion":
            name = a.get("region") or a.get("name") or region
            return {
                "name": name,
                "region": name,
                "id": name,
                "endpoint": f"ec2.{name}.amazonaws.com",
                "description": name,
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
            }
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return _policy_document(a)
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            name = a.get("name", "")
            return {
                "id": "pl-82a045eb" if "cloudfront" in name else "pl-00000001",
                "name": name,
                "arn": f"arn:aws:ec2:{region}:aws:prefix-list/pl-82a045eb",
                "addressFamily": "IPv4",
                "maxEntries": 55,
                "entries": [],
            }
        if token in (
            "aws:cloudfront/getCachePolicy:getCachePolicy",
            "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy",
            "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy",
        ):
            name = a.get("name", "policy")
            return {"id": f"managed-{name}", "name": name}
        if token == "aws:iam/getPolicy:getPolicy":
            name = a.get("name") or str(a.get("arn", "")).rsplit("/", 1)[-1]
            return {"arn": f"arn:aws:iam::aws:policy/{name}", "name": name, "id": name}
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            # The regional Elastic Load Balancing account that writes access logs (pre-August-2022 regions).
            elb_account = {"us-east-1": "127311923021", "us-west-2": "797873946194"}.get(region, "000000000000")
            return {"arn": f"arn:aws:iam::{elb_account}:root", "id": elb_account, "region": region}
        if token == "aws:ssm/getParameter:getParameter":
            # AWS's public parameters, e.g. the latest Amazon Linux 2023 AMI.
            pname = a.get("name", "")
            value = "ami-0a1b2c3d4e5f60718" if "/ami-" in pname else "value"
            return {"name": pname, "value": value, "insecureValue": value, "type": "String", "id": pname}
        if token == "aws:ec2/getSecurityGroup:getSecurityGroup":
            # A group AWS creates for the stack (CloudFront's VPC-origin group), found by name.
            filters = {f["name"]: f["values"] for f in a.get("filters") or []}
            gname = a.get("name") or (filters.get("group-name") or ["group"])[0]
            vpc_id = a.get("vpcId") or (filters.get("vpc-id") or [""])[0]
            return {"id": "sg-0cf0v0c0r1g1n5000", "name": gname, "vpcId": vpc_id, "arn": "", "description": ""}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "QVdTOnRva2Vu",
                "userName": "AWS",
                "password": "token",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": region,
            }
        raise NotImplementedError(
            f"the infra test mocks do not answer the invoke {token}; add it to tests/infra/harness.py"
        )

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        n = self._next()
        # A resource created through an explicit provider lives in that provider's region.
        region = self.provider_regions.get((args.provider or "").rsplit("::", 1)[-1], self.region)
        resource_id = f"{name}-{n:04d}"
        state: dict[str, Any] = dict(inputs)
        physical = inputs.get("name") or inputs.get("bucket") or name
        service = _service_of(t)
        state.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT}:{t.split(':')[-1].lower()}/{physical}")

        if t == "aws:ec2/vpc:Vpc":
            resource_id = f"vpc-{n:08x}"
            state.update(defaultSecurityGroupId=f"sg-default{n:04x}", mainRouteTableId=f"rtb-main{n:04x}")
        elif t == "aws:ec2/subnet:Subnet":
            resource_id = f"subnet-{n:08x}"
        elif t == "aws:ec2/securityGroup:SecurityGroup":
            resource_id = f"sg-{n:08x}"
        elif t == "aws:ec2/routeTable:RouteTable":
            resource_id = f"rtb-{n:08x}"
        elif t == "aws:ec2/natGateway:NatGateway":
            resource_id = f"nat-{n:08x}"
        elif t == "aws:ec2/instance:Instance":
            resource_id = f"i-{n:017x}"
            state.update(
                primaryNetworkInterfaceId=f"eni-{n:017x}",
                publicIp=f"198.51.100.{n % 250}" if inputs.get("associatePublicIpAddress") else "",
                privateIp=f"10.0.48.{n % 250}",
                arn=f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{resource_id}",
            )
        elif t == "aws:cloudfront/vpcOrigin:VpcOrigin":
            resource_id = f"vo_{n:022x}"
            state.update(arn=f"arn:aws:cloudfront::{ACCOUNT}:vpcorigin/{resource_id}")
        elif t == "aws:wafv2/webAcl:WebAcl":
            resource_id = f"{n:08x}-0000-4000-8000-000000000000"
            state.update(arn=f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/{physical}/{resource_id}")
        elif t == "aws:ec2/internetGateway:InternetGateway":
            resource_id = f"igw-{n:08x}"
        elif t == "aws:ec2/eip:Eip":
            resource_id = f"eipalloc-{n:08x}"
            state.update(publicIp=f"203.0.113.{n % 250}", allocationId=resource_id)
        elif t == "aws:ec2/vpcEndpoint:VpcEndpoint":
            resource_id = f"vpce-{n:08x}"
            if inputs.get("vpcEndpointType") == "Gateway":
                # Gateway endpoints expose their service's regional prefix list.
                state.update(prefixListId=f"pl-gw{n:06x}")
        elif t == "aws:kms/key:Key":
            resource_id = f"{n:08x}-0000-4000-8000-000000000000"
            state.update(keyId=resource_id, arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{resource_id}")
        elif t == "aws:rds/cluster:Cluster":
            ident = inputs.get("clusterIdentifier", name)
            state.update(
                endpoint=f"{ident}.cluster-abc123.{region}.rds.amazonaws.com",
                readerEndpoint=f"{ident}.cluster-ro-abc123.{region}.rds.amazonaws.com",
                clusterResourceId=f"cluster-{n:026X}",
                port=5432,
                arn=f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{ident}",
                masterUserSecrets=[
                    {
                        "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!cluster-{n}-AbCdEf",
                        "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                        "secretStatus": "active",
                    }
                ],
            )
            resource_id = ident
        elif t == "aws:rds/clusterInstance:ClusterInstance":
            ident = inputs.get("identifier", name)
            state.update(
                endpoint=f"{ident}.abc123.{region}.rds.amazonaws.com",
                arn=f"arn:aws:rds:{region}:{ACCOUNT}:db:{ident}",
            )
            resource_id = ident
        elif t == "aws:rds/proxy:Proxy":
            state.update(
                endpoint=f"{physical}.proxy-abc123.{region}.rds.amazonaws.com",
                arn=f"arn:aws:rds:{region}:{ACCOUNT}:db-proxy:prx-{n:017x}",
            )
        elif t == "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":
            # A proxy's default target group is always called "default".
            state.update(name="default", arn=f"arn:aws:rds:{region}:{ACCOUNT}:target-group:prx-tg-{n:017x}")
        elif t == "aws:rds/proxyEndpoint:ProxyEndpoint":
            ident = inputs.get("dbProxyEndpointName", name)
            state.update(
                endpoint=f"{ident}.endpoint.proxy-abc123.{region}.rds.amazonaws.com",
                arn=f"arn:aws:rds:{region}:{ACCOUNT}:db-proxy-endpoint:prx-endpoint-{n:017x}",
            )
        elif t == "aws:dynamodb/table:Table":
            state.update(
                arn=f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{physical}",
                streamArn=f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{physical}/stream/2026-01-01T00:00:00.000",
            )
            resource_id = physical
        elif t == "aws:s3/bucket:Bucket" or t == "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or f"{name}-{n:08x}"
            state.update(
                bucket=bucket,
                arn=f"arn:aws:s3:::{bucket}",
                bucketDomainName=f"{bucket}.s3.amazonaws.com",
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
                region=region,
            )
            resource_id = bucket
        elif t == "aws:ecr/repository:Repository":
            state.update(
                repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{physical}",
                registryId=ACCOUNT,
                arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{physical}",
            )
        elif t.startswith("docker-build:index:Image"):
            digest = f"sha256:{n:064x}"
            tags = inputs.get("tags") or []
            state.update(digest=digest, ref=(f"{tags[0].split(':')[0]}@{digest}" if tags else f"image@{digest}"))
        elif t == "aws:lambda/function:Function":
            fn = inputs.get("name", name)
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{fn}"
            state.update(
                arn=arn,
                qualifiedArn=f"{arn}:1",
                version="1",
                invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                qualifiedInvokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}:1/invocations",
            )
            resource_id = fn
        elif t == "aws:iam/role:Role":
            role = inputs.get("name", name)
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{role}", uniqueId=f"AROA{n:016X}")
            resource_id = role
        elif t == "aws:iam/policy:Policy":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:policy/{physical}")
        elif t == "aws:cloudwatch/logGroup:LogGroup":
            group = inputs.get("name", name)
            state.update(arn=f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}")
            resource_id = group
        elif t in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
            state.update(
                arn=f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{physical}/{n:016x}",
                arnSuffix=f"app/{physical}/{n:016x}",
                dnsName=f"{physical}-{n}.{region}.elb.amazonaws.com",
                zoneId="Z1H1FL5HABSF5",
            )
        elif t in ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"):
            state.update(
                arn=f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{physical}/{n:016x}",
                arnSuffix=f"targetgroup/{physical}/{n:016x}",
            )
        elif t == "aws:cloudfront/distribution:Distribution":
            resource_id = f"E{n:013X}"
            state.update(
                domainName=f"d{n:012x}.cloudfront.net",
                hostedZoneId="Z2FDTNDATAQYW2",
                arn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{resource_id}",
            )
        elif t == "aws:cloudfront/originAccessControl:OriginAccessControl":
            resource_id = f"E{n:013X}"
        elif t == "aws:apigateway/restApi:RestApi":
            resource_id = f"{n:010x}"
            state.update(
                rootResourceId=f"root{n:06x}",
                executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{resource_id}",
                arn=f"arn:aws:apigateway:{region}::/restapis/{resource_id}",
            )
        elif t == "aws:apigateway/stage:Stage":
            stage = inputs.get("stageName", name)
            rest = inputs.get("restApi", "api")
            state.update(
                invokeUrl=f"https://{rest}.execute-api.{region}.amazonaws.com/{stage}",
                executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{rest}/{stage}",
                arn=f"arn:aws:apigateway:{region}::/restapis/{rest}/stages/{stage}",
            )
        elif t == "aws:apigateway/apiKey:ApiKey":
            state.update(value=f"key-{n:032x}")
        elif t == "aws:sns/topic:Topic":
            state.update(arn=f"arn:aws:sns:{region}:{ACCOUNT}:{physical}")
        elif t == "aws:secretsmanager/secret:Secret":
            state.update(arn=f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{physical}-AbCdEf")
        elif t == "aws:backup/vault:Vault":
            state.update(arn=f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{physical}")
        elif t == "random:index/randomId:RandomId":
            state.update(hex=f"{n:08x}"[-2 * int(inputs.get("byteLength", 4)) :], b64Url=f"r{n:07x}")
        elif t == "aws:index/provider:Provider" or t.startswith("pulumi:providers:"):
            resource_id = f"provider-{n}"
            if inputs.get("region"):
                self.provider_regions[resource_id] = str(inputs["region"])
        return resource_id, state


class RecordingMonitor(MockMonitor):
    """A MockMonitor that records every registration, as the engine sees it.

    The mock monitor does not run stack transforms; the real engine does, so
    we apply them here before the resource is "created". Inputs are recorded
    after transforms.
    """

    def __init__(self, mocks: PlatformMocks) -> None:
        super().__init__(mocks)
        self.platform_mocks = mocks
        self.records: list[Resource] = []
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type != "pulumi:pulumi:Stack" and self.platform_mocks.transforms:
            inputs = deserialize(request.object)
            # The options a transform sees and may change (the engine applies what it returns).
            opts = pulumi.ResourceOptions(
                delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None
            )
            for transform in self.platform_mocks.transforms:
                result = transform(
                    pulumi.ResourceTransformArgs(
                        custom=request.custom,
                        type_=request.type,
                        name=request.name,
                        props=inputs,
                        opts=opts,
                    )
                )
                if asyncio.iscoroutine(result):
                    result = sync_await(result)
                if result is not None:
                    inputs = dict(result.props)
                    opts = result.opts or opts
            if opts.delete_before_replace is not None:
                request.deleteBeforeReplace = bool(opts.delete_before_replace)
                request.deleteBeforeReplaceDefined = True
            serialized = serialize(inputs)
            request.object.Clear()
            request.object.MergeFrom(serialized)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            state = registered_state(self, response.urn)
            self.records.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=_plain(deserialize(request.object)),
                    outputs=_plain(state),
                    parent=request.parent or None,
                    provider=request.provider or None,
                    custom=request.custom,
                    dependencies=list(request.dependencies),
                    id=response.id or None,
                    options={
                        "protect": bool(request.protect),
                        "retainOnDelete": bool(request.retainOnDelete),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                        "ignoreChanges": list(request.ignoreChanges),
                        "replaceOnChanges": list(request.replaceOnChanges),
                        # Engine-side timeouts ("45m"), only the ones set.
                        "customTimeouts": {
                            k: v
                            for k in ("create", "update", "delete")
                            if (v := getattr(request.customTimeouts, k, ""))
                        },
                        # The old parent URNs a resource answers to (Alias(parent=...)).
                        "aliasParents": [a.spec.parentUrn for a in request.aliases if a.spec.parentUrn],
                    },
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = _plain(deserialize(request.outputs))
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """Unwrap secrets and resource references into plain Python values."""
    if isinstance(value, dict):
        secret, inner = unwrap_secret(value)
        if secret:
            return _plain(inner)
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return getattr(value, "_name", repr(value))
    return value


# --------------------------------------------------------------------------- running


def stack_config(stack: str) -> tuple[dict[str, Any], set[str]]:
    """The stack's config as Pulumi passes it to the program (namespaced keys),
    and the keys that are secrets (their ciphertext replaced by a test value)."""
    values, secrets = read_stack_config(stack, lambda full: f"test-secret-for-{full}", ROOT)
    # Outside prod the storefront credential is a secret each operator sets with
    # `pulumi config set --secret storefrontCredential`; tests use a known value.
    if values.get(f"{PROJECT}:environment") != "prod" and STOREFRONT_CREDENTIAL_KEY not in values:
        values[STOREFRONT_CREDENTIAL_KEY] = TEST_STOREFRONT_CREDENTIAL
        secrets.add(STOREFRONT_CREDENTIAL_KEY)
    # Prod requires a real alarm address, which the operator sets (README: Operations); tests use one.
    if values.get(f"{PROJECT}:environment") == "prod" and ALARM_EMAIL_KEY not in values:
        values[ALARM_EMAIL_KEY] = TEST_ALARM_EMAIL
    for key, value in TEST_STRIPE_SECRETS.items():
        if key not in values:
            values[key] = value
            secrets.add(key)
    values.setdefault(STRIPE_PUBLISHABLE_KEY_KEY, TEST_STRIPE_PUBLISHABLE_KEY)
    return values, secrets


def run_program(
    stack: str, overrides: dict[str, Any] | None = None, main: Path = PROGRAM, preview: bool = False
) -> Program:
    """Run infra/__main__.py (or another program file, ``main``) for ``stack`` under mocks, as
    ``pulumi up`` (or as ``pulumi preview`` with ``preview=True``); raise what the program raises."""
    config, secrets = stack_config(stack)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    region = str(config.get("aws:region", "us-west-2"))
    serialized = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}

    with _lock:
        mocks = PlatformMocks(region)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        # A program that failed leaves its unfinished outputs behind; they must
        # not fail the next run (pulumi's own @pulumi.runtime.test clears them too),
        # and run_in_stack creates the root stack, as `pulumi up` does.
        reset_runtime()
        pulumi.runtime.set_all_config(serialized, sorted(secrets & serialized.keys()))

        def program() -> None:
            runpy.run_path(str(main), run_name="__main__")

        run_program_in_stack(program)
        return Program(stack=stack, config=config, resources=list(monitor.records), outputs=dict(monitor.stack_outputs))
