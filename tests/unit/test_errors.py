"""The error tree: every ``SoberpayError`` carries a stable code and its HTTP status."""

from __future__ import annotations

import pytest

from soberpay import errors


def all_error_classes() -> list[type[errors.SoberpayError]]:
    seen: list[type[errors.SoberpayError]] = []
    todo = [errors.SoberpayError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: c.__name__)


# The documented mapping (also drawn in the errors module docstring); the web layer reads http_status.
EXPECTED_STATUS = {
    "SoberpayError": 400,
    "InvalidInput": 400,
    "BadImage": 400,
    "FaceError": 422,
    "NoFace": 422,
    "MultipleFaces": 422,
    "FaceTooSmall": 422,
    "LowQuality": 422,
    "NotFound": 404,
    "Conflict": 409,
    "ConsentRequired": 403,
    "AuthError": 401,
    "LockedOut": 423,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "CsrfFailed": 403,
    "RateLimited": 429,
    "PaymentRefused": 402,
    "Busy": 503,
    "ConfigError": 503,
    "Unavailable": 503,
    "InvalidNotification": 401,
}


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_has_a_status_and_code_and_lives_in_the_tree(cls: type[errors.SoberpayError]) -> None:
    assert cls.__module__ == "soberpay.errors", f"{cls.__name__} is defined outside soberpay.errors"
    assert cls.__name__ in errors.__all__
    assert 400 <= cls.http_status < 600
    assert cls.http_status == EXPECTED_STATUS[cls.__name__]
    assert cls.code and (cls is errors.SoberpayError or cls.code != cls.__mro__[1].code)  # type: ignore[attr-defined]


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))


def test_expected_table_covers_the_tree() -> None:
    assert set(EXPECTED_STATUS) == {cls.__name__ for cls in all_error_classes()}
