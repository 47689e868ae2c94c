"""Ports: the interfaces the services depend on. Adapters implement them; tests use fakes.

Vision ports speak numpy (they sit at the adapter boundary); the pure domain never sees arrays,
only the floats and decisions these ports produce. Services treat ``Embedding`` as an opaque value:
array work (byte encoding, similarity) happens behind ``EmbeddingCodec``.

Persistence is one port, the unit of work (cosmicpython chapter 6): a ``with uow:`` block is one
database transaction holding every repository, the audit log, the staff notifications (the outbox)
and the idempotency records. Nothing is written unless the block calls ``uow.commit()``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from soberpay.domain.delivery import Delivery, DeliveryState
from soberpay.domain.identity import ConsentPurpose, ConsentRecord, PasswordGuard
from soberpay.domain.ledger import Posting
from soberpay.domain.liveness import Challenge, ClipMeasurements
from soberpay.domain.purchase import PendingRequest, PendingStatus, StoredResult
from soberpay.domain.risk import RiskRecord
from soberpay.domain.spending import PastOrder

ImageBGR = npt.NDArray[np.uint8]  # H×W×3 uint8, OpenCV channel order
Embedding = npt.NDArray[np.float32]  # 1-d, L2-normalised


@dataclass(frozen=True)
class DetectedFace:
    """One face found by a detector, in image pixel coordinates."""

    box: tuple[float, float, float, float]  # x, y, w, h
    landmarks: tuple[tuple[float, float], ...]  # 5 points: right eye, left eye, nose, mouth R, mouth L
    score: float


@dataclass(frozen=True)
class FaceQuality:
    """Per-face quality measurements used to qualify a frame (finance patent step 1)."""

    detector_score: float
    sharpness: float  # variance of Laplacian on the face crop
    face_size: float  # shorter side of the box, pixels
    brightness: float  # mean grey 0..255
    contrast: float  # std grey
    yaw_deg: float
    pitch_deg: float
    n_faces: int
    passed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, image: ImageBGR) -> list[DetectedFace]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns an image + detected face into an L2-normalised embedding."""

    name: str
    dim: int

    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding: ...


@dataclass(frozen=True)
class IndexHit:
    key: str  # guest id
    score: float  # cosine similarity


@runtime_checkable
class TemplateIndex(Protocol):
    """1:N search over enrolled templates (several per guest), best guest first."""

    def search(self, embedding: Embedding, k: int = 2) -> list[IndexHit]: ...
    def __len__(self) -> int: ...


@runtime_checkable
class InProcessTemplateIndex(TemplateIndex, Protocol):
    """An index held in this process's memory: the identity service loads it from the database and
    keeps it in step. An index that is not one of these searches the database itself (pgvector), and
    the service then stores each template's search vector beside its ciphertext instead."""

    def add(self, key: str, embedding: Embedding) -> None: ...
    def remove(self, key: str) -> None: ...


@runtime_checkable
class Cipher(Protocol):
    """Authenticated encryption with key ids, so keys can rotate."""

    @property
    def current_key_id(self) -> str: ...
    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> tuple[str, bytes]: ...
    def decrypt(self, key_id: str, blob: bytes, associated_data: bytes = b"") -> bytes: ...


@runtime_checkable
class PasswordHasher(Protocol):
    def hash(self, secret: str) -> str: ...
    def verify(self, hashed: str, secret: str) -> bool: ...


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


@runtime_checkable
class FrameSource(Protocol):
    """Camera, video file or RTSP stream. Frames stay in memory."""

    def frames(self) -> Iterator[tuple[float, ImageBGR]]: ...  # (timestamp seconds, frame)
    def close(self) -> None: ...


Frames = Sequence[ImageBGR]


@dataclass(frozen=True)
class PresenceResult:
    """Whether a clip shows a live person in front of the camera; ``reasons`` say why not (or what passed)."""

    live: bool
    reasons: tuple[str, ...] = ()


@runtime_checkable
class PresenceCheck(Protocol):
    """Presentation-attack detection on a clip. ``challenge_id``: the active challenge the guest was shown
    (consumed: single use); ``None`` runs the passive layer only."""

    def check(self, frames: Sequence[ImageBGR], challenge_id: str | None) -> PresenceResult: ...


