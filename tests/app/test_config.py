"""Runtime configuration: parsed once, validated, malformed values fail naming the variable."""

from __future__ import annotations

import threading

import pytest

from shop import config
from shop.declarations import CACHE_TTL_SECONDS, CART_TTL_SECONDS, DB_NAME, DB_PORT, SESSIONS_TABLE, Env
from shop.lazy import Lazy


def test_defaults_are_the_declared_ones() -> None:
    settings = config.parse({})
    assert settings.cart_ttl_seconds == CART_TTL_SECONDS
    assert settings.cache_ttl_seconds == CACHE_TTL_SECONDS
    assert (settings.database.port, settings.database.name) == (DB_PORT, DB_NAME)
    assert settings.database.iam_auth is False and settings.tracing is False


def test_values_are_parsed() -> None:
    settings = config.parse(
        {
            Env.CART_TTL_SECONDS: "3600",
            Env.CACHE_TTL_SECONDS: "0",
            Env.DB_PORT: "6432",
            Env.DB_IAM_AUTH: "TRUE",
            Env.SESSIONS_TABLE: "ecommerce-sessions-dev",
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
        }
    )
    assert (settings.cart_ttl_seconds, settings.cache_ttl_seconds, settings.database.port) == (3600, 0, 6432)
    assert settings.database.iam_auth is True and settings.tracing is True
    assert settings.table(SESSIONS_TABLE) == "ecommerce-sessions-dev"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (Env.CART_TTL_SECONDS, "a week"),
        (Env.CART_TTL_SECONDS, "59"),
        (Env.CACHE_TTL_SECONDS, "-1"),
        (Env.DB_PORT, "5432x"),
        (Env.DB_PORT, "0"),
        (Env.DB_IAM_AUTH, "maybe"),
        ("POWERTOOLS_TRACE_DISABLED", "sometimes"),
    ],
)
def test_malformed_values_fail_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(config.ConfigError, match=str(name)):
        config.parse({name: value})


def test_a_missing_table_name_fails_naming_its_variable() -> None:
    with pytest.raises(config.ConfigError, match=str(Env.SESSIONS_TABLE)):
        config.parse({}).table(SESSIONS_TABLE)


def test_settings_are_parsed_once_until_reloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(Env.CART_TTL_SECONDS, "120")
    first = config.reload()
    monkeypatch.setenv(Env.CART_TTL_SECONDS, "240")
    assert config.settings() is first and first.cart_ttl_seconds == 120
    assert config.reload().cart_ttl_seconds == 240


def test_the_handler_fails_loudly_on_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.api import handler

    monkeypatch.setenv(Env.CART_TTL_SECONDS, "soon")
    handler.resolvers.reset()
    try:
        with pytest.raises(config.ConfigError, match=str(Env.CART_TTL_SECONDS)):
            handler.resolvers()
    finally:
        monkeypatch.undo()
        config.reload()
        handler.resolvers.reset()


def test_lazy_builds_once_across_threads() -> None:
    calls: list[int] = []
    barrier = threading.Barrier(8)

    def build() -> object:
        calls.append(1)
        return object()

    shared = Lazy(build)
    results: list[object] = []

    def use() -> None:
        barrier.wait()
        results.append(shared())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and all(result is results[0] for result in results)
    assert shared.built
    shared.reset()
    assert not shared.built and shared() is not results[0] and len(calls) == 2


def test_a_lazy_build_runs_with_the_cyclic_gc_paused_and_restores_it() -> None:
    import gc

    seen: list[bool] = []
    inner = Lazy(lambda: seen.append(gc.isenabled()))
    outer = Lazy(lambda: (seen.append(gc.isenabled()), inner(), seen.append(gc.isenabled())))

    def failing() -> None:
        seen.append(gc.isenabled())
        raise RuntimeError("build failed")

    assert gc.isenabled()
    outer()
    # Off in the outer build, in the nested one, and still off after the nested one returned.
    assert seen == [False, False, False] and gc.isenabled()
    with pytest.raises(RuntimeError):
        Lazy(failing)()
    assert seen[-1] is False and gc.isenabled()  # a failed build gives the collector back too
    gc.disable()
    try:
        Lazy(lambda: None)()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
