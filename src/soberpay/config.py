"""Settings: environment variables ``SOBERPAY_*`` (nested with ``__``) and an optional TOML file.

Precedence: init kwargs > environment > TOML file (``SOBERPAY_CONFIG`` or ``<data_dir>/soberpay.toml``)
> defaults. Every threshold has bounds and a description; unknown keys are rejected.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Image limits, here so the decoder's defaults (soberpay.adapters.images) and the settings are one value.
DEFAULT_MAX_BYTES = 20_000_000
# A 16-megapixel phone photo is the largest picture a guest or a camera sends; 40 Mpx cost the
# server up to 512 MB per request.
DEFAULT_MAX_PIXELS = 16_000_000
# Longest side handed to the vision pipeline: a face in a tablet or room frame is far above the
# detector's minimum size at 1920 px.
DEFAULT_MAX_SIDE = 1920


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentitySettings(_Section):
    # Thresholds are cosine similarities, set from FAR measured by `soberpay eval faces` on ORL
    # (docs/evaluation.md); they are per embedder because score scales differ.
    # sface 0.421 / dlib 0.941: the highest threshold at FAR 1e-3 over the ORL protocols with 1, 3 and 5
    # gallery images per person (40 people, 7,800-14,040 impostor pairs), rounded up; see docs/evaluation.md.
    # ORL is easy and small: re-measure on venue data before production.
    # autoencoder 0.682: threshold at FAR 1e-3 of the shipped model on its 10 held-out ORL people
    # (all pairs, 4,500 impostor pairs; model_card.json, docs/research/autoencoder.md), rounded up.
    match_threshold: dict[str, float] = Field(
        default_factory=lambda: {"sface": 0.421, "dlib": 0.941, "autoencoder": 0.682},
        description="cosine similarity at which 1:1 verification / 1:N identification accepts",
    )
    min_margin: float = Field(0.02, ge=0.0, le=1.0, description="required lead of best over second-best guest")
    duplicate_threshold_bonus: float = Field(
        0.0, ge=-0.5, le=0.5, description="added to match threshold for the duplicate-enrolment check"
    )
    templates_per_guest: int = Field(5, ge=1, le=50, description="face templates kept per guest; newest kept")
    # 1:N search backends (`index` at the top level) and the large-gallery rules; docs/scaling.md.
    index_ef_search: int = Field(
        100, ge=10, le=1000, description="HNSW search breadth (hnsw.ef_search for pgvector, efSearch for FAISS)"
    )
    index_candidates: int = Field(
        100, ge=10, le=1000, description="approximate neighbours fetched, then re-ranked exactly per guest"
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="FAISS HNSW links per node (index = 'hnsw')")
    hnsw_ef_construction: int = Field(80, ge=16, le=1000, description="FAISS HNSW build breadth (index = 'hnsw')")
    false_accepts_per_search: float = Field(
        1e-3,
        gt=0.0,
        le=0.1,
        description="1:N threshold rises with gallery size so an unenrolled face is accepted at most this often",
    )
    # Impostor cosine distribution per embedder (mean, std), measured by benchmarks/impostor_scores.py on
    # ORL + the sample photos (docs/scaling.md); the 1:N threshold is the normal-tail quantile for
    # false_accepts_per_search / gallery size, never below match_threshold.
    impostor_scores: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"sface": (0.102, 0.095)},
        description="impostor cosine (mean, std) per embedder, for the gallery-size threshold",
    )
    phone_hint_gallery_size: int = Field(
        100_000, ge=1, description="from this many templates on, 1:N asks for the last 4 phone digits"
    )
    max_image_pixels: int = Field(
        DEFAULT_MAX_PIXELS, ge=10_000, le=100_000_000, description="largest picture decoded, pixels (refused above)"
    )
    max_image_side: int = Field(
        DEFAULT_MAX_SIDE,
        ge=160,
        le=8192,
        description="longest side handed to the face pipeline (bigger images are shrunk)",
    )
    # One cap for every way a picture or video comes in: CLI files, web uploads and the whole web request body.
    max_upload_bytes: int = Field(
        DEFAULT_MAX_BYTES,
        ge=10_000,
        le=200_000_000,
        description="largest accepted image/video upload (CLI and web), bytes",
    )
    min_face_px: int = Field(40, ge=8, description="shorter side of the face box, pixels")
    min_detector_score: float = Field(0.8, ge=0.0, le=1.0, description="YuNet face confidence needed")
    min_sharpness: float = Field(20.0, ge=0.0, description="variance of Laplacian on the face crop")
    min_brightness: float = Field(40.0, ge=0.0, le=255.0, description="mean grey of the face crop, lower bound")
    max_brightness: float = Field(220.0, ge=0.0, le=255.0, description="mean grey of the face crop, upper bound")
    min_contrast: float = Field(15.0, ge=0.0, description="std of grey of the face crop")
    max_yaw_deg: float = Field(30.0, ge=0.0, le=90.0, description="head turn estimated from 5 landmarks")
    max_pitch_deg: float = Field(30.0, ge=0.0, le=90.0, description="head tilt up/down from 5 landmarks")
    video_max_frames: int = Field(300, ge=1, description="frames examined when enrolling from video")
    yunet_model: Path | None = Field(None, description="override path to YuNet ONNX")
    sface_model: Path | None = Field(None, description="override path to SFace ONNX")
    dlib_model_dir: Path | None = Field(None, description="override folder of dlib .dat models")
    autoencoder_model: Path | None = Field(None, description="override path to the autoencoder ONNX")


class PaymentSettings(_Section):
    # Rules of the KTV method (patent claims 1, 6-9); defaults are the method's example values.
    currency: str = Field("CNY", description="the one currency; amounts are integer minor units (fen)")
    high_price_threshold_fen: int = Field(
        10_000, ge=0, le=100_000_000, description="items priced above this (fen) are high-price"
    )
    tagged_alcohol_lock: Literal["all", "liquor", "off"] = Field(
        "all",
        description="alcohol that needs staff while the guest is tagged: all (beer, liquor, any ABV > 0), "
        "liquor only, or off",
    )
    password_max_failures: int = Field(5, ge=1, le=20, description="consecutive wrong passwords before lockout")
    password_lockout_minutes: float = Field(
        15.0, ge=0.0, le=1440.0, description="first payment-password lockout; each further one in a row doubles it"
    )
    password_lockout_max_minutes: float = Field(
        1440.0, ge=0.0, le=10080.0, description="longest payment-password lockout (cap of the growing back-off)"
    )
    pending_expiry_minutes: float = Field(
        30.0, ge=1.0, le=1440.0, description="suspended high-price requests expire after this"
    )
    # Recovery belongs to the risk state machine, the one hysteresis between drunk and recovered
    # (soberpay.domain.risk); the P(drunk) band it reads is ``sobriety.drunk_probability`` / ``sober_probability``.
    recovery_similarity: float = Field(
        0.9, ge=0.0, le=1.0, description="similarity to own normal needed to count as recovering"
    )
    recovery_dwell_seconds: float = Field(
        300.0, ge=0.0, le=7200.0, description="similarity must stay high this long before unlocking"
    )
    min_lock_seconds: float = Field(600.0, ge=0.0, le=86_400.0, description="a tag lasts at least this long")
    spend_multiplier: float = Field(
        2.0, ge=1.0, le=20.0, description="order / visit spend above this x own mean is abnormal"
    )
    category_count_multiplier: float = Field(
        2.0, ge=1.0, le=20.0, description="per-visit category count above this x own mean is abnormal"
    )
    min_history_orders: int = Field(5, ge=1, le=1000, description="orders needed before own thresholds apply")
    min_history_visits: int = Field(2, ge=1, le=1000, description="visits needed before own visit thresholds")
    default_order_threshold_fen: int = Field(
        30_000, ge=0, description="venue default: a single order above this is abnormal (new guests)"
    )
    default_visit_threshold_fen: int = Field(
        100_000, ge=0, description="venue default: a visit total above this is abnormal (new guests)"
    )
    default_category_count: int = Field(
        6, ge=1, le=1000, description="venue default: more than this many orders of one category per visit"
    )
    category_count_floor: int = Field(
        2, ge=0, le=1000, description="own category thresholds are never below this count"
    )
    bac_abnormal_g_per_dl: float = Field(
        0.08, ge=0.0, le=0.5, description="Widmark BAC estimate (g/100 mL) at/above this is abnormal consumption"
    )
    recovery_bac_limit_g_per_dl: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description="a tagged guest whose drinks this visit are known recovers only with the BAC estimate below this",
    )
    bac_default_weight_kg: float = Field(
        55.0, ge=30.0, le=200.0, description="conservative (light) body weight when the guest gave none"
    )
    bac_default_r: float = Field(
        0.55, ge=0.3, le=1.0, description="conservative Widmark r (female value) when sex is unknown"
    )
    bac_elimination_g_per_dl_h: float = Field(
        0.015, ge=0.0, le=0.05, description="Widmark elimination rate beta (g/100 mL per hour)"
    )
    behaviour_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="LSTM behaviour anomaly score at/above this raises the risk level"
    )
    behaviour_model: Path | None = Field(None, description="override path to the behaviour LSTM ONNX")
    use_behaviour_model: bool = Field(True, description="score event sequences with the shipped LSTM")
    tab_credit_limit_fen: int = Field(
        0, ge=0, le=10_000_000, description="how far a guest account may go negative (tab) before refusal"
    )
    tag_carryover_hours: float = Field(
        12.0, ge=0.0, le=720.0, description="a tag older than this is cleared when a new visit opens"
    )
    catalogue_file: Path | None = Field(
        None,
        description="menu TOML/CSV that seeds the database menu on first start (then edited in the back office); "
        "default the bundled sample menu",
    )


class SobrietySettings(_Section):
    # Method rules (KTV patent S104): defaults are the patent's example values (docs/research/sobriety-assessment.md).
    angle_rate_flag_deg_s: float = Field(
        3.0, ge=0.0, le=360.0, description="flag head/arm/leg angle change rate above this (deg/s)"
    )
    trunk_tilt_flag_deg: float = Field(
        3.0, ge=0.0, le=90.0, description="flag trunk tilt from vertical above this (deg)"
    )
    pose_similarity_threshold: float = Field(
        0.8, ge=0.0, le=1.0, description="pose-CNN cosine to own normal below this -> 'to verify'"
    )
    pattern_similarity: float = Field(
        0.9, ge=0.0, le=1.0, description="cosine at which an anomaly reinforces a known abnormal pattern"
    )
    posture_z_flag: float = Field(
        3.0, ge=1.0, le=20.0, description="posture abnormal this many robust SDs above own normal for the activity"
    )
    isolation_contamination: float = Field(
        0.05, gt=0.0, le=0.5, description="IsolationForest contamination on the guest's normal poses"
    )
    # Fusion reject band (read by the tracker and by the payment risk machine) and the entry debounce.
    # Recovery (similarity, dwell) is ``payment.recovery_*``: one hysteresis, in the risk machine.
    drunk_probability: float = Field(
        0.7, ge=0.0, le=1.0, description="P(drunk) at/above -> drunk side (a drunk verdict tags the guest)"
    )
    sober_probability: float = Field(
        0.3, ge=0.0, le=1.0, description="P(drunk) at/below -> sober side (needed, when known, to recover)"
    )
    enter_seconds: float = Field(10.0, ge=0.0, le=3600.0, description="P(drunk) must stay high this long before DRUNK")
    smoothing_seconds: float = Field(5.0, ge=0.0, le=600.0, description="EMA time constant on P(drunk)")
    require_corroboration: bool = Field(
        True, description="DRUNK needs a signal besides facial colour (flush/lighting never decide alone)"
    )
    # Signals.
    baseline_seconds: float = Field(
        30.0, ge=1.0, le=3600.0, description="visit-start period used as the guest's own baseline"
    )
    window_seconds: float = Field(10.0, ge=1.0, le=120.0, description="sliding window for rates/PERCLOS")
    blink_close_openness: float = Field(
        0.55, gt=0.0, lt=1.0, description="eye counts as closed (blink) below this fraction of the guest's own open EAR"
    )
    blink_reopen_openness: float = Field(
        0.75, gt=0.0, le=1.0, description="a blink ends above this fraction of the guest's own open EAR (hysteresis)"
    )
    open_ear: float = Field(0.3, ge=0.1, le=0.6, description="EAR of a fully open eye (openness = 1)")
    perclos_closed_openness: float = Field(
        0.2, ge=0.0, le=1.0, description="openness at/below this counts as >=80 % closed for PERCLOS"
    )
    colour_scale_a: float = Field(
        6.0, gt=0.0, le=50.0, description="CIELAB a* change mapped to colour_change 1 (tanh scale)"
    )
    min_pose_visibility: float = Field(0.5, ge=0.0, le=1.0, description="ignore pose joints below this")
    # Performance.
    pose_every_n_frames: int = Field(
        2, ge=1, le=10, description="run pose on every n-th frame (2: >=15 fps on one core; docs: sobriety assessment)"
    )
    max_frame_side: int = Field(640, ge=160, le=4096, description="downscale frames to this longer side")
    # Capture record (method step 1).
    sift_max_keypoints: int = Field(32, ge=1, le=500, description="SIFT keypoints kept per crop")
    # Model overrides (defaults: the artifacts shipped in soberpay/models/sobriety/).
    fusion_model: Path | None = Field(None, description="override path to the fusion joblib")
    pose_cnn_model: Path | None = Field(None, description="override path to the pose CNN ONNX")
    # Thermal face-state model and expression classifier (docs/research/sobriety-models.md).
    face_state_model_dir: Path | None = Field(None, description="override folder of the thermal face-state model")
    expression_model_dir: Path | None = Field(None, description="override folder of the expression classifier")
    thermal_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the thermal evidence (log LR) added to the RGB P(drunk)"
    )
    thermal_max_age_seconds: float = Field(
        120.0, ge=1.0, le=3600.0, description="a thermal report older than this is not combined with RGB"
    )
    thermal_view: Literal["e", "f", "r"] = Field(
        "f", description="view a room's thermal camera gives: e eyes close-up, f front, r profile"
    )
    face_state_uncertain_low: float = Field(
        0.35, ge=0.0, le=1.0, description="face-state P(abnormal) at/below this -> normal; above -> uncertain"
    )
    face_state_uncertain_high: float = Field(
        0.65, ge=0.0, le=1.0, description="face-state P(abnormal) at/above this -> abnormal; below -> uncertain"
    )


ChallengeName = Literal["blink", "turn_left", "turn_right", "smile"]


class LivenessSettings(_Section):
    """Presentation-attack detection (issue 11): which layers each action needs, and the thresholds.
    Thresholds were set on a GENERATED attack set (docs/security.md): re-check on venue footage."""

    active_when_tagged: bool = Field(True, description="a purchase by a tagged guest needs the active challenge")
    active_when_high_price: bool = Field(True, description="a high-price purchase needs the active challenge")
    challenge_actions: list[ChallengeName] = Field(
        default_factory=lambda: list(get_args(ChallengeName)),
        min_length=1,
        description="actions a challenge draws from (random order)",
    )
    challenge_length: int = Field(2, ge=1, le=4, description="actions per challenge")
    challenge_ttl_s: float = Field(30.0, ge=5.0, le=300.0, description="a challenge expires this long after issue")
    clip_max_frames: int = Field(60, ge=2, le=120, description="frames accepted in one clip (2-3 s at 20-30 fps)")
    clip_max_bytes: int = Field(
        12_000_000, ge=10_000, le=200_000_000, description="largest accepted clip (video or all JPEG frames), bytes"
    )
    fuse_top_frames: int = Field(3, ge=1, le=10, description="best frames whose match scores are averaged")
    min_face_frames: int = Field(5, ge=2, description="frames with a face needed to judge a clip")
    min_motion: float = Field(
        0.05, ge=0.0, le=1.0, description="face shape change (IOD) below which a clip is too still"
    )
    min_planar_residual: float = Field(
        0.06, ge=0.0, le=1.0, description="homography residual (IOD) at or above which the motion is 3-D"
    )
    turn_yaw: float = Field(0.12, ge=0.01, le=1.0, description="yaw change that counts as a head turn")
    blink_ear: float = Field(0.18, ge=0.0, le=1.0, description="eye aspect ratio of a closed eye")
    open_ear: float = Field(0.22, ge=0.0, le=1.0, description="eye aspect ratio of an open eye")
    smile_gain: float = Field(0.10, ge=0.0, le=1.0, description="mouth width / IOD increase that counts as a smile")
    allow_still_face: bool = Field(
        False, description="accept one still image for face identification (API/tests; a photo passes it)"
    )


class WebSettings(_Section):
    host: str = Field("127.0.0.1", description="address `soberpay serve` binds to")
    port: int = Field(8000, ge=1, le=65535, description="port `soberpay serve` listens on")
    secret_key: str | None = Field(None, description="session signing key; generated into data dir if unset")
    session_max_age_s: int = Field(12 * 3600, ge=60, le=7 * 86400, description="staff session cookie lifetime")
    guest_token_max_age_s: int = Field(300, ge=30, le=3600, description="guest token lifetime after identification")
    secure_cookies: bool | None = Field(
        None, description="Secure flag on cookies (HTTPS only); unset: on unless env is dev or test"
    )
    login_rate_per_min: float = Field(10.0, gt=0, le=1000, description="staff sign-in attempts per IP+user")
    identify_rate_per_min: float = Field(30.0, gt=0, le=10000, description="identifications per room/IP")
    password_rate_per_min: float = Field(10.0, gt=0, le=1000, description="payment password attempts per guest")
    phone_digits_rate_per_min: float = Field(
        3.0, gt=0, le=100, description="face identifications with the last 4 phone digits per room (guessing bound)"
    )
    register_rate_per_min: float = Field(10.0, gt=0, le=1000, description="kiosk registrations per IP")
    public_rate_per_min: float = Field(
        120.0, gt=0, le=100_000, description="requests per IP to endpoints that need no credential (pages, menu)"
    )
    model_workers: int = Field(2, ge=1, le=64, description="threads running model work (decode, detection, embedding)")
    model_queue: int = Field(
        6, ge=0, le=1000, description="model calls that may wait for a thread; more get 503 busy + Retry-After"
    )
    min_free_disk_mb: int = Field(
        64, ge=0, le=1_000_000, description="free space under the data dir below which /readyz and payments say 503"
    )
    run_rooms: bool = Field(True, description="start the live room camera workers with the server")
    room_queue_size: int = Field(4, ge=1, le=256, description="frames buffered per room; older frames are dropped")
    room_process_every_n: int = Field(1, ge=1, le=100, description="analyse every n-th captured frame")
    room_max_fps: float = Field(10.0, gt=0, le=120, description="capture pacing for file sources")


class CameraSettings(_Section):
    """Room cameras (RTSP/HTTP/USB): how a dropped camera is retried and when staff are alerted."""

    stall_after_s: float = Field(
        10.0, ge=1.0, le=3600.0, description="no frame for this long: the camera is stalled and staff get one alert"
    )
    reconnect_first_s: float = Field(0.5, gt=0, le=60.0, description="first wait before reopening a lost camera")
    reconnect_max_s: float = Field(30.0, gt=0, le=600.0, description="longest wait between reconnect attempts")
    open_timeout_s: float = Field(10.0, gt=0, le=120.0, description="give up opening a network camera after this")
    read_timeout_s: float = Field(5.0, gt=0, le=120.0, description="a network read blocked this long fails")


class VenueSettings(_Section):
    """Who the venue serves and where it is: the language its pages and API speak by default, and the
    zone every shown, exported or reported time is converted to (stored times stay UTC)."""

    default_language: Literal["zh", "en"] = Field(
        "zh", description="language when the guest has not chosen one and the browser asks for none we have"
    )
    timezone: str = Field("Asia/Shanghai", description="IANA time zone for every time shown, exported or reported")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PrinterSettings(_Section):
    """The ESC/POS thermal printer for receipts and delivery tickets (adapters/printer.py). Printing is
    best-effort: an offline printer is reported to staff and never fails a payment."""

    url: str | None = Field(
        None,
        description='"dummy" (discards), "network://host:9100" or "usb://vid:pid" (hex ids); unset: no printer',
    )
    width: int = Field(32, ge=24, le=64, description="characters per line (58 mm paper: 32, 80 mm paper: 48)")
    timeout_s: float = Field(3.0, gt=0, le=60, description="network printer connect/write timeout")

    @field_validator("url")
    @classmethod
    def _known_url(cls, value: str | None) -> str | None:
        if value is None or value == "dummy" or value.startswith(("network://", "usb://")):
            return value
        raise ValueError('printer url must be "dummy", "network://host:port" or "usb://vid:pid"')


class WechatPaySettings(_Section):
    """WeChat Pay v3 (native QR). Secrets are files outside the data dir (a backup of the data dir must not
    carry them); ``gateway`` is only for the local fake provider and is refused when ``env = "prod"``."""

    mchid: str = Field("", description="merchant id (empty: the channel is off)")
    appid: str = Field("", description="the app id bound to the merchant")
    merchant_key_file: Path | None = Field(None, description="merchant API private key (apiclient_key.pem)")
    merchant_serial: str = Field("", description="serial number of the merchant API certificate")
    apiv3_key_file: Path | None = Field(None, description="file holding the 32-byte APIv3 key")
    platform_cert_dir: Path | None = Field(None, description="folder of WeChat Pay platform certificates (*.pem)")
    notify_url: str = Field("", description="public https URL of /topups/notify/wechat")
    gateway: str | None = Field(None, description="override API base URL (fake provider in dev/test only)")


class AlipaySettings(_Section):
    """Alipay (precreate QR, RSA2). Same rules for secrets and ``gateway`` as WeChat Pay."""

    appid: str = Field("", description="Alipay app id (empty: the channel is off)")
    app_private_key_file: Path | None = Field(None, description="the app's RSA2 private key (PEM)")
    alipay_public_key_file: Path | None = Field(None, description="Alipay's public key (PEM)")
    notify_url: str = Field("", description="public https URL of /topups/notify/alipay")
    gateway: str | None = Field(None, description="override gateway URL (fake provider in dev/test only)")


class TopupSettings(_Section):
    """Top-up channels (docs/guide/top-up.md). Cash at the counter needs none of this."""

    min_fen: int = Field(100, ge=1, le=100_000_000, description="smallest top-up by QR (fen)")
    max_fen: int = Field(500_000, ge=1, le=100_000_000, description="largest top-up by QR (fen)")
    notify_window_s: int = Field(
        300, ge=30, le=3600, description="a notification's timestamp may be this far from our clock"
    )
    notify_max_bytes: int = Field(8192, ge=1024, le=65536, description="larger notification bodies are refused")
    notify_rate_per_min: float = Field(
        600.0,
        gt=0,
        le=100_000,
        description="notifications per channel and sender IP (beyond: 429, nothing audited; providers retry and "
        "`soberpay topups reconcile` recovers)",
    )
    reconcile_after_minutes: float = Field(
        10.0, ge=1.0, le=1440.0, description="`soberpay topups reconcile` asks about orders unpaid this long"
    )
    wechat: WechatPaySettings = Field(default_factory=WechatPaySettings)
    alipay: AlipaySettings = Field(default_factory=AlipaySettings)


log = logging.getLogger(__name__)

# Thresholds that used to be defined in both sections (issue 10): old key -> the section that owns it now.
MOVED_KEYS: dict[tuple[str, str], str] = {
    ("payment", "drunk_probability"): "sobriety",
    ("payment", "sober_probability"): "sobriety",
    ("sobriety", "recovery_similarity"): "payment",
    ("sobriety", "recovery_dwell_seconds"): "payment",
    ("web", "max_upload_bytes"): "identity",  # one upload cap for CLI and web (issue 12)
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOBERPAY_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    @model_validator(mode="before")
    @classmethod
    def _move_old_keys(cls, data: Any) -> Any:
        """Accept the old place of a moved threshold (env or TOML) with a warning, so existing venue
        configs keep working; the same key set differently in both places is an error."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for (old_section, key), owner in MOVED_KEYS.items():
            old = data.get(old_section)
            if not isinstance(old, dict) or key not in old:
                continue
            old = dict(old)
            value = old.pop(key)
            data[old_section] = old
            owner_data = data.get(owner) or {}
            if not isinstance(owner_data, dict):  # the owning section was given as a model instance: it wins
                continue
            new = dict(owner_data)
            if key in new and float(new[key]) != float(value):  # env values are strings: compare as numbers
                raise ValueError(f"{old_section}.{key} moved to {owner}.{key}; set it once (now set in both)")
            new.setdefault(key, value)
            data[owner] = new
            log.warning("setting %s.%s is deprecated: use %s.%s", old_section, key, owner, key)
        return data

    data_dir: Path = Field(Path("var"), description="SQLite database, keys, runtime files")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    embedder: Literal["sface", "dlib", "autoencoder"] = Field("sface", description="face embedder used for templates")
    index: Literal["memory", "hnsw", "pgvector"] = Field(
        "memory", description="1:N search: exact in-process numpy, FAISS HNSW in-process, or pgvector in PostgreSQL"
    )
    template_key: str | None = Field(
        None, description="base64 AES-256 key (e.g. from a KMS); else keys.json in key_dir"
    )
    key_dir: Path | None = Field(
        None, description="folder of keys.json and web_secret.key (0600); default data_dir — back it up apart"
    )
    env: Literal["dev", "test", "prod"] = Field(
        "dev", description="deployment kind: prod sets Secure cookies and refuses demo accounts and secrets"
    )
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    payment: PaymentSettings = Field(default_factory=PaymentSettings)
    sobriety: SobrietySettings = Field(default_factory=SobrietySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    liveness: LivenessSettings = Field(default_factory=LivenessSettings)
    venue: VenueSettings = Field(default_factory=VenueSettings)
    camera: CameraSettings = Field(default_factory=CameraSettings)
    printer: PrinterSettings = Field(default_factory=PrinterSettings)
    topup: TopupSettings = Field(default_factory=TopupSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = _toml_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'soberpay.db').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        if self.web.secure_cookies is not None:
            return self.web.secure_cookies
        return self.env not in ("dev", "test")  # dev and test run on plain http://localhost

    @property
    def resolved_key_dir(self) -> Path:
        return self.key_dir or self.data_dir

    @property
    def match_threshold(self) -> float:
        return self.identity.match_threshold.get(self.embedder, 0.5)


def _toml_path() -> Path | None:
    explicit = os.environ.get("SOBERPAY_CONFIG")
    if explicit:
        return Path(explicit)
    candidate = Path(os.environ.get("SOBERPAY_DATA_DIR", "var")) / "soberpay.toml"
    return candidate if candidate.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
