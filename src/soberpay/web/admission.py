"""Bounded work per process: request bodies read into memory under a byte cap, and a pool for model work.

- **Bodies** (``BodyLimit``, a pure ASGI middleware): every request body is read into memory before the
  app sees it — a declared ``Content-Length`` over the cap is refused at once, a chunked body as soon as it
  passes the cap (413). Uploads (``multipart/form-data``) may be ``identity.max_upload_bytes`` plus a little
  framing; every other body (JSON sign-in, registration, overrides) at most ``JSON_BODY_BYTES``. Multipart
  parts are then kept in memory: Starlette would otherwise spool parts over 1 MiB to a temporary file on
  disk, and raw face bytes must never be written.
- **Memory** held by bodies in flight is bounded too: all requests together hold at most
  ``ModelPool.body_budget`` bytes of body; past that a request gets 503 ``busy`` with ``Retry-After``.
- **Model work** (decode, detection, embedding, liveness) runs on ``ModelPool``: ``workers`` threads,
  at most ``queue`` calls waiting; more is 503 ``busy`` with ``Retry-After`` (never an unbounded queue
  of decoded frames).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soberpay.errors import Busy
from soberpay.web.i18n import error_message, lang_of

T = TypeVar("T")

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
JSON_BODY_BYTES = 64 * 1024  # the largest non-upload body is a few hundred bytes
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small form fields around an upload
RETRY_AFTER_S = 2


class ModelPool:
    """``workers`` model calls at once, ``queue`` more waiting, and a byte budget for bodies in flight."""

    def __init__(self, workers: int, queue: int, upload_bytes: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        # Enough for every admitted model call to hold one full-size upload while it waits.
        self.body_budget = self.capacity * (upload_bytes + MULTIPART_OVERHEAD)
        self._calls = 0
        self._body_bytes = 0
        self._lock = threading.Lock()  # TestClient and uvicorn may run several event loops in one process
        # Lives as long as the app (idle threads cost nothing; the app may serve again after a lifespan ends).
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")

    def load(self) -> tuple[int, int]:
        """(running, waiting) model calls now, for ``/metrics``."""
        with self._lock:
            running = min(self._calls, self.workers)
            return running, self._calls - running

    def reserve_body(self, size: int) -> bool:
        with self._lock:
            if self._body_bytes + size > self.body_budget:
                return False
            self._body_bytes += size
            return True

    def release_body(self, size: int) -> None:
        with self._lock:
            self._body_bytes -= size

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on a model thread, or raise ``Busy`` when ``workers + queue`` calls are already in."""
        with self._lock:
            if self._calls >= self.capacity:
                raise Busy("the server is busy with other pictures; try again shortly", retry_after=RETRY_AFTER_S)
            self._calls += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        finally:
            with self._lock:
                self._calls -= 1


def _refuse(
    scope: Scope, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The refusal in the request's language, like every other error body."""
    message = error_message(code, message, lang_of(Request(scope)))
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


class BodyLimit:
    """Read the whole request body into memory under its cap, then hand it to the app (see module doc)."""

    def __init__(self, app: ASGIApp, pool: ModelPool, upload_bytes: int) -> None:
        self.app = app
        self.pool = pool
        self.upload_cap = upload_bytes + MULTIPART_OVERHEAD
        # The body is already in memory and capped here, so a part can never need a file: never spool.
        MultiPartParser.spool_max_size = sys.maxsize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cap = self.upload_cap if headers.get("content-type", "").startswith("multipart/") else JSON_BODY_BYTES
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            too_large = _refuse(scope, 413, "too_large", f"request body too large (limit {cap} bytes)")
            await too_large(scope, receive, send)
            return
        # Chunked bodies (no Content-Length) reserve the full cap: their size is known only at the end.
        reserved = int(declared) if declared is not None else cap
        if not self.pool.reserve_body(reserved):
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            busy = _refuse(scope, 503, "busy", "the server is busy; try again shortly", retry)
            await busy(scope, receive, send)
            return
        try:
            body = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > cap:
                    too_large = _refuse(scope, 413, "too_large", f"request body too large (limit {cap} bytes)")
                    await too_large(scope, receive, send)
                    return
            payload = bytes(body)
            del body  # one copy in memory while the app runs, not two
            await self.app(scope, _replay(payload, receive), send)
        finally:
            self.pool.release_body(reserved)


def _replay(body: bytes, receive: Receive) -> Receive:
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would report it

    return replay
