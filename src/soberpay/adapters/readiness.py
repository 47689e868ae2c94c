"""Readiness: is the database reachable and migrated, is there disk to write to, do the model files load?

``/readyz`` reports every check with its reason; the money routes call ``require()`` and refuse with
``Unavailable`` (HTTP 503) while any check fails. Nothing is latched: every check runs again after
``ttl_s``, so the service is ready again as soon as the fault clears, without a restart.
A model file is loaded once per version (path, size, modification time): a corrupt file is caught
without reloading a healthy model on every probe.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from soberpay.errors import Unavailable

ModelResolver = Callable[[], Path]  # raises ConfigError (or OSError) when the file is missing


@dataclass(frozen=True)
class ReadinessReport:
    checks: dict[str, str]  # name -> "ok" or the reason it is not
    # Reported on /readyz without making the node unready (e.g. templates a pgvector search cannot see).
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    @property
    def problems(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.checks.items() if v != "ok"]


def _load_check(path: Path) -> None:
    """Raises when the file is not a usable model: ONNX files are loaded by the runtime, others must be non-empty."""
    if path.suffix == ".onnx":
        import onnxruntime as ort

        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    elif path.is_dir():
        if not any(path.iterdir()):
            raise ValueError("empty model folder")
    elif path.stat().st_size == 0:
        raise ValueError("empty file")


class Readiness:
    def __init__(
        self,
        engine: Engine,
        disk_paths: list[Path],
        models: Mapping[str, ModelResolver],
        min_free_bytes: int,
        ttl_s: float = 1.0,
        missing_vectors: Callable[[], int] | None = None,
    ) -> None:
        self._engine = engine
        self._disk_paths = disk_paths
        self._models = models
        self._min_free = min_free_bytes
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, ReadinessReport] | None = None
        self._model_ok: dict[Path, tuple[int, int]] = {}  # path -> (size, mtime_ns) that loaded
        self._missing_vectors = missing_vectors
        self._vectors_note: tuple[float, dict[str, str]] | None = None

    def check(self) -> ReadinessReport:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.ttl_s:
                checks = {**self._database(), **self._disk(), **self._model_checks()}
                self._cached = (now, ReadinessReport(checks, self._vectors(now)))
            return self._cached[1]

    def require(self) -> None:
        """Refuse work that must be written while a dependency is down."""
        report = self.check()
        if not report.ready:
            raise Unavailable("not ready: " + "; ".join(report.problems) + "; nothing was applied, retry later")

    def _database(self) -> dict[str, str]:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1 FROM staff_accounts LIMIT 1"))  # migrated: the last tables exist
        except Exception as exc:  # any failure means not ready; the reason is reported, not raised
            return {"database": f"error: {str(exc).splitlines()[0][:200]}"}
        return {"database": "ok"}

    def _vectors(self, now: float) -> dict[str, str]:
        """Templates without a pgvector search vector. Guests whose templates lack one are not found by
        face, but everyone else still pays, so this is a note, not a failure. The count scans the
        template table: it runs at most once a minute."""
        if self._missing_vectors is None:
            return {}
        if self._vectors_note is None or now - self._vectors_note[0] >= 60.0:
            try:
                n = self._missing_vectors()
                note = "ok" if n == 0 else f"{n} templates have no search vector: run `soberpay index backfill`"
            except Exception as exc:  # reported, never raised: the database check says why
                note = f"error: {str(exc).splitlines()[0][:200]}"
            self._vectors_note = (now, {"search_vectors": note})
        return self._vectors_note[1]

    def _disk(self) -> dict[str, str]:
        for path in self._disk_paths:
            try:
                st = os.statvfs(path)
            except OSError as exc:
                return {"disk": f"error: {path}: {exc.strerror}"}
            free = st.f_bavail * st.f_frsize
            if free < self._min_free:
                return {"disk": f"full: {free // 1024} KiB free under {path}, need {self._min_free // 1024} KiB"}
        return {"disk": "ok"}

    def _model_checks(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, resolve in self._models.items():
            try:
                path = resolve()
                st = path.stat()
                version = (st.st_size, st.st_mtime_ns)
                if self._model_ok.get(path) != version:
                    _load_check(path)
                    self._model_ok[path] = version
                out[f"model:{name}"] = "ok"
            except Exception as exc:  # missing or corrupt: report why
                out[f"model:{name}"] = f"error: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
        return out
