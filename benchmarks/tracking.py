"""Tracking figures: ids, confirmed tracks, fragments, ID switches and jitter on the demo clip and the two GIFs,
and the tracker's cost per frame at 10 people.

Usage: python benchmarks/tracking.py [--model FILE] [--repeats 5]

The clips run through the default model once (poses decoded in file mode); the tracker then replays
those poses on the source's clock, as ``ssapose video --track`` does. The demo clip is also checked
against its labelled segments (tests/data/demo_people.json): ids per person, and the longest run of
frames in which a person in view has no id.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

import benchlib

from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.track_stats import TrackStats
from ssapose.tracking import Tracker
from engines import create_backend
from ssapose import paths
from ssapose.poses import Poses
from ssapose.sources import FrameSource

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ("one-by-one-person-detection.mp4", "face-demographics-walking.gif", "store-aisle-detection.gif")


def detections(model: str, clip: str, frames: int | None) -> tuple[list, float]:
    src = FrameSource(clip)
    backend = create_backend(model, "auto")
    out = [(r.index, r.poses) for r in Pipeline(itertools.islice(src, frames), backend, PipelineConfig(draw=False)).results()]
    backend.close()
    return out, src.fps


def replay(dets: list, fps: float) -> tuple[Tracker, TrackStats, list]:
    tracker, stats, ids_per_frame = Tracker(), TrackStats(), []
    for index, poses in dets:
        smoothed, ids = tracker(poses, index / fps)
        stats.add(index, poses, smoothed, ids)
        ids_per_frame.append((index, ids))
    return tracker, stats, ids_per_frame


def against_labels(ids_per_frame: list) -> str:
    gt = json.loads((ROOT / "tests" / "data" / "demo_people.json").read_text())
    ids, longest = [], 0
    for a, b in gt["segments"]:
        inside = [set(int(i) for i in v if i > 0) for idx, v in ids_per_frame if a <= idx <= b]
        ids.append(sorted(set().union(*inside)))
        run = 0
        for s in inside:
            run = run + 1 if not s else 0
            longest = max(longest, run)
    return f"ids per labelled person {ids}; longest run without an id while in view: {longest} frames"


def cost_at(people: int, repeats: int) -> float:
    """Median ms per frame of the tracker alone on ``people`` synthetic walkers (after their tracks confirm)."""
    rng = np.random.default_rng(0)
    base = np.array([[80 + 120 * (k % 8), 200 + 300 * (k // 8)] for k in range(people)], float)
    body = np.array([[0, -90], [-6, -96], [6, -96], [-14, -92], [14, -92], [-25, -60], [25, -60], [-35, -20],
                     [35, -20], [-40, 15], [40, 15], [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100], [18, 100]])
    frames = []
    for i in range(60):
        kp = np.ones((people, 17, 3), np.float32)
        kp[..., :2] = base[:, None] + body[None] + rng.normal(0, 2, (people, 17, 2)) + [2 * i, 0]
        frames.append(Poses(kp, np.full(people, 0.8, np.float32)))
    runs = []
    for _ in range(repeats):
        tracker = Tracker()
        for i, p in enumerate(frames[:10]):
            tracker(p, i / 10)
        t0 = time.perf_counter()
        for i, p in enumerate(frames[10:]):
            tracker(p, (i + 10) / 10)
        runs.append((time.perf_counter() - t0) * 1e3 / 50)
    return float(np.median(runs))


def main(argv=None) -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats for the cost (default: %(default)s)")
    ap.add_argument("--frames", type=int, help="the first N frames of each clip only (default: all)")
    args = benchlib.parse(ap, argv, repeats=1, frames=20)
    print(f"tracker: {Tracker().describe()}\n")
    print("| clip | frames | ids (confirmed tracks) | track lengths (frames) | fragments | ID switches | "
          "jitter raw / smoothed (px) |")
    print("|---|---|---|---|---|---|---|")
    notes = []
    for name in CLIPS[1:] if args.quick else CLIPS:                 # the demo clip opens on an empty room
        dets, fps = detections(args.model, str(paths.shared("data", "video", name)), args.frames)
        tracker, stats, per_frame = replay(dets, fps)
        s = stats.summary(tracker)
        print(f"| {name} | {s['frames']} | {s['ids_created']} | {', '.join(map(str, s['track_lengths']))} | "
              f"{s['fragments']} | {s['id_switches']} | {s['jitter_raw_px']:.2f} / {s['jitter_smoothed_px']:.2f} |")
        if name == CLIPS[0] and not args.quick:
            notes.append(f"{name}: {against_labels(per_frame)}")
    print()
    for n in notes:
        print(n)
    for people in (1, 10, 30):
        print(f"tracker cost at {people} people: {cost_at(people, args.repeats):.3f} ms per frame "
              f"(median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
