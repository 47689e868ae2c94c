"""Receipt layout (East Asian width) and the ESC/POS bytes python-escpos's Dummy printer receives."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from soberpay.adapters.printer import CHINESE_OFF, CHINESE_ON, EscposPrinter
from soberpay.domain.ledger import BillLine
from soberpay.services.payments.receipts import build_receipt, columns, receipt_lines, width_of

AT = datetime(2026, 11, 30, 21, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
LINES = (
    BillLine(AT, "beer-tsingtao", "Tsingtao beer 330 mL", "beer", 2, 1_800, 3_600, "", "o1", 1_000),
    BillLine(AT, "song-1", "Song request", "song", 1, 500, 500, "", "o2", 0),
)


def _receipt():  # type: ignore[no-untyped-def]
    names = {"beer-tsingtao": "青岛啤酒 330毫升", "song-1": "点歌"}
    return build_receipt("v1", LINES, 5_900, "星声KTV", AT, "多拉", names)


def test_totals_count_refunds() -> None:
    r = _receipt()
    assert (r.subtotal_fen, r.refunds_fen, r.total_fen, r.balance_fen) == (4_100, 1_000, 3_100, 5_900)


def test_columns_measure_chinese_as_two_columns() -> None:
    line = columns("1×青岛啤酒 330毫升", "¥18.00", 32)
    assert width_of(line) == 32 and line.endswith("¥18.00")
    assert width_of(columns("很长的名字" * 10, "¥1.00", 32)) <= 32  # cut, never wrapped past the edge


def test_every_printed_line_fits_the_paper() -> None:
    for width in (32, 48):
        lines = receipt_lines(_receipt(), lambda s: {"Refunded": "已退款"}.get(s, s), width)
        assert all(width_of(p.text) <= width for p in lines)


def test_chinese_receipt_bytes_are_gb18030_in_chinese_mode() -> None:
    printer = EscposPrinter("dummy")
    lines = receipt_lines(_receipt(), lambda s: {"Refunded": "已退款", "Total": "合计"}.get(s, s), 32)
    assert printer.print_lines(lines, "zh") is None
    out = printer.last.output
    assert CHINESE_ON + "星声KTV".encode("gb18030") in out
    assert "已退款".encode("gb18030") in out and "合计".encode("gb18030") in out
    assert "￥31.00".encode("gb18030") in out  # the full-width yen of the GB font
    assert out.count(CHINESE_ON) == out.count(CHINESE_OFF) == len(lines)
    assert out.endswith(b"\x1dV\x00")  # GS V 0: cut


def test_english_receipt_uses_a_single_byte_code_page() -> None:
    printer = EscposPrinter("dummy")
    assert printer.print_lines(receipt_lines(_receipt(), lambda s: s, 32), "en") is None
    assert b"Total" in printer.last.output and CHINESE_ON not in printer.last.output


def test_an_unreachable_printer_returns_the_error() -> None:
    error = EscposPrinter("network://127.0.0.1:9", timeout_s=0.5).print_lines(receipt_lines(_receipt(), str, 32), "en")
    assert error and "refused" in error.lower()
