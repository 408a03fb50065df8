"""IAM documents every component needs: one helper builds every policy document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

POLICY_VERSION = "2012-10-17"


def policy_document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """A policy document (identity, resource, key or trust policy) holding ``statements``, as JSON.

    Statements may hold Outputs anywhere; the document resolves when they do."""
    if not statements:
        raise ValueError("a policy document holds at least one statement")
    return pulumi.Output.json_dumps({"Version": POLICY_VERSION, "Statement": [dict(s) for s in statements]})


def service_trust_policy(*services: str, condition: Mapping[str, Any] | None = None) -> pulumi.Output[str]:
    """A role trust policy: the given AWS service principals may assume the role, under ``condition``
    when one is given (for example ``aws:SourceAccount``, against the confused-deputy problem)."""
    if not services:
        raise ValueError("a trust policy names at least one service")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": services[0] if len(services) == 1 else list(services)},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return policy_document(statement)


def deny_insecure_transport(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The statement every bucket policy starts with: no request without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.format("{0}/*", bucket_arn)],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
