"""CLI command ``soberpay assess``: video/image sobriety timeline + plot.

The sobriety training commands live in the developer distribution (``soberpay_lab.cli.train_sobriety``)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soberpay.cli._apps import app
from soberpay.cli._common import console, handle_errors
from soberpay.config import Settings, SobrietySettings
from soberpay.errors import BadImage, InvalidInput


def _settings(baseline_seconds: float | None, pose_every: int | None) -> SobrietySettings:
    s = Settings().sobriety
    upd: dict[str, Any] = {}
    if baseline_seconds is not None:
        upd["baseline_seconds"] = baseline_seconds
    if pose_every is not None:
        upd["pose_every_n_frames"] = pose_every
    return SobrietySettings(**{**s.model_dump(), **upd}) if upd else s


def _f(v: Any, fmt: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, fmt)


def _plot(rows: list[dict[str, Any]], s: SobrietySettings, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t"] for r in rows]

    def col(src: str, key: str) -> list[float]:
        out = []
        for r in rows:
            d = r.get(src) or {}
            v = d.get(key)
            out.append(float("nan") if v is None else float(v))
        return out

    fig, ax = plt.subplots(4, 1, figsize=(10, 9), sharex=True)
    p = [float("nan") if r["p_drunk"] is None else r["p_drunk"] for r in rows]
    ax[0].plot(t, p, color="k", label="P(drunk) (smoothed)")
    ax[0].axhspan(s.sober_probability, s.drunk_probability, color="orange", alpha=0.2, label="reject band (abstain)")
    colours = {"sober": "tab:green", "drunk": "tab:red", "abstain": "tab:orange"}
    for r in rows:
        ax[0].axvspan(r["t"] - 0.5, r["t"] + 0.5, ymin=0.0, ymax=0.06, color=colours[r["state"]], lw=0)
    sim = [float("nan") if r["similarity_to_normal"] is None else r["similarity_to_normal"] for r in rows]
    ax[0].plot(t, sim, color="tab:blue", ls="--", label="similarity to own normal")
    ax[0].set_ylim(0, 1)
    ax[0].set_ylabel("probability")
    ax[0].legend(loc="upper right", fontsize=7)
    ax[1].plot(t, col("pose", "trunk_tilt_deg"), label="|trunk tilt| °")
    ax[1].axhline(s.trunk_tilt_flag_deg, color="r", ls=":", lw=1, label=f"tilt rule {s.trunk_tilt_flag_deg:g}°")
    ax[1].set_ylabel("degrees")
    ax[1].legend(loc="upper right", fontsize=7)
    for key, lab in (
        ("head_angle_rate_deg_s", "head"),
        ("arm_angle_rate_deg_s", "arm"),
        ("leg_angle_rate_deg_s", "leg"),
    ):
        ax[2].plot(t, col("pose", key), label=f"{lab} °/s")
    ax[2].axhline(s.angle_rate_flag_deg_s, color="r", ls=":", lw=1, label=f"rate rule {s.angle_rate_flag_deg_s:g}°/s")
    ax[2].set_ylabel("angle rate")
    ax[2].legend(loc="upper right", fontsize=7)
    ax[3].plot(t, col("face", "eye_openness"), label="eye openness")
    ax[3].plot(t, col("face", "perclos"), label="PERCLOS")
    ax[3].plot(t, col("face", "colour_change"), label="colour change")
    ax[3].plot(t, col("pose", "sway_path_per_s"), label="sway path /s")
    ax[3].set_xlabel("seconds")
    ax[3].legend(loc="upper right", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)  # aggregate signals only; no image pixels
    plt.close(fig)


def assess_video(
    video: Path,
    s: SobrietySettings,
    max_seconds: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the per-guest monitor over a video file; one timeline row per second."""
    from soberpay.adapters.sobriety.analyzer import FrameAnalyzer
    from soberpay.adapters.sobriety.fusion import FusionModel
    from soberpay.adapters.sobriety.monitor import GuestMonitor, default_expression
    from soberpay.adapters.sobriety.pose import PoseCnnEmbedder
    from soberpay.adapters.vision.video import OpenCVFrameSource
    from soberpay.domain.sobriety import AbnormalPatternBook

    if not video.is_file():
        raise BadImage(f"video file not found: {video}", source=str(video))
    import cv2

    cv2.setNumThreads(1)
    cap = cv2.VideoCapture(str(video))
    n_total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
    cap.release()
    fusion = FusionModel(s.fusion_model)
    embedder = PoseCnnEmbedder(s.pose_cnn_model)
    import uuid

    book = AbnormalPatternBook(s.pattern_similarity, lambda: uuid.uuid4().hex)
    expression = default_expression()
    mon = GuestMonitor("video", s, fusion, embedder, book, expression=expression)
    analyzer = FrameAnalyzer.from_settings(s)
    rows: list[dict[str, Any]] = []
    frames = faces = poses = pose_runs = 0
    started = time.perf_counter()
    last_assess = -math.inf
    src = OpenCVFrameSource(video)
    limit = None if max_seconds is None or fps <= 0 else int(max_seconds * fps)
    total = min(n_total, limit) if limit and n_total else (limit or n_total or None)
    bar = Progress(
        TextColumn("[bold]analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=True,
    )
    with bar:
        task = bar.add_task("frames", total=total)
        try:
            for t, frame in src.frames():
                if limit is not None and frames >= limit:
                    break
                a = analyzer.analyse(frame, t)
                frames += 1
                faces += a.face is not None
                poses += a.pose is not None
                pose_runs += a.pose_ran
                mon.add(a)
                if t - last_assess >= 1.0:
                    last_assess = t
                    rows.append(mon.assess(t).to_dict())
                bar.advance(task)
        finally:
            src.close()
            analyzer.close()
    elapsed = time.perf_counter() - started
    if frames == 0:
        raise BadImage("no frames could be decoded", source=str(video))
    states = [r["state"] for r in rows]
    summary = {
        "frames": frames,
        "video_fps": round(fps, 2),
        "seconds": round(rows[-1]["t"], 2) if rows else 0.0,
        "face_frames": faces,
        "pose_frames": poses,
        "pose_runs": pose_runs,
        "analysis_fps": round(frames / elapsed, 2) if elapsed > 0 else None,
        "states": {k: states.count(k) for k in ("sober", "drunk", "abstain")},
        "final_state": states[-1] if states else "abstain",
        "fusion_model": fusion.available,
        "pose_cnn": embedder.available,
        "expression_model": expression is not None,
        "abnormal_patterns": len(book),
        "posture_normal_per_activity": {
            act: {k: {"median": round(m, 4), "spread": round(sd, 4), "windows": n} for k, (m, sd, n) in sig.items()}
            for act, sig in mon.posture.summary().items()
        },
        "note": "P(drunk) comes from a fusion model trained on SYNTHETIC data; staff decide in the reject band.",
    }
    return {"source": str(video), "summary": summary, "timeline": rows}


def assess_image(image: Path, s: SobrietySettings) -> dict[str, Any]:
    """Single photo: per-frame face/pose measurements and the capture-record size. A still image has no
    blinks, no sway and no baseline, so the state is always ``abstain``."""
    from datetime import UTC, datetime

    import numpy as np

    from soberpay.adapters.crypto import AesGcmKeyRing
    from soberpay.adapters.images import decode_image
    from soberpay.adapters.sobriety.capture import FeatureRecordCapturer
    from soberpay.adapters.sobriety.face_signals import FaceMeshSignals, grey_world_gains
    from soberpay.adapters.sobriety.pose import PoseEstimator, frame_geometry
    from soberpay.adapters.sobriety.store import InMemorySobrietyStore

    data = image.read_bytes()
    img = decode_image(data)
    import cv2

    h, w = img.shape[:2]
    scale = min(1.0, s.max_frame_side / max(h, w))
    if scale < 1.0:
        img = np.asarray(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    fm = FaceMeshSignals(static_image_mode=True, open_ear=s.open_ear)
    pe = PoseEstimator(min_visibility=s.min_pose_visibility)
    try:
        face = fm.analyse(img, 0.0, grey_world_gains(img))
        pose = pe.estimate(img, 0.0)
    finally:
        fm.close()
        pe.close()
    out: dict[str, Any] = {
        "source": str(image),
        "width": w,
        "height": h,
        "state": "abstain",
        "reason": "single image: no blinks, sway or guest baseline; needs video",
    }
    if face is not None:
        out["face"] = {
            "ear": round(face.ear, 4),
            "eye_openness": round(face.eye_openness, 4),
            "mouth_openness": round(face.mouth_openness, 4),
            "gaze_xy": [round(v, 4) for v in face.gaze_xy],
            "skin_a_star": None if not math.isfinite(face.skin_a) else round(face.skin_a, 2),
            "sclera_a_star": None if not math.isfinite(face.sclera_a) else round(face.sclera_a, 2),
            "box": list(face.box),
        }
    else:
        out["face"] = None
    if pose is not None:
        g = frame_geometry(pose.xy)
        out["pose"] = {
            "trunk_tilt_deg": round(g["trunk_tilt_deg"], 2),
            "head_angle_deg": round(g["head_angle_deg"], 2),
            "tilt_rule_flag": abs(g["trunk_tilt_deg"]) > s.trunk_tilt_flag_deg,
            "box": list(pose.box),
        }
    else:
        out["pose"] = None
    # Measure what one encrypted capture record weighs (ephemeral key, in-memory store, nothing saved).
    ring = AesGcmKeyRing({"ephemeral": bytes(32)}, "ephemeral")
    cap = FeatureRecordCapturer(
        ring, InMemorySobrietyStore(), lambda _c: True, lambda: datetime.now(UTC), s.sift_max_keypoints
    )
    if face is not None or pose is not None:
        res = cap.capture(
            "demo",
            img,
            face_box=face.box if face else None,
            face_landmarks=face.landmarks if face else None,
            person_box=pose.box if pose else None,
            pose_xy=pose.xy if pose else None,
            pose_visibility=pose.visibility if pose else None,
            signals={k: v for k, v in (out.get("face") or {}).items() if isinstance(v, float)},
        )
        out["capture_record"] = {
            "ciphertext_bytes": res.ciphertext_bytes,
            "face_keypoints": res.face_keypoints,
            "person_keypoints": res.person_keypoints,
        }
    return out


@app.command("assess")
@handle_errors
def assess(
    video: Annotated[Path | None, typer.Option("--video", help="video file to assess")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="single face/person photo")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the timeline plot PNG here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    max_seconds: Annotated[float | None, typer.Option(min=0.1, help="stop after this much video")] = None,
    baseline_seconds: Annotated[
        float | None, typer.Option(min=1.0, help="own-baseline period at the start (default from settings)")
    ] = None,
    pose_every: Annotated[int | None, typer.Option(min=1, max=10, help="run pose on every n-th frame")] = None,
) -> None:
    """Sobriety timeline of one person (per-second scores, flags, state) from a video, or a photo check."""
    if (video is None) == (image is None):
        raise InvalidInput("give exactly one of --video or --image")
    s = _settings(baseline_seconds, pose_every)
    if image is not None:
        res = assess_image(image, s)
        if as_json:
            print(json.dumps(res))
            return
        console.print(
            f"[bold]{image.name}[/] {res['width']}×{res['height']}: state [yellow]abstain[/] ({res['reason']})"
        )
        console.print(f"face: {res['face'] or 'none found'}")
        console.print(f"pose: {res['pose'] or 'none found'}")
        if "capture_record" in res:
            console.print(f"encrypted capture record: {res['capture_record']['ciphertext_bytes']} bytes")
        return
    assert video is not None
    res = assess_video(video, s, max_seconds, progress=not as_json)
    rows = res["timeline"]
    if plot is not None and rows:
        _plot(rows, s, plot, f"{video.name}: sobriety timeline (fusion trained on SYNTHETIC data)")
        res["summary"]["plot"] = str(plot)
    if as_json:
        print(json.dumps(res))
        return
    table = Table(title=f"{video.name}: per-second sobriety timeline", padding=(0, 1))
    for c in ("t", "state", "P", "sim", "eye", "PERC", "blink", "col", "act", "tilt", "h/a/l °/s", "sway", "posture"):
        table.add_column(c, no_wrap=c != "posture")
    colour = {"sober": "green", "drunk": "red", "abstain": "yellow"}
    for r in rows:
        f = r["face"] or {}
        p = r["pose"] or {}
        rates = "/".join(
            _f(p.get(k), ".0f") for k in ("head_angle_rate_deg_s", "arm_angle_rate_deg_s", "leg_angle_rate_deg_s")
        )
        table.add_row(
            _f(r["t"], ".0f"),
            f"[{colour[r['state']]}]{r['state'][:7]}[/]",
            _f(r["p_drunk"]),
            _f(r["similarity_to_normal"]),
            _f(f.get("eye_openness")),
            _f(f.get("perclos")),
            _f(f.get("blink_rate_per_min"), ".0f"),
            _f(f.get("colour_change")),
            (r["activity"] or "–")[:5],
            _f(p.get("trunk_tilt_deg"), ".1f"),
            rates if p else "–",
            _f(p.get("sway_path_per_s"), ".2f"),
            ("[red]ABNORMAL[/] " if r["posture_abnormal"] else "") + r["posture_reason"],
        )
    console.print(table, width=max(console.width, 120))
    normals = res["summary"]["posture_normal_per_activity"]
    if normals:
        nt = Table(title="the guest's own posture normal per activity (median ± robust spread, windows)")
        for c in ("activity", "head °/s", "arm °/s", "leg °/s", "|tilt| °", "sway /s"):
            nt.add_column(c, no_wrap=True)
        keys = (
            "head_angle_rate_deg_s",
            "arm_angle_rate_deg_s",
            "leg_angle_rate_deg_s",
            "trunk_tilt_deg",
            "sway_path_per_s",
        )
        for act, sig in normals.items():
            cells = [
                f"{sig[k]['median']:.3g} ± {sig[k]['spread']:.2g} ({sig[k]['windows']})" if k in sig else "–"
                for k in keys
            ]
            nt.add_row(act, *cells)
        console.print(nt)
    sm = res["summary"]
    console.print(
        f"{sm['frames']} frames, face in {sm['face_frames']}, pose in {sm['pose_frames']}; "
        f"analysis {sm['analysis_fps']} frames/s; states {sm['states']}; final [bold]{sm['final_state']}[/]"
    )
    console.print(f"[dim]{sm['note']}[/]")
    if plot is not None:
        console.print(f"plot: {plot}")
