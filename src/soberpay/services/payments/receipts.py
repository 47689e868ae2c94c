"""Receipts and delivery tickets: what they say, laid out as fixed-width lines for a thermal printer
(the HTML pages show the same ``Receipt``). Chinese characters take two columns on the paper, so the
layout measures East Asian width, not ``len``. Texts come from the caller's translation function."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from soberpay.domain.catalogue import fen_to_yuan
from soberpay.domain.delivery import Delivery
from soberpay.domain.ledger import BillLine
from soberpay.ports import PrintLine

Translate = Callable[[str], str]


@dataclass(frozen=True)
class ReceiptLine:
    order_id: str
    name: str
    quantity: int
    amount_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class Receipt:
    venue: str
    at: datetime  # on the venue's clock
    guest_name: str
    visit_id: str
    lines: tuple[ReceiptLine, ...]
    subtotal_fen: int
    refunds_fen: int
    total_fen: int
    balance_fen: int


def build_receipt(
    visit_id: str,
    bill_lines: Sequence[BillLine],
    balance_fen: int,
    venue: str,
    at: datetime,
    guest_name: str,
    names: Mapping[str, str],
) -> Receipt:
    """``names``: item names in the receipt's language by item code (the name at purchase time otherwise)."""
    lines = tuple(
        ReceiptLine(x.order_id, names.get(x.sku, x.name), x.quantity, x.amount_fen, x.refunded_fen) for x in bill_lines
    )
    subtotal = sum(x.amount_fen for x in lines)
    refunds = sum(x.refunded_fen for x in lines)
    return Receipt(venue, at, guest_name, visit_id, lines, subtotal, refunds, subtotal - refunds, balance_fen)


def width_of(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns."""
    out, used = [], 0
    for c in text:
        w = width_of(c)
        if used + w > width:
            break
        out.append(c)
        used += w
    return "".join(out)


def columns(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line, ``right`` flush with the edge (``left`` cut to make room)."""
    left = fit(left, max(0, width - width_of(right) - 1))
    return left + " " * (width - width_of(left) - width_of(right)) + right


def receipt_lines(r: Receipt, _: Translate, width: int) -> list[PrintLine]:
    rule = PrintLine("-" * width)
    out = [
        PrintLine(fit(r.venue, width), bold=True, center=True),
        PrintLine(_("Receipt"), bold=True, center=True),
        PrintLine(r.at.strftime("%Y-%m-%d %H:%M %Z"), center=True),
        PrintLine(fit(r.guest_name, width)),
        rule,
    ]
    for x in r.lines:
        out.append(PrintLine(columns(f"{x.quantity}×{x.name}", fen_to_yuan(x.amount_fen), width)))
        if x.refunded_fen:
            out.append(PrintLine(columns("  " + _("Refunded"), "-" + fen_to_yuan(x.refunded_fen), width)))
    out += [
        rule,
        PrintLine(columns(_("Subtotal"), fen_to_yuan(r.subtotal_fen), width)),
        PrintLine(columns(_("Refunds"), "-" + fen_to_yuan(r.refunds_fen), width)),
        PrintLine(columns(_("Total"), fen_to_yuan(r.total_fen), width), bold=True),
        PrintLine(columns(_("Prepaid balance"), fen_to_yuan(r.balance_fen), width)),
    ]
    return out


def ticket_lines(d: Delivery, name: str, at: datetime, guest_name: str, _: Translate, width: int) -> list[PrintLine]:
    """The bar/kitchen ticket: which room, what, how many."""
    return [
        PrintLine(_("Room") + f" {d.room_id or '-'}", bold=True, center=True),
        PrintLine(at.strftime("%H:%M"), center=True),
        PrintLine("-" * width),
        PrintLine(fit(f"{d.quantity} × {name}", width), bold=True),
        PrintLine(fit(guest_name, width)),
        PrintLine(fit("#" + d.order_id[:8], width)),
    ]
