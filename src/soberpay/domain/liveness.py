"""Presentation-attack detection (PAD) decisions: challenges, the venue policy, and the verdict on a clip.

Pure: the vision adapter (``adapters/vision/liveness.py``) turns a clip into :class:`ClipMeasurements`
(floats per frame and per clip); this module decides.

Two layers:

* **active** — a randomised challenge (blink, turn left/right, smile; random order; time-limited;
  single use) that the guest performs in front of the tablet. A replayed photo or video cannot know
  the order in advance.
* **passive** — the landmarks' motion across the clip must NOT fit a single plane: a photo or screen
  moved by a hand is a plane, so its 468 face-mesh points follow one homography; a 3-D head turning
  shows parallax (nose against cheeks) that no homography explains. A clip with too little motion
  to tell is not accepted as live on this cue alone.

Which layers are required is the venue policy (:func:`required_layers`).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "Challenge",
    "ChallengeAction",
    "ClipMeasurements",
    "FrameSignals",
    "LivenessThresholds",
    "PadPurpose",
    "actions_performed",
    "challenge_satisfied",
    "issue_challenge",
    "passive_reasons",
    "required_layers",
]


class ChallengeAction(enum.StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the guest's own left
    TURN_RIGHT = "turn_right"
    SMILE = "smile"


class PadPurpose(enum.StrEnum):
    ENROLMENT = "enrolment"
    ACCOUNT_ACTION = "account_action"
    PURCHASE = "purchase"


@dataclass(frozen=True)
class Challenge:
    id: str
    actions: tuple[ChallengeAction, ...]
    issued_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def issue_challenge(
    challenge_id: str,
    now: datetime,
    ttl_s: float,
    n_actions: int,
    allowed: Sequence[ChallengeAction],
    rng: random.Random,
) -> Challenge:
    """``n_actions`` distinct actions from ``allowed`` in random order; turning left then right is
    allowed (it is a natural head shake), turning the same way twice is not (no repeats)."""
    pool = list(dict.fromkeys(allowed))
    count = max(1, min(n_actions, len(pool)))
    actions = tuple(rng.sample(pool, count))
    return Challenge(challenge_id, actions, now, now + timedelta(seconds=ttl_s))


@dataclass(frozen=True)
class FrameSignals:
    """What one frame shows, from the face mesh: ``yaw`` signed (positive = the guest's left, i.e.
    the nose moves to the image's right), ``ear`` eye aspect ratio (both eyes' mean), ``smile``
    mouth width / inter-ocular distance."""

    yaw: float
    ear: float
    smile: float


@dataclass(frozen=True)
class ClipMeasurements:
    """A clip as the PAD decision needs it. ``frames`` holds only frames in which a face was found."""

    n_frames: int
    frames: tuple[FrameSignals, ...]
    planar_residual: float  # worst RMS landmark residual after a homography fit, in inter-ocular distances
    motion: float  # largest landmark displacement between frames, in inter-ocular distances
    moire: float  # peak-to-median spectral energy of the face crop (screen pixel grids)


@dataclass(frozen=True)
class LivenessThresholds:
    min_face_frames: int = 5
    blink_ear: float = 0.18  # an eye below this EAR counts as closed
    open_ear: float = 0.22  # ... and must be above this before and after
    turn_yaw: float = 0.12  # |yaw| change from the clip's start that counts as a turn
    smile_gain: float = 0.10  # smile ratio increase over the clip's start
    min_motion: float = 0.05  # below this the clip is too still to judge planarity
    min_planar_residual: float = 0.06  # at or above: 3-D parallax seen
    max_moire: float = float("inf")  # at or above: screen pattern (off: it did not separate, docs/security.md)


def actions_performed(frames: Sequence[FrameSignals], t: LivenessThresholds) -> list[ChallengeAction]:
    """The actions seen, in the order their first frame occurs (each action listed once)."""
    if not frames:
        return []
    base = frames[: max(1, min(3, len(frames)))]
    yaw0 = sum(f.yaw for f in base) / len(base)
    smile0 = min(f.smile for f in base)
    first: dict[ChallengeAction, int] = {}
    eye_was_open = False
    for i, f in enumerate(frames):
        if f.ear >= t.open_ear:
            eye_was_open = True
        elif f.ear <= t.blink_ear and eye_was_open and any(g.ear >= t.open_ear for g in frames[i + 1 :]):
            first.setdefault(ChallengeAction.BLINK, i)
        if f.yaw - yaw0 >= t.turn_yaw:
            first.setdefault(ChallengeAction.TURN_LEFT, i)
        if yaw0 - f.yaw >= t.turn_yaw:
            first.setdefault(ChallengeAction.TURN_RIGHT, i)
        if f.smile - smile0 >= t.smile_gain:
            first.setdefault(ChallengeAction.SMILE, i)
    return sorted(first, key=first.__getitem__)


def challenge_satisfied(challenge: Challenge, performed: Sequence[ChallengeAction]) -> bool:
    """Every challenged action was performed, in the challenged order (other actions may occur too)."""
    positions = {a: i for i, a in enumerate(performed)}
    if any(a not in positions for a in challenge.actions):
        return False
    order = [positions[a] for a in challenge.actions]
    return order == sorted(order)


def passive_reasons(m: ClipMeasurements, t: LivenessThresholds) -> tuple[str, ...]:
    """Why the clip is not accepted as a live 3-D face (empty: passive check passed)."""
    if len(m.frames) < t.min_face_frames:
        return ("too_few_face_frames",)
    reasons: list[str] = []
    if m.motion < t.min_motion:
        reasons.append("too_still")  # a motionless clip cannot show parallax: move a little, or take a challenge
    elif m.planar_residual < t.min_planar_residual:
        reasons.append("planar_motion")  # the face moved like a flat picture
    if m.moire >= t.max_moire:
        reasons.append("screen_pattern")
    return tuple(reasons)


def required_layers(
    purpose: PadPurpose,
    *,
    tagged: bool = False,
    high_price: bool = False,
    active_when_tagged: bool = True,
    active_when_high_price: bool = True,
) -> tuple[bool, bool]:
    """(passive, active) required for ``purpose``: enrolment and account actions need both; a purchase
    always needs passive, and active when the guest is tagged or the item is high-price (per venue)."""
    if purpose is not PadPurpose.PURCHASE:
        return True, True
    return True, (tagged and active_when_tagged) or (high_price and active_when_high_price)
