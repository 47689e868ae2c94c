"""CLI commands: ``soberpay serve``, ``soberpay demo`` and staff/room administration for the venue service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from soberpay.cli._apps import app, staff_app
from soberpay.cli._common import console, err_console, fail, get_container, handle_errors


@app.command()
@handle_errors
def serve(
    host: str = typer.Option(None, help="bind address (default: web.host, 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default: web.port, 8000)"),
    workers: int = typer.Option(1, min=1, max=64, help="uvicorn worker processes"),
    config: Path = typer.Option(None, exists=True, dir_okay=False, help="TOML settings file"),
) -> None:
    """Run the venue service (HTTP API, pages, live room workers) with uvicorn.

    With one worker the room cameras run inside the server (``web.run_rooms``). With ``--workers N``
    they run exactly once, in one ``soberpay rooms`` child process; the HTTP workers read the rooms'
    heartbeat rows. Run ``soberpay rooms`` yourself instead by setting ``web.run_rooms = false``.
    """
    import uvicorn

    if config is not None:
        os.environ["SOBERPAY_CONFIG"] = str(config.resolve())
    from soberpay.config import Settings

    settings = Settings()
    from soberpay.adapters.db.migrate import upgrade
    from soberpay.adapters.private_files import private_dir

    private_dir(settings.data_dir)
    upgrade(settings.resolved_database_url)  # once, before workers start
    if settings.env == "prod":  # here too, so the refusal is one line and not a worker's traceback
        from soberpay.bootstrap import build_container
        from soberpay.web.auth import AuthStore
        from soberpay.web.demo import refuse_demo_in_prod

        container = build_container(settings)
        refuse_demo_in_prod(AuthStore(container.session_factory, container.hasher, container.clock), container.identity)
        container.close()
    rooms: subprocess.Popen[bytes] | None = None
    if workers > 1 and settings.web.run_rooms:
        # Every HTTP worker would open every camera: the rooms get their own single process instead.
        os.environ["SOBERPAY_WEB__RUN_ROOMS"] = "false"
        rooms = subprocess.Popen([sys.executable, "-m", "soberpay", "rooms"])
        err_console.print(f"room camera workers run in their own process (pid {rooms.pid}, `soberpay rooms`)")
    try:
        uvicorn.run(
            "soberpay.web.asgi:app_factory",
            factory=True,
            host=host or settings.web.host,
            port=port or settings.web.port,
            workers=workers,
            log_level="info",
        )
    finally:
        if rooms is not None:
            rooms.terminate()  # SIGTERM: the rooms process stops its workers and writes a last heartbeat
            rooms.wait(30)


@app.command()
@handle_errors
def demo(
    host: str = typer.Option("127.0.0.1", help="bind address"),
    port: int = typer.Option(8000, help="port"),
    data_dir: Path = typer.Option(Path("var/demo"), help="demo database, keys and runtime files"),
    enrol: bool = typer.Option(True, help="enrol the seeded guests' faces (loads the face models)"),
) -> None:
    """Start the service with the demo venue: seeded guests, a looping sample-video room, staff logins."""
    import uvicorn

    from soberpay.bootstrap import build_container
    from soberpay.config import Settings
    from soberpay.web.app import create_app
    from soberpay.web.demo import DEMO_PASSWORD, DEMO_STAFF, seed_demo

    settings = Settings(data_dir=data_dir)
    if settings.env == "prod":
        fail("config_error: the demo venue never runs with env = prod (its passwords are public); unset SOBERPAY_ENV")
    with console.status("preparing the demo venue (migrations, models, seeded guests)…"):
        container = build_container(settings)
        application = create_app(container)
        venue = seed_demo(application.state.web, enrol_faces=enrol)
    base = f"http://{host}:{port}"
    console.print(f"[bold]soberpay demo venue[/] — data in {data_dir}", soft_wrap=True)
    console.print(f"  enrolment kiosk   {base}/kiosk", soft_wrap=True)
    for room_id, token in venue.tokens.items():
        console.print(f"  room touchscreen  {base}/room/{room_id}   device token: [bold]{token}[/]", soft_wrap=True)
    console.print(f"  staff dashboard   {base}/staff", soft_wrap=True)
    console.print(f"  API docs          {base}/docs    metrics {base}/metrics", soft_wrap=True)
    for username, password, role in DEMO_STAFF:
        console.print(f"  staff login       {username} / {password}  ({role})", soft_wrap=True)
    console.print(
        "  seeded guests     " + ", ".join(venue.guests) + f" (payment password {DEMO_PASSWORD}, ¥1000 prepaid; "
        "pay by face with the photos in src/soberpay/assets/faces/)",
        soft_wrap=True,
    )
    for problem in venue.problems:
        err_console.print(f"[yellow]warning:[/] {problem}")
    uvicorn.run(application, host=host, port=port, log_level="info")


@staff_app.command("account-add")
@handle_errors
def account_add(
    username: str = typer.Argument(..., help="login name"),
    role: str = typer.Option("cashier", help="cashier or manager"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True, help="8+ characters"),
) -> None:
    """Create a staff account for the web dashboard (argon2id-hashed)."""
    from soberpay.web.auth import AuthStore

    c = get_container()
    staff_id = AuthStore(c.session_factory, c.hasher, c.clock).create_staff(username, password, role, actor="operator")
    console.print(f"created staff account {username} ({role}) id={staff_id}")


@staff_app.command("room-add")
@handle_errors
def room_add(
    room_id: str = typer.Argument(..., help="short id, e.g. r101"),
    name: str = typer.Option(..., help="display name"),
    camera: str = typer.Option(None, help="camera: file path, device index, RTSP URL or 'demo'"),
) -> None:
    """Create a room (its camera worker starts with `soberpay serve` or `soberpay rooms`)."""
    from soberpay.web.auth import AuthStore

    c = get_container()
    AuthStore(c.session_factory, c.hasher, c.clock).create_room(room_id, name, camera, actor="operator")
    console.print(f"created room {room_id}")


@staff_app.command("room-token")
@handle_errors
def room_token(room_id: str = typer.Argument(..., help="room id")) -> None:
    """Issue a device token for a room touchscreen (shown once; pair at /room/<id>)."""
    from soberpay.web.auth import AuthStore

    c = get_container()
    token_id, token = AuthStore(c.session_factory, c.hasher, c.clock).issue_device_token(room_id, actor="operator")
    console.print(f"token id {token_id} for room {room_id}: [bold]{token}[/]")