@runtime_checkable
class ClipSensor(Protocol):
    """Turns a clip into the measurements the PAD decision reads (face mesh, tracked texture)."""

    def measure(self, frames: Sequence[ImageBGR]) -> ClipMeasurements: ...


@runtime_checkable
class ChallengeStore(Protocol):
    """Issued liveness challenges; ``take`` removes and returns one, so each is used at most once."""

    def put(self, challenge: Challenge) -> None: ...
    def take(self, challenge_id: str) -> Challenge | None: ...


@dataclass(frozen=True)
class FaceAnalysis:
    """One usable face: where it is, its embedding and its quality measurements."""

    face: DetectedFace
    embedding: Embedding
    quality: FaceQuality


@runtime_checkable
class FaceAnalyser(Protocol):
    """Detect → quality-gate → align → embed. Raises NoFace / MultipleFaces / FaceTooSmall / LowQuality."""

    def analyse(self, image: ImageBGR) -> FaceAnalysis: ...
    def best_from_frames(self, frames: Iterable[ImageBGR], top_k: int = 5) -> list[FaceAnalysis]: ...


@runtime_checkable
class EmbeddingCodec(Protocol):
    """Array work the identity service needs on embeddings, so it never imports numpy."""

    def to_bytes(self, embedding: Embedding) -> bytes: ...
    def from_bytes(self, data: bytes) -> Embedding: ...
    def similarity(self, a: Embedding, b: Embedding) -> float: ...


# --- persistence: records the repositories hand out ------------------------------------------------


class DuplicateRecord(Exception):
    """A unique constraint rejected a write: usually a concurrent request committed the same key first.

    The unit of work raises it (in place of the driver's error) when the block or its commit fails."""


@dataclass(frozen=True)
class GuestRecord:
    """A guest as stored, secrets included (ciphertexts and the password hash); erasure blanks them."""

    id: str
    created_at: datetime
    name: str | None = None
    phone: str | None = None
    national_id_key_id: str | None = None
    national_id_enc: bytes | None = None
    national_id_masked: str | None = None
    password_hash: str | None = None
    sex: str | None = None
    weight_kg: float | None = None
    erased_at: datetime | None = None


@dataclass(frozen=True)
class TemplateRecord:
    """One encrypted face template (the plaintext is the embedder's vector, see ``EmbeddingCodec``)."""

    guest_id: str
    embedder: str
    key_id: str
    blob: bytes
    quality: float
    created_at: datetime
    id: int | None = None  # assigned by the store
    # Plaintext search vector, written beside the ciphertext only when the index lives in the database
    # (docs/scaling.md: what that means for privacy). Never read back into a TemplateRecord.
    search_vector: Embedding | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Visit:
    id: str
    guest_id: str
    opened_at: datetime
    status: str = "open"  # open / closed
    closed_at: datetime | None = None
    total_fen: int = 0


@dataclass(frozen=True)
class OrderRecord:
    id: str
    guest_id: str
    visit_id: str
    at: datetime
    sku: str
    name: str
    category: str
    unit_price_fen: int
    quantity: int
    amount_fen: int
    alcohol_g: float
    rule: str
    posting_id: str
    pending_id: str | None = None
    refunded_fen: int = 0
    room_id: str | None = None


@dataclass(frozen=True)
class Presence:
    """A guest present in a room: checked in at the counter or identified at the room's tablet."""

    guest_id: str
    room_id: str
    since: datetime
    source: str  # counter / tablet


@dataclass(frozen=True)
class LedgerLine:
    posting_id: str
    at: datetime
    kind: str
    guest_id: str | None
    memo: str
    entries: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Alert:
    id: int
    at: datetime
    kind: str
    guest_id: str | None
    message: str
    acknowledged: bool
    room_id: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    guest_id: str | None
    details: dict[str, Any]
    room_id: str | None = None


@dataclass(frozen=True)
class TopupRecord:
    """A top-up through a payment channel: created with a QR code, then paid, closed or failed exactly once."""

    id: str  # our order number at the provider (out_trade_no)
    guest_id: str
    channel: str  # wechat / alipay
    amount_fen: int
    state: str  # created / paid / closed / failed
    created_at: datetime
    updated_at: datetime
    code_url: str = ""  # what the QR code encodes
    provider_txn_id: str | None = None  # unique per channel: a paid notification credits once
    posting_id: str | None = None
    note: str = ""


