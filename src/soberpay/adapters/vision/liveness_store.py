"""In-process ``ChallengeStore``: issued challenges kept in memory until taken or expired.

One process only: with several web workers, a challenge must be checked by the worker that issued it
(sticky sessions) — or this store replaced by a database table (see docs/security.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from soberpay.domain.liveness import Challenge

__all__ = ["MemoryChallengeStore"]


class MemoryChallengeStore:
    def __init__(self, now: Callable[[], datetime], max_open: int = 10_000) -> None:
        self._now = now
        self._max_open = max_open
        self._open: dict[str, Challenge] = {}
        self._lock = threading.Lock()

    def put(self, challenge: Challenge) -> None:
        with self._lock:
            now = self._now()
            # bounded memory: expired challenges are dropped, and the oldest open ones beyond the cap
            self._open = {k: c for k, c in self._open.items() if not c.expired(now)}
            while len(self._open) >= self._max_open:
                self._open.pop(next(iter(self._open)))
            self._open[challenge.id] = challenge

    def take(self, challenge_id: str) -> Challenge | None:
        with self._lock:
            return self._open.pop(challenge_id, None)
