"""An in-process index follows template changes made by another process through the audit log,
including a change whose audit id becomes visible after a higher one (commit order ≠ id order)."""

from __future__ import annotations

from dataclasses import replace

from soberpay.adapters.clock import ManualClock
from soberpay.domain.identity import ConsentPurpose
from soberpay.services.identity import IdentityService
from tests.fakes import fake_image
from tests.unit.services.test_identity import FakeCipher, FakeHasher, identity_service
from tests.uow_fakes import FakeDatabase


def _service(db: FakeDatabase, cipher: FakeCipher) -> IdentityService:
    return identity_service(db, cipher, FakeHasher(), ManualClock())


def test_a_change_that_becomes_visible_late_is_still_applied() -> None:
    db, cipher = FakeDatabase(), FakeCipher()
    writer, reader = _service(db, cipher), _service(db, cipher)
    ids = []
    for n, phone in enumerate(("13900000001", "13900000002", "13900000003")):
        g = writer.register(name=f"G{n}", phone=phone, national_id="11010519491231002X", password="123456")
        writer.grant_consent(g.id, ConsentPurpose.FACE_PAYMENT)
        ids.append(g.id)
    a, b, c = ids
    writer.enroll_images(a, [fake_image("a", 1)])
    assert reader.identify(fake_image("a", 2)).guest_id == a
    writer.enroll_images(b, [fake_image("b", 1)])
    pos = len(db.audit) - 1
    late = db.audit[pos]
    db.audit[pos] = replace(late, action="pending.commit")  # B's transaction has not committed yet…
    writer.enroll_images(c, [fake_image("c", 1)])  # …while a later one has
    assert reader.identify(fake_image("c", 2)).guest_id == c
    db.audit[pos] = late  # B commits: its audit id is below one the reader already applied
    assert reader.identify(fake_image("b", 2)).guest_id == b
