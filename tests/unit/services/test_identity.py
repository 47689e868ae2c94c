"""Identity use cases on the in-memory unit of work: register, consent, enrol, identify, verify, erase,
re-encrypt. Vision comes from tests/fakes.py (no models); templates go through the real codec and
index, which are plain in-memory adapters."""

from __future__ import annotations

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.embeddings import Float32EmbeddingCodec
from soberpay.adapters.index import NumpyTemplateIndex
from soberpay.config import IdentitySettings
from soberpay.domain.identity import ConsentPurpose, PasswordPolicy
from soberpay.errors import AuthError, Conflict, ConsentRequired, Forbidden, LockedOut, NotFound
from soberpay.services.identity import IdentityService
from tests.fakes import FakeAnalyser, FakePresence, fake_decode_image, fake_decode_video, fake_image
from tests.uow_fakes import FakeDatabase, uow_factory

NATIONAL_ID = "11010519491231002X"


class FakeCipher:
    """Reversible and key-tagged, not secret: enough to see what is encrypted under which key."""

    def __init__(self) -> None:
        self.current_key_id = "k1"

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> tuple[str, bytes]:
        return self.current_key_id, associated_data + b"|" + plaintext[::-1]

    def decrypt(self, key_id: str, blob: bytes, associated_data: bytes = b"") -> bytes:
        aad, _, body = blob.partition(b"|")
        assert aad == associated_data, "associated data mismatch"
        return body[::-1]


class FakeHasher:
    """Counts verifications: timing parity means every phone identification runs exactly one."""

    def __init__(self) -> None:
        self.verified: list[str] = []

    def hash(self, secret: str) -> str:
        return "h:" + secret

    def verify(self, hashed: str, secret: str) -> bool:
        self.verified.append(hashed)
        return hashed == "h:" + secret


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def cipher() -> FakeCipher:
    return FakeCipher()


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def identity_service(db: FakeDatabase, cipher: FakeCipher, hasher: FakeHasher, clock: ManualClock) -> IdentityService:
    """The identity service on the in-memory unit of work, with fake models and the exact memory index."""
    return IdentityService(
        uow=uow_factory(db),
        cipher=cipher,
        hasher=hasher,
        clock=clock,
        settings=IdentitySettings(),
        embedder_name="fake",
        match_threshold=0.5,
        analyser_factory=FakeAnalyser,  # type: ignore[arg-type]
        index=NumpyTemplateIndex(),
        codec=Float32EmbeddingCodec(),
        decode_image=fake_decode_image,  # type: ignore[arg-type]
        decode_video=fake_decode_video,  # type: ignore[arg-type]
        password_policy=PasswordPolicy(),
        presence=FakePresence(),
    )


@pytest.fixture
def ident(db: FakeDatabase, cipher: FakeCipher, hasher: FakeHasher, clock: ManualClock) -> IdentityService:
    return identity_service(db, cipher, hasher, clock)


def _guest(ident: IdentityService, phone: str = "13900000001", consent: bool = True) -> str:
    g = ident.register(name="Li Lei", phone=phone, national_id=NATIONAL_ID, password="123456")
    if consent:
        ident.grant_consent(g.id, ConsentPurpose.FACE_PAYMENT)
    return g.id


def test_register_stores_secrets_encrypted_and_refuses_a_taken_phone(ident: IdentityService, db: FakeDatabase) -> None:
    gid = _guest(ident, consent=False)
    stored = db.guests[gid]
    assert stored.password_hash == "h:123456" and NATIONAL_ID.encode() not in (stored.national_id_enc or b"")
    assert ident.reveal_national_id(gid) == NATIONAL_ID
    assert ident.check_password(gid, "123456").ok and not ident.check_password(gid, "654321").ok
    with pytest.raises(Conflict):
        _guest(ident)
    assert ident.find_by_phone("13900000001").id == gid


def test_consent_is_granted_once_and_revoking_face_consent_deletes_templates(
    ident: IdentityService, db: FakeDatabase
) -> None:
    gid = _guest(ident)
    ident.grant_consent(gid, ConsentPurpose.FACE_PAYMENT)
    assert db.actions().count("consent.granted") == 1
    ident.enroll_images(gid, [fake_image("li", 1), fake_image("li", 2)])
    assert ident.template_count(gid) == 2
    ident.revoke_consent(gid, ConsentPurpose.FACE_PAYMENT)
    assert ident.template_count(gid) == 0 and not ident.has_consent(gid, "face_payment")
    with pytest.raises(ConsentRequired):
        ident.enroll_images(gid, [fake_image("li")])


def test_enrol_identify_verify(ident: IdentityService) -> None:
    li, han = _guest(ident), _guest(ident, phone="13900000002")
    ident.enroll_images(li, [fake_image("li", 1)])
    ident.enroll_images(han, [fake_image("han", 1)])
    decision = ident.identify(fake_image("li", 7))
    assert decision.accepted and decision.guest_id == li
    assert ident.verify(li, fake_image("li", 8)).accepted
    assert not ident.verify(han, fake_image("li", 8)).accepted
    with pytest.raises(Forbidden):  # han has a face: a new one must match it 1:1
        ident.enroll_images(han, [fake_image("li", 9)])
    with pytest.raises(Conflict):  # the same face under another, not yet enrolled guest
        ident.enroll_images(_guest(ident, phone="13900000003"), [fake_image("li", 9)])


