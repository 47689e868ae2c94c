"""The message catalogs are complete and up to date: what `make i18n` would extract is what is committed,
every string has a Chinese translation with the same placeholders, and the compiled .mo is the .po."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from soberpay import errors

SRC = Path(__file__).resolve().parents[2] / "src" / "soberpay"
LOCALE = SRC / "locale"
# The same keywords as the Makefile's `i18n` target: gettext's, N_ and every error class.
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, **dict.fromkeys(errors.__all__)}
METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids - {""}


def po(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_template_is_what_the_sources_mark() -> None:
    with (LOCALE / "messages.pot").open("rb") as f:
        committed = {m.id for m in read_po(f) if m.id}
    assert committed == extracted(), "run `make i18n` and translate the new strings"


@pytest.mark.parametrize("lang", ["zh"])
def test_every_string_is_translated_with_its_placeholders(lang: str) -> None:
    catalog = po(lang)
    wanted = extracted()
    have = {m.id: m for m in catalog if m.id}
    assert set(have) == wanted, "run `make i18n`"
    untranslated = [m.id for m in have.values() if not m.string or m.fuzzy]
    assert untranslated == []
    problems = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert problems == []  # e.g. a %(name)s missing from a translation


@pytest.mark.parametrize("lang", ["zh"])
def test_compiled_catalog_matches_its_source(lang: str) -> None:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    assert compiled == {m.id: m.string for m in po(lang) if m.id}, "run `make i18n` (pybabel compile)"
