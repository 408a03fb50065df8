"""Naming (ecommerce-<resource>-<suffix>) and the tags every taggable resource carries."""

from __future__ import annotations

import re

from infra.tagging import is_taggable
from tests.infra.harness import Program

REQUIRED_TAGS = {"Name", "Environment", "Project", "ManagedBy", "CostCenter", "Owner"}


def test_taggability_is_read_from_the_provider_schema() -> None:
    for token in ("aws:ec2/vpc:Vpc", "aws:s3/bucket:Bucket", "aws:lambda/function:Function", "aws:kms/key:Key"):
        assert is_taggable(token), token
    for token in ("aws:kms/alias:Alias", "aws:s3/bucketPolicy:BucketPolicy", "aws:iam/rolePolicy:RolePolicy"):
        assert not is_taggable(token), token
    assert not is_taggable("ecommerce:security:Encryption")


def test_every_taggable_resource_carries_the_standard_tags(program: Program) -> None:
    taggable = [r for r in program if r.custom and is_taggable(r.type)]
    assert taggable, "the program declares taggable resources"
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        missing = REQUIRED_TAGS - tags.keys()
        assert not missing, f"{resource.type} {resource.name} lacks tags {missing}"
        assert tags["Environment"] == program.stack
        assert tags["Project"] == "ecommerce"
        assert tags["ManagedBy"] == "Pulumi"
        assert tags["Owner"] == program.config["ecommerce:owner"]
        assert tags["CostCenter"] == program.config["ecommerce:costCenter"]


def test_name_tags_and_physical_names_follow_the_convention(program: Program) -> None:
    pattern = re.compile(rf"^ecommerce-[a-z0-9-]+-{program.stack}$")
    for resource in program:
        if not resource.custom or not is_taggable(resource.type):
            continue
        name = resource.inputs["tags"]["Name"]
        assert pattern.match(name), f"{resource.type} {resource.name}: Name tag {name!r}"
        physical = resource.inputs.get("name")
        if isinstance(physical, str) and resource.type == "aws:cloudwatch/logGroup:LogGroup":
            # AWS prescribes some log group paths (/aws/lambda/<function>,
            # /aws/rds/cluster/<cluster>/postgresql): the resource's own segment follows the convention.
            physical = next((seg for seg in reversed(physical.split("/")) if seg.startswith("ecommerce-")), physical)
            if physical.startswith("API-Gateway-Execution-Logs_"):
                continue  # the whole name is API Gateway's (API-Gateway-Execution-Logs_<api>/<stage>)
        if isinstance(physical, str) and resource.type != "aws:kms/alias:Alias":
            assert pattern.match(physical), f"{resource.type} {resource.name}: name {physical!r}"


def test_every_child_resource_has_a_component_parent(program: Program) -> None:
    """__main__ only wires components: every AWS resource sits inside one."""
    stack_urn_suffix = "::pulumi:pulumi:Stack::"
    for resource in program:
        if resource.type.startswith("aws:") and resource.type != "aws:index/provider:Provider":
            assert resource.parent and stack_urn_suffix not in resource.parent.split("$")[-1], (
                f"{resource.type} {resource.name} is not inside a component"
            )
