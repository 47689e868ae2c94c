"""WeChat Pay v3, native (QR) payments, on the official-community SDK ``wechatpayv3``.

Requests are signed by the SDK with the merchant key (``WECHATPAY2-SHA256-RSA2048``); responses and
notifications are verified by the SDK against the platform certificates in ``platform_cert_dir``
(RSA-SHA256 over "timestamp\\nnonce\\nbody\\n"), and the notification's resource is decrypted with the
APIv3 key (AES-256-GCM). The SDK does not check the timestamp's age, so this adapter does, before it.
The SDK has no base-URL option: ``gateway`` (the local fake provider) replaces its private ``_gate_way``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from soberpay.errors import ConfigError, InvalidNotification, Unavailable
from soberpay.services.payments.topup_channels import ProviderPayment, ProviderState

_STATES = {
    "SUCCESS": ProviderState.PAID,
    "NOTPAY": ProviderState.PENDING,
    "USERPAYING": ProviderState.PENDING,
    "CLOSED": ProviderState.CLOSED,
    "REVOKED": ProviderState.CLOSED,
    "PAYERROR": ProviderState.CLOSED,
}


class WechatPayProvider:
    channel = "wechat"

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_key_pem: str,
        merchant_serial: str,
        apiv3_key: str,
        platform_cert_dir: Path,
        notify_url: str,
        window_s: int,
        order_ttl_minutes: float,
        gateway: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        from wechatpayv3 import WeChatPay, WeChatPayType

        self._mchid, self._appid = mchid, appid
        self._window = window_s
        self._ttl = timedelta(minutes=order_ttl_minutes)
        try:
            self._pay = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,
                mchid=mchid,
                private_key=merchant_key_pem,
                cert_serial_no=merchant_serial,
                appid=appid,
                apiv3_key=apiv3_key,
                notify_url=notify_url,
                cert_dir=str(platform_cert_dir),
                timeout=(5, timeout_s),
            )
        except Exception as exc:  # the SDK raises bare Exception (no platform certificate, bad key)
            raise ConfigError(f"WeChat Pay could not start: {exc}") from exc
        if gateway:
            self._pay._core._gate_way = gateway.rstrip("/")

    def _call(self, what: str, fn: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            code, body = fn(**kwargs)
        except Exception as exc:  # network errors (requests) and the SDK's own "failed to verify the signature"
            raise Unavailable(f"WeChat Pay {what} failed: {type(exc).__name__}") from exc
        return int(code), body

    def create_qr(self, topup_id: str, amount_fen: int, subject: str, guest_id: str) -> str:
        expire = (datetime.now().astimezone() + self._ttl).isoformat(timespec="seconds")
        code, body = self._call(
            "order",
            self._pay.pay,
            description=subject,
            out_trade_no=topup_id,
            amount={"total": amount_fen, "currency": "CNY"},
            attach=guest_id,
            time_expire=expire,
        )
        if code != 200:
            raise Unavailable(f"WeChat Pay refused the order (HTTP {code})")
        return str(json.loads(body)["code_url"])

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            sent = int(lower.get("wechatpay-timestamp", ""))
        except ValueError:
            raise InvalidNotification("missing or malformed Wechatpay-Timestamp") from None
        if abs(now.timestamp() - sent) > self._window:  # a replay of an old (validly signed) notification
            raise InvalidNotification("notification timestamp outside the accepted window")
        if not self._known_serial(lower.get("wechatpay-serial", "")):
            # For an unknown serial the SDK empties its certificate list and re-downloads it: one anonymous
            # request would leave it empty (download refused or down) and every later notification unverifiable.
            # Rotation still happens: WeChat Pay's answers to our own signed calls name the new serial.
            raise InvalidNotification("notification names an unknown platform certificate")
        try:
            data = self._pay.callback(lower, body)
        except Exception as exc:  # unsupported algorithm, undecryptable resource
            raise InvalidNotification(f"notification rejected: {type(exc).__name__}") from None
        if not data:  # the SDK's answer for a bad signature or an unknown certificate
            raise InvalidNotification("notification signature does not verify")
        return self._payment(data.get("resource") or {})

    def _known_serial(self, serial: str) -> bool:
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        return any(c.serial_number == number for c in self._pay._core._certificates)

    def _payment(self, r: Mapping[str, Any]) -> ProviderPayment:
        if r.get("mchid") != self._mchid or r.get("appid") != self._appid:
            raise InvalidNotification("notification is for another merchant")
        state = _STATES.get(str(r.get("trade_state")), ProviderState.PENDING)
        amount = (r.get("amount") or {}).get("total")
        if not isinstance(r.get("out_trade_no"), str) or (amount is not None and not isinstance(amount, int)):
            raise InvalidNotification("notification is missing the order or amount")
        return ProviderPayment(
            r["out_trade_no"], state, r.get("transaction_id") or None, amount, r.get("attach") or None
        )

    def query(self, topup_id: str) -> ProviderPayment:
        code, body = self._call("query", self._pay.query, out_trade_no=topup_id)
        if code == 404:  # ORDER_NOT_EXIST: never created there, nothing can be paid
            return ProviderPayment(topup_id, ProviderState.CLOSED)
        if code != 200:
            raise Unavailable(f"WeChat Pay query failed (HTTP {code})")
        try:
            return self._payment(json.loads(body))
        except InvalidNotification as exc:
            raise Unavailable(f"WeChat Pay query answer unusable: {exc.message}") from None

    def close(self, topup_id: str) -> None:
        code, _ = self._call("close", self._pay.close, out_trade_no=topup_id)
        if code not in (200, 204):
            raise Unavailable(f"WeChat Pay could not close the order (HTTP {code})")
