"""Fixtures that run the real Pulumi program under mocks, once per stack per session."""

from __future__ import annotations

import functools

import pytest

from tests.infra.harness import STACKS, Program, run_program


@functools.cache
def program_for(stack: str) -> Program:
    return run_program(stack)


@pytest.fixture(scope="session", params=STACKS)
def program(request: pytest.FixtureRequest) -> Program:
    """The program's resources and outputs for each of dev, staging and prod."""
    return program_for(request.param)


@pytest.fixture(scope="session")
def dev() -> Program:
    return program_for("dev")


@pytest.fixture(scope="session")
def staging() -> Program:
    return program_for("staging")


@pytest.fixture(scope="session")
def prod() -> Program:
    return program_for("prod")
