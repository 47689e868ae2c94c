"""Exception hierarchy. Every error a user can cause is a ``SoberpayError`` with a one-line message.

SoberpayError
 ├── InvalidInput            malformed request / field (bad phone, ID number, password format)
 │    └── BadImage           corrupt, truncated, empty, oversized (decompression bomb) image or video
 ├── FaceError               the image is fine but the face is not usable
 │    ├── NoFace
 │    ├── MultipleFaces
 │    └── FaceTooSmall / LowQuality
 ├── NotFound                unknown guest, item, request, visit
 ├── Conflict                duplicate phone, face already enrolled under another guest,
 │                           idempotency key reused with other parameters
 ├── ConsentRequired         the action needs a consent the guest has not given
 ├── AuthError               wrong payment password, locked out, no face match
 │    └── LockedOut
 ├── PaymentRefused          a purchase rule said no (insufficient balance, item locked)
 └── ConfigError             missing model file, bad key, bad settings

Errors carry context (guest id, item, reason) as attributes so the HTTP layer and CLI can map them
without parsing messages. Messages never contain passwords, ID numbers or templates.
"""

from __future__ import annotations

from typing import Any


class SoberpayError(Exception):
    """Base class; ``code`` is a stable machine-readable identifier."""

    code = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.context}


class InvalidInput(SoberpayError):
    code = "invalid_input"


class BadImage(InvalidInput):
    code = "bad_image"


class FaceError(SoberpayError):
    code = "face_error"


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


class Conflict(SoberpayError):
    code = "conflict"


class ConsentRequired(SoberpayError):
    code = "consent_required"


class AuthError(SoberpayError):
    code = "auth_failed"


class LockedOut(AuthError):
    code = "locked_out"


class PaymentRefused(SoberpayError):
    code = "payment_refused"


class ConfigError(SoberpayError):
    code = "config_error"