def test_failed_enrolment_writes_nothing(ident: IdentityService, db: FakeDatabase) -> None:
    gid = _guest(ident)
    before = len(db.audit)
    with pytest.raises(Exception, match="no face"):
        ident.enroll_images(gid, [fake_image("li"), b"noface"])
    assert ident.template_count(gid) == 0 and len(db.audit) == before


def test_erase_blanks_the_guest_and_deletes_derived_data(ident: IdentityService, db: FakeDatabase) -> None:
    gid = _guest(ident)
    ident.enroll_images(gid, [fake_image("li")])
    db.derived_rows[gid] = 4
    ident.erase(gid)
    erased = db.guests[gid]
    assert erased.erased_at is not None and erased.name is None and erased.phone is None
    assert erased.national_id_enc is None and erased.password_hash is None
    assert ident.template_count(gid) == 0 and gid not in db.derived_rows
    assert db.audit[-1].details == {"templates_deleted": 1, "derived_rows_deleted": 4}
    with pytest.raises(NotFound):
        ident.get(gid)
    assert not ident.identify(fake_image("li", 3)).accepted


def test_reencrypt_moves_everything_to_the_current_key(
    ident: IdentityService, db: FakeDatabase, cipher: FakeCipher
) -> None:
    gid = _guest(ident)
    ident.enroll_images(gid, [fake_image("li")])
    cipher.current_key_id = "k2"  # the key was rotated
    assert ident.reencrypt_all() == 2  # one template, one ID number
    assert {t.key_id for t in db.templates.values()} == {"k2"} and db.guests[gid].national_id_key_id == "k2"
    assert ident.reveal_national_id(gid) == NATIONAL_ID


# --- issue 11: one lockout, timing parity, 1:1 for new faces, guest proof ------------------------------


def test_one_lockout_after_five_wrong_passwords_refuses_the_right_one_and_tells_staff(
    ident: IdentityService, db: FakeDatabase, clock: ManualClock
) -> None:
    gid = _guest(ident)
    for _ in range(4):
        with pytest.raises(AuthError) as err:
            ident.require_password(gid, "000000")
        assert not isinstance(err.value, LockedOut)
    with pytest.raises(LockedOut):
        ident.require_password(gid, "000000")
    with pytest.raises(LockedOut):  # locked: the right password is refused, unchecked
        ident.require_password(gid, "123456")
    assert [a for a in db.alerts if a.kind == "lockout"]
    clock.advance(15 * 60 + 1)
    ident.require_password(gid, "123456")  # the lockout ran out


def test_unknown_phone_costs_one_argon2_verification_like_a_known_one(
    ident: IdentityService, hasher: FakeHasher
) -> None:
    _guest(ident)
    for phone in ("13900000001", "13900000002"):  # known, unknown
        hasher.verified.clear()
        with pytest.raises(AuthError) as err:
            ident.identify_by_phone(phone, "000000")
        assert len(hasher.verified) == 1 and err.value.message == "wrong phone number or password"
    assert ident.identify_by_phone("+86 139-0000-0001", "123456").name == "Li Lei"


def test_a_new_face_for_an_enrolled_guest_must_match_or_is_refused_and_staff_told(
    ident: IdentityService, db: FakeDatabase
) -> None:
    gid = _guest(ident)
    ident.enroll_images(gid, [fake_image("li", 1)])  # first enrolment: nothing to compare with
    ident.enroll_images(gid, [fake_image("li", 2)])  # the same person: accepted
    with pytest.raises(Forbidden):
        ident.enroll_images(gid, [fake_image("stranger", 1)])
    assert ident.template_count(gid) == 2
    assert [a for a in db.alerts if a.kind == "face_mismatch"]
    assert not ident.identify(fake_image("stranger", 2)).accepted


def test_guest_proof_needs_password_liveness_and_the_enrolled_face(ident: IdentityService) -> None:
    gid = _guest(ident)
    ident.enroll_images(gid, [fake_image("li", 1)])
    live = ident.decode_capture([fake_image("li", 2), fake_image("li", 3)])
    still = ident.decode_capture([fake_image("li", 2), fake_image("li", 2)])
    stranger = ident.decode_capture([fake_image("x", 2), fake_image("x", 3)])
    with pytest.raises(AuthError):
        ident.prove_guest(gid, "000000", live, None)
    with pytest.raises(Forbidden, match="liveness"):
        ident.prove_guest(gid, "123456", still, None)
    with pytest.raises(Forbidden, match="does not match"):
        ident.prove_guest(gid, "123456", stranger, None)
    assert len(ident.prove_guest(gid, "123456", live, "c1")) == 2
