"""Console, settings loading and uniform error handling for CLI commands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from soberpay.errors import SoberpayError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn domain errors into one red line and a non-zero exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SoberpayError as exc:
            fail(f"{exc.code}: {exc.message}")
        except FileNotFoundError as exc:
            fail(f"not_found: {exc.filename or exc}")
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


_container: Any = None


def get_container() -> Any:
    """The process-wide composition root for CLI commands (settings from env / TOML)."""
    global _container
    if _container is None:
        from soberpay.bootstrap import build_container

        _container = build_container()
    return _container
