"""50 parallel PIN guesses across TWO `soberpay serve` processes on one database: the lockout is counted
in the database, so at most 5 guesses are ever checked, whichever process they reach."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from soberpay.adapters.db.payment_tables import PasswordGuardRow
from soberpay.bootstrap import build_container
from soberpay.config import Settings
from soberpay.web.auth import AuthStore
from tests.support.servers import serve_processes

PHONE, PIN = "13800000001", "246810"


@pytest.mark.timeout(180)
def test_50_parallel_guesses_across_two_server_processes_count_at_most_5(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {
        **os.environ,
        "SOBERPAY_DATA_DIR": str(data),
        "SOBERPAY_WEB__SECRET_KEY": "test-secret-" + "x" * 40,
        "SOBERPAY_WEB__RUN_ROOMS": "false",
        # Generous request limits: the shared LOCKOUT is what must stop the guesses.
        "SOBERPAY_WEB__PASSWORD_RATE_PER_MIN": "1000",
        "SOBERPAY_WEB__IDENTIFY_RATE_PER_MIN": "1000",
    }
    # One database, set up once (migrations, keys, a room token, the guest) before the servers start.
    container = build_container(Settings(data_dir=data))
    guest = container.identity.register(name="Alice", phone=PHONE, national_id="11010519491231002X", password=PIN)
    auth = AuthStore(container.session_factory, container.hasher, container.clock)
    auth.create_room("r1", "Room 1", None)
    _, token = auth.issue_device_token("r1")
    container.close()

    with serve_processes(env) as bases:

        def guess(i: int) -> int:
            r = httpx.post(
                f"{bases[i % 2]}/api/rooms/r1/identify/phone",
                json={"phone": PHONE, "password": f"{i:06d}"},  # never the PIN
                headers={"Authorization": "Bearer " + token},
                timeout=60,
            )
            return r.status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = Counter(pool.map(guess, range(50)))
        right = httpx.post(
            f"{bases[1]}/api/rooms/r1/identify/phone",
            json={"phone": PHONE, "password": PIN},
            headers={"Authorization": "Bearer " + token},
            timeout=60,
        )

    # 401 = a guess that was actually checked and was wrong; 423 = refused, locked, unchecked.
    assert set(statuses) <= {401, 423} and statuses[401] <= 5 and statuses[423] >= 45, statuses
    assert right.status_code == 423, right.text  # the right PIN is refused while locked
    container = build_container(Settings(data_dir=data))
    with container.session_factory() as s:
        row = s.scalar(select(PasswordGuardRow).where(PasswordGuardRow.guest_id == guest.id))
    container.close()
    assert row is not None and row.failures <= 5 and row.locked_until is not None and row.lockouts == 1
