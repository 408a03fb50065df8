"""``python -m shop.db.migrate`` and ``python -m shop.db.seed`` as an operator runs them: with no
database setting, or a bad one (malformed URL, unknown host, nothing listening, wrong password,
no such database), each prints one line on stderr naming the problem and exits non-zero; no
traceback. The commands run as real subprocesses with a clean environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from shop.declarations import Env
from shop.local.services import PostgresHandle, free_port

COMMANDS = ("shop.db.migrate", "shop.db.seed")
PASSWORD_USER = "cli_password_check"
PASSWORD = "the-right-password"


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    # No database settings inherited from the test session (app_env sets DATABASE_URL).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DB_"))}
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], module: str, *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith(f"python -m {module}: error: "), line
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert result.stdout == ""
    return line


@pytest.fixture(scope="module")
def password_server(postgres: PostgresHandle) -> Iterator[PostgresHandle]:
    """The session's server, with one role that must sign in with a password (the rest stay trusted)."""
    hba = postgres.data_dir / "pg_hba.conf"
    original = hba.read_text()
    rule = f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {PASSWORD_USER}")
        conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        hba.write_text(rule + original)  # first matching rule wins
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield postgres
    finally:
        hba.write_text(original)
        with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"DROP ROLE IF EXISTS {PASSWORD_USER}")


@pytest.mark.parametrize("module", COMMANDS)
def test_no_database_url_is_one_line_naming_the_setting(module: str) -> None:
    assert_one_line_error(run_cli(module), module, str(Env.DATABASE_URL))


@pytest.mark.parametrize("module", COMMANDS)
@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql://shop@127.0.0.1:notaport/shop", "postgresql://[::1/shop"],
    ids=["garbage", "bad-port", "bad-host-syntax"],
)
def test_a_malformed_url_is_one_line(module: str, url: str) -> None:
    assert_one_line_error(run_cli(module, "--database-url", url), module)


@pytest.mark.parametrize("module", COMMANDS)
def test_an_unknown_host_is_one_line_naming_it(module: str) -> None:
    result = run_cli(module, "--database-url", "postgresql://shop@db.shop.invalid:5432/shop")
    assert_one_line_error(result, module, "db.shop.invalid")


@pytest.mark.parametrize("module", COMMANDS)
def test_nothing_listening_is_one_line(module: str) -> None:
    result = run_cli(module, "--database-url", f"postgresql://shop@127.0.0.1:{free_port()}/shop")
    assert_one_line_error(result, module, "refused")


@pytest.mark.parametrize("module", COMMANDS)
def test_a_wrong_password_is_one_line(module: str, password_server: PostgresHandle) -> None:
    url = f"postgresql://{PASSWORD_USER}:wrong@127.0.0.1:{password_server.port}/{password_server.database}"
    assert_one_line_error(run_cli(module, "--database-url", url), module, "password authentication failed")
    # The rule is real: the right password gets past authentication (and fails later for lack of rights,
    # or succeeds: either way not with a password error).
    good = run_cli(module, "--database-url", url.replace(":wrong@", f":{PASSWORD}@"))
    assert "password authentication failed" not in good.stderr, good.stderr


@pytest.mark.parametrize("module", COMMANDS)
def test_a_missing_database_is_one_line(module: str, postgres: PostgresHandle) -> None:
    result = run_cli(module, "--database-url", postgres.url_for("no_such_database"))
    assert_one_line_error(result, module, "no_such_database")


def test_both_commands_succeed_on_a_good_url(postgres: PostgresHandle) -> None:
    """The other side: a reachable database runs and exits 0 (the checks above are not always-fail)."""
    migrated = run_cli("shop.db.migrate", "--database-url", postgres.url)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema version" in migrated.stdout
    seeded = run_cli("shop.db.seed", "--database-url", postgres.url)
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("inserted ")
