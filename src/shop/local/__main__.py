"""`make dev`: the whole shop on one machine, no AWS account, no Docker.

``python -m shop.local [--port 8080] [--data-dir .local-data] [--reset]
[--database-url URL] [--dynamodb-endpoint URL] [--storefront-credential user:pass]
[--workers N] [--log-format text|json] [--log-level LEVEL] [--log-metrics]``

Starts embedded PostgreSQL (data on disk in ``<data-dir>/postgres``), applies the migrations and seeds
the sample catalog; starts the moto server (a child process, ``shop.local.moto_server``) with the
DynamoDB tables of ``shop.declarations.TABLES``
(items saved to ``<data-dir>/dynamodb.json`` on shutdown and every 2 s when they changed, and loaded
back on start); starts localstripe (objects in ``<data-dir>/localstripe.pickle``, log in ``localstripe.log``), puts
the Stripe secrets in moto's SSM and registers the webhook endpoint with localstripe;
then serves the storefront and the API on 127.0.0.1 through the local gateway (edge checks, API
Gateway events, the API handler in a pool of worker processes). The data directory is locked: a
second instance on it refuses to start. Ctrl-C or SIGTERM stops everything.

Logs: by default one readable line per request (method, path, status, duration, request id) and
the handler's warnings and errors; ``--log-format json`` prints the function's own JSON log lines
(the shape CloudWatch receives) instead; ``--log-metrics`` adds the embedded-metric-format blobs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar, cast

from shop import config
from shop.declarations import (
    HEALTH_PATH,
    LOCAL_MAIL_PATH,
    STRIPE_WEBHOOK_PATH,
    Env,
    local_stripe_origins,
    storefront_content_security_policy,
)
from shop.edge.config import EdgeConfig
from shop.local import workers as workers_module
from shop.local.gateway import GatewayConfig, LambdaHandler, PooledHTTPServer, in_process, warm_up
from shop.local.lock import DataDirBusyError, DataDirLock

log = logging.getLogger("shop.local")
T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = Path(".local-data")
DEFAULT_STOREFRONT = ROOT / "storefront"
SNAPSHOT_FILE = "dynamodb.json"
SNAPSHOT_INTERVAL_SECONDS = 2.0  # what a SIGKILL can lose of the carts (README "Local data")
STRIPE_STATE_FILE = "localstripe.pickle"
STRIPE_LOG_FILE = "localstripe.log"
MOTO_LOG_FILE = "moto.log"
# Worker processes running the API function, one invocation at a time each, like Lambda's
# execution environments (dev's reserved concurrency is 10): at most --workers (default 8), so a
# few requests stuck on a hung dependency leave others (the health check) a worker. One per core
# starts before "ready" (WARM_WORKERS); the pool grows on demand, each new worker a fork of the
# preloaded forkserver. See bench/bench_local_load.py and bench/bench_local_startup.py.
DEFAULT_WORKERS = 8
WARM_WORKERS = max(1, min(DEFAULT_WORKERS, os.cpu_count() or 1))
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shop.local", description="Run the shop locally.")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where local data lives (default .local-data)"
    )
    parser.add_argument("--reset", action="store_true", help="delete the local data first and start from scratch")
    parser.add_argument("--database-url", help="use this PostgreSQL (libpq URL) instead of the embedded one")
    parser.add_argument("--dynamodb-endpoint", help="use this DynamoDB endpoint (e.g. a moto server) instead")
    parser.add_argument(
        "--storefront-credential",
        metavar="USER:PASSWORD",
        help="require this HTTP Basic credential, as the edge does on non-production stacks",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"API worker processes at most (default {DEFAULT_WORKERS}; one per core starts before ready, "
        "the rest on demand; 1 = the handler in-process)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text: one readable line per request (default); json: the function's JSON lines, as in CloudWatch",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="INFO", type=str.upper, help="default INFO")
    parser.add_argument(
        "--log-metrics", action="store_true", help="also print the metrics (CloudWatch embedded metric format)"
    )
    parser.add_argument("--storefront-dir", type=Path, default=DEFAULT_STOREFRONT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--snapshot-interval", type=float, default=SNAPSHOT_INTERVAL_SECONDS, help=argparse.SUPPRESS
    )  # seconds between DynamoDB snapshots (tests shorten it)
    args = parser.parse_args(argv)
    if args.storefront_credential is not None and ":" not in args.storefront_credential:
        parser.error("--storefront-credential must look like user:password")
    if args.snapshot_interval <= 0:
        parser.error("--snapshot-interval must be positive")
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the platform; further signals during shutdown are ignored.

    The first SIGINT/SIGTERM raises KeyboardInterrupt in the main thread; a second one (a
    double Ctrl-C, or ``make`` forwarding the signal too) must not cut the cleanup short and leave
    PostgreSQL running.
    """
    interrupted: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if interrupted:
            return
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def _api_handler() -> LambdaHandler:
    """The API function's handler, imported on first use (after the environment is set)."""
    module = importlib.import_module("shop.api.handler")
    return cast(LambdaHandler, module.handler)


