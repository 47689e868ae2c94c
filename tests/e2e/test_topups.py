"""Top-up by QR end to end: the official SDKs (wechatpayv3, python-alipay-sdk) talk HTTP to the local fake
provider, which signs its notifications as the real ones do; the notification endpoint verifies before it
credits. Each attack test fails when its protection is removed (docs/guide/top-up.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.payment_tables import PostingRow
from soberpay.config import Settings
from tests.e2e.web_support import Venue, login, register, sqlite_container, venue
from tests.support.fake_provider import FakeProvider, _key, client_deliver, top_up_by_qr

CHANNELS = ("wechat", "alipay")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as f:  # RSA key generation is the slow part: one fake per module
        yield f


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))  # notifications are checked against the real time window


@pytest.fixture
def v(settings: Settings, clock: ManualClock, fake: FakeProvider, tmp_path: Path) -> Iterator[Venue]:
    fake.configure(settings, tmp_path / "secrets", "http://testserver")
    container = sqlite_container(settings, clock)
    yield venue(container)
    container.close()


@pytest.fixture
def client(v: Venue, fake: FakeProvider) -> Iterator[TestClient]:
    with v.client() as c:
        fake.deliver = client_deliver(c)
        yield c


def _guest(client: TestClient, seq: int = 1) -> tuple[str, dict[str, str]]:
    g = register(client, f"Guest{seq}", seq)
    return g["guest_id"], {"X-Guest-Token": g["guest_token"]}


def _order(client: TestClient, gid: str, h: dict[str, str], channel: str, amount_fen: int = 10_000) -> str:
    r = client.post(f"/api/guests/{gid}/topups", json={"channel": channel, "amount_fen": amount_fen}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "created" and r.json()["qr_svg"].startswith("<svg")
    return str(r.json()["id"])


def _balance(v: Venue, gid: str) -> int:
    return int(v.app.state.web.container.payments.balance(gid))


def _topup_postings(v: Venue) -> int:
    with v.app.state.web.container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.kind == "topup")) or 0)


def _rejections(v: Venue) -> list[str]:
    entries = v.app.state.web.container.payments.audit(None, 100, "topup.rejected")
    return [str(e.details.get("reason")) for e in entries]


def _send(client: TestClient, channel: str, headers: dict[str, str], body: bytes) -> Any:
    return client.post(f"/topups/notify/{channel}", content=body, headers=headers)


def _notification(fake: FakeProvider, topup_id: str, **tamper: Any) -> tuple[dict[str, str], bytes]:
    order = fake.orders[topup_id]
    build = fake.wechat_notification if order.channel == "wechat" else fake.alipay_notification
    return build(order, **tamper)


@pytest.mark.parametrize("channel", CHANNELS)
def test_sdk_to_fake_provider_to_signed_notification_to_balance(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    gid, h = _guest(client)
    seen = top_up_by_qr(client, fake, gid, h["X-Guest-Token"], 12_345, channel)
    assert seen["state"] == "paid" and seen["balance_fen"] == 12_345
    assert _balance(v, gid) == 12_345
    # The books balance: the channel's clearing account holds what the provider owes the venue.
    sums = v.app.state.web.container.payments.ledger(None, 10)
    assert sums.trial_balance == 0
    assert sums.account_sums[f"venue:clearing:{channel}"] == 12_345
    # The staff guest page shows the top-up and its channel.
    csrf = login(client)
    page = client.get(f"/staff/guests/{gid}", headers=csrf)
    assert "WeChat Pay" in page.text if channel == "wechat" else "Alipay" in page.text
    # The SDK really spoke to the fake over HTTP.
    assert any("/v3/pay/transactions/native" in r or "/gateway.do" in r for r in fake.requests)


@pytest.mark.parametrize("channel", CHANNELS)
def test_replayed_and_duplicated_notifications_credit_once(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel)
    fake.pay(tid, notify=False)
    headers, body = _notification(fake, tid)
    first = _send(client, channel, headers, body)
    assert first.status_code in (200, 204), first.text
    assert _send(client, channel, headers, body).status_code in (200, 204)  # the same bytes again
    assert fake.notify(tid) in (200, 204)  # a fresh, re-signed duplicate (providers retry)
    assert _balance(v, gid) == 10_000
    assert _topup_postings(v) == 1


def test_anonymous_notifications_cannot_grow_the_audit_log_without_bound(
    client: TestClient, v: Venue, fake: FakeProvider
) -> None:
    v.app.state.web.limits.limits["notify"] = 3
    gid, h = _guest(client)
    tid = _order(client, gid, h, "alipay")
    fake.pay(tid, notify=False)
    headers, body = _notification(fake, tid, signing_key=_key())  # forged: each one is audited
    statuses = [_send(client, "alipay", headers, body).status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert _rejections(v) == ["bad_notification"] * 3
    assert _balance(v, gid) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_forged_signature_changes_nothing_and_is_audited(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel)
    fake.pay(tid, notify=False)
    headers, body = _notification(fake, tid, signing_key=_key())
    r = _send(client, channel, headers, body)
    assert r.status_code == 401, r.text
    assert _balance(v, gid) == 0 and _topup_postings(v) == 0
    assert "bad_notification" in _rejections(v)


@pytest.mark.parametrize("channel", CHANNELS)
def test_tampered_amount_is_refused(client: TestClient, v: Venue, fake: FakeProvider, channel: str) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel, 10_000)
    fake.pay(tid, notify=False)
    # (a) changed in transit: the signature no longer covers the body.
    headers, body = _notification(fake, tid)
    if channel == "alipay":
        tampered = body.replace(b"total_amount=100.00", b"total_amount=99999.00")
    else:  # the amount is inside the encrypted resource; any change to the signed body must be refused
        envelope = json.loads(body)
        envelope["summary"] = "paid 99999"
        tampered = json.dumps(envelope, ensure_ascii=False).encode()
    assert tampered != body
    assert _send(client, channel, headers, tampered).status_code == 401
    # (b) correctly signed, but for another amount than the order: refused, audited.
    headers, body = _notification(fake, tid, amount_fen=1_000_000)
    r = _send(client, channel, headers, body)
    assert r.status_code == 400, r.text
    assert _balance(v, gid) == 0 and _topup_postings(v) == 0
    assert "amount_mismatch" in _rejections(v)


@pytest.mark.parametrize("channel", CHANNELS)
def test_notification_naming_another_guest_credits_no_one(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    alice, ha = _guest(client, 1)
    bob, hb = _guest(client, 2)
    tid = _order(client, alice, ha, channel)
    fake.pay(tid, notify=False)
    key = "attach" if channel == "wechat" else "body_guest"
    headers, body = _notification(fake, tid, **{key: bob})
    assert _send(client, channel, headers, body).status_code == 403
    assert _balance(v, alice) == 0 and _balance(v, bob) == 0
    assert "guest_mismatch" in _rejections(v)
    # Bob cannot watch (or learn the QR of) Alice's order, even under his own guest id.
    assert client.get(f"/api/guests/{alice}/topups/{tid}", headers=hb).status_code == 403
    assert client.get(f"/api/guests/{bob}/topups/{tid}", headers=hb).status_code == 403


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_genuine_notification_for_another_app_or_merchant_is_refused(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    """A guest pays themselves at their own merchant account, under our order number: the provider's
    signature is genuine, the money is not ours. Protection: the adapters' app id (Alipay) and
    mchid/appid (WeChat Pay) checks."""
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel)
    fake.pay(tid, notify=False)
    others = [{"app_id": "2021000000000999"}] if channel == "alipay" else [{"mchid": "1900000999"}, {"appid": "wx0"}]
    for other in others:
        headers, body = _notification(fake, tid, extra=other)
        assert _send(client, channel, headers, body).status_code == 401
    assert _balance(v, gid) == 0 and _topup_postings(v) == 0
    assert _rejections(v) == ["bad_notification"] * len(others)


def test_a_notification_naming_an_unknown_certificate_cannot_wipe_the_wechat_certificates(
    client: TestClient, v: Venue, fake: FakeProvider
) -> None:
    """The SDK empties its platform certificates and downloads them again for an unknown serial: one
    anonymous request (download refused, rate-limited or down) left every later notification unverifiable.
    Protection: ``WechatPayProvider`` refuses an unknown serial before the SDK sees it."""
    gid, h = _guest(client)
    tid = _order(client, gid, h, "wechat")
    fake.pay(tid, notify=False)
    headers, body = _notification(fake, tid)
    for serial in ("ABCDEF", "not-hex"):
        assert _send(client, "wechat", {**headers, "Wechatpay-Serial": serial}, body).status_code == 401
    assert not any("/v3/certificates" in r for r in fake.requests)
    assert fake.notify(tid) == 204  # the genuine notification still verifies
    assert _balance(v, gid) == 10_000 and _topup_postings(v) == 1


def test_a_guest_token_cannot_open_a_qr_order_for_another_guest(client: TestClient, v: Venue) -> None:
    alice, _ha = _guest(client, 1)
    _bob, hb = _guest(client, 2)
    r = client.post(f"/api/guests/{alice}/topups", json={"channel": "wechat", "amount_fen": 10_000}, headers=hb)
    assert r.status_code == 403
    assert v.app.state.web.container.topups.recent(alice) == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_huge_notification_body_is_refused_before_verification(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel)
    fake.pay(tid, notify=False)
    # Validly signed, but over topup.notify_max_bytes (8 KiB): never parsed, never credited.
    padding = "x" * 20_000
    if channel == "wechat":
        headers, body = fake.wechat_notification(fake.orders[tid])
        envelope = json.loads(body)
        envelope["padding"] = padding
        text = json.dumps(envelope, ensure_ascii=False)
        headers = fake._wechat_headers(text)
        body = text.encode()
    else:
        headers, body = fake.alipay_notification(fake.orders[tid], body_guest=gid + padding)
    r = _send(client, channel, headers, body)
    assert r.status_code == 401, r.text
    assert _balance(v, gid) == 0
    assert "too_large" in _rejections(v)


@pytest.mark.parametrize("channel", CHANNELS)
def test_notification_outside_the_timestamp_window_is_refused(
    client: TestClient, v: Venue, fake: FakeProvider, channel: str
) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, channel)
    fake.pay(tid, notify=False)
    old = datetime.now(UTC) - timedelta(hours=1)
    tamper = {"timestamp": int(old.timestamp())} if channel == "wechat" else {"notify_time": old}
    headers, body = _notification(fake, tid, **tamper)
    assert _send(client, channel, headers, body).status_code == 401
    assert _balance(v, gid) == 0
    assert "bad_notification" in _rejections(v)


def test_notification_for_an_unknown_order_changes_nothing(client: TestClient, v: Venue, fake: FakeProvider) -> None:
    gid, h = _guest(client)
    tid = _order(client, gid, h, "wechat")
    fake.pay(tid, notify=False)
    headers, body = fake.wechat_notification(fake.orders[tid], out_trade_no="f" * 32)
    assert _send(client, "wechat", headers, body).status_code == 404
    assert _balance(v, gid) == 0
    assert "unknown_order" in _rejections(v)


@pytest.mark.parametrize("channel", CHANNELS)
def test_reconciliation_recovers_a_lost_notification_and_closes_unpaid_orders(
    client: TestClient, v: Venue, fake: FakeProvider, clock: ManualClock, channel: str
) -> None:
    gid, h = _guest(client)
    paid = _order(client, gid, h, channel, 5_000)
    unpaid = _order(client, gid, h, channel, 7_000)
    fake.pay(paid, notify=False)  # the notification is lost
    topups = v.app.state.web.container.topups
    assert topups.reconcile(timedelta(minutes=10)).checked == 0  # too young to ask about
    clock.advance(minutes=11)
    report = topups.reconcile(timedelta(minutes=10))
    assert (report.checked, report.settled, report.closed, report.errors) == (2, 1, 1, 0)
    assert _balance(v, gid) == 5_000
    assert fake.orders[unpaid].state == "closed"  # closed at the provider too: it can no longer be paid
    assert topups.reconcile(timedelta(minutes=10)).checked == 0  # exactly once
    # The notification arrives late, after reconciliation credited it: no second credit.
    clock.set(datetime.now(UTC))
    assert fake.notify(paid) in (200, 204)
    assert _balance(v, gid) == 5_000 and _topup_postings(v) == 1
    # A (signed) payment for the order reconciliation closed is refused and left to staff.
    fake.orders[unpaid].txn_id = "late0000000000000001"
    headers, body = _notification(fake, unpaid)
    assert _send(client, channel, headers, body).status_code == 409
    assert "order_closed" in _rejections(v)
    assert _balance(v, gid) == 5_000
    alerts = v.app.state.web.container.payments.alerts()
    assert [a.kind for a in alerts if a.guest_id == gid] == ["topup_unmatched"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_payment_for_a_guest_erased_meanwhile_is_left_to_staff_not_credited(
    client: TestClient, v: Venue, fake: FakeProvider, clock: ManualClock, channel: str
) -> None:
    """The guest scanned, then was erased before paying: a balance nobody can spend would swallow the money.
    Protection: ``TopupChannels._credit`` refuses an erased guest, fails the order and alerts staff."""
    gid, h = _guest(client)
    notified, lost = _order(client, gid, h, channel, 5_000), _order(client, gid, h, channel, 7_000)
    manager = login(client)
    erased = client.request("DELETE", f"/api/guests/{gid}", data={"reason": "guest asked"}, headers=manager)
    assert erased.status_code == 204, erased.text
    fake.pay(lost, notify=False)
    assert fake.pay(notified) == 409
    topups = v.app.state.web.container.topups
    clock.advance(minutes=11)
    assert topups.reconcile(timedelta(minutes=10)).errors == 1
    assert topups.reconcile(timedelta(minutes=10)).checked == 0  # failed, so not asked about (and alerted) again
    assert _topup_postings(v) == 0
    assert _rejections(v).count("guest_erased") == 2
    assert {topups.status(t, None).state for t in (notified, lost)} == {"failed"}
    alerts = v.app.state.web.container.payments.alerts()
    assert [a.kind for a in alerts if a.guest_id == gid] == ["topup_unmatched"] * 2
    assert client.get("/api/staff/ledger", headers=manager).json()["trial_balance"] == 0


def test_amount_bounds_and_unconfigured_channels(client: TestClient, v: Venue) -> None:
    gid, h = _guest(client)
    assert client.get("/api/topups/channels").json() == {"channels": ["alipay", "wechat"]}
    too_small = client.post(f"/api/guests/{gid}/topups", json={"channel": "wechat", "amount_fen": 50}, headers=h)
    assert too_small.status_code == 400
    assert (
        client.post(f"/api/guests/{gid}/topups", json={"channel": "paypal", "amount_fen": 500}, headers=h).status_code
        == 422
    )
    for loose in (True, "10000"):  # JSON true is not ¥0.01: money is a JSON integer of fen
        r = client.post(f"/api/guests/{gid}/topups", json={"channel": "wechat", "amount_fen": loose}, headers=h)
        assert r.status_code == 422, loose
    assert v.app.state.web.container.topups.recent(gid) == []


def test_reconcile_command(
    client: TestClient, v: Venue, fake: FakeProvider, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from soberpay.cli import _common, app

    gid, h = _guest(client)
    tid = _order(client, gid, h, "alipay", 3_000)
    fake.pay(tid, notify=False)
    clock.advance(minutes=11)
    monkeypatch.setattr(_common, "_container", v.app.state.web.container)
    result = CliRunner().invoke(app, ["topups", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "checked 1: settled 1, closed 0, errors 0" in result.output
    assert _balance(v, gid) == 3_000
    listed = CliRunner().invoke(app, ["topups", "list", gid])
    assert "paid" in listed.output and "30.00" in listed.output


def test_prod_refuses_the_fake_gateway_and_secrets_in_the_data_dir(fake: FakeProvider, tmp_path: Path) -> None:
    from soberpay.adapters.payment_providers import build_providers
    from soberpay.errors import ConfigError

    settings = Settings(data_dir=tmp_path / "var", env="prod")
    fake.configure(settings, tmp_path / "var" / "secrets", "https://venue.example")
    with pytest.raises(ConfigError, match="gateway"):
        build_providers(settings)
    settings.topup.wechat.gateway = settings.topup.alipay.gateway = None
    with pytest.raises(ConfigError, match="outside the data dir"):
        build_providers(settings)
    assert set(build_providers(settings.model_copy(update={"env": "test"}))) == {"wechat", "alipay"}
