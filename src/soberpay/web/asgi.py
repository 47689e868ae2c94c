"""ASGI entry point for ``uvicorn soberpay.web.asgi:app_factory --factory`` (settings from env / TOML)."""

from __future__ import annotations

from fastapi import FastAPI


def app_factory() -> FastAPI:
    from soberpay.bootstrap import build_container
    from soberpay.web.app import create_app

    return create_app(build_container())
