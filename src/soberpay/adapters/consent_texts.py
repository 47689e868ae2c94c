"""Consent texts, versioned per language: ``soberpay/assets/consent/<purpose>/<version>.<lang>.md``.

A new wording is a new version file for every language (published files are never edited); the kiosk
shows ``CONSENT_TEXT_VERSION`` in the guest's language and the consent record stores both.
"""

from __future__ import annotations

import re
from importlib import resources

from soberpay.domain.identity import CONSENT_TEXT_VERSION, LANGUAGES, ConsentPurpose
from soberpay.errors import InvalidInput

_VERSION_RE = re.compile(r"^\d{4}-\d{2}-v\d{1,3}$")


def consent_text(purpose: ConsentPurpose, language: str, version: str = CONSENT_TEXT_VERSION) -> str:
    """The text of ``purpose`` at ``version`` in ``language``; ``InvalidInput`` when there is none."""
    # Checked before building a path: the version and language may come from a request.
    if language not in LANGUAGES or not _VERSION_RE.match(version):
        raise InvalidInput("no consent text in this version and language", field="consent_version")
    path = resources.files("soberpay.assets").joinpath("consent", purpose.value, f"{version}.{language}.md")
    if not path.is_file():
        raise InvalidInput("no consent text in this version and language", field="consent_version")
    return path.read_text(encoding="utf-8").strip()


def consent_versions(purpose: ConsentPurpose) -> dict[str, set[str]]:
    """Every published version of ``purpose`` with the languages it exists in."""
    out: dict[str, set[str]] = {}
    for entry in resources.files("soberpay.assets").joinpath("consent", purpose.value).iterdir():
        version, _, rest = entry.name.partition(".")
        out.setdefault(version, set()).add(rest.removesuffix(".md"))
    return out
