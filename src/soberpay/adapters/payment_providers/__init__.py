"""Payment-provider adapters on the official SDKs (``pip install 'soberpay[topup]'``): WeChat Pay v3 native
QR (``wechatpayv3``) and Alipay precreate QR (``python-alipay-sdk``). ``build_providers`` reads the
``[topup]`` settings and returns the configured channels; a channel without a merchant/app id is off."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from soberpay.config import Settings
from soberpay.errors import ConfigError, InvalidNotification
from soberpay.services.payments.topup_channels import PaymentProvider


def yuan_text(amount_fen: int) -> str:
    """Alipay's amount format: yuan with two decimals."""
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def fen_of(text: str) -> int:
    """Alipay's "12.30" → 1230; anything else (more decimals, signs, exponents) is not a valid amount."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise InvalidNotification("amount is not a number") from None
    fen = value * 100
    if not value.is_finite() or fen != fen.to_integral_value() or value <= 0:
        raise InvalidNotification("amount is not a positive amount in fen")
    return int(fen)


def _secret(path: Path | None, what: str, settings: Settings) -> str:
    if path is None or not path.is_file():
        raise ConfigError(f"topup: {what} file is not configured or missing", setting=what)
    if settings.env == "prod" and path.resolve().is_relative_to(settings.data_dir.resolve()):
        raise ConfigError(f"topup: {what} must live outside the data dir in prod", setting=what)
    return path.read_text()


def build_providers(settings: Settings) -> dict[str, PaymentProvider]:
    top = settings.topup
    prod = settings.env == "prod"
    providers: dict[str, PaymentProvider] = {}
    ttl = top.reconcile_after_minutes
    if top.wechat.mchid:
        w = top.wechat
        if prod and w.gateway:
            raise ConfigError("topup.wechat.gateway is for the local fake provider; refused in prod")
        from soberpay.adapters.payment_providers.wechat import WechatPayProvider

        if w.platform_cert_dir is None:
            raise ConfigError("topup.wechat.platform_cert_dir is not configured", setting="platform_cert_dir")
        providers["wechat"] = WechatPayProvider(
            mchid=w.mchid,
            appid=w.appid,
            merchant_key_pem=_secret(w.merchant_key_file, "merchant_key_file", settings),
            merchant_serial=w.merchant_serial,
            apiv3_key=_secret(w.apiv3_key_file, "apiv3_key_file", settings).strip(),
            platform_cert_dir=w.platform_cert_dir,
            notify_url=w.notify_url,
            window_s=top.notify_window_s,
            order_ttl_minutes=ttl,
            gateway=w.gateway,
        )
    if top.alipay.appid:
        a = top.alipay
        if prod and a.gateway:
            raise ConfigError("topup.alipay.gateway is for the local fake provider; refused in prod")
        from soberpay.adapters.payment_providers.alipay import AlipayProvider

        providers["alipay"] = AlipayProvider(
            appid=a.appid,
            app_private_key_pem=_secret(a.app_private_key_file, "app_private_key_file", settings),
            alipay_public_key_pem=_secret(a.alipay_public_key_file, "alipay_public_key_file", settings),
            notify_url=a.notify_url,
            window_s=top.notify_window_s,
            order_ttl_minutes=ttl,
            gateway=a.gateway,
        )
    return providers


__all__ = ["build_providers", "fen_of", "yuan_text"]
