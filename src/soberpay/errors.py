"""Exception hierarchy. Every error a user can cause is a ``SoberpayError`` with a one-line message.

SoberpayError                                                    HTTP
 ├── InvalidInput            malformed request / field            400
 │    └── BadImage           corrupt, truncated, empty, oversized 400
 │                           (decompression bomb) image or video
 ├── FaceError               the image is fine but the face is    422
 │    ├── NoFace             not usable
 │    ├── MultipleFaces
 │    ├── FaceTooSmall
 │    └── LowQuality
 ├── NotFound                unknown guest, item, request, visit  404
 ├── Conflict                duplicate phone, face already        409
 │                           enrolled under another guest,
 │                           idempotency key reused with other parameters
 ├── ConsentRequired         the action needs a consent the guest 403
 │                           has not given
 ├── AuthError               wrong payment password, no face      401
 │    ├── LockedOut          match; too many failures             423
 │    └── Unauthenticated    no (valid) session, device or guest  401
 │                           token
 ├── Forbidden               signed in, but not allowed (role,    403
 │                           other room, other guest)
 ├── CsrfFailed              cookie-authenticated unsafe request  403
 │                           without the right CSRF token
 ├── RateLimited             too many attempts (``retry_after``)  429
 ├── PaymentRefused          a purchase rule said no              402
 │                           (insufficient balance, item locked)
 ├── Busy                    the model pool's queue is full       503
 │                           (``retry_after``)
 ├── ConfigError             missing model file, bad key, bad     503
 │                           settings
 ├── Unavailable             a dependency is down (database gone, 503
 │                           disk full, model unreadable): nothing
 │                           was applied, retry later
 └── InvalidNotification     a payment provider's notification    401
                             failed verification: nothing credited

Each class carries its ``http_status`` and a stable ``code``; the web layer maps an error by reading
the attribute (a subclass inherits its parent's status unless it says otherwise), so there is no
order-dependent ``isinstance`` list to keep in sync. The CLI ignores ``http_status``.

Errors carry context (guest id, item, reason) as attributes so the HTTP layer and CLI can map them
without parsing messages. Messages never contain passwords, ID numbers or templates.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BadImage",
    "Busy",
    "ConfigError",
    "Conflict",
    "ConsentRequired",
    "CsrfFailed",
    "FaceError",
    "FaceTooSmall",
    "Forbidden",
    "InvalidInput",
    "InvalidNotification",
    "LockedOut",
    "LowQuality",
    "MultipleFaces",
    "NoFace",
    "NotFound",
    "PaymentRefused",
    "RateLimited",
    "SoberpayError",
    "Unauthenticated",
    "Unavailable",
]


class SoberpayError(Exception):
    """Base class; ``code`` is a stable machine-readable identifier, ``http_status`` its HTTP status."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.context}


class InvalidInput(SoberpayError):
    code = "invalid_input"
    http_status = 400


class BadImage(InvalidInput):
    code = "bad_image"


class FaceError(SoberpayError):
    code = "face_error"
    http_status = 422


class NoFace(FaceError):
    code = "no_face"


class MultipleFaces(FaceError):
    code = "multiple_faces"


class FaceTooSmall(FaceError):
    code = "face_too_small"


class LowQuality(FaceError):
    code = "low_quality"


class NotFound(SoberpayError):
    code = "not_found"
    http_status = 404


class Conflict(SoberpayError):
    code = "conflict"
    http_status = 409


class ConsentRequired(SoberpayError):
    code = "consent_required"
    http_status = 403


class AuthError(SoberpayError):
    code = "auth_failed"
    http_status = 401


class LockedOut(AuthError):
    code = "locked_out"
    http_status = 423


class Unauthenticated(AuthError):
    code = "unauthenticated"


class Forbidden(SoberpayError):
    code = "forbidden"
    http_status = 403


class CsrfFailed(SoberpayError):
    code = "csrf_failed"
    http_status = 403


class RateLimited(SoberpayError):
    code = "rate_limited"
    http_status = 429


class PaymentRefused(SoberpayError):
    code = "payment_refused"
    http_status = 402


class Busy(SoberpayError):
    code = "busy"
    http_status = 503


class ConfigError(SoberpayError):
    code = "config_error"
    http_status = 503


class Unavailable(SoberpayError):
    """A dependency failed (database unreachable, disk full, model unreadable); the request changed nothing."""

    code = "unavailable"
    http_status = 503


class InvalidNotification(SoberpayError):
    """A payment provider's notification failed verification (signature, timestamp window, size, format).

    Nothing was credited; the rejection is audited."""

    code = "invalid_notification"
    http_status = 401
