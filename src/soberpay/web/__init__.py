"""The venue service: FastAPI HTTP API, live camera rooms, server-rendered guest and staff pages."""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str) -> object:  # lazy: importing soberpay.web must not import FastAPI eagerly
    if name == "create_app":
        from soberpay.web.app import create_app

        return create_app
    raise AttributeError(name)
