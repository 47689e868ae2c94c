"""The demo venue: staff accounts, two rooms (one replaying the bundled sample clip), seeded guests
enrolled from the bundled sample faces, each with a prepaid balance. Idempotent: re-running keeps
what exists. Every seeded person is a public sample image (see ``assets/faces/README.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from soberpay.domain.identity import prc_id_check_digit
from soberpay.errors import AuthError, ConfigError, Conflict, NotFound, SoberpayError
from soberpay.web.auth import AuthStore
from soberpay.web.context import WebContext

if TYPE_CHECKING:
    from soberpay.services.identity import IdentityService

DEMO_PASSWORD = "123456"  # the seeded guests' payment password (demo only)
DEMO_STAFF = (("manager", "demo-manager-pass", "manager"), ("cashier", "demo-cashier-pass", "cashier"))
DEMO_ROOMS = (("demo", "Demo room (sample video)", "demo"), ("r102", "Room 102", None))
DEMO_GUESTS = (
    ("Barack Obama", "13900000001", "19610804", ("obama.jpg", "obama2.jpg")),
    ("Joe Biden", "13900000002", "19421120", ("biden.jpg",)),
    ("Grace Hopper", "13900000003", "19061209", ("grace_hopper.jpg",)),
)


def demo_national_id(birth: str, seq: int) -> str:
    first17 = f"110105{birth}{seq:03d}"
    return first17 + prc_id_check_digit(first17)


@dataclass
class DemoVenue:
    guests: dict[str, str] = field(default_factory=dict)  # name → guest id
    tokens: dict[str, str] = field(default_factory=dict)  # room id → device token (fresh each run)
    problems: list[str] = field(default_factory=list)


def seed_demo(web: WebContext, *, enrol_faces: bool = True, topup_fen: int = 100_000) -> DemoVenue:
    out = DemoVenue()
    auth = web.auth
    for username, password, role in DEMO_STAFF:
        try:
            auth.create_staff(username, password, role, actor="demo")
        except Conflict:
            pass
    existing = {r.id for r in auth.rooms()}
    for room_id, name, source in DEMO_ROOMS:
        if room_id not in existing:
            auth.create_room(room_id, name, source, actor="demo")
        out.tokens[room_id] = auth.issue_device_token(room_id, label="demo", actor="demo")[1]
    ident = web.container.identity
    faces = resources.files("soberpay.assets").joinpath("faces")
    for i, (name, phone, birth, images) in enumerate(DEMO_GUESTS, start=1):
        try:
            gid = ident.find_by_phone(phone).id
        except NotFound:
            gid = ident.register(
                name=name, phone=phone, national_id=demo_national_id(birth, i), password=DEMO_PASSWORD, actor="demo"
            ).id
            for purpose in ("face_payment", "sobriety_monitoring", "behaviour_profiling"):
                ident.grant_consent(gid, purpose, actor="demo")
            try:
                web.payments.topup(gid, amount_fen=topup_fen, idempotency_key=f"demo-topup-{gid}", actor="demo")
            except SoberpayError as exc:
                out.problems.append(f"top-up {name}: {exc.message}")
        out.guests[name] = gid
        if enrol_faces and ident.template_count(gid) == 0:
            try:
                ident.enroll_images(gid, [faces.joinpath(f).read_bytes() for f in images], actor="demo")
            except SoberpayError as exc:
                out.problems.append(f"enrol {name}: {exc.code}: {exc.message}")
    return out


def demo_leftovers(auth: AuthStore, identity: IdentityService) -> list[str]:
    """Demo accounts that still accept their published demo passwords (staff and seeded guests)."""
    found = []
    for username, password, _ in DEMO_STAFF:
        try:
            auth.authenticate(username, password)
            found.append(f"staff {username!r}")
        except AuthError:
            pass
    for name, phone, _, _ in DEMO_GUESTS:
        try:
            if identity.check_password(identity.find_by_phone(phone).id, DEMO_PASSWORD):
                found.append(f"guest {name!r}")
        except SoberpayError:  # not there, erased, or locked: not usable with the demo password
            pass
    return found


def refuse_demo_in_prod(auth: AuthStore, identity: IdentityService) -> None:
    """``env = "prod"`` never runs with the published demo credentials (issue 12: a demo-seeded data dir
    served in production accepted ``manager / demo-manager-pass``)."""
    found = demo_leftovers(auth, identity)
    if found:
        raise ConfigError(
            f"env is prod but demo accounts with published passwords exist ({', '.join(found)}): "
            "serve production from a fresh data_dir, not the demo's"
        )
