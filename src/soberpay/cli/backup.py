"""CLI commands: ``soberpay backup`` and ``soberpay restore`` (database and keys, kept apart)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from soberpay.cli._apps import app
from soberpay.cli._common import console, err_console, handle_errors

PASSPHRASE_HELP = "file holding the key-backup passphrase (else prompted)"


def _passphrase(path: Path | None, confirm: bool) -> str:
    if path is not None:
        return path.read_text().rstrip("\n")
    return str(typer.prompt("key-backup passphrase", hide_input=True, confirmation_prompt=confirm))


@app.command("backup")
@handle_errors
def backup(
    to: Path = typer.Argument(..., file_okay=False, help="folder for the database backup"),
    keys_to: Path = typer.Option(None, file_okay=False, help="folder for the encrypted key backup (default: TO)"),
    keys: bool = typer.Option(True, help="also export the keys (--no-keys: database only)"),
    passphrase_file: Path = typer.Option(
        None, exists=True, dir_okay=False, envvar="SOBERPAY_BACKUP_PASSPHRASE_FILE", help=PASSPHRASE_HELP
    ),
) -> None:
    """Back up the database (consistent while the service runs) and, encrypted apart, the keys."""
    from soberpay.adapters.backup import backup_database, export_keys, is_sqlite
    from soberpay.config import Settings

    settings = Settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    url = settings.resolved_database_url
    db_file = backup_database(url, to / f"soberpay-{stamp}.{'db' if is_sqlite(url) else 'pgdump'}")
    console.print(f"database  → {db_file}", highlight=False, soft_wrap=True)
    if not keys:
        return
    if settings.template_key or settings.web.secret_key:
        err_console.print("[yellow]note:[/] keys set in the environment are not exported: your secret manager has them")
    key_file = (keys_to or to) / f"soberpay-keys-{stamp}.enc"
    names = export_keys(settings.resolved_key_dir, key_file, _passphrase(passphrase_file, confirm=True))
    console.print(f"keys      → {key_file} ({', '.join(names)}; passphrase-encrypted)", highlight=False, soft_wrap=True)


@app.command("restore")
@handle_errors
def restore(
    database: Path = typer.Argument(..., exists=True, dir_okay=False, help="database backup (.db or .pgdump)"),
    keys: Path = typer.Option(None, exists=True, dir_okay=False, help="encrypted key backup (.enc)"),
    passphrase_file: Path = typer.Option(
        None, exists=True, dir_okay=False, envvar="SOBERPAY_BACKUP_PASSPHRASE_FILE", help=PASSPHRASE_HELP
    ),
    force: bool = typer.Option(False, help="replace an existing database and different keys (stop the service first)"),
) -> None:
    """Bring a venue back: keys first (checked with the passphrase), then the database, then migrations."""
    from soberpay.adapters.backup import import_keys, read_keys, restore_database
    from soberpay.adapters.db.migrate import upgrade
    from soberpay.config import Settings

    settings = Settings()
    passphrase = _passphrase(passphrase_file, confirm=False) if keys is not None else ""
    if keys is not None:
        read_keys(keys, passphrase)  # a wrong passphrase stops here, before the database is touched
    url = settings.resolved_database_url
    restore_database(url, database, force=force)
    upgrade(url)  # a backup made by an older version is brought to this version's schema
    console.print(f"database  ← {database}", highlight=False, soft_wrap=True)
    if keys is not None:
        names = import_keys(keys, settings.resolved_key_dir, passphrase, force=force)
        console.print(f"keys      ← {keys} ({', '.join(names)})", highlight=False, soft_wrap=True)
    else:
        err_console.print("[yellow]note:[/] no --keys: templates and ID numbers need the keys they were encrypted with")
