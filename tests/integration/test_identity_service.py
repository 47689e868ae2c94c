"""Identity service on a real migrated SQLite database with the fake face analyser."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from soberpay.adapters.db.identity_tables import AuditRow, ConsentRow, FaceTemplateRow, GuestRow
from soberpay.bootstrap import Container
from soberpay.errors import BadImage, Conflict, ConsentRequired, InvalidInput, MultipleFaces, NoFace, NotFound
from tests.fakes import fake_image

ID_A = "11010519491231002X"
ID_B = "440524198001010013"


def _counts(c: Container) -> tuple[int, ...]:
    with c.session_factory() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0 for t in (GuestRow, ConsentRow, FaceTemplateRow)
        )


def _guest(c: Container, name: str = "Li Lei", phone: str = "13800138000", nid: str = ID_A) -> str:
    cust = c.identity.register(name=name, phone=phone, national_id=nid, password="123456")
    c.identity.grant_consent(cust.id, "face_payment")
    return cust.id


def test_register_stores_hashed_password_and_encrypted_id(fake_container: Container) -> None:
    cust = fake_container.identity.register(name="Li Lei", phone="138 0013 8000", national_id=ID_A, password="246810")
    assert cust.phone == "13800138000" and cust.national_id_masked == "110***********002X"
    with fake_container.session_factory() as s:
        row = s.get(GuestRow, cust.id)
        assert row is not None and row.password_hash is not None and row.national_id_enc is not None
        assert row.password_hash.startswith("$argon2id$") and "246810" not in row.password_hash
        assert ID_A.encode() not in row.national_id_enc
        audit = " ".join(a.details for a in s.scalars(select(AuditRow)))
        assert "246810" not in audit and ID_A not in audit
    assert fake_container.identity.reveal_national_id(cust.id) == ID_A
    assert fake_container.identity.check_password(cust.id, "246810").ok
    assert not fake_container.identity.check_password(cust.id, "000000").ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phone": "12345"},
        {"national_id": "110105194912310021"},
        {"password": "12345"},
        {"name": ""},
        {"sex": "X"},
        {"weight_kg": 5.0},
    ],
)
def test_bad_registration_writes_nothing(fake_container: Container, kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"name": "Han Meimei", "phone": "13900139000", "national_id": ID_B, "password": "123456"}
    with pytest.raises(InvalidInput):
        fake_container.identity.register(**{**base, **kwargs})  # type: ignore[arg-type]
    assert _counts(fake_container) == (0, 0, 0)


def test_duplicate_phone_conflicts(fake_container: Container) -> None:
    _guest(fake_container)
    before = _counts(fake_container)
    with pytest.raises(Conflict):
        fake_container.identity.register(name="Other", phone="13800138000", national_id=ID_B, password="111111")
    assert _counts(fake_container) == before


def test_enrol_requires_consent_and_identify(fake_container: Container) -> None:
    ident = fake_container.identity
    cust = ident.register(name="Li Lei", phone="13800138000", national_id=ID_A, password="123456")
    with pytest.raises(ConsentRequired):
        ident.enroll_images(cust.id, [fake_image("lilei", 1)])
    ident.grant_consent(cust.id, "face_payment")
    result = ident.enroll_images(cust.id, [fake_image("lilei", i) for i in range(3)])
    assert result.templates_stored == 3
    other = _guest(fake_container, "Han", "13900139000", ID_B)
    ident.enroll_images(other, [fake_image("han", 1)])

    decision = ident.identify(fake_image("lilei", 9))
    assert decision.accepted and decision.guest_id == cust.id and decision.margin > 0
    assert ident.verify(cust.id, fake_image("lilei", 7)).accepted
    assert not ident.verify(cust.id, fake_image("han", 7)).accepted
    stranger = ident.identify(fake_image("stranger", 1))
    assert not stranger.accepted and stranger.guest_id is None


def test_templates_are_encrypted_and_bound_to_owner(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", 1)])
    with fake_container.session_factory() as s:
        row = s.scalars(select(FaceTemplateRow)).one()
        assert len(row.blob) == 12 + 128 * 4 + 16  # nonce + float32 vector + GCM tag
        from soberpay.errors import ConfigError

        with pytest.raises(ConfigError):  # AAD binds the blob to its guest
            fake_container.cipher.decrypt(row.key_id, row.blob, b"face-template:someoneelse:sface")


def test_duplicate_enrolment_under_another_guest_is_refused(fake_container: Container) -> None:
    a = _guest(fake_container)
    fake_container.identity.enroll_images(a, [fake_image("lilei", 1)])
    b = _guest(fake_container, "Impostor", "13900139000", ID_B)
    before = _counts(fake_container)
    with pytest.raises(Conflict):
        fake_container.identity.enroll_images(b, [fake_image("lilei", 2)])
    assert _counts(fake_container) == before


@pytest.mark.parametrize(
    "payload,error", [(b"noface", NoFace), (b"twofaces", MultipleFaces), (b"\x89PNG\r\n garbage", BadImage)]
)
def test_bad_enrolment_images_write_nothing(fake_container: Container, payload: bytes, error: type) -> None:
    guest_id = _guest(fake_container)
    before = _counts(fake_container)
    with pytest.raises(error):
        fake_container.identity.enroll_images(guest_id, [fake_image("lilei", 1), payload])
    assert _counts(fake_container) == before


def test_video_enrolment_reports_rejections(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    video = b"person=lilei;shot=1|noface|person=lilei;shot=2|twofaces"
    result = fake_container.identity.enroll_video(guest_id, video)
    assert result.templates_stored == 2
    assert result.rejected == {"no_face": 1, "multiple_faces": 1}


def test_template_cap_keeps_newest(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    fake_container.settings.identity.templates_per_guest = 3
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", i) for i in range(2)])
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", i) for i in range(2, 5)])
    assert fake_container.identity.template_count(guest_id) == 3


def test_revoking_face_consent_deletes_templates(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", 1)])
    fake_container.identity.revoke_consent(guest_id, "face_payment")
    assert fake_container.identity.template_count(guest_id) == 0
    assert not fake_container.identity.identify(fake_image("lilei", 2)).accepted
    assert not fake_container.identity.has_consent(guest_id, "face_payment")
    # phone + password still work without face consent
    assert fake_container.identity.find_by_phone("13800138000").id == guest_id
    assert fake_container.identity.check_password(guest_id, "123456").ok


def test_unknown_consent_purpose(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    with pytest.raises(InvalidInput):
        fake_container.identity.grant_consent(guest_id, "marketing")


def test_erase_keeps_anonymised_trail(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", 1)])
    fake_container.identity.erase(guest_id)
    with pytest.raises(NotFound):
        fake_container.identity.get(guest_id)
    with pytest.raises(NotFound):
        fake_container.identity.find_by_phone("13800138000")
    with fake_container.session_factory() as s:
        row = s.get(GuestRow, guest_id)
        assert row is not None and row.erased_at is not None
        assert (row.name, row.phone, row.national_id_enc, row.password_hash) == (None, None, None, None)
        assert s.scalar(select(func.count()).select_from(FaceTemplateRow)) == 0
        actions = [a.action for a in s.scalars(select(AuditRow).where(AuditRow.guest_id == guest_id))]
        assert actions[-1] == "guest.erased"
    # the phone number can register again
    fake_container.identity.register(name="New", phone="13800138000", national_id=ID_B, password="123456")


def test_unknown_guest(fake_container: Container) -> None:
    with pytest.raises(NotFound):
        fake_container.identity.enroll_images("0" * 32, [fake_image("x", 1)])
    with pytest.raises(NotFound):
        fake_container.identity.get("nope")


def test_key_rotation_reencrypts_everything(fake_container: Container) -> None:
    guest_id = _guest(fake_container)
    fake_container.identity.enroll_images(guest_id, [fake_image("lilei", 1)])
    old = fake_container.cipher.current_key_id
    new = fake_container.cipher.rotate()
    assert new != old
    assert fake_container.identity.reencrypt_all() == 2  # one template + one ID number
    fake_container.cipher.retire(old)
    with fake_container.session_factory() as s:
        assert {r.key_id for r in s.scalars(select(FaceTemplateRow))} == {new}
    assert fake_container.identity.reveal_national_id(guest_id) == ID_A
    assert fake_container.identity.identify(fake_image("lilei", 3)).guest_id == guest_id


def test_key_file_permissions(fake_container: Container) -> None:
    _ = fake_container.cipher
    mode = (fake_container.settings.data_dir / "keys.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_index_follows_changes_made_by_another_process(fake_container: Container) -> None:
    """Two service instances on one database (two web workers, or the CLI beside the server)."""
    from tests.fakes import FakeAnalyser, fake_decode_image, fake_decode_video

    other = Container(fake_container.settings, clock=fake_container.clock, analyser=FakeAnalyser())
    other.decode_image = fake_decode_image  # type: ignore[method-assign]
    other.decode_video = fake_decode_video  # type: ignore[method-assign]
    first, second = fake_container.identity, other.identity
    a = _guest(fake_container)
    assert not second.identify(fake_image("lilei", 1)).accepted
    first.enroll_images(a, [fake_image("lilei", 1)])
    assert second.identify(fake_image("lilei", 2)).guest_id == a
    first.erase(a)
    b = _guest(fake_container, "Han", "13900139000", ID_B)
    first.enroll_images(b, [fake_image("han", 1)])  # same template count as before the erasure
    decision = second.identify(fake_image("lilei", 3))
    assert decision.guest_id is None
    assert second.identify(fake_image("han", 2)).guest_id == b
    other.close()
