"""OpenAPI links: how one response feeds the next request in the main resource flows.

They document the flows for client writers and drive the stateful API test (schemathesis follows them to
chain real ids instead of guessing). A link names its target by ``operationRef`` (method + path), so it
does not depend on the generated operation ids."""

from __future__ import annotations

from typing import Any

Link = dict[str, Any]


def link(method: str, path: str, description: str, parameters: dict[str, str]) -> Link:
    """A link to ``method path`` whose ``parameters`` (``"path.guest_id"``, ``"header.X-Guest-Token"``,
    ``"query.guest_id"``) are runtime expressions such as ``$response.body#/guest_id``."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description, "parameters": parameters}


def links(status: int, **named: Link) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry that adds ``named`` links to the ``status`` response of an operation."""
    return {status: {"links": named}}


# The guest a response names, with the kiosk token it hands out (registration) or the one the request used.
NEW_GUEST = {"path.guest_id": "$response.body#/guest_id", "header.X-Guest-Token": "$response.body#/guest_token"}
SAME_GUEST = {"path.guest_id": "$request.path.guest_id"}
SAME_ROOM_GUEST = {"path.room_id": "$request.path.room_id", "header.X-Guest-Token": "$request.header.X-Guest-Token"}
