"""Local servers for tests: a free port on 127.0.0.1, a FastAPI app served by uvicorn in a thread, and
`soberpay serve` processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any, port: int | None = None, start_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped while starting"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_processes(env: dict[str, str], count: int = 2, start_timeout_s: float = 60.0) -> Iterator[list[str]]:
    """``count`` `soberpay serve` processes with ``env`` on free ports, each answering /healthz; yields their
    base URLs and stops them when the block ends. A process that dies while starting fails with its stderr."""
    ports = [free_port() for _ in range(count)]
    logs = [tempfile.TemporaryFile() for _ in ports]  # a file, not a pipe: a chatty server never blocks on it
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "soberpay", "serve", "--port", str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for p, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + start_timeout_s
        for proc, url, log in zip(procs, urls, logs, strict=True):
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"{url} exited: {log.read().decode(errors='replace')[-2000:]}")
                assert time.monotonic() < deadline, f"{url} did not start"
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        for log in logs:
            log.close()