# --- persistence: repositories ----------------------------------------------------------------------


class PaymentRepository(Protocol):
    """Accounts, ledger, visits, orders, risk state, password guards and pending requests."""

    def ensure_accounts(self, guest_id: str | None, now: datetime) -> None: ...
    def lock_guest(self, guest_id: str) -> None:
        """Row lock on the guest's account: serialises every money decision for this guest."""

    def balance(self, guest_id: str) -> int: ...
    def write_posting(self, posting: Posting, idempotency_key: str | None) -> None:
        """Store a balanced posting and keep the posting guest's cached balance in step."""

    def account_sums(self) -> dict[str, int]: ...
    def ledger_lines(self, guest_id: str | None, limit: int) -> list[LedgerLine]: ...
    def open_visit(self, guest_id: str) -> Visit | None: ...
    def last_visit(self, guest_id: str) -> Visit | None: ...  # the latest, open or closed
    def add_visit(self, visit: Visit) -> None: ...
    def close_visit(self, visit_id: str, closed_at: datetime, total_fen: int, bill: Mapping[str, Any]) -> None: ...
    def orders(self, guest_id: str, visit_id: str | None = None) -> list[OrderRecord]: ...
    def order(self, order_id: str) -> OrderRecord | None: ...
    def add_order(self, order: OrderRecord) -> None: ...
    def add_refund(self, order_id: str, amount_fen: int) -> None: ...
    def history(self, guest_id: str, exclude_visit: str | None) -> list[PastOrder]: ...
    def risk(self, guest_id: str) -> RiskRecord: ...
    def save_risk(self, record: RiskRecord) -> None: ...
    def guard(self, guest_id: str, for_update: bool = False) -> PasswordGuard:
        """The guest's one password-attempt counter; ``for_update`` row-locks it until commit."""

    def save_guard(self, guest_id: str, guard: PasswordGuard) -> None: ...
    def pending(self, request_id: str) -> PendingRequest | None: ...
    def pending_requests(
        self,
        guest_id: str | None = None,
        statuses: tuple[PendingStatus, ...] | None = None,
        visit_id: str | None = None,
    ) -> list[PendingRequest]: ...
    def add_pending(self, request: PendingRequest) -> None: ...
    def save_pending(self, request: PendingRequest) -> None: ...
    def set_presence(self, guest_id: str, room_id: str | None, now: datetime, source: str) -> None:
        """Put the guest in a room (None: nowhere). Orders, pending requests, alerts and audit rows written
        afterwards for this guest carry this room."""

    def presences(self) -> list[Presence]: ...
    def add_delivery(self, delivery: Delivery) -> None:
        """Store a new delivery; its room is the order's."""

    def delivery_for_order(self, order_id: str) -> Delivery | None: ...
    def deliveries(self, states: tuple[DeliveryState, ...], since: datetime | None = None) -> list[Delivery]:
        """Deliveries in ``states`` (updated at or after ``since`` if given), oldest first."""

    def save_delivery(self, delivery: Delivery) -> None: ...


class IdempotencyStore(Protocol):
    def stored(self, key: str) -> StoredResult | None: ...
    def store(
        self, key: str, operation: str, fp: str, guest_id: str | None, result: Mapping[str, Any], now: datetime
    ) -> None:
        """Record a result; a concurrent duplicate key fails here (``DuplicateRecord``) or at commit."""


class NotificationOutbox(Protocol):
    """Staff notifications, written in the decision's transaction and read by the staff pages."""

    def notify(self, now: datetime, kind: str, guest_id: str | None, message: str) -> None: ...
    def alerts(self, include_acknowledged: bool, limit: int) -> list[Alert]: ...
    def acknowledge(self, alert_id: int, actor: str, now: datetime) -> Alert | None:
        """Mark acknowledged (no-op when it already is); the alert as it was before, None when unknown."""


