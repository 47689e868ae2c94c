"""`soberpay walkthrough`: the scripted end-to-end demo `make demo` runs (SQLite, bundled media).

It registers the bundled sample guests with explicit consents, enrols their faces, identifies
them, shows bad input being refused, and then hands over to the payment and sobriety walkthroughs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table

from soberpay.assets import read_asset
from soberpay.cli._apps import app
from soberpay.cli._common import console, handle_errors
from soberpay.cli.payment_demo import run_payment_walkthrough
from soberpay.config import Settings
from soberpay.errors import SoberpayError

DEMO_GUESTS = [
    # name, phone, PRC ID (valid checksums, fictitious), consents, enrolment photos
    (
        "Barack (demo)",
        "13800000001",
        "11010519491231002X",
        ["face_payment", "sobriety_monitoring", "behaviour_profiling"],
        ["obama.jpg", "obama2.jpg"],
    ),
    ("Joe (demo)", "13800000002", "440524198001010013", ["face_payment"], ["biden.jpg"]),
    (
        "Grace (demo)",
        "13800000003",
        "110101199003074514",
        ["face_payment", "sobriety_monitoring"],
        ["grace_hopper.jpg"],
    ),
    ("Eileen (demo)", "13800000004", "310115198512121236", [], []),  # no face consent: phone + password
]
DEMO_PASSWORD = "135790"


@app.command()
@handle_errors
def walkthrough(
    data_dir: Path = typer.Option(Path("var/walkthrough"), help="walkthrough data directory (wiped first)"),
    keep: bool = typer.Option(False, help="do not wipe the data directory first"),
) -> None:
    """Run the end-to-end demo on SQLite with the bundled sample faces."""
    from soberpay.bootstrap import build_container

    if not keep and data_dir.exists():
        shutil.rmtree(data_dir)
    container = build_container(Settings(data_dir=data_dir))
    console.print(Panel.fit(f"soberpay walkthrough — data in {data_dir.resolve()} (SQLite)", style="bold"))
    ids = run_identity_walkthrough(container)
    run_payment_walkthrough(container, console, ids)
    run_sobriety_walkthrough(container.settings, data_dir)
    console.print(
        Panel.fit(
            "walkthrough finished — `soberpay demo` serves the demo venue (make demo starts it now)", style="green"
        )
    )


def run_identity_walkthrough(container: object) -> dict[str, str]:
    ident = container.identity  # type: ignore[attr-defined]
    console.rule("1. Registration, consent, face enrolment")
    ids: dict[str, str] = {}
    table = Table("guest", "consents", "templates", "ID number (masked)")
    for name, phone, nid, consents, photos in DEMO_GUESTS:
        guest = ident.register(name=name, phone=phone, national_id=nid, password=DEMO_PASSWORD)
        for purpose in consents:
            ident.grant_consent(guest.id, purpose)
        stored = 0
        if photos:
            stored = ident.enroll_images(guest.id, [read_asset("faces", p) for p in photos]).templates_stored
        ids[name] = guest.id
        table.add_row(
            name, ", ".join(consents) or "none (pays by phone + password)", str(stored), guest.national_id_masked
        )
    console.print(table)

    console.rule("2. Identification (1:N)")
    names = {v: k for k, v in ids.items()}
    result = Table("probe", "decision", "guest", "score", "margin")
    explanations = []
    for label, probe in _probes():
        d = ident.identify(probe)
        result.add_row(label, d.status.value, names.get(d.guest_id or "", "-"), f"{d.score:.3f}", f"{d.margin:.3f}")
        explanations.append(f"{label}: {d.explanation}")
    console.print(result)
    for line in explanations:
        console.print(f"  [dim]{line}[/]")
    console.print("(astronaut.jpg is Eileen, who gave no face consent: she is correctly not recognised.)")

    console.rule("3. Bad input is refused and changes nothing")
    for label, payload in [("corrupt bytes", b"\xff\xd8\xff\xe0 not really a jpeg"), ("empty file", b"")]:
        try:
            ident.identify(payload)
        except SoberpayError as exc:
            console.print(f"{label}: [red]{exc.code}[/] — {exc.message}")
    try:
        ident.enroll_images(ids["Joe (demo)"], [read_asset("faces", "obama3.jpg")])
    except SoberpayError as exc:
        console.print(f"enrolling Barack's face under Joe: [red]{exc.code}[/] — {exc.message}")
    ok = ident.check_password(ids["Eileen (demo)"], DEMO_PASSWORD, actor="operator").ok
    console.print(f"Eileen pays without face: phone lookup + password → {'accepted' if ok else 'refused'}")
    return ids


def _probes() -> list[tuple[str, bytes]]:
    """obama3.jpg was not used for enrolment; for the one-photo guests we probe with a mirrored,
    darker copy made in memory (a sanity check, not an accuracy claim — see the ORL numbers)."""
    import cv2
    import numpy as np

    def variant(name: str) -> bytes:
        img = cv2.imdecode(np.frombuffer(read_asset("faces", name), np.uint8), cv2.IMREAD_COLOR)
        img = cv2.convertScaleAbs(cv2.flip(img, 1), alpha=0.8, beta=-10)
        return bytes(cv2.imencode(".jpg", img)[1])

    return [
        ("obama3.jpg (unseen photo)", read_asset("faces", "obama3.jpg")),
        ("biden.jpg mirrored + darker", variant("biden.jpg")),
        ("grace_hopper.jpg mirrored + darker", variant("grace_hopper.jpg")),
        ("astronaut.jpg (not enrolled)", read_asset("faces", "astronaut.jpg")),
    ]


def run_sobriety_walkthrough(settings: Settings, data_dir: Path) -> None:
    """The real sobriety chain on bundled media: a looping-room clip (pedestrians: pose, no faces)
    and a still face. The fusion model is trained on SYNTHETIC data, so expect honest abstentions."""
    from soberpay.assets import asset_path
    from soberpay.cli.sobriety import _plot, assess_image, assess_video

    console.rule("Sobriety assessment on bundled media (real MediaPipe models)")
    res = assess_video(asset_path("pedestrians_vtest_120.avi"), settings.sobriety, progress=True)
    sm = res["summary"]
    plot = data_dir / "sobriety_timeline.png"
    _plot(
        res["timeline"],
        settings.sobriety,
        plot,
        "pedestrians_vtest_120.avi: sobriety timeline (fusion trained on SYNTHETIC data)",
    )
    console.print(
        f"pedestrians_vtest_120.avi (first 12 s of vtest.avi): {sm['frames']} frames, "
        f"pose in {sm['pose_frames']}, face in {sm['face_frames']}; "
        f"{sm['analysis_fps']} frames/s; per-second states {sm['states']}; timeline plot {plot}"
    )
    still = assess_image(asset_path("faces", "obama.jpg"), settings.sobriety)
    face = still.get("face") or {}
    console.print(
        f"obama.jpg: eye openness {face.get('eye_openness', float('nan')):.2f}, "
        f"mouth openness {face.get('mouth_openness', float('nan')):.2f}; state abstain ({still['reason']})"
    )
    console.print(f"[dim]{sm['note']}[/]")