def _start_stripe(stack: contextlib.ExitStack, data_dir: Path, port: int) -> Any:
    """localstripe in a child process, its objects kept in the data dir (a restart keeps intents)."""
    from shop.local import services

    handle = services.start_localstripe(
        port, state_file=data_dir / STRIPE_STATE_FILE, log_file=data_dir / STRIPE_LOG_FILE
    )
    stack.callback(handle.stop)
    return handle


def _configure_stripe(stripe: Any, ssm_endpoint: str, base: str) -> dict[str, str]:
    """Wait for localstripe, put the Stripe secrets in moto's SSM, register our webhook endpoint."""
    from shop import payments
    from shop.local import services

    stripe.wait_ready()
    env = services.configure_stripe(ssm_endpoint, stripe, f"{base}{STRIPE_WEBHOOK_PATH}")
    payments.reset()
    log.info("stripe: localstripe at %s, webhook endpoint registered", stripe.url)
    return env


def _start_events(endpoint: str, stop: threading.Event, gateway: GatewayConfig) -> None:
    """In the background: the bus, rule, queues and sender on moto, then the relay's sweep
    (EventBridge Scheduler in AWS) and the notifier (Lambda's SQS polling) as threads of this process.
    The gateway's ``/_local/mail`` reads moto's SES (over HTTP: moto is a child process)."""
    from shop.events import relay
    from shop.local import events as local_events
    from shop.local.services import LOCAL_REGION

    gateway.mail = lambda: local_events.sent_mail(endpoint)

    def start() -> None:
        try:
            handle = local_events.ensure_events(endpoint, LOCAL_REGION)
        except Exception:
            log.exception("events: could not create the bus and queues on moto; no e-mail will be sent")
            return
        relay.start_background(stop, interval=local_events.RELAY_SWEEP_SECONDS)
        local_events.NotifierPoller(handle).start(stop)
        log.info("events: bus %s, notifier polling %s", handle.bus, handle.queue_url)

    threading.Thread(target=start, name="events-setup", daemon=True).start()


def function_environment(args: argparse.Namespace) -> dict[str, str]:
    """What the log options change in the function's environment (its Powertools Logger and Metrics)."""
    level = args.log_level
    if args.log_format == "text":
        # The gateway prints the request line; the function's JSON lines only for what goes wrong.
        level = max(level, "WARNING", key=LOG_LEVELS.index)
    return {"LOG_LEVEL": level, "POWERTOOLS_METRICS_DISABLED": "false" if args.log_metrics else "true"}


