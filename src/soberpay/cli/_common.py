"""Console, settings loading and uniform error handling for CLI commands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from soberpay.errors import SoberpayError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, never wrapped
    raise typer.Exit(code)


def config_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting: where it is, what is wrong, and the value given."""
    lines = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "settings"
        given = f" (got {e['input']!r})" if e["type"] != "missing" and not isinstance(e["input"], dict) else ""
        lines.append(f"config_error: {where}: {e['msg']}{given}")
    return lines


def fail_config(exc: ValidationError) -> None:
    """Bad settings (environment ``SOBERPAY_*``, TOML file or options): one line per field, exit 2."""
    for line in config_errors(exc):
        err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def handle_errors(func: F) -> F:
    """Turn domain errors and bad settings into red lines and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            fail_config(exc)
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
