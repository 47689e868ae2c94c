"""ESC/POS thermal printer (python-escpos) for receipts and delivery tickets.

``printer.url`` picks the device: ``dummy`` (python-escpos's ``Dummy``: keeps the bytes, for tests),
``network://host:9100`` (raw TCP, the usual port of Ethernet/Wi-Fi receipt printers) or
``usb://vid:pid`` (needs pyusb and access to the device).

Chinese: the printers sold in China print GB18030 text in their "Chinese character mode"
(``FS &`` on, ``FS .`` off). python-escpos's own encoder only knows single-byte code pages, so Chinese
receipts are sent as raw GB18030 bytes inside that mode; English ones go through its encoder.
Printing is best-effort: any device error becomes the returned error text, never an exception.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

from soberpay.ports import PrintLine

log = logging.getLogger(__name__)

CHINESE_ON = b"\x1c\x26"  # FS &: Chinese character mode
CHINESE_OFF = b"\x1c\x2e"  # FS .: back to single-byte characters


def encode_zh(text: str) -> bytes:
    """GB18030 bytes of ``text``; the yen sign becomes the full-width one, which the printer's GB font has."""
    return text.replace("¥", "￥").encode("gb18030")


def open_device(url: str) -> Any:
    """The python-escpos device for ``url``; a network printer is rendered into a ``Dummy`` first and sent
    in one write (``send``), so a refused connection leaves no half-open socket behind."""
    from escpos import printer

    if url == "dummy" or url.startswith("network://"):
        return printer.Dummy()
    if url.startswith("usb://"):
        vid, _sep, pid = url.removeprefix("usb://").partition(":")
        return printer.Usb(int(vid, 16), int(pid, 16))
    raise ValueError(f"unknown printer url {url!r}")


def render(device: Any, lines: Sequence[PrintLine], lang: str) -> None:
    """Write ``lines`` to an open python-escpos device and cut the paper."""
    for line in lines:
        device.set(align="center" if line.center else "left", bold=line.bold)
        if lang == "zh":
            device._raw(CHINESE_ON + encode_zh(line.text) + b"\n" + CHINESE_OFF)
        else:
            device.text(line.text + "\n")
    device.set(align="left", bold=False)
    device.cut()


class EscposPrinter:
    """The ``Printer`` port over python-escpos. ``last`` keeps the dummy device (tests read its bytes)."""

    def __init__(self, url: str, timeout_s: float = 3.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.last: Any = None

    def print_lines(self, lines: Sequence[PrintLine], lang: str) -> str | None:
        try:
            device = open_device(self.url)
            self.last = device
            render(device, lines, lang)
            if self.url.startswith("network://"):
                host, _sep, port = self.url.removeprefix("network://").partition(":")
                with socket.create_connection((host, int(port or 9100)), timeout=self.timeout_s) as conn:
                    conn.sendall(device.output)
            device.close()
        except Exception as exc:  # an offline printer is reported to staff; it never fails the caller
            log.warning("printer %s failed: %s", self.url, exc)
            return f"{type(exc).__name__}: {exc}"
        return None
