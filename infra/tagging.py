"""Tags, applied once for the whole stack by one resource transform.

Every AWS resource type whose constructor accepts ``tags`` gets the common
tags (Environment, Project, ManagedBy, CostCenter, Owner) and a ``Name``.
Components never repeat tags by hand: they may pass resource-specific tags,
which win over the defaults.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

import pulumi

from infra.settings import Settings

# Type-token module names that are not valid Python module names.
_MODULE_RENAMES = {"index": "", "lambda": "lambda_"}

# Properties that carry a resource's physical name, by preference.
_NAME_PROPS = ("name", "bucket", "clusterIdentifier", "identifier", "functionName", "aliasName")


@functools.cache
def resource_class(type_token: str) -> type | None:
    """The pulumi_aws class for a type token such as ``aws:ec2/vpc:Vpc``."""
    try:
        package, module, class_name = type_token.split(":")
    except ValueError:
        return None
    if package != "aws":
        return None
    top = module.split("/")[0]
    top = _MODULE_RENAMES.get(top, top)
    try:
        py_module = importlib.import_module("pulumi_aws" + (f".{top}" if top else ""))
    except ImportError:
        return None
    cls = getattr(py_module, class_name, None)
    return cls if isinstance(cls, type) else None


@functools.cache
def is_taggable(type_token: str) -> bool:
    """Whether the AWS resource type takes a ``tags`` map."""
    cls = resource_class(type_token)
    if cls is None or not hasattr(cls, "_internal_init"):
        return False
    return "tags" in inspect.signature(cls._internal_init).parameters


def name_tag(settings: Settings, logical_name: str, props: Mapping[str, Any]) -> str:
    for prop in _NAME_PROPS:
        value = props.get(prop)
        if isinstance(value, str) and value:
            # Path-like names AWS prescribes (/aws/lambda/<function>): the last segment.
            return value.rstrip("/").rsplit("/", 1)[-1] or value
    return settings.name(logical_name)


def register_default_tags(settings: Settings) -> None:
    """Register the stack-wide transform that tags every taggable resource."""
    common = settings.common_tags

    def add_tags(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not is_taggable(args.type_):
            return None
        defaults = {"Name": name_tag(settings, args.name, args.props), **common}
        existing = args.props.get("tags")
        tags: Any
        if existing is None or isinstance(existing, Mapping):
            tags = {**defaults, **(existing or {})}
        else:  # an Output: merge once it resolves
            tags = pulumi.Output.from_input(existing).apply(lambda t: {**defaults, **(t or {})})
        return pulumi.ResourceTransformResult(props={**args.props, "tags": tags}, opts=args.opts)

    pulumi.runtime.register_resource_transform(add_tags)
