"""Run localstripe with its state in a file of ours: ``python -m shop.local.localstripe_server --port N --state F``.

localstripe keeps its objects in memory and pickles them to a fixed ``/tmp/localstripe.pickle``
after every change, shared by every localstripe on the machine (parallel test sessions, several
checkouts). This launcher points that file at ``--state`` (``<data-dir>/localstripe.pickle`` for
``make dev``: intents survive a restart, like the rest of the local data), or keeps the state in
memory only without ``--state`` (tests). Writes go to a temporary file and are renamed, so a kill
mid-write leaves the previous state. Webhook registrations are never stored: ``make dev``
registers its endpoint at every start.

It also completes localstripe's Stripe.js stand-in where the storefront needs it (see
``_install_browser_confirm``): confirming a PaymentIntent from the browser with a card Element,
the publishable key and the client secret, as Stripe.js does. localstripe's own stand-in only
answers 3-D Secure challenges there, and its API refuses ``confirm`` with a payment method (500)
and without the secret key (401).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

from shop.local.lifeline import die_with_parent

EXTENSION = Path(__file__).with_name("localstripe_confirm.js")
_BROWSER_CONFIRM = re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$")


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


def _confirm_from_browser(intent_id: str, data: dict[str, Any]) -> Any:
    """What Stripe does for Stripe.js's confirm: check the client secret, create the card payment
    method from ``payment_method_data``, put it on the intent and confirm it (a 3-D Secure card leaves
    it ``requires_action``; a declined charge raises localstripe's 402 card error). A retry with
    another card after a decline replaces the failed attempt on the same intent, as Stripe allows."""
    from localstripe import resources
    from localstripe.errors import UserError

    key, secret, method = data.get("key"), data.get("client_secret"), data.get("payment_method_data")
    if not (isinstance(key, str) and key.startswith("pk_")):
        raise UserError(401, "Unauthorized")
    if not isinstance(method, dict) or method.get("type") != "card":
        raise UserError(400, "Bad request")
    intent = resources.PaymentIntent._api_retrieve(intent_id)
    if secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if intent.status != "requires_payment_method":
        unexpected = {"code": "payment_intent_unexpected_state"}
        raise UserError(400, f"This PaymentIntent's status is {intent.status}", unexpected)
    payment_method = resources.PaymentMethod._api_create(
        type="card", card=method.get("card"), billing_details=method.get("billing_details") or None
    )
    if payment_method._attaching_is_declined():
        raise UserError(402, "Your card was declined.", {"code": "card_declined", "decline_code": "generic_decline"})
    intent.payment_method = payment_method.id
    intent.latest_charge = None  # the failed attempt, if any: this card starts a new one
    intent._confirm(on_failure_now=intent._report_failure)
    return intent


def _install_browser_confirm(app: Any) -> None:
    """A middleware ahead of localstripe's own: serves the stand-in with ``localstripe_confirm.js``
    appended, and answers the browser's confirm (publishable key + client secret in the body)."""
    from aiohttp import web
    from localstripe import resources, server
    from localstripe.errors import UserError

    stand_in = Path(server.__file__).with_name("localstripe-v3.js").read_text() + "\n" + EXTENSION.read_text()

    @web.middleware
    async def browser(request: web.Request, handler: Any) -> Any:
        if request.method == "GET" and request.path == "/js.stripe.com/v3/":
            return web.Response(text=stand_in, content_type="application/javascript")
        found = _BROWSER_CONFIRM.match(request.path)
        if request.method != "POST" or found is None or request.headers.get("Authorization"):
            return await handler(request)
        try:
            data = json.loads(await request.text() or "{}")
        except ValueError:
            data = {}
        try:
            intent = _confirm_from_browser(found.group(1), data if isinstance(data, dict) else {})
        except UserError as error:
            return error.to_response()
        finally:
            resources.store.dump_to_disk()
        return server.json_response(intent._export())

    app.middlewares.insert(0, browser)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shop.local.localstripe_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, help="file the objects are kept in (default: memory only)")
    args = parser.parse_args(argv)
    die_with_parent()  # a SIGKILL of the platform must not leave localstripe listening

    import logging

    from aiohttp import web
    from localstripe import resources, server

    _persist_to(type(resources.store), args.state.resolve() if args.state else None)
    resources.store.try_load_from_disk()
    _install_browser_confirm(server.app)
    # localstripe's own start() listens on every interface; the local platform stays on loopback.
    # Its access log (which also reports webhook deliveries) goes to stderr.
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.INFO)
    access.addHandler(logging.StreamHandler())
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=access, print=None)


if __name__ == "__main__":
    main()
