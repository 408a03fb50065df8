"""The private Pulumi SDK parts the harness uses (tests/infra/pulumi_internals.py) still work.

When one of these fails after a Pulumi upgrade, fix tests/infra/pulumi_internals.py: it is the one
place the harness touches SDK internals.
"""

from __future__ import annotations

import asyncio
import importlib.metadata

import pulumi

from tests.infra import pulumi_internals as internals
from tests.infra.harness import run_program

PULUMI_VERSION = importlib.metadata.version("pulumi")


class Recorder(internals.Mocks):
    def new_resource(self, args: internals.MockResourceArgs) -> tuple[str, dict[str, object]]:
        return f"{args.name}-id", {**args.inputs, "computed": "yes"}

    def call(self, args: internals.MockCallArgs) -> dict[str, object]:
        return {}


def use_mocks() -> internals.MockMonitor:
    mocks = Recorder()
    monitor = internals.MockMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="p", stack="s", preview=False, monitor=monitor)
    internals.reset_runtime()
    return monitor


def test_properties_survive_a_serialise_deserialise_round_trip_and_secrets_stay_marked() -> None:
    use_mocks()  # the mock monitor supports secrets, as the engine does
    props = {"name": "x", "count": 3, "nested": {"list": ["a", "b"]}, "flag": True}
    assert internals.deserialize(internals.serialize(props)) == props, f"pulumi {PULUMI_VERSION}"
    secret = internals.deserialize(internals.serialize({"password": pulumi.Output.secret("hunter2")}))["password"]
    assert internals.unwrap_secret(secret) == (True, "hunter2"), f"pulumi {PULUMI_VERSION}: secret marker changed"
    assert internals.unwrap_secret({"value": "plain"}) == (False, {"value": "plain"})


def test_sync_await_runs_a_coroutine_to_completion() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert internals.sync_await(answer()) == 42, f"pulumi {PULUMI_VERSION}"


def test_the_mock_monitor_records_state_and_the_runtime_resets() -> None:
    main_ran: list[str] = []

    monitor = use_mocks()

    def program() -> None:
        main_ran.append("yes")
        pulumi.CustomResource("test:index:Thing", "thing", {"size": 2})

    internals.run_program_in_stack(program)
    assert main_ran == ["yes"], f"pulumi {PULUMI_VERSION}: run_in_stack did not run the program"
    (urn,) = [u for u in monitor.resources if u.endswith("::thing")]
    state = internals.registered_state(monitor, urn)
    assert state["size"] == 2 and state["computed"] == "yes", f"pulumi {PULUMI_VERSION}: monitor record changed"


def test_the_harness_still_runs_a_stack_after_the_checks_above() -> None:
    # The direct runtime use above must not leak into the harness's next run.
    program = run_program("dev")
    assert program.outputs["environment"] == "dev"
    assert program.one("aws:lambda/function:Function", "api").outputs["arn"].endswith(":function:ecommerce-api-dev")
