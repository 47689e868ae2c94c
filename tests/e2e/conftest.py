"""The web venue most API tests start from: the app on a migrated SQLite database with fake models.
A module that needs other settings or models overrides ``v``; ``client`` follows it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import Venue, sqlite_container, venue


@pytest.fixture
def v(settings: Settings, clock: ManualClock) -> Iterator[Venue]:
    container = sqlite_container(settings, clock)
    yield venue(container)
    container.close()


@pytest.fixture
def client(v: Venue) -> Iterator[TestClient]:
    with v.client() as c:
        yield c
