"""Replacement of resources with fixed physical names, decided once for the whole stack.

Pulumi replaces a resource by creating the new one first and deleting the old one after. A
resource whose physical name we set (``ecommerce-<x>-<suffix>``) cannot be created twice: the
new one fails with "already exists" (or, for put-style APIs such as alarms and scaling policies,
overwrites the old one, which the delete that follows then removes). One stack transform, next to
tagging's, decides per type:

- ``prefix``: the name becomes a ``namePrefix`` and AWS appends a unique suffix, so the new
  resource can exist next to the old one. For types that others keep *in use* (a security group
  held by Lambda ENIs, a target group a listener forwards to): deleting them first would fail.
- ``unique names not required`` (:data:`NAMES_NEED_NOT_BE_UNIQUE`): AWS accepts a second
  resource of the same name, so the default order works.
- everything else that sets its physical name gets ``delete_before_replace``: the old resource
  goes first, then the new one takes its name. Data-holding resources in prod are also
  ``protect``-ed, so a replacement of those stops at preview instead of deleting data.

A new component needs no edit here: any resource whose own name property (``name`` unless
:data:`NAME_PROPERTIES` says otherwise) is set is covered.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi

# The property that carries a type's own physical name, where it is not ``name``.
NAME_PROPERTIES: dict[str, str] = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/clusterInstance:ClusterInstance": "identifier",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/proxyEndpoint:ProxyEndpoint": "dbProxyEndpointName",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:apigateway/stage:Stage": "stageName",
    # The SES identity is its address: one per account and region.
    "aws:sesv2/emailIdentity:EmailIdentity": "emailIdentity",
}

# Types that keep a unique name by prefix: the maximum prefix length the provider accepts.
PREFIXED: dict[str, int] = {
    # Security group names are unique per VPC; Lambda's ENIs hold a group for minutes after
    # the function moves on, so the old group must outlive the new one. Prefix: up to 100.
    "aws:ec2/securityGroup:SecurityGroup": 100,
    # Target group names are unique per region and account, and a listener forwarding to the
    # old group blocks deleting it first. The provider takes a prefix of at most 6 characters.
    "aws:lb/targetGroup:TargetGroup": 6,
    # A deleted secret's name stays taken for its recovery window (7 to 30 days), so deleting
    # first does not free it. The name may be 512 characters; AWS appends 26 to a prefix.
    "aws:secretsmanager/secret:Secret": 486,
}

# Types whose names AWS does not require to be unique: create-before-delete works as is.
NAMES_NEED_NOT_BE_UNIQUE: dict[str, str] = {
    "aws:apigateway/restApi:RestApi": "REST API names need not be unique in a region",
    "aws:apigateway/apiKey:ApiKey": "API key names need not be unique (the key value is)",
    "aws:apigateway/usagePlan:UsagePlan": "usage plan names need not be unique",
    "aws:apigateway/requestValidator:RequestValidator": "validators are found by id, not by name",
}


def name_property(type_token: str) -> str:
    """The input that carries this type's own physical name."""
    return NAME_PROPERTIES.get(type_token, "name")


def fixed_name(type_token: str, props: Mapping[str, Any]) -> Any:
    """The physical name the program set for the resource, or None when AWS or Pulumi picks it."""
    value = props.get(name_property(type_token))
    return value if value not in (None, "") else None


def prefix_for(type_token: str, name: str) -> str:
    """The ``namePrefix`` standing in for a fixed ``name`` (within the provider's length limit)."""
    limit = PREFIXED[type_token]
    if len(name) + 1 <= limit:
        return name + "-"
    # Too long for the limit (target groups: 6): the first letters of the resource part.
    resource = name.split("-")[1] if name.count("-") >= 2 else name
    return resource[: limit - 1].rstrip("-") + "-"


def replacement_strategy(type_token: str, props: Mapping[str, Any]) -> str | None:
    """``prefix``, ``delete_before_replace``, or None (nothing needed) for a resource."""
    if not type_token.startswith("aws:") or fixed_name(type_token, props) is None:
        return None
    if type_token in NAMES_NEED_NOT_BE_UNIQUE:
        return None
    if type_token in PREFIXED:
        return "prefix"
    return "delete_before_replace"


def replaceable(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """The stack transform: make every fixed-name resource replaceable."""
    if not args.custom:
        return None
    strategy = replacement_strategy(args.type_, args.props)
    if strategy is None:
        return None
    if strategy == "prefix":
        prop = name_property(args.type_)
        props = {k: v for k, v in args.props.items() if k != prop}
        name = args.props[prop]
        props["namePrefix"] = prefix_for(args.type_, name) if isinstance(name, str) else name
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)
    if args.opts.delete_before_replace is not None:  # a component decided for itself
        return None
    opts = copy.copy(args.opts)
    opts.delete_before_replace = True
    return pulumi.ResourceTransformResult(props=args.props, opts=opts)


def register_replacement_transform() -> None:
    """Register after the tagging transform, so Name tags keep the readable fixed name."""
    pulumi.runtime.register_resource_transform(replaceable)
