"""One helper for objects built on first use and then shared (clients, resolvers, settings).

Cold starts stay cheap: nothing is imported or built until the first call. Building happens once
per process even when threads race (the local platform and the tests use threads).

While a build runs, Python's cyclic garbage collector is paused (:func:`gc_paused`). A build imports
modules and creates long-lived objects (the resolvers, pydantic's validators, botocore's service
models): allocating them triggers collections that walk every object and free nothing. Pausing it
measurably shortens the cold start (``bench/bench_cold_start.py``); reference counting still frees
what a build discards, and collections resume when the outermost build returns.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")

_UNSET = object()

_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off for the duration (nests, thread-safe); its previous state restored after."""
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


class Lazy(Generic[T]):
    """``Lazy(build)()`` returns ``build()``'s result, calling ``build`` only the first time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: object = _UNSET
        self.__doc__ = build.__doc__

    def __call__(self) -> T:
        value = self._value
        if value is _UNSET:
            with self._lock:
                value = self._value
                if value is _UNSET:
                    with gc_paused():
                        value = self._value = self._build()
        return value  # type: ignore[return-value]

    @property
    def built(self) -> bool:
        return self._value is not _UNSET

    def reset(self) -> None:
        """Forget the built value (tests that change the environment; never needed in Lambda)."""
        with self._lock:
            self._value = _UNSET


def lazy(build: Callable[[], T]) -> Lazy[T]:
    """Decorator form: ``@lazy def client() -> X: ...``."""
    return Lazy(build)
