"""False-alarm budget of the sobriety guard on SOBER people: real footage + long synthetic sober visits.

Plain script (not part of the test suite); the figures are published in docs/research/sobriety-assessment.md.

1. **Real sober footage** through the live monitor (``GuestMonitor``: Face Mesh + Pose, the guest's
   own baseline, the shipped fusion model, the tracker): the singer clip (looped forward/backward,
   since it holds only ≈ 6 s of the singer), every pedestrian track of ``vtest.avi`` that lasts
   ≥ 12 s (each track is another person, so another "guest"), and still sample photos as 60-s webcam
   clips. Per source: windows after the baseline, posture-abnormal windows (own normal per activity)
   next to the method's absolute rules (tilt > 3°, any angle rate > 3°/s), DRUNK windows, windows
   where the fusion gives a probability (not "outside the training range"), and the activities.
2. **Tags per sober visit**: SYNTHETIC sober KTV visits (``synthetic_visits``: a guest with five
   earlier visits → their spending thresholds; one ordinary visit, 20 % with a celebration spike)
   replayed through the payments' risk machine, with the sobriety stream of each order drawn from
   the REAL sober windows above (the judgement the risk machine would have received), once as the
   guard judges posture now and once with the absolute rules deciding (before issue 14).
3. **DRUNK windows per hour on long SYNTHETIC sober sessions** (``synthetic_sobriety``, intoxication
   k ≤ 0.1, 10-s windows) through the shipped fusion and the tracker.

    PYTHONPATH=src:lab/src .venv/bin/python benchmarks/sobriety_false_alarms.py [--visits 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "lab" / "src"))

from soberpay.adapters.sobriety.analyzer import FrameAnalysis  # noqa: E402
from soberpay.adapters.sobriety.fusion import FusionModel  # noqa: E402
from soberpay.adapters.sobriety.monitor import Assessment, policy_from_settings  # noqa: E402
from soberpay.config import Settings, SobrietySettings  # noqa: E402
from soberpay.domain.risk import (  # noqa: E402
    ConsumptionSignals,
    RiskPolicy,
    RiskRecord,
    RiskState,
    SobrietyObservation,
    step,
)
from soberpay.domain.sobriety import Observation, SobrietyState, SobrietyTracker  # noqa: E402
from soberpay.domain.spending import PastOrder, SpendingPolicy, build_profile, check_spending  # noqa: E402
from soberpay.services.sobriety import risk_observation  # noqa: E402
from soberpay_lab.evaluation.real_clips import (  # noqa: E402
    SINGER_START_S,
    analyse_frames,
    pingpong,
    replay,
    split_by_track,
    still_clip,
    video_frames,
)

SAMPLES = ROOT.parent / "shared" / "data" / "samples"
STILLS = ("obama.jpg", "biden.jpg", "grace_hopper.jpg", "astronaut.png")


def _with(s: SobrietySettings, **kw: Any) -> SobrietySettings:
    return SobrietySettings(**{**s.model_dump(), **kw})


def _rule_posture(a: Assessment, s: SobrietySettings) -> bool:
    """The method's absolute rules as they decided before: tilt > 3° or any angle rate > 3°/s."""
    p = a.pose or {}
    tilt = p.get("trunk_tilt_deg", float("nan"))
    rates = [p.get(k, float("nan")) for k in ("head_angle_rate_deg_s", "arm_angle_rate_deg_s", "leg_angle_rate_deg_s")]
    return bool(tilt > s.trunk_tilt_flag_deg or any(r > s.angle_rate_flag_deg_s for r in rates))


def _analysed(name: str, make: Callable[[], list[FrameAnalysis]], cache: Path | None) -> list[FrameAnalysis]:
    """MediaPipe analyses of one source; with ``--cache`` kept as landmark pickles (public sample data
    only, no images) so that re-runs skip the slow part. The cache is keyed by source name alone."""
    path = None if cache is None else cache / f"{name}.pkl"
    if path is not None and path.is_file():
        with path.open("rb") as fh:
            return list(pickle.load(fh))
    out = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump(out, fh)
    return out


