"""The local platform's moto server in its own process: ``python -m shop.local.moto_server``.

``make dev`` runs moto (DynamoDB, Cognito, SSM, ...) in a child process rather than a thread of its
own, so that moto's imports, its backends and the requests it answers use the second core while
the platform's process sets itself up (one GIL each). The server listens on a free port of
127.0.0.1 and prints ``port <n>`` as its first line on stdout, then loads the backends the platform
uses (moto loads a backend on its first request otherwise; SSM's imports EC2's, the slowest). It
stops on SIGTERM (SIGINT is ignored: the platform stops it after saving its items), and when its
parent dies (Linux: PR_SET_PDEATHSIG), so a SIGKILL of the platform leaves no server behind.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys

from shop.local.lifeline import die_with_parent

# Loaded right after the server listens (in this order: what the start-up needs first).
WARM_BACKENDS = ("moto.dynamodb.models", "moto.cognitoidp.models", "moto.ssm.models")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shop.local.moto_server")
    parser.add_argument("--parent", type=int, help="exit if this process is gone (the platform's PID)")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)

    # SIGTERM keeps its default action (the state is in memory: nothing to flush). Ctrl-C in a
    # terminal reaches the whole process group: the platform saves the DynamoDB items from this
    # server first, then stops it with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from shop.local.moto_http import KeepAliveMotoServer

    server = KeepAliveMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"port {server.get_host_and_port()[1]}", flush=True)
    # Nothing reads stdout after the port line: keep a chatty library from filling the pipe.
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    # Cognito as the storefront needs it: a confirmed sign-up verifies the address (before any
    # request can confirm one: the platform is not ready until its setup steps ran).
    from shop.local.services import cache_moto_dispatch, confirm_sign_up_like_cognito, isolate_dynamodb_transactions

    confirm_sign_up_like_cognito()
    isolate_dynamodb_transactions()
    # After the port line: it imports moto's response machinery, which the start-up need not wait for.
    cache_moto_dispatch()
    for module in WARM_BACKENDS:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
