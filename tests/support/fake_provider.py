"""A local fake of WeChat Pay v3 and Alipay, enough for their official SDKs, on 127.0.0.1 only.

It generates test keys when it starts: the merchant's API key and a WeChat Pay *platform* key with a
self-signed certificate (its serial is what ``Wechatpay-Serial`` names), an APIv3 key, an Alipay app
key and an "Alipay" key. It checks the SDKs' request signatures, answers with signed responses, and
sends asynchronous notifications signed exactly as the real providers do:

* WeChat: JSON body whose ``resource`` is AES-256-GCM encrypted with the APIv3 key (associated data
  "transaction"), headers ``Wechatpay-Signature/Timestamp/Nonce/Serial/Signature-Type``, the signature
  RSA-SHA256 (PKCS#1 v1.5) with the platform key over ``"timestamp\\nnonce\\nbody\\n"``.
* Alipay: form params, ``sign`` = RSA2 (SHA256withRSA) with the Alipay key over the params sorted by
  name, ``k=v`` joined by ``&``, without ``sign`` and ``sign_type``; ``notify_time`` in Beijing time.

``FakeProvider.configure(settings, key_dir)`` writes the keys as files and points the settings at it.
``pay(topup_id)`` marks an order paid and delivers the notification (``deliver`` decides how: HTTP by
default, or a test client). ``wechat_notification`` / ``alipay_notification`` build one without sending,
with optional tampering, for the attack tests. Used by tests and by the lead's longer walk.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

BEIJING = ZoneInfo("Asia/Shanghai")
Deliver = Callable[[str, dict[str, str], bytes], int]


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def http_deliver(url: str, headers: dict[str, str], body: bytes) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


@dataclass
class FakeOrder:
    channel: str
    topup_id: str
    amount_fen: int
    notify_url: str
    guest_id: str
    state: str = "pending"  # pending / paid / closed
    txn_id: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    paid_at: datetime | None = None


class FakeProvider:
    MCHID = "1900000109"
    WECHAT_APPID = "wxfake0000000001"
    ALIPAY_APPID = "2021000000000001"
    MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A72FAKE0001"

    def __init__(self, deliver: Deliver = http_deliver) -> None:
        self.deliver = deliver
        self.merchant_key, self.platform_key, self.app_key, self.alipay_key = _key(), _key(), _key(), _key()
        self.apiv3_key = secrets.token_hex(16)  # 32 characters, as the merchant platform issues it
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Tenpay platform")])
        self.platform_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.platform_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.platform_key, hashes.SHA256())
        )
        self.platform_serial = format(self.platform_cert.serial_number, "X")
        self.orders: dict[str, FakeOrder] = {}
        self.requests: list[str] = []  # "METHOD path" seen, for assertions
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-provider")

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure(self, settings: Any, key_dir: Path, notify_base: str) -> None:
        """Write the keys under ``key_dir`` (outside the data dir) and point both channels at this fake."""
        key_dir.mkdir(parents=True, exist_ok=True)
        certs = key_dir / "wechat-platform-certs"
        certs.mkdir(exist_ok=True)
        files = {
            "merchant_key.pem": _pem(self.merchant_key),
            "apiv3.key": self.apiv3_key,
            "alipay_app_key.pem": _pem(self.app_key),
            "alipay_public.pem": _public_pem(self.alipay_key),
        }
        for name, text in files.items():
            (key_dir / name).write_text(text)
            os.chmod(key_dir / name, 0o600)
        cert_pem = self.platform_cert.public_bytes(serialization.Encoding.PEM).decode()
        (certs / f"{self.platform_serial}.pem").write_text(cert_pem)
        w, a = settings.topup.wechat, settings.topup.alipay
        w.mchid, w.appid, w.merchant_serial = self.MCHID, self.WECHAT_APPID, self.MERCHANT_SERIAL
        w.merchant_key_file, w.apiv3_key_file = key_dir / "merchant_key.pem", key_dir / "apiv3.key"
        w.platform_cert_dir, w.gateway = certs, self.url
        w.notify_url = f"{notify_base}/topups/notify/wechat"
        a.appid, a.gateway = self.ALIPAY_APPID, f"{self.url}/gateway.do"
        a.app_private_key_file, a.alipay_public_key_file = key_dir / "alipay_app_key.pem", key_dir / "alipay_public.pem"
        a.notify_url = f"{notify_base}/topups/notify/alipay"

    # --- the payer's side -----------------------------------------------------------------------

    def pay(self, topup_id: str, *, notify: bool = True) -> int | None:
        """The guest scans and pays: the order is paid at the provider, then notified (unless ``notify`` is
        False: a lost notification). Returns the notify endpoint's HTTP status."""
        with self._lock:
            order = self.orders[topup_id]
            if order.state != "pending":
                raise RuntimeError(f"fake order {topup_id} is {order.state}")
            order.state, order.paid_at = "paid", datetime.now(UTC)
            order.txn_id = ("4200" if order.channel == "wechat" else "2026") + uuid.uuid4().hex[:24]
        if not notify:
            return None
        return self.notify(topup_id)

    def notify(self, topup_id: str, **tamper: Any) -> int:
        order = self.orders[topup_id]
        if order.channel == "wechat":
            headers, body = self.wechat_notification(order, **tamper)
        else:
            headers, body = self.alipay_notification(order, **tamper)
        return self.deliver(order.notify_url, headers, body)

    def wechat_notification(
        self,
        order: FakeOrder,
        *,
        amount_fen: int | None = None,
        timestamp: int | None = None,
        attach: str | None = None,
        out_trade_no: str | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        resource: dict[str, Any] = {
            "mchid": self.MCHID,
            "appid": self.WECHAT_APPID,
            "out_trade_no": out_trade_no or order.topup_id,
            "transaction_id": order.txn_id,
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "OTHERS",
            "attach": order.guest_id if attach is None else attach,
            "success_time": (order.paid_at or datetime.now(UTC)).astimezone(BEIJING).isoformat(timespec="seconds"),
            "payer": {"openid": "oFakeOpenId0000000000000001"},
            "amount": {
                "total": order.amount_fen if amount_fen is None else amount_fen,
                "payer_total": order.amount_fen if amount_fen is None else amount_fen,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        resource.update(extra or {})
        nonce = secrets.token_urlsafe(9)[:12]
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), b"transaction"
        )
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False)
        return self._wechat_headers(body, timestamp, signing_key), body.encode()

    def _wechat_headers(
        self, body: str, timestamp: int | None = None, key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16).upper()
        return {
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.platform_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": _sign(key or self.platform_key, f"{ts}\n{nonce}\n{body}\n"),
        }

    def alipay_notification(
        self,
        order: FakeOrder,
        *,
        amount_fen: int | None = None,
        notify_time: datetime | None = None,
        body_guest: str | None = None,
        out_trade_no: str | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        fen = order.amount_fen if amount_fen is None else amount_fen
        yuan = f"{fen // 100}.{fen % 100:02d}"
        paid = (order.paid_at or datetime.now(UTC)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        params = {
            "notify_time": (notify_time or datetime.now(UTC)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": self.ALIPAY_APPID,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": order.txn_id,
            "out_trade_no": out_trade_no or order.topup_id,
            "trade_status": "TRADE_SUCCESS",
            "total_amount": yuan,
            "receipt_amount": yuan,
            "buyer_pay_amount": yuan,
            "subject": "soberpay top-up",
            "body": order.guest_id if body_guest is None else body_guest,
            "gmt_create": order.created.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "gmt_payment": paid,
            "seller_id": "2088000000000001",
            "buyer_id": "2088000000000002",
        }
        params.update(extra or {})
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type"))
        params["sign"] = _sign(signing_key or self.alipay_key, unsigned)
        form = httpx.QueryParams(params)
        return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, str(form).encode()

    # --- the provider's API ---------------------------------------------------------------------

    def wechat_api(self, method: str, path: str, headers: Any, body: str) -> tuple[int, dict[str, Any] | None]:
        auth = headers.get("Authorization", "")
        fields = dict(part.split("=", 1) for part in auth.removeprefix("WECHATPAY2-SHA256-RSA2048 ").split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n"
        if fields.get("mchid") != self.MCHID or not _verify(
            self.merchant_key.public_key(), message, fields.get("signature", "")
        ):
            return 401, {"code": "SIGN_ERROR", "message": "签名错误"}
        route = urlsplit(path).path
        if method == "POST" and route == "/v3/pay/transactions/native":
            req = json.loads(body)
            order = FakeOrder("wechat", req["out_trade_no"], req["amount"]["total"], req["notify_url"], req["attach"])
            with self._lock:
                if order.topup_id in self.orders:
                    return 400, {"code": "INVALID_REQUEST", "message": "订单号重复"}
                self.orders[order.topup_id] = order
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={order.topup_id[:12]}"}
        prefix = "/v3/pay/transactions/out-trade-no/"
        if route.startswith(prefix):
            topup_id = route[len(prefix) :].split("/")[0]
            found = self.orders.get(topup_id)
            if found is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if method == "POST" and route.endswith("/close"):
                if found.state == "paid":
                    return 400, {"code": "ORDERPAID", "message": "订单已支付"}
                found.state = "closed"
                return 204, None
            state = {"pending": "NOTPAY", "paid": "SUCCESS", "closed": "CLOSED"}[found.state]
            answer: dict[str, Any] = {
                "mchid": self.MCHID,
                "appid": self.WECHAT_APPID,
                "out_trade_no": found.topup_id,
                "trade_state": state,
                "attach": found.guest_id,
                "amount": {"total": found.amount_fen, "currency": "CNY"},
            }
            if found.state == "paid":
                answer["transaction_id"] = found.txn_id
            return 200, answer
        return 404, {"code": "NOT_FOUND", "message": "no such API in the fake"}

    def alipay_api(self, query: str) -> str:
        params = dict(parse_qsl(query, keep_blank_values=True))
        sign = params.pop("sign", "")
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()))  # requests sign sign_type too
        method = params.get("method", "")
        response_type = method.replace(".", "_") + "_response"
        if params.get("app_id") != self.ALIPAY_APPID or not _verify(self.app_key.public_key(), unsigned, sign):
            inner: dict[str, Any] = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
            return json.dumps({"error_response": inner})
        biz = json.loads(params.get("biz_content", "{}"))
        topup_id = biz.get("out_trade_no", "")
        found = self.orders.get(topup_id)
        if method == "alipay.trade.precreate":
            fen = round(float(biz["total_amount"]) * 100)
            with self._lock:
                self.orders[topup_id] = FakeOrder(
                    "alipay", topup_id, fen, params.get("notify_url", ""), biz.get("body", "")
                )
            inner = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": topup_id,
                "qr_code": f"https://qr.alipay.com/fake{topup_id[:12]}",
            }
        elif found is None or (method == "alipay.trade.query" and found.state == "pending"):
            # Alipay knows a precreated trade only once the buyer has scanned it.
            inner = {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        elif method == "alipay.trade.query":
            status = {"paid": "TRADE_SUCCESS", "closed": "TRADE_CLOSED"}[found.state]
            fen = found.amount_fen
            inner = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": topup_id,
                "trade_no": found.txn_id,
                "trade_status": status,
                "total_amount": f"{fen // 100}.{fen % 100:02d}",
                "body": found.guest_id,
            }
        elif method == "alipay.trade.close":
            if found.state == "paid":
                inner = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
            else:
                found.state = "closed"
                inner = {"code": "10000", "msg": "Success", "out_trade_no": topup_id}
        else:
            inner = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.METHOD_NOT_IN_FAKE"}
        text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        return f'{{"{response_type}":{text},"sign":"{_sign(self.alipay_key, text)}"}}'


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(min(length, 65536)).decode() if length else ""

        def _wechat(self, method: str) -> None:
            body = self._body()
            fake.requests.append(f"{method} {self.path}")
            status, answer = fake.wechat_api(method, self.path, self.headers, body)
            text = "" if answer is None else json.dumps(answer, ensure_ascii=False)
            self.send_response(status)
            for k, v in fake._wechat_headers(text).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.startswith("/gateway.do"):
                fake.requests.append(f"GET {urlsplit(self.path).path}")
                text = fake.alipay_api(urlsplit(self.path).query).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            else:
                self._wechat("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._wechat("POST")

    return Handler


def client_deliver(client: Any) -> Deliver:
    """Deliver notifications into a Starlette ``TestClient`` (the path of the notify URL, same bytes)."""

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        return int(client.post(urlsplit(url).path, content=body, headers=headers).status_code)

    return deliver


def top_up_by_qr(
    client: Any, fake: FakeProvider, guest_id: str, guest_token: str, amount_fen: int, channel: str = "wechat"
) -> dict[str, Any]:
    """The guest asks for a QR top-up, "scans and pays" at the fake provider, and the notification is
    delivered; returns the order as the guest then sees it (state paid, new balance). For longer walks."""
    headers = {"X-Guest-Token": guest_token}
    r = client.post(
        f"/api/guests/{guest_id}/topups", json={"channel": channel, "amount_fen": amount_fen}, headers=headers
    )
    assert r.status_code == 201, r.text
    topup_id = r.json()["id"]
    status = fake.pay(topup_id)
    assert status in (200, 204), status
    seen = client.get(f"/api/guests/{guest_id}/topups/{topup_id}", headers=headers)
    assert seen.status_code == 200, seen.text
    return dict(seen.json())
