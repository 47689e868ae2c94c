"""CLI commands: guest registration, consent, face enrolment, identification, erasure, key rotation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from soberpay.adapters.consent_texts import consent_text
from soberpay.cli._apps import app
from soberpay.cli._common import console, get_container, handle_errors
from soberpay.domain.identity import ConsentPurpose
from soberpay.errors import InvalidInput
from soberpay.venue_time import format_time

consent_app = typer.Typer(help="Grant, revoke or show a guest's consents.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


def _read(path: Path) -> bytes:
    return path.read_bytes()


@app.command()
@handle_errors
def register(
    name: str = typer.Option(..., help="guest name"),
    phone: str = typer.Option(..., help="11-digit mainland mobile number"),
    national_id: str = typer.Option(..., "--id-number", help="18-digit PRC resident ID number"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="6-digit payment password"
    ),
    sex: str = typer.Option(None, help="M/F (optional; only for the BAC estimate)"),
    weight_kg: float = typer.Option(None, help="kg (optional; only for the BAC estimate)"),
    consent: list[ConsentPurpose] = typer.Option([], help="grant these consents now (explicit, repeatable)"),
) -> None:
    """Register a guest. Consent is never implied: pass --consent for each purpose the guest agreed to."""
    c = get_container()
    guest = c.identity.register(
        name=name, phone=phone, national_id=national_id, password=password, sex=sex, weight_kg=weight_kg
    )
    lang = c.settings.venue.default_language
    for purpose in consent:
        console.print(f"{purpose.value} ({lang}): {consent_text(purpose, lang)}", highlight=False)
        c.identity.grant_consent(guest.id, purpose, language=lang)
    console.print(f"registered [bold]{guest.name}[/] id={guest.id} ID={guest.national_id_masked}")
    if consent:
        console.print("consents: " + ", ".join(p.value for p in consent))


@consent_app.command("grant")
@handle_errors
def consent_grant(
    guest: str,
    purpose: ConsentPurpose,
    language: str = typer.Option(None, help="language of the text the guest read: zh or en (default: the venue's)"),
) -> None:
    """Record explicit consent (shows the text the guest agreed to, in the language they read it)."""
    c = get_container()
    lang = language or c.settings.venue.default_language
    text = consent_text(purpose, lang)
    record = c.identity.grant_consent(_resolve(guest), purpose, language=lang)
    console.print(f"[green]granted[/] {purpose.value} (text {record.text_version}, {record.language}): {text}")


@consent_app.command("revoke")
@handle_errors
def consent_revoke(guest: str, purpose: ConsentPurpose) -> None:
    """Revoke a consent; revoking face_payment deletes the guest's face templates."""
    c = get_container()
    c.identity.revoke_consent(_resolve(guest), purpose)
    console.print(f"[yellow]revoked[/] {purpose.value}")


@consent_app.command("show")
@handle_errors
def consent_show(guest: str) -> None:
    c = get_container()
    zone = c.settings.venue.zone
    table = Table("purpose", f"granted ({zone.key})", "revoked", "text version", "language")
    for r in c.identity.consents(_resolve(guest)):
        table.add_row(
            r.purpose.value,
            format_time(r.granted_at, zone, "%Y-%m-%d %H:%M:%S"),
            format_time(r.revoked_at, zone, "%Y-%m-%d %H:%M:%S"),
            r.text_version,
            r.language,
        )
    console.print(table)


def _resolve(guest: str) -> str:
    """Accept a guest id or a phone number."""
    c = get_container()
    if len(guest) == 32:
        return str(c.identity.get(guest).id)
    return str(c.identity.find_by_phone(guest).id)


@app.command()
@handle_errors
def enroll(
    guest: str = typer.Argument(..., help="guest id or phone"),
    images: list[Path] = typer.Option([], "--images", "-i", exists=True, dir_okay=False, help="face photos"),
    video: str = typer.Option(None, "--video", help="video file, camera index or RTSP URL"),
) -> None:
    """Enrol a guest's face from 1–N photos or a video (best quality-qualified frames)."""
    if not images and not video:
        raise InvalidInput("give --images or --video")
    c = get_container()
    guest_id = _resolve(guest)
    if video:
        with console.status("selecting quality-qualified frames…"):
            result = c.identity.enroll_video(guest_id, video)
    else:
        result = c.identity.enroll_images(guest_id, [_read(p) for p in images])
    console.print(f"[green]enrolled[/] {result.templates_stored} template(s) for {guest_id}")
    if result.rejected:
        console.print("rejected frames: " + ", ".join(f"{k}×{v}" for k, v in sorted(result.rejected.items())))


@app.command()
@handle_errors
def identify(image: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """1:N identification of the single face in IMAGE."""
    c = get_container()
    decision = c.identity.identify(_read(image))
    name = c.identity.get(decision.guest_id).name if decision.guest_id else "-"
    colour = {"accepted": "green", "ambiguous": "yellow", "rejected": "red"}[decision.status.value]
    console.print(
        f"[{colour}]{decision.status.value}[/] guest={name} score={decision.score:.3f} "
        f"margin={decision.margin:.3f} — {decision.explanation}"
    )
    if not decision.accepted:
        raise typer.Exit(1)


@app.command()
@handle_errors
def verify(guest: str, image: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """1:1 verification: is the face in IMAGE this guest?"""
    c = get_container()
    decision = c.identity.verify(_resolve(guest), _read(image))
    verdict = "[green]match[/]" if decision.accepted else "[red]no match[/]"
    console.print(f"{verdict} — {decision.explanation}")
    if not decision.accepted:
        raise typer.Exit(1)


@app.command()
@handle_errors
def erase(guest: str, yes: bool = typer.Option(False, "--yes", help="confirm")) -> None:
    """Erase a guest: templates and personal fields deleted, anonymised ledger/audit trail kept."""
    if not yes:
        raise InvalidInput("erasure is irreversible: add --yes")
    c = get_container()
    guest_id = _resolve(guest)
    c.identity.erase(guest_id)
    console.print(f"[yellow]erased[/] {guest_id}")


@app.command("guests")
@handle_errors
def list_guests() -> None:
    """List registered guests (masked ID numbers)."""
    c = get_container()
    table = Table("id", "name", "phone", "ID number", "templates")
    for g in c.identity.list_guests():
        table.add_row(g.id, g.name, g.phone, g.national_id_masked, str(c.identity.template_count(g.id)))
    console.print(table)


@app.command("rotate-key")
@handle_errors
def rotate_key(retire_old: bool = typer.Option(True, help="forget old keys once nothing uses them")) -> None:
    """Create a new AES-256-GCM key, re-encrypt templates and ID numbers under it."""
    c = get_container()
    old = list(c.cipher.key_ids)
    new = c.cipher.rotate()
    with console.status("re-encrypting…"):
        n = c.identity.reencrypt_all()
    if retire_old:
        for kid in old:
            c.cipher.retire(kid)
    console.print(f"[green]new key[/] {new}; re-encrypted {n} row(s); retired {len(old) if retire_old else 0}")
