"""Alipay face-to-face precreate (QR), on ``python-alipay-sdk``.

The SDK signs requests with the app's RSA2 key and verifies the gateway's answers with Alipay's public
key; ``verify_notification`` checks an asynchronous notification (form params, RSA2 over the sorted
params without ``sign``/``sign_type``) with the same key. The SDK checks neither the timestamp's age nor
the app id: this adapter does. ``gateway`` (the local fake provider) replaces its ``_gateway``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from soberpay.adapters.payment_providers import fen_of, yuan_text
from soberpay.errors import ConfigError, InvalidNotification, Unavailable
from soberpay.services.payments.topup_channels import ProviderPayment, ProviderState

_STATES = {
    "TRADE_SUCCESS": ProviderState.PAID,
    "TRADE_FINISHED": ProviderState.PAID,
    "WAIT_BUYER_PAY": ProviderState.PENDING,
    "TRADE_CLOSED": ProviderState.CLOSED,
}


class AlipayProvider:
    channel = "alipay"

    def __init__(
        self,
        *,
        appid: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        notify_url: str,
        window_s: int,
        order_ttl_minutes: float,
        gateway: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        from alipay import AliPay
        from alipay.utils import AliPayConfig

        self._appid = appid
        self._window = window_s
        self._ttl_min = max(1, int(order_ttl_minutes))
        self._zone = ZoneInfo("Asia/Shanghai")  # Alipay's times are Beijing time, whatever the venue's zone
        try:
            self._pay = AliPay(
                appid=appid,
                app_notify_url=notify_url,
                app_private_key_string=app_private_key_pem,
                alipay_public_key_string=alipay_public_key_pem,
                sign_type="RSA2",
                config=AliPayConfig(timeout=timeout_s),
            )
        except (ValueError, IndexError, TypeError) as exc:
            raise ConfigError(f"Alipay keys could not be read: {exc}") from exc
        if gateway:
            self._pay._gateway = gateway

    def _call(self, what: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = fn(**kwargs)
        except Exception as exc:  # network (urllib), AliPayException, AliPayValidationError (bad answer signature)
            raise Unavailable(f"Alipay {what} failed: {type(exc).__name__}") from exc
        return dict(answer)

    def create_qr(self, topup_id: str, amount_fen: int, subject: str, guest_id: str) -> str:
        r = self._call(
            "precreate",
            self._pay.api_alipay_trade_precreate,
            subject=subject,
            out_trade_no=topup_id,
            total_amount=yuan_text(amount_fen),
            body=guest_id,
            timeout_express=f"{self._ttl_min}m",
        )
        if r.get("code") != "10000" or not r.get("qr_code"):
            raise Unavailable(f"Alipay refused the order ({r.get('sub_code') or r.get('code')})")
        return str(r["qr_code"])

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("notification is not a form") from None
        data = dict(pairs)
        if len(data) != len(pairs):
            raise InvalidNotification("notification repeats a parameter")
        sign = data.pop("sign", "")
        if data.get("sign_type") != "RSA2" or not sign:
            raise InvalidNotification("notification is not RSA2-signed")
        try:
            ok = self._pay.verify(dict(data), sign)
        except Exception:  # malformed base64 or key material in the notification
            ok = False
        if not ok:
            raise InvalidNotification("notification signature does not verify")
        try:
            sent = datetime.strptime(data.get("notify_time", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=self._zone)
        except ValueError:
            raise InvalidNotification("missing or malformed notify_time") from None
        if abs((now - sent).total_seconds()) > self._window:
            raise InvalidNotification("notification timestamp outside the accepted window")
        if data.get("app_id") != self._appid:
            raise InvalidNotification("notification is for another app")
        return self._payment(data)

    def _payment(self, d: Mapping[str, Any]) -> ProviderPayment:
        state = _STATES.get(str(d.get("trade_status")), ProviderState.PENDING)
        amount = fen_of(str(d["total_amount"])) if d.get("total_amount") else None
        if not d.get("out_trade_no"):
            raise InvalidNotification("notification is missing the order")
        return ProviderPayment(str(d["out_trade_no"]), state, d.get("trade_no") or None, amount, d.get("body") or None)

    def query(self, topup_id: str) -> ProviderPayment:
        r = self._call("query", self._pay.api_alipay_trade_query, out_trade_no=topup_id)
        if r.get("sub_code") == "ACQ.TRADE_NOT_EXIST":  # precreated but never scanned
            return ProviderPayment(topup_id, ProviderState.PENDING)
        if r.get("code") != "10000":
            raise Unavailable(f"Alipay query failed ({r.get('sub_code') or r.get('code')})")
        try:
            return self._payment(r)
        except InvalidNotification as exc:
            raise Unavailable(f"Alipay query answer unusable: {exc.message}") from None

    def close(self, topup_id: str) -> None:
        r = self._call("close", self._pay.api_alipay_trade_close, out_trade_no=topup_id)
        if r.get("code") != "10000" and r.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise Unavailable(f"Alipay could not close the order ({r.get('sub_code') or r.get('code')})")
