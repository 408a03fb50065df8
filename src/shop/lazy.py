"""One helper for objects built on first use and then shared (clients, resolvers, settings).

Cold starts stay cheap: nothing is imported or built until the first call. Building happens once
per process even when threads race (the local platform and the tests use threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_UNSET = object()


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