class AuditLog(Protocol):
    """Append-only; details never hold secrets or personal data."""

    def append(
        self, at: datetime, actor: str, action: str, guest_id: str | None, details: Mapping[str, Any]
    ) -> None: ...
    def entries(self, guest_id: str | None, limit: int, prefix: str | None) -> list[AuditEntry]: ...
    def newest_id(self, actions: Sequence[str]) -> int | None: ...
    def changes_since(self, actions: Sequence[str], after_id: int) -> list[tuple[int, str | None]]:
        """(audit id, guest id) of the entries with one of ``actions`` and an id above ``after_id``."""


class GuestRepository(Protocol):
    def add(self, guest: GuestRecord) -> None: ...
    def get(self, guest_id: str) -> GuestRecord | None: ...
    def by_phone(self, phone: str) -> GuestRecord | None: ...
    def live(self) -> list[GuestRecord]:
        """Guests not erased, oldest first."""

    def save(self, guest: GuestRecord) -> None: ...
    def with_national_id_not_under(self, key_id: str) -> list[GuestRecord]: ...
    def ids_with_phone_ending(self, digits: str) -> list[str]:
        """Ids of live guests whose phone number ends with ``digits`` (the 1:N narrowing hint)."""


class ConsentRepository(Protocol):
    def active(self, guest_id: str, purpose: ConsentPurpose) -> ConsentRecord | None: ...
    def add(self, consent: ConsentRecord) -> None: ...
    def revoke(self, guest_id: str, purpose: ConsentPurpose, now: datetime) -> None: ...
    def revoke_all(self, guest_id: str, now: datetime) -> None: ...
    def for_guest(self, guest_id: str) -> list[ConsentRecord]: ...


class TemplateRepository(Protocol):
    def for_embedder(self, embedder: str) -> list[TemplateRecord]: ...
    def for_guest(self, guest_id: str, embedder: str | None = None) -> list[TemplateRecord]:
        """Oldest first."""

    def count(self, embedder: str) -> int: ...
    def add(self, template: TemplateRecord) -> None: ...
    def delete(self, template_id: int) -> None: ...
    def delete_for_guest(self, guest_id: str) -> int: ...
    def not_under(self, key_id: str) -> list[TemplateRecord]: ...
    def save_ciphertext(self, template_id: int, key_id: str, blob: bytes) -> None: ...


class DerivedData(Protocol):
    """Personal data other areas derive from a guest (sobriety measurements), deleted on request."""

    def delete_monitoring(self, guest_id: str) -> int: ...
    def delete_all(self, guest_id: str) -> int: ...


class TopupRepository(Protocol):
    def add(self, topup: TopupRecord) -> None: ...
    def get(self, topup_id: str) -> TopupRecord | None: ...
    def save(self, topup: TopupRecord) -> None:
        """Store the new state; a second order with the same (channel, provider_txn_id) raises ``DuplicateRecord``."""

    def pending_before(self, before: datetime, limit: int) -> list[TopupRecord]:
        """Orders still ``created`` that were created before ``before``, oldest first."""

    def for_guest(self, guest_id: str, limit: int) -> list[TopupRecord]: ...


class AbstractUnitOfWork(abc.ABC):
    """One transaction over every store. ``with uow:`` opens it; leaving without ``commit()`` rolls back."""

    payments: PaymentRepository
    idempotency: IdempotencyStore
    notifications: NotificationOutbox
    audit: AuditLog
    guests: GuestRepository
    consents: ConsentRepository
    templates: TemplateRepository
    derived: DerivedData
    topups: TopupRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def purge_erased(self) -> None:
        """After a committed erasure: make the deleted personal data unreadable in the store's files too
        (SQLite: checkpoint and truncate the write-ahead log)."""


UnitOfWorkFactory = Callable[[], AbstractUnitOfWork]


# --- printing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintLine:
    """One line of a receipt or ticket, already laid out for the paper's width."""

    text: str
    bold: bool = False
    center: bool = False


class Printer(Protocol):
    """A receipt/ticket printer. Best-effort: ``print_lines`` returns an error text instead of raising."""

    def print_lines(self, lines: Sequence[PrintLine], lang: str) -> str | None: ...


# Told how long one stage of a decision took ("decode", "detect", "embed", "search"…), in seconds:
# the web app feeds a histogram per stage (docs/scaling.md, "Where the time goes").
StageObserver = Callable[[str, float], None]


def ignore_stage(stage: str, seconds: float) -> None:
    """The ``StageObserver`` of code run without metrics (CLI, tests)."""