class JsonFormatter(logging.Formatter):
    """The local platform's own lines as JSON objects (``--log-format json``)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {
            "level": record.levelname,
            "location": f"{record.module}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "service": "shop-local",
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if args.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(args.log_level)
    # In json mode the function's own "request" line is the per-request line.
    access = logging.INFO if args.log_format == "text" else logging.DEBUG
    logging.getLogger("shop.local.access").setLevel(max(access, logging.getLevelName(args.log_level)))


# ------------------------------------------------------------------------------------ start-up
# Threads for the start-up: PostgreSQL (start, migrate, seed) and each setup step at once.
SETUP_THREADS = 8


class Timeline:
    """When each start-up step ran (seconds since the start): one log line once ready."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.spans: list[tuple[str, float, float]] = []

    def timed(self, name: str, function: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spans.append((name, begin - self.started, time.perf_counter() - self.started))

        return run

    def report(self) -> None:
        spans = sorted(self.spans, key=lambda span: span[1])
        log.info("start-up (s): %s", ", ".join(f"{name} {begin:.2f}-{end:.2f}" for name, begin, end in spans))


@dataclass
class SetupContext:
    """What a setup step may use; it stores what it made for others in ``results``."""

    data_dir: Path
    endpoint: str  # the moto server (DynamoDB, Cognito, SSM, ...), or the --dynamodb-endpoint
    own_moto: bool  # False with --dynamodb-endpoint: only DynamoDB tables are set up there
    base: str  # the gateway's origin (webhook URLs)
    stripe: Any  # services.StripeHandle
    snapshot_path: Path
    results: dict[str, Any] = field(default_factory=dict)


def _setup_dynamodb(context: SetupContext) -> dict[str, str]:
    """The tables of shop.declarations.TABLES, and the items saved in the data dir put back."""
    from shop.local import services, snapshot

    tables = services.ensure_tables(context.endpoint)
    context.results["tables"] = tables
    if context.own_moto:
        client = services.dynamodb_client(context.endpoint)
        restored = snapshot.restore(client, tables, context.snapshot_path)
        context.results["dynamo_client"] = client
        log.info("dynamodb: %s, %d items restored", context.endpoint, restored)
    return {}  # the table names are part of services.app_environment


def _setup_cognito(context: SetupContext) -> dict[str, str]:
    """Customer accounts: a user pool on our moto server (none on an endpoint given by the user)."""
    from shop.local import services

    if not context.own_moto:
        return {}
    users = services.ensure_user_pool(context.endpoint, context.data_dir)
    context.results["users"] = users
    return users.environment()


def _setup_stripe(context: SetupContext) -> dict[str, str]:
    # The slowest step: moto loads its SSM backend (and EC2's, which that imports) on the first call.
    return _configure_stripe(context.stripe, context.endpoint, context.base)


def _setup_media(context: SetupContext) -> dict[str, str]:
    """Product images: a bucket on our moto server; the gateway serves /media/* from it."""
    from shop.local import services

    if not context.own_moto:
        return {}
    media_env = services.ensure_media_bucket(context.endpoint)
    context.results["media"] = services.media_reader(context.endpoint, media_env[str(Env.MEDIA_BUCKET)])
    return media_env


SetupStep = Callable[[SetupContext], dict[str, str]]
# What is set up on the moto server before "ready", each step in its own thread as soon as moto
# listens, independently of the others (and of PostgreSQL): each returns the function-environment
# entries it adds. A new local AWS service (EventBridge, SQS, SES, ...) adds one entry here.
SETUP_STEPS: dict[str, SetupStep] = {
    "dynamodb": _setup_dynamodb,
    "cognito": _setup_cognito,
    "stripe": _setup_stripe,
    "media": _setup_media,
}


def _prepare_postgres(args: argparse.Namespace, pg_dir: Path) -> tuple[Any, str]:
    """PostgreSQL (embedded on disk, or the one the user pointed at), migrated and seeded."""
    from shop.db.migrate import migrate
    from shop.db.seed import seed
    from shop.local import services

    handle = None
    if args.database_url:
        url = args.database_url
    else:
        fresh = not (pg_dir / "PG_VERSION").exists()
        handle = services.start_postgres(pg_dir, stop_at_exit=False)
        url = handle.url
        log.info("postgres: %s (%s)", url, "new data directory" if fresh else "existing data")
    try:
        applied = migrate(url)
        inserted = seed(url)
    except BaseException:
        if handle is not None:
            handle.stop()
        raise
    log.info("schema: %s; catalog: %d sample products added", ", ".join(applied) or "up to date", inserted)
    return handle, url


def run(args: argparse.Namespace) -> int:
    from shop.local import services, snapshot

    started = time.perf_counter()
    data_dir: Path = args.data_dir.expanduser().resolve()
    pg_dir = data_dir / "postgres"
    snapshot_path = data_dir / SNAPSHOT_FILE
    credential = args.storefront_credential
    edge_config = EdgeConfig(
        environment="dev",
        basic_auth_sha256=hashlib.sha256(credential.encode()).hexdigest() if credential else None,
    )
    # localstripe's port is chosen now: the storefront's CSP names its origin.
    stripe_port = services.free_port()
    # (The moto origin joins it once moto listens: the browser calls its Cognito and S3 APIs.)
    csp = storefront_content_security_policy(local_stripe_origins(f"http://127.0.0.1:{stripe_port}"))
    try:
        # Bind first: a busy port fails in a moment, not after the databases started.
        server = PooledHTTPServer(
            ("127.0.0.1", args.port),
            GatewayConfig(storefront_dir=args.storefront_dir, edge=edge_config, content_security_policy=csp),
        )
    except OSError as error:
        log.error("cannot listen on 127.0.0.1:%d (%s); pass --port", args.port, error.strerror)
        return 1

    lock = DataDirLock(data_dir)
    try:
        lock.acquire(server.server_address[1])
    except DataDirBusyError as error:
        server.server_close()
        log.error("%s", error)
        return 1

    if args.reset:
        log.info("reset: deleting %s", data_dir)
        services.remove_postgres(pg_dir)
        snapshot_path.unlink(missing_ok=True)
        (data_dir / STRIPE_STATE_FILE).unlink(missing_ok=True)
    services.prepare_data_dir(data_dir)  # 0700: carts, the token secret, localstripe's objects

    base = f"http://127.0.0.1:{server.server_address[1]}"
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=SETUP_THREADS) as pool:
        stack.callback(lock.release)
        stack.callback(server.server_close)
        timeline = Timeline(started)
        # Everything that runs in another process starts first, so that it uses the other core
        # while this one imports moto and sets it up: the API workers' forkserver (it imports the
        # handler's dependencies), PostgreSQL (pg_ctl), localstripe.
        moto = None if args.dynamodb_endpoint else services.start_moto_process(data_dir / MOTO_LOG_FILE)
        if moto is not None:
            stack.callback(moto.stop)
        if args.workers > 1:
            workers_module.start_forkserver()
        postgres_future = pool.submit(timeline.timed("postgres", _prepare_postgres), args, pg_dir)

        def stop_postgres() -> None:
            with contextlib.suppress(Exception):
                handle, _ = postgres_future.result()
                if handle is not None:
                    handle.stop()

        stack.callback(stop_postgres)
        stripe = _start_stripe(stack, data_dir, stripe_port)

        # DynamoDB, Cognito, SSM: our moto server (DynamoDB items persisted to the data dir), or the
        # endpoint the user gave. Then every setup step that needs it, concurrently.
        endpoint = args.dynamodb_endpoint if moto is None else timeline.timed("moto", moto.wait_ready)()
        context = SetupContext(
            data_dir=data_dir,
            endpoint=endpoint,
            own_moto=not args.dynamodb_endpoint,
            base=base,
            stripe=stripe,
            snapshot_path=snapshot_path,
        )
        steps = {name: pool.submit(timeline.timed(name, step), context) for name, step in SETUP_STEPS.items()}
        step_environment: dict[str, str] = {}
        for future in steps.values():
            step_environment.update(future.result())
        server.config.media = context.results.get("media")
        # The CSP admits the moto origin: Cognito and S3 uploads from the browser.
        server.config.content_security_policy = storefront_content_security_policy(
            local_stripe_origins(f"http://127.0.0.1:{stripe_port}"), connect=(endpoint,)
        )
        _, pg_url = postgres_future.result()
        # After PostgreSQL: this re-tightens the data dir, which start_postgres opens to the server's
        # system user when we run as root.
        token_secret_file = services.ensure_token_secret(data_dir)
        users = context.results.get("users")
        dynamo_client = context.results.get("dynamo_client")
        tables = context.results["tables"]
        # Events and e-mail on our moto server (not on an endpoint given by the user, which may not
        # emulate them): the function's settings now, the bus, rule and queues after "ready".
        events_env: dict[str, str] = {}
        if not args.dynamodb_endpoint:
            from shop.local import events as local_events

            events_env = local_events.environment(endpoint)
        environment = {
            **services.app_environment(pg_url, endpoint, tables, token_secret_file=token_secret_file),
            **function_environment(args),
            **step_environment,
            **events_env,
        }
        os.environ.update(environment)
        config.reload()
        # One health-check invocation now: a broken handler fails the start, and the cold start
        # (building the resolvers) is paid before "ready" instead of by the first request.
        if args.workers > 1:
            api = workers_module.ApiWorkers(args.workers, environment)
            stack.callback(api.close)
            timeline.timed("workers", api.start)(min(WARM_WORKERS, args.workers))
            server.config.invoke = api.invoke
        else:
            server.config.invoke = in_process(_api_handler)
        warm_status = timeline.timed("warm-up", warm_up)(server.config.invoke)
        timeline.report()
        if warm_status != 200:
            log.error("the API handler answered the health check with %d", warm_status)
            return 1

        stop_saving = threading.Event()
        # The reservation-expiry schedule (EventBridge Scheduler in AWS): a thread of this process.
        from shop.jobs import expire

        expire.start_background(stop_saving)
        if events_env:
            _start_events(endpoint, stop_saving, server.config)
        # Webhooks localstripe could not deliver (it sends each once) are recovered from the intents.
        from shop.payments import replay

        replay.start_background(stop_saving)
        if dynamo_client is not None:

            def save_now() -> None:
                try:
                    snapshot.save(dynamo_client, tables, snapshot_path)
                except Exception:
                    log.exception("could not save the DynamoDB items")

            def save_periodically() -> None:
                while not stop_saving.wait(args.snapshot_interval):
                    save_now()

            threading.Thread(target=save_periodically, name="dynamodb-snapshot", daemon=True).start()
            # Runs before moto stops (ExitStack unwinds in reverse).
            stack.callback(save_now)
            stack.callback(stop_saving.set)

        print(f"\nshop ready in {time.perf_counter() - started:.2f}s", flush=True)
        print(f"  storefront  {base}/", flush=True)
        print(f"  api         {base}/api/products   (health: {base}{HEALTH_PATH})", flush=True)
        print(f"  postgres    {pg_url}", flush=True)
        print(f"  dynamodb    {endpoint}", flush=True)
        if users is not None:
            admin = f"{users.admin_email} / {users.admin_password}"
            print(f"  admin       {admin}  (Cognito user pool {users.user_pool_id})", flush=True)
        print(f"  stripe      {stripe.url}   (localstripe; webhooks to {base}{STRIPE_WEBHOOK_PATH})", flush=True)
        if events_env:
            print(f"  mail        {base}{LOCAL_MAIL_PATH}   (e-mails sent through moto's SES)", flush=True)
        print(f"  data        {data_dir}" + ("  (storefront credential required)" if credential else ""), flush=True)
        warm = min(WARM_WORKERS, args.workers) if args.workers > 1 else 1
        workers = f"{warm} API worker process(es) warm, up to {args.workers} on demand"
        print(f"  workers     {workers}; logs: {args.log_format}", flush=True)
        print("Ctrl-C to stop.\n", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever(poll_interval=0.2)
        log.info("shutting down")
        server.server_close()  # finish in-flight requests before the data stores stop
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args)
    _stop_on_signals()
    try:
        return run(args)
    except KeyboardInterrupt:
        log.info("interrupted during start-up; stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
