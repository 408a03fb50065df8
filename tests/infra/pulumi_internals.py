"""The private parts of the Pulumi SDK the infra test harness relies on, in one place.

``tests/infra/harness.py`` runs the real program under mocks and records what the engine would
see. That needs a few things the SDK does not promise to keep: the property (de)serialiser and
its secret marker, the synchronous awaiter, the root-stack runner, the runtime's global settings,
and the mock monitor's record of registered resources. Everything private is imported here and
only here; ``tests/infra/test_pulumi_internals.py`` exercises each one, so a Pulumi upgrade that
moves or changes one fails there with the name of what broke, not deep inside a harness run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pulumi.runtime import rpc
from pulumi.runtime import settings as _runtime_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_in_stack as _run_in_stack
from pulumi.runtime.sync_await import _sync_await

__all__ = [
    "MockCallArgs",
    "MockMonitor",
    "MockResourceArgs",
    "Mocks",
    "deserialize",
    "registered_state",
    "reset_runtime",
    "run_program_in_stack",
    "serialize",
    "sync_await",
    "unwrap_secret",
]

T = TypeVar("T")


def sync_await(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion on the SDK's event loop."""
    return _sync_await(awaitable)


def deserialize(struct: Any) -> dict[str, Any]:
    """A gRPC property struct (as the monitor receives it) → Python values (secrets stay marked)."""
    result: dict[str, Any] = rpc.deserialize_properties(struct)
    return result


def serialize(props: dict[str, Any]) -> Any:
    """Python values → a gRPC property struct (the inverse of :func:`deserialize`)."""
    return sync_await(rpc.serialize_properties(props, {}))


def unwrap_secret(value: Any) -> tuple[bool, Any]:
    """``(True, inner)`` for a deserialised secret marker, ``(False, value)`` for anything else."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return True, value.get("value")
    return False, value


def reset_runtime() -> None:
    """Forget what a previous (possibly failed) program left behind, so the next run starts clean:
    its unfinished outputs, and the root stack resource (``run_in_stack`` creates a new one)."""
    _runtime_settings.SETTINGS.outputs.clear()
    _runtime_settings.ROOT.set(None)


def run_program_in_stack(program: Callable[[], None]) -> None:
    """Run ``program`` inside a root stack resource, as ``pulumi up`` does, and wait for it."""
    sync_await(_run_in_stack(program))


def registered_state(monitor: MockMonitor, urn: str) -> dict[str, Any]:
    """The state the mock monitor recorded for a resource it registered (the mocks' outputs)."""
    state: dict[str, Any] = monitor.resources[urn].state
    return state
