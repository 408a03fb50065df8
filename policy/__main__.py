"""The ecommerce platform's policy pack: ``pulumi preview --policy-pack policy``.

The rules live in :mod:`policy.rules` as plain functions (unit-tested offline in
tests/policy/); this module only adapts the policy SDK's arguments to them and
registers every rule as mandatory.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The pack runs from policy/; the repository root holds the `policy` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.tagging import is_taggable
from policy.rules import ResourceRule, Rule, StackRule, Subject, rules


def plain(value: Any) -> Any:
    """Unwrap the SDK's unknown-checking proxies, keeping unknown sentinels as values."""
    if isinstance(value, Mapping):
        try:
            target = value["__target"]
        except KeyError:
            target = value
        return {k: plain(v) for k, v in target.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        try:
            items = value["__target"]  # type: ignore[call-overload]
        except (KeyError, TypeError, IndexError):
            items = list(value)
        return [plain(v) for v in items]
    return value


def _region(props: Mapping[str, Any], provider_props: Mapping[str, Any] | None) -> str | None:
    region = props.get("region") or (provider_props or {}).get("region")
    return region if isinstance(region, str) else None


def subject_of_args(args: ResourceValidationArgs) -> Subject:
    props = plain(args.props)
    provider = plain(args.provider.props) if args.provider else None
    return Subject(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=props,
        protect=bool(args.opts.protect),
        region=_region(props, provider),
    )


def subject_of_resource(resource: PolicyResource) -> Subject:
    props = plain(resource.props)
    provider = plain(resource.provider.props) if resource.provider else None
    deps = {d.urn for d in resource.dependencies}
    for prop_deps in resource.property_dependencies.values():
        deps.update(d.urn for d in prop_deps)
    return Subject(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=props,
        protect=bool(resource.opts.protect),
        region=_region(props, provider),
        dependencies=tuple(sorted(deps)),
    )


def resource_policy(rule: Rule, check: ResourceRule) -> Policy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in check(subject_of_args(args)):
            report(message, None)

    return ResourceValidationPolicy(rule.name, rule.description, validate, EnforcementLevel.MANDATORY)


def stack_policy(rule: Rule, check: StackRule) -> Policy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for violation in check([subject_of_resource(r) for r in args.resources]):
            report(violation.message, violation.urn)

    return StackValidationPolicy(rule.name, rule.description, validate, EnforcementLevel.MANDATORY)


def policies() -> list[Policy]:
    built: list[Policy] = []
    for rule in rules(is_taggable):
        if rule.resource is not None:
            built.append(resource_policy(rule, rule.resource))
        if rule.stack is not None:
            built.append(stack_policy(rule, rule.stack))
    return built


if __name__ == "__main__":
    PolicyPack("ecommerce-guardrails", policies(), EnforcementLevel.MANDATORY)
