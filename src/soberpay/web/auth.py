"""Staff accounts, sessions, CSRF, room device tokens, guest session tokens and rate limits.

Principals:
- **staff**: argon2id-hashed account; signs in once, gets an itsdangerous-signed session cookie that
  carries a random session token and a random CSRF token. The session is a server-side record
  (``staff_sessions``, token stored as a SHA-256 digest): it ends at logout, at expiry, or when a
  manager revokes it, whatever the cookie says. Every state-changing request authenticated by a cookie must send that
  token back (``X-CSRF-Token`` header or ``csrf_token`` form field). Roles: ``cashier`` < ``manager``.
- **room**: a touchscreen holds a device token scoped to ONE room (``Authorization: Bearer`` for API
  clients, or a signed ``sp_room`` cookie set by the pairing page, CSRF-protected like the staff one).
  Tokens are stored as SHA-256 digests and can be revoked.
- **guest**: after registration (kiosk) or identification in a room, the client gets a short-lived
  signed guest token (``X-Guest-Token``) bound to that guest and that room; a room token alone never
  reads guest data, and a guest token from room A is refused in room B. Guest self-service at the kiosk
  (phone + password) gets a ``kiosk:self`` token that reads the guest's own record and fetches liveness
  challenges, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.audit import append_audit
from soberpay.adapters.db.web_tables import DeviceTokenRow, RateLimitRow, RoomRow, StaffAccountRow, StaffSessionRow
from soberpay.adapters.private_files import private_dir, private_file
from soberpay.errors import AuthError, Conflict, CsrfFailed, Forbidden, InvalidInput, NotFound, RateLimited
from soberpay.ports import Clock, PasswordHasher

ROLES = ("cashier", "manager")
SESSION_COOKIE = "sp_session"
ROOM_COOKIE = "sp_room"
LANG_COOKIE = "sp_lang"


@dataclass(frozen=True)
class StaffPrincipal:
    id: int
    username: str
    role: str
    csrf: str
    session: str = ""  # the session token from the cookie (to revoke it at logout)
    csrf_valid: bool = True  # False: an unsafe request without the right CSRF token

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"

    def require_csrf(self) -> None:
        if not self.csrf_valid:
            raise CsrfFailed("missing or wrong CSRF token")

    def require(self, role: str) -> None:
        if ROLES.index(self.role) < ROLES.index(role):
            raise Forbidden(f"this action needs the {role} role")


@dataclass(frozen=True)
class RoomPrincipal:
    room_id: str
    token_id: int
    csrf: str | None  # set when authenticated by the cookie (then CSRF applies)

    @property
    def actor(self) -> str:
        return f"room:{self.room_id}"

    def require_room(self, room_id: str) -> None:
        if room_id != self.room_id:
            raise Forbidden("this device token belongs to another room")


@dataclass(frozen=True)
class GuestPrincipal:
    guest_id: str
    scope: str  # "kiosk", SELF_SERVICE_SCOPE or a room id


# A colon cannot occur in a room id (schemas.ROOM_ID), so no room can share this scope.
SELF_SERVICE_SCOPE = "kiosk:self"


def load_or_create_secret(configured: str | None, key_dir: Path) -> str:
    if configured:
        return configured
    path = key_dir / "web_secret.key"
    if path.exists():
        return private_file(path).read_text().strip()
    private_dir(key_dir)
    secret = secrets.token_urlsafe(48)
    private_file(path).write_text(secret)
    return secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Signer:
    """Signed, timestamped payloads for the session cookie, the room cookie and guest tokens."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret)

    def dumps(self, payload: dict[str, Any], salt: str) -> str:
        return self._s.dumps(payload, salt=salt)

    def loads(self, token: str, salt: str, max_age: int) -> dict[str, Any] | None:
        try:
            data = self._s.loads(token, salt=salt, max_age=max_age)
        except (BadSignature, SignatureExpired):
            return None
        return data if isinstance(data, dict) else None


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class AuthStore:
    """Staff accounts, rooms and device tokens in the database."""

    def __init__(self, session_factory: sessionmaker[Session], hasher: PasswordHasher, clock: Clock) -> None:
        self._sessions = session_factory
        self._hasher = hasher
        self._clock = clock
        # A fixed dummy hash so a login with an unknown username costs the same as a wrong password.
        self._dummy = hasher.hash(secrets.token_hex(8))

    # --- staff sessions ---------------------------------------------------------------------


    # --- staff ------------------------------------------------------------------------------

    def create_staff(self, username: str, password: str, role: str, actor: str = "operator") -> int:
        username = (username or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9._-]{3,64}", username):  # ASCII only, as the API schema states
            raise InvalidInput("username must be 3–64 letters, digits, '.', '-' or '_'", field="username")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}", field="role")
        if not isinstance(password, str) or not 8 <= len(password) <= 256:
            raise InvalidInput("staff password must be 8–256 characters", field="password")
        now = self._clock.now()
        with self._sessions.begin() as session:
            if session.scalar(select(StaffAccountRow.id).where(StaffAccountRow.username == username)) is not None:
                raise Conflict("username already exists", field="username")
            row = StaffAccountRow(
                username=username, password_hash=self._hasher.hash(password), role=role, created_at=now
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise Conflict("username already exists", field="username") from exc
            append_audit(
                session, at=now, actor=actor, action="staff.created", details={"username": username, "role": role}
            )
            return row.id

    def staff_accounts(self) -> list[StaffAccountRow]:
        with self._sessions() as session:
            return list(session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.username)))

    def update_staff(self, staff_id: int, *, role: str | None, disabled: bool | None, actor: str) -> StaffAccountRow:
        """Change a role and/or disable/enable an account. Disabling revokes the account's sessions at once;
        no change may leave the venue without an active manager (the last one cannot lock everyone out)."""
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}", field="role")
        now = self._clock.now()
        with self._sessions.begin() as session:
            # Lock the active managers with the target (id order) before counting them: two managers
            # demoting each other at once would otherwise each see the other still active (write skew).
            active_manager = and_(StaffAccountRow.role == "manager", StaffAccountRow.disabled.is_(False))
            session.execute(
                select(StaffAccountRow.id)
                .where(or_(StaffAccountRow.id == staff_id, active_manager))
                .order_by(StaffAccountRow.id)
                .with_for_update()
            )
            row = session.get(StaffAccountRow, staff_id)
            if row is None:
                raise NotFound("unknown staff account", staff_id=staff_id)
            changed: dict[str, Any] = {}
            if role is not None and role != row.role:
                changed["role"] = [row.role, role]
                row.role = role
            if disabled is not None and disabled != row.disabled:
                changed["disabled"] = [row.disabled, disabled]
                row.disabled = disabled
            if not changed:
                return row
            session.flush()
            managers = session.scalar(select(func.count()).select_from(StaffAccountRow).where(active_manager))
            if not managers:
                raise Conflict("the venue would have no active manager left", field="role")
            if row.disabled:
                self._revoke_all(session, row.id, now)
            details = {"staff_id": row.id, "username": row.username, **changed}
            append_audit(session, at=now, actor=actor, action="staff.changed", details=details)
            return row

    def reset_password(self, staff_id: int, password: str, actor: str) -> None:
        """A new argon2id hash; the account's sessions end (the old password may be known to someone)."""
        if not isinstance(password, str) or not 8 <= len(password) <= 256:
            raise InvalidInput("staff password must be 8–256 characters", field="password")
        digest = self._hasher.hash(password)
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(StaffAccountRow, staff_id)
            if row is None:
                raise NotFound("unknown staff account", staff_id=staff_id)
            row.password_hash = digest
            self._revoke_all(session, row.id, now)
            details = {"staff_id": row.id, "username": row.username}
            append_audit(session, at=now, actor=actor, action="staff.password_reset", details=details)

    @staticmethod
    def _revoke_all(session: Session, staff_id: int, now: datetime) -> None:
        session.execute(
            update(StaffSessionRow)
            .where(StaffSessionRow.staff_id == staff_id, StaffSessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def authenticate(self, username: str, password: str) -> StaffAccountRow:
        username = (username or "").strip().lower()
        with self._sessions() as session:
            row = session.scalar(select(StaffAccountRow).where(StaffAccountRow.username == username))
        if row is None or row.disabled:
            self._hasher.verify(self._dummy, password or "")
            raise AuthError("wrong username or password")
        if not self._hasher.verify(row.password_hash, password or ""):
            raise AuthError("wrong username or password")
        return row

    # --- sessions ---------------------------------------------------------------------------

    def open_session(self, staff_id: int, max_age_s: int, client: str) -> str:
        """A new server-side session; returns its token (only the digest is stored)."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._sessions.begin() as session:
            session.add(
                StaffSessionRow(
                    token_sha256=token_digest(token),
                    staff_id=staff_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=max_age_s),
                    client=client[:64],
                )
            )
        return token

    def session_staff(self, token: str) -> StaffAccountRow | None:
        """The active staff account of a live session (not revoked, not expired, account not disabled)."""
        if not token or len(token) > 200:
            return None
        now = self._clock.now()
        with self._sessions() as session:
            row = session.scalar(select(StaffSessionRow).where(StaffSessionRow.token_sha256 == token_digest(token)))
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            staff = session.get(StaffAccountRow, row.staff_id)
        return staff if staff is not None and not staff.disabled else None

    def close_session(self, token: str) -> None:
        """Logout: revoke the session of this token (unknown tokens are ignored)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.scalar(select(StaffSessionRow).where(StaffSessionRow.token_sha256 == token_digest(token)))
            if row is not None and row.revoked_at is None:
                row.revoked_at = now

    def live_sessions(self) -> list[tuple[StaffSessionRow, str]]:
        """Sessions neither revoked nor expired, newest first, with their staff username."""
        now = self._clock.now()
        with self._sessions() as session:
            rows = session.execute(
                select(StaffSessionRow, StaffAccountRow.username)
                .join(StaffAccountRow, StaffAccountRow.id == StaffSessionRow.staff_id)
                .where(StaffSessionRow.revoked_at.is_(None), StaffSessionRow.expires_at > now)
                .order_by(StaffSessionRow.created_at.desc(), StaffSessionRow.id.desc())
            ).all()
        return [(r, name) for r, name in rows]

    def revoke_session(self, session_id: int, actor: str) -> None:
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(StaffSessionRow, session_id)
            if row is None:
                raise NotFound("unknown session", session_id=session_id)
            if row.revoked_at is None:
                row.revoked_at = now
            details = {"session_id": session_id}
            append_audit(session, at=now, actor=actor, action="staff.session_revoked", details=details)

    # --- rooms and device tokens ------------------------------------------------------------

    def create_room(
        self,
        room_id: str,
        name: str,
        camera_source: str | None,
        actor: str = "operator",
        thermal_camera_source: str | None = None,
        name_zh: str = "",
    ) -> RoomRow:
        room_id = (room_id or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", room_id):  # ASCII only, as the API schema states
            raise InvalidInput("room id must be 1–32 letters, digits, '-' or '_'", field="room_id")
        name = (name or "").strip()
        if not 1 <= len(name) <= 64:
            raise InvalidInput("room name must be 1–64 characters", field="name")
        if camera_source is not None and len(camera_source) > 512:
            raise InvalidInput("camera source is too long", field="camera_source")
        if thermal_camera_source is not None and len(thermal_camera_source) > 512:
            raise InvalidInput("thermal camera source is too long", field="thermal_camera_source")
        now = self._clock.now()
        with self._sessions.begin() as session:
            if session.get(RoomRow, room_id) is not None:
                raise Conflict("room already exists", room_id=room_id)
            row = RoomRow(
                id=room_id,
                name=name,
                name_zh=_room_name_zh(name_zh),
                camera_source=camera_source or None,
                thermal_camera_source=thermal_camera_source or None,
                created_at=now,
            )
            session.add(row)
            append_audit(session, at=now, actor=actor, action="room.created", details={"room_id": room_id})
            return row

    def update_room(
        self,
        room_id: str,
        *,
        name: str,
        name_zh: str,
        camera_source: str | None,
        thermal_camera_source: str | None,
        actor: str,
    ) -> RoomRow:
        """Rename a room or change its cameras (audited; a rooms process picks up cameras at its next start)."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 64:
            raise InvalidInput("room name must be 1–64 characters", field="name")
        for field, value in (("camera_source", camera_source), ("thermal_camera_source", thermal_camera_source)):
            if value is not None and len(value) > 512:
                raise InvalidInput("camera source is too long", field=field)
        new = {
            "name": name,
            "name_zh": _room_name_zh(name_zh),
            "camera_source": (camera_source or "").strip() or None,
            "thermal_camera_source": (thermal_camera_source or "").strip() or None,
        }
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(RoomRow, room_id)
            if row is None:
                raise NotFound("unknown room", room_id=room_id)
            changed = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
            for k in ("camera_source", "thermal_camera_source"):  # the append-only log keeps no password
                if k in changed:
                    changed[k] = [camera_source_shown(x) for x in changed[k]]
            for k, v in new.items():
                setattr(row, k, v)
            if changed:
                details = {"room_id": room_id, **changed}
                append_audit(session, at=now, actor=actor, action="room.changed", details=details)
            return row

    def rooms(self) -> list[RoomRow]:
        with self._sessions() as session:
            return list(session.scalars(select(RoomRow).order_by(RoomRow.id)))

    def room(self, room_id: str) -> RoomRow:
        with self._sessions() as session:
            row = session.get(RoomRow, room_id)
        if row is None:
            raise NotFound("unknown room", room_id=room_id)
        return row

    def issue_device_token(self, room_id: str, label: str = "", actor: str = "operator") -> tuple[int, str]:
        self.room(room_id)
        token = "sprt_" + secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = DeviceTokenRow(room_id=room_id, token_sha256=token_digest(token), label=label[:64], created_at=now)
            session.add(row)
            session.flush()
            append_audit(
                session,
                at=now,
                actor=actor,
                action="room.token_issued",
                details={"room_id": room_id, "token_id": row.id},
            )
            return row.id, token

    def revoke_device_token(self, token_id: int, actor: str) -> None:
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get(DeviceTokenRow, token_id)
            if row is None:
                raise NotFound("unknown device token", token_id=token_id)
            row.revoked_at = now
            append_audit(session, at=now, actor=actor, action="room.token_revoked", details={"token_id": token_id})

    def device_token(self, token: str) -> DeviceTokenRow | None:
        if not token or len(token) > 200:
            return None
        with self._sessions() as session:
            row = session.scalar(select(DeviceTokenRow).where(DeviceTokenRow.token_sha256 == token_digest(token)))
        return row if row is not None and row.revoked_at is None else None

    def device_token_active(self, token_id: int, room_id: str) -> bool:
        with self._sessions() as session:
            row = session.get(DeviceTokenRow, token_id)
        return row is not None and row.revoked_at is None and row.room_id == room_id

    def audit(self, session: Session, at: datetime, actor: str, action: str, **details: Any) -> None:
        append_audit(session, at=at, actor=actor, action=action, details=details)


def camera_source_shown(spec: str | None) -> str | None:
    """A camera source as cashiers and the audit log see it: a stream URL keeps only its scheme, host and
    port. RTSP URLs carry the camera's password in the user part, the query or (some brands) the path."""
    if not spec or "://" not in spec:
        return spec  # a device index, a file path or "demo": no secret in it
    try:
        parts = urlsplit(spec)
    except ValueError:
        return "…"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/…"


def _room_name_zh(name_zh: str) -> str:
    name_zh = (name_zh or "").strip()
    if len(name_zh) > 64:
        raise InvalidInput("room name must be 1–64 characters", field="name_zh")
    return name_zh


class RateLimits:
    """Request limits in fixed one-minute windows, counted in the database (``rate_limits``).

    In the database so that every worker process and every ``soberpay serve`` on the same database
    shares one count (in-process buckets gave each process its own allowance). One statement,
    ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, increments and reads the count: atomic on SQLite
    and PostgreSQL. Keys (phone numbers, IP addresses) are stored as HMAC digests, never in clear.
    """

    WINDOW_S = 60

    def __init__(
        self, session_factory: sessionmaker[Session], clock: Clock, secret: str, per_min: Mapping[str, float]
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._secret = secret.encode()
        self.limits = {name: max(1, int(rate)) for name, rate in per_min.items()}

    def check(self, name: str, key: str) -> None:
        limit = self.limits[name]
        now = self._clock.now().timestamp()
        window = int(now // self.WINDOW_S)
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()
        with self._sessions.begin() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            stmt = (
                insert(RateLimitRow)
                .values(bucket=name, key=digest, window=window, hits=1)
                .on_conflict_do_update(index_elements=["bucket", "key", "window"], set_={"hits": RateLimitRow.hits + 1})
                .returning(RateLimitRow.hits)
            )
            hits = int(session.execute(stmt).scalar_one())
            if hits == 1:  # a new window for this key: forget windows that can no longer matter
                session.execute(delete(RateLimitRow).where(RateLimitRow.window < window - 1))
        if hits > limit:
            wait = (window + 1) * self.WINDOW_S - now
            raise RateLimited(f"too many {name} attempts; try again in {wait:.0f} s", retry_after=round(wait, 1))
