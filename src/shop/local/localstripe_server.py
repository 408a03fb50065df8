"""Run localstripe with its state in a file of ours: ``python -m shop.local.localstripe_server --port N --state F``.

localstripe keeps its objects in memory and pickles them to a fixed ``/tmp/localstripe.pickle``
after every change, shared by every localstripe on the machine (parallel test sessions, several
checkouts). This launcher points that file at ``--state`` (``<data-dir>/localstripe.pickle`` for
``make dev``: intents survive a restart, like the rest of the local data), or keeps the state in
memory only without ``--state`` (tests). Writes go to a temporary file and are renamed, so a kill
mid-write leaves the previous state. Webhook registrations are never stored: ``make dev``
registers its endpoint at every start.
"""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path
from typing import Any


def _persist_to(store_class: Any, state: Path | None) -> None:
    def dump_to_disk(self: Any) -> None:
        if state is None:
            return
        temporary = state.with_suffix(".tmp")
        with open(temporary, "wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, state)

    def try_load_from_disk(self: Any) -> None:
        if state is None or not state.exists():
            return
        try:
            with open(state, "rb") as f:
                old = pickle.load(f)  # our own file, written by this launcher
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return  # unreadable: start empty, as localstripe does without a file
        self.clear()
        self.update(old)

    store_class.dump_to_disk = dump_to_disk
    store_class.try_load_from_disk = try_load_from_disk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shop.local.localstripe_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, help="file the objects are kept in (default: memory only)")
    args = parser.parse_args(argv)

    import logging

    from aiohttp import web
    from localstripe import resources, server

    _persist_to(type(resources.store), args.state.resolve() if args.state else None)
    resources.store.try_load_from_disk()
    # localstripe's own start() listens on every interface; the local platform stays on loopback.
    # Its access log (which also reports webhook deliveries) goes to stderr.
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.INFO)
    access.addHandler(logging.StreamHandler())
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=access, print=None)


if __name__ == "__main__":
    main()