def real_sources(
    s: SobrietySettings, seconds: float, stills: list[str], cache: Path | None
) -> dict[str, list[list[Assessment]]]:
    """Per source: one list of assessments per guest (post-baseline rows are the ones that count)."""
    out: dict[str, list[list[Assessment]]] = {}
    clip = _analysed("singer", lambda: analyse_frames(video_frames(SAMPLES / "singer_stage_whitehouse.mp4"), s), cache)
    singer = [a for a in clip if a.t >= SINGER_START_S]
    out["singer clip (looped ×6, baseline 10 s)"] = [replay(pingpong(singer, 6), _with(s, baseline_seconds=10.0))]
    vt = _analysed("vtest", lambda: analyse_frames(video_frames(SAMPLES / "vtest.avi"), s), cache)
    tracks = [tr for tr in split_by_track(vt) if tr[-1].t - tr[0].t >= 12.0]
    out["vtest.avi pedestrians (tracks ≥ 12 s, baseline 6 s)"] = [
        replay(tr, _with(s, baseline_seconds=6.0)) for tr in tracks
    ]
    clips = []
    for i, name in enumerate(stills):
        if (SAMPLES / name).is_file():
            photo = SAMPLES / name
            an = _analysed(name, lambda p=photo, k=i: analyse_frames(still_clip(p, seconds, seed=k), s), cache)
            clips.append(replay(an, s))
    out[f"still photos as {seconds:.0f}-s webcam clips (baseline 30 s)"] = clips
    return out


def summarise(guests: list[list[Assessment]], s: SobrietySettings) -> dict[str, Any]:
    post = [a for g in guests for a in g if not a.in_baseline]
    n = max(1, len(post))
    acts: dict[str, int] = {}
    for a in post:
        acts[a.activity or "none"] = acts.get(a.activity or "none", 0) + 1
    with_signal = [a for a in post if a.face is not None or a.pose is not None]
    return {
        "guests": len(guests),
        "windows_after_baseline": len(post),
        "posture_abnormal_pct": 100.0 * sum(a.judgement.posture_abnormal for a in post) / n,
        "absolute_rules_pct": 100.0 * sum(_rule_posture(a, s) for a in post) / n,
        "drunk_windows": sum(a.judgement.state is SobrietyState.DRUNK for a in post),
        "probability_pct": 100.0
        * sum(a.judgement.raw_p_drunk is not None for a in with_signal)
        / max(1, len(with_signal)),
        "activities": acts,
    }


def sober_visit_tags(
    streams: list[tuple[SobrietyObservation, SobrietyObservation]], n_visits: int, seed: int
) -> dict[str, float]:
    """Tags per SYNTHETIC sober visit, sobriety readings drawn from the real sober windows."""
    from soberpay_lab.training.synthetic_visits import make_guest, make_visit

    rng = random.Random(seed)
    policy = RiskPolicy()
    spend_policy = SpendingPolicy()
    t0 = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    tagged = {"now": 0, "rules": 0}
    spikes = 0
    for v in range(n_visits):
        guest = make_guest(rng, v)
        history = [
            PastOrder(f"h{h}", e.amount_fen, e.category)
            for h in range(5)
            for e in make_visit(rng, guest, False, t0 - timedelta(days=7 * (h + 1))).events
        ]
        profile = build_profile(history, spend_policy)
        visit = make_visit(rng, guest, False, t0)
        k0 = rng.randrange(len(streams))
        recs = {"now": RiskRecord(f"g{v}"), "rules": RiskRecord(f"g{v}")}
        total, units = 0, {}
        spiked = False
        for i, e in enumerate(visit.events):
            chk = check_spending(
                profile,
                order_amount_fen=e.amount_fen,
                category=e.category,
                quantity=1,
                visit_total_before_fen=total,
                visit_category_units_before=units.get(e.category, 0),
            )
            total += e.amount_fen
            units[e.category] = units.get(e.category, 0) + 1
            spiked = spiked or chk.abnormal
            now_obs, rule_obs = streams[(k0 + 37 * i) % len(streams)]
            for key, obs in (("now", now_obs), ("rules", rule_obs)):
                recs[key] = step(recs[key], e.at, obs, ConsumptionSignals(spending=chk), policy).record
        spikes += spiked
        for key in recs:
            tagged[key] += recs[key].state is not RiskState.NORMAL
    return {
        "visits": n_visits,
        "visits_with_a_spending_spike_pct": 100.0 * spikes / n_visits,
        "tagged_pct": 100.0 * tagged["now"] / n_visits,
        "tagged_with_absolute_rules_pct": 100.0 * tagged["rules"] / n_visits,
    }


