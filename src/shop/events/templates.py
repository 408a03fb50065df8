"""The customer e-mails: one text and one HTML part per template, from the order as the database has it.

Everything shown comes from the order row (lines, totals, address, carrier, tracking) read by id, so
the event carries no personal data. Values in the HTML part are escaped; amounts are formatted here
once for both parts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from shop.events import Template

SHOP_NAME = "Ecommerce Platform shop"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def money(cents: int, currency: str = "USD") -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{cents // 100:,}.{cents % 100:02d}"


def _short(order_id: str) -> str:
    return order_id.split("-", 1)[0].upper()


def _lines(order: dict[str, Any]) -> list[tuple[str, int, str]]:
    currency = order.get("currency") or "USD"
    return [
        (str(item["name"]), int(item["quantity"]), money(int(item["line_total_cents"]), currency))
        for item in order.get("items") or []
    ]


def _address(order: dict[str, Any]) -> list[str]:
    address = order.get("shipping_address") or {}
    keys = ("name", "line1", "line2", "city", "postal_code", "country")
    return [str(address[key]) for key in keys if address.get(key)]


def _headline(template: Template, order: dict[str, Any]) -> tuple[str, str]:
    short = _short(order["id"])
    currency = order.get("currency") or "USD"
    if template is Template.CONFIRMATION:
        return f"Order {short} confirmed", "Thank you! We have your payment and are preparing your order."
    if template is Template.SHIPPED:
        return (
            f"Order {short} has shipped",
            f"Your order is on its way with {order.get('carrier')}; tracking reference "
            f"{order.get('tracking_reference')}.",
        )
    if template is Template.CANCELLED:
        refunded = int(order.get("refunded_cents") or 0)
        extra = f" We refunded {money(refunded, currency)} to your card." if refunded else " You have not been charged."
        return f"Order {short} cancelled", "Your order was cancelled." + extra
    refunded_text = money(int(order.get("refunded_cents") or 0), currency)
    partly = order.get("status") == "partially_refunded"
    return (
        f"Order {short} {'partially ' if partly else ''}refunded",
        f"We refunded {refunded_text} to your card{' (part of your order)' if partly else ''}. "
        "It can take 5-10 days to show on your statement.",
    )


def render(template: Template, order: dict[str, Any]) -> Rendered:
    """The e-mail for ``order`` (a row with id, status, items, totals, address, carrier, tracking)."""
    subject, intro = _headline(template, order)
    currency = order.get("currency") or "USD"
    lines = _lines(order)
    totals = [
        ("Shipping", money(int(order.get("shipping_cents") or 0), currency)),
        ("Total", money(int(order["total_cents"]), currency)),
    ]
    address = _address(order)
    text = "\n".join(
        [
            subject,
            "",
            intro,
            "",
            f"Order: {order['id']}",
            *(f"  {quantity} x {name}  {amount}" for name, quantity, amount in lines),
            *(f"  {label}: {amount}" for label, amount in totals),
            "",
            *(["Shipping to:", *(f"  {part}" for part in address), ""] if address else []),
            f"{SHOP_NAME}. Reply to this e-mail if something is wrong.",
        ]
    )
    e = html.escape
    rows = "".join(
        f'<tr><td>{quantity} &times; {e(name)}</td><td style="text-align:right">{e(amount)}</td></tr>'
        for name, quantity, amount in lines
    ) + "".join(
        f'<tr><th scope="row" style="text-align:left">{e(label)}</th><td style="text-align:right">{e(amount)}</td></tr>'
        for label, amount in totals
    )
    address_html = "<br>".join(e(part) for part in address)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{e(subject)}</title></head><body style="font-family:sans-serif">'
        f'<h1 style="font-size:1.3em">{e(subject)}</h1><p>{e(intro)}</p>'
        f"<p>Order <code>{e(order['id'])}</code></p>"
        f'<table role="presentation" style="border-collapse:collapse;min-width:18em">{rows}</table>'
        + (f'<h2 style="font-size:1.1em">Shipping to</h2><p>{address_html}</p>' if address else "")
        + f'<p style="color:#555">{e(SHOP_NAME)}. Reply to this e-mail if something is wrong.</p></body></html>'
    )
    return Rendered(subject=subject, text=text + "\n", html=body)


def mime(rendered: Rendered, sender: str, recipient: str, event_id: str) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML), as SES's SendRawEmail takes it."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # The event the e-mail answers (support can find it in the archive; never personal data).
    message["X-Shop-Event-Id"] = event_id
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
