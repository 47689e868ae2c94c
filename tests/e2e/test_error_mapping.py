"""Every error in the tree becomes its own HTTP status and JSON body through the real app's handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from soberpay import errors
from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.web.i18n import error_message
from tests.e2e.web_support import sqlite_container
from tests.unit.test_errors import EXPECTED_STATUS, all_error_classes


@pytest.fixture(scope="module")
def raising_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from soberpay.web.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("errors") / "var", env="test")
    container = sqlite_container(settings, ManualClock())
    app: FastAPI = create_app(container, run_rooms=False)
    by_name = {cls.__name__: cls for cls in all_error_classes()}

    # A test-only route: raising each error where a real route would goes through the same handler.
    @app.get("/_test/raise/{name}")
    def _raise(name: str) -> None:
        raise by_name[name](f"{name} raised on purpose", retry_after=2.0, field="x")

    with TestClient(app) as client:
        yield client
    container.close()


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_error_maps_to_its_status(raising_client: TestClient, cls: type[errors.SoberpayError]) -> None:
    r = raising_client.get(f"/_test/raise/{cls.__name__}", headers={"Accept-Language": "en"})
    assert r.status_code == cls.http_status == EXPECTED_STATUS[cls.__name__]
    body = r.json()
    assert body["error"] == cls.code
    assert body["message"] == f"{cls.__name__} raised on purpose"
    assert body["field"] == "x"
    if cls in (errors.RateLimited, errors.Busy):
        assert r.headers["Retry-After"] == "3"
    # In Chinese, a message without its own translation reads as its code's message, never in English.
    zh = raising_client.get(f"/_test/raise/{cls.__name__}", headers={"Accept-Language": "zh-CN"}).json()
    assert zh["error"] == cls.code and zh["message"] == error_message(cls.code, "", "zh")
    assert not any(c.isascii() and c.isalpha() for c in zh["message"]), zh["message"]