def synthetic_drunk_rate(s: SobrietySettings, subjects: int, minutes: float, seed: int) -> dict[str, float]:
    """DRUNK windows per hour on long SYNTHETIC sober sessions (k ≤ 0.1) through fusion + tracker."""
    from soberpay.adapters.sobriety.fusion import fusion_vector
    from soberpay.adapters.sobriety.pose import PoseCnnEmbedder, PoseNormalModel
    from soberpay.domain.sobriety import GuestBaseline
    from soberpay_lab.training.synthetic_sobriety import WINDOW_S, _window_signals, random_subject

    rng = np.random.default_rng(seed)
    fusion = FusionModel(s.fusion_model)
    emb = PoseCnnEmbedder(s.pose_cnn_model)
    windows = drunk = high = 0
    per_window = int(minutes * 60 / WINDOW_S)
    for sid in range(subjects):
        subj = random_subject(sid, rng)
        base, normal = GuestBaseline(), PoseNormalModel(min_history=3)
        for _ in range(3):
            face, pose, e = _window_signals(subj, float(rng.uniform(0, 0.1)), rng, emb)
            base.update({**(face or {}), **(pose or {})})
            if e is not None:
                normal.add_normal(e)
        base.freeze()
        tracker = SobrietyTracker(policy_from_settings(s))
        for w in range(per_window):
            face, pose, e = _window_signals(subj, float(rng.uniform(0, 0.1)), rng, emb)
            if pose is not None and e is not None and normal.ready:
                chk = normal.check(e)
                pose["isolation_score"] = chk.isolation_score if chk else float("nan")
            vec = fusion_vector(face, pose, base)
            p = None if fusion.out_of_range(vec) else fusion.p_drunk(vec)
            j = tracker.observe(Observation(w * WINDOW_S, p, None, False, ()))
            windows += 1
            drunk += j.state is SobrietyState.DRUNK
            high += p is not None and p >= s.drunk_probability
    hours = windows * WINDOW_S / 3600.0
    return {
        "subjects": subjects,
        "hours": hours,
        "windows_p_high_pct": 100.0 * high / max(1, windows),
        "drunk_windows_per_hour": drunk / hours if hours else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=1000, help="SYNTHETIC sober visits for the tag rate")
    ap.add_argument("--still-seconds", type=float, default=60.0)
    ap.add_argument("--stills", nargs="+", default=list(STILLS), help="sample photos to turn into clips")
    ap.add_argument("--synthetic-subjects", type=int, default=12)
    ap.add_argument("--synthetic-minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="keep MediaPipe analyses (landmarks) here between runs")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    started = time.time()
    s = Settings().sobriety
    sources = real_sources(s, args.still_seconds, args.stills, args.cache)
    real = {name: summarise(g, s) for name, g in sources.items()}
    post = [a for g in sources.values() for guest in g for a in guest if not a.in_baseline]
    streams = []
    for a in post:
        now = risk_observation(a.judgement)
        rules = SobrietyObservation(
            now.p_drunk, _rule_posture(a, s), now.similarity_to_normal, now.judged_drunk, now.reason, now.abstained
        )
        streams.append((now, rules))
    hours_real = len(post) / 3600.0
    doc = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, 2 shared cores",
        "real_sober_footage": real,
        "real_drunk_windows_per_hour": sum(a.judgement.state is SobrietyState.DRUNK for a in post) / hours_real,
        "sober_visits": sober_visit_tags(streams, args.visits, args.seed),
        "synthetic_sober_sessions": synthetic_drunk_rate(s, args.synthetic_subjects, args.synthetic_minutes, args.seed),
        "seconds": round(time.time() - started, 1),
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=float)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
