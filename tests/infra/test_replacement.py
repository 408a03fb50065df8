"""Every resource with a fixed physical name can be replaced (issue 10, item 10).

"Has a fixed physical name" is read from the inputs the program set, not from a list of our
types, so resources other components add later are covered without an edit here.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra import replacement
from tests.infra.harness import Program, Resource

# Inputs that carry a physical name in pulumi-aws (a resource's own, or one it refers to).
NAME_INPUTS = (
    "name",
    "bucket",
    "functionName",
    "roleName",
    "clusterIdentifier",
    "identifier",
    "dbProxyEndpointName",
    "dashboardName",
    "stageName",
    "tableName",
    "topicName",
    "alarmName",
    "repositoryName",
    "vaultName",
    "groupName",
    "policyName",
    "userPoolName",
    "keyName",
)


def _names_of(resource: Resource) -> set[Any]:
    values = {resource.inputs.get(k) for k in NAME_INPUTS} | {resource.outputs.get(k) for k in NAME_INPUTS}
    return {v for v in values | {resource.id} if isinstance(v, str) and v}


def fixed_names(program: Program, resource: Resource) -> dict[str, str]:
    """The name inputs that are this resource's own: ``name`` always; any other name input unless
    its value names a resource this one depends on (a bucket policy's ``bucket``)."""
    referenced: set[Any] = set()
    for urn in resource.dependencies:
        try:
            referenced |= _names_of(program.by_urn(urn))
        except KeyError:
            continue
    own = {}
    for key in NAME_INPUTS:
        value = resource.inputs.get(key)
        if isinstance(value, str) and value and (key == "name" or value not in referenced):
            own[key] = value
    return own


def test_every_resource_with_a_fixed_physical_name_can_be_replaced(program: Program) -> None:
    judged = 0
    for resource in program:
        if not resource.custom or not resource.type.startswith("aws:") or resource.type.startswith("pulumi:"):
            continue
        own = fixed_names(program, resource)
        if not own:
            continue
        judged += 1
        what = f"{resource.type} {resource.name} (fixed {own})"
        assert set(own) <= {replacement.name_property(resource.type)}, (
            f"{what}: its own name is in an input infra/replacement.py's NAME_PROPERTIES does not name"
        )
        if resource.type in replacement.NAMES_NEED_NOT_BE_UNIQUE:
            continue
        assert resource.options["deleteBeforeReplace"], f"{what}: replacement would fail with 'already exists'"
    assert judged >= 30, "the program declares fixed-name resources"


def test_groups_others_keep_in_use_get_a_prefix_not_a_name(program: Program) -> None:
    judged = 0
    for type_token, limit in replacement.PREFIXED.items():
        for resource in program.of_type(type_token):
            judged += 1
            assert "name" not in resource.inputs, resource.name
            prefix = resource.inputs["namePrefix"]
            assert prefix.endswith("-") and 2 <= len(prefix) <= limit, prefix
            assert not resource.options["deleteBeforeReplace"], resource.name
            # The Name tag keeps the readable physical name.
            assert resource.inputs["tags"]["Name"].startswith(f"ecommerce-{resource.name}")
    assert judged >= 5, "security groups and the target group are judged"


def _transform(type_token: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> Any:
    return replacement.replaceable(
        pulumi.ResourceTransformArgs(
            custom=True, type_=type_token, name="x", props=props, opts=opts or pulumi.ResourceOptions()
        )
    )


@pytest.mark.parametrize(
    ("type_token", "props", "expected"),
    [
        # A type nobody has used yet: covered because it sets ``name``.
        ("aws:wafv2/webAcl:WebAcl", {"name": "ecommerce-waf-dev"}, "delete_before_replace"),
        ("aws:s3/bucket:Bucket", {"bucket": "ecommerce-x-dev"}, "delete_before_replace"),
        ("aws:s3/bucket:Bucket", {}, None),  # autonamed
        ("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "ecommerce-x-dev"}, None),  # a reference
        ("aws:apigateway/restApi:RestApi", {"name": "ecommerce-api-dev"}, None),
        ("aws:ec2/securityGroup:SecurityGroup", {"name": "ecommerce-sg-dev"}, "prefix"),
        ("aws:secretsmanager/secret:Secret", {"name": "ecommerce-stripe-dev"}, "prefix"),
        ("aws:ssm/parameter:Parameter", {"name": "ecommerce-order-token-secret-dev"}, "delete_before_replace"),
    ],
)
def test_the_strategy_follows_the_inputs(type_token: str, props: dict[str, Any], expected: str | None) -> None:
    assert replacement.replacement_strategy(type_token, props) == expected
    result = _transform(type_token, props)
    if expected == "delete_before_replace":
        assert result.opts.delete_before_replace is True
    elif expected == "prefix":
        assert "name" not in result.props and result.props["namePrefix"] == props["name"] + "-"
    else:
        assert result is None


def test_a_component_that_decided_itself_is_left_alone() -> None:
    assert _transform("aws:sns/topic:Topic", {"name": "t"}, pulumi.ResourceOptions(delete_before_replace=False)) is None


def test_target_group_prefixes_fit_the_providers_six_characters() -> None:
    assert replacement.prefix_for("aws:lb/targetGroup:TargetGroup", "ecommerce-api-pr-12345") == "api-"
    assert replacement.prefix_for("aws:lb/targetGroup:TargetGroup", "ecommerce-storefront-dev") == "store-"
