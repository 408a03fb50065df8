"""The platform's cost model: what each stack costs at rest, from the program's own resource graph.

``python -m infra.cost [STACK...]`` (``make cost``) prints it; see ARCHITECTURE.md "What it costs at rest".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from infra.cost import measured, prices
from infra.cost.model import Estimate, GraphResource, idle_cost
from infra.cost.requests import RequestCost, per_million

# The graph comes from the infra tests' harness (the program under Pulumi's mocks). It is imported by
# name at run time: it lives in tests/, outside the type-checked, packaged code, and needs the repo checkout.
HARNESS = "tests.infra.harness"


@dataclass(frozen=True)
class StackCost:
    stack: str
    idle: Estimate
    requests: RequestCost


def stacks() -> tuple[str, ...]:
    names: tuple[str, ...] = importlib.import_module(HARNESS).STACKS
    return names


def run_graph(stack: str, overrides: dict[str, Any] | None = None) -> tuple[list[GraphResource], str]:
    """The program's resources for ``stack`` (with config ``overrides``) and the stack's region."""
    program = importlib.import_module(HARNESS).run_program(stack, overrides)
    return list(program.resources), str(program.config.get("aws:region", ""))


def estimate(resources: list[GraphResource], region: str, stack: str = "") -> StackCost:
    book = prices.load(region)
    bench = measured.load()
    return StackCost(stack, idle_cost(resources, book, bench, stack), per_million(resources, book, bench))


def estimate_stack(stack: str, overrides: dict[str, Any] | None = None) -> StackCost:
    resources, region = run_graph(stack, overrides)
    return estimate(resources, region, stack)
