"""Erasure and consent revocation remove derived personal data held by the sobriety area too."""

from __future__ import annotations

from sqlalchemy import func, select

from soberpay.adapters.db.sobriety_tables import SobrietyBaselineRow, SobrietyJudgementRow, SobrietyRecordRow
from soberpay.adapters.sobriety.store import SqlSobrietyStore
from soberpay.bootstrap import Container


def _guest_with_monitoring_data(c: Container) -> str:
    g = c.identity.register(name="M", phone="13800000011", national_id="11010519491231002X", password="123456")
    c.identity.grant_consent(g.id, "sobriety_monitoring")
    store = SqlSobrietyStore(c.session_factory)
    now = c.clock.now()
    key_id, blob = c.cipher.encrypt(b"{}", b"test")
    store.add_record(g.id, now, 1, key_id, blob)
    store.save_baseline(g.id, key_id, blob, now)
    with c.session_factory.begin() as s:
        s.add(
            SobrietyJudgementRow(
                guest_id=g.id,
                at=now,
                state="sober",
                p_drunk=0.1,
                posture_abnormal=False,
                similarity_to_normal=0.95,
                recovered=False,
                reason="test",
            )
        )
    return g.id


def _count(c: Container, table: type, guest_id: str) -> int:
    with c.session_factory() as s:
        return s.scalar(select(func.count()).select_from(table).where(table.guest_id == guest_id)) or 0  # type: ignore[attr-defined]


def test_revoking_monitoring_consent_deletes_records_and_baseline(fake_container: Container) -> None:
    guest_id = _guest_with_monitoring_data(fake_container)
    fake_container.identity.revoke_consent(guest_id, "sobriety_monitoring")
    assert _count(fake_container, SobrietyRecordRow, guest_id) == 0
    assert _count(fake_container, SobrietyBaselineRow, guest_id) == 0
    assert _count(fake_container, SobrietyJudgementRow, guest_id) == 1  # evidence behind past payment decisions stays


def test_erasure_deletes_all_derived_data(fake_container: Container) -> None:
    guest_id = _guest_with_monitoring_data(fake_container)
    fake_container.identity.erase(guest_id)
    for table in (SobrietyRecordRow, SobrietyBaselineRow, SobrietyJudgementRow):
        assert _count(fake_container, table, guest_id) == 0
