"""Offline smoothing (``ssapose smooth``): error against known truth, and jitter, shift and gap filling on a clip.

    python benchmarks/smooth_offline.py                    # the demo clip, tracked; synthetic tracks
    python benchmarks/smooth_offline.py --poses FILE.csv   # a table ``ssapose video --track --csv`` wrote

Synthetic: walkers (17 keypoints on a swaying path) with Gaussian noise of 3 px, scores uniform in [0.3, 1] and 10 %
of frames dropped; mean error to the truth of the detected keypoints before and after, and of the filled ones.
Clip: the tracked table of ``ssapose video --track --csv`` (the detected keypoints: its raw columns, and the live
One-Euro filter's), smoothed with each window: jitter (RMS second difference along each track, px, the mean over
tracks and keypoints), the mean shift from the detected keypoints, and gap filling: three frames taken out of the
middle of each track of at least 30 frames, filled back, against what was detected there (mean and largest error).
"""
from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

import benchlib

from app.cli import main as cli
from engines.run.track_stats import second_difference_rms
from engines.sinks.files import read_json_lines
from engines.sinks.smoothed import read_table, row_person, smooth_file
from ssapose import paths
from ssapose.skeleton import COCO_KEYPOINT_NAMES
from ssapose.track_smoothing import SmoothConfig, smooth_track

WALK = np.array([[0, -90], [-6, -96], [6, -96], [-14, -92], [14, -92], [-25, -60], [25, -60], [-35, -20], [35, -20],
                 [-40, 15], [40, 15], [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100], [18, 100]], float)


def synthetic(rng, frames: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``(truth, detected)`` ``(T, 17, 3)`` of one walker: 4 px a frame, swaying, arms and legs swinging."""
    t = np.arange(frames)[:, None]
    truth = np.ones((frames, 17, 3))
    swing = 12 * np.sin(t / 4) * np.sign(WALK[None, :, 1] - 10)
    truth[..., 0] = 100 + 4 * t + WALK[None, :, 0] + swing
    truth[..., 1] = 240 + 15 * np.sin(t / 25) + WALK[None, :, 1]
    seen = truth.copy()
    seen[..., :2] += rng.normal(0, 3, (frames, 17, 2))
    seen[..., 2] = rng.uniform(0.3, 1.0, (frames, 17))
    seen[rng.random(frames) < 0.1] = 0
    return truth, seen


def synthetic_table(windows: list[int], runs: int) -> list[tuple]:
    rng, rows = np.random.default_rng(0), []
    pairs = [synthetic(rng) for _ in range(runs)]
    for w in windows:
        before, after, filled = [], [], []
        for truth, seen in pairs:
            out, gap = smooth_track(seen, SmoothConfig(window=w))
            have = seen[..., 2] > 0
            before.append(np.linalg.norm(seen[..., :2] - truth[..., :2], axis=-1)[have])
            after.append(np.linalg.norm(out[..., :2] - truth[..., :2], axis=-1)[have])
            filled.append(np.linalg.norm(out[..., :2] - truth[..., :2], axis=-1)[gap])
        rows.append((w, f"{np.concatenate(before).mean():.2f}", f"{np.concatenate(after).mean():.2f}",
                     f"{np.concatenate(filled).mean():.2f}"))
    return rows


def tracks_of_file(path: str) -> dict[int, np.ndarray]:
    """``{track id: (T, 17, 3)}`` of a JSON Lines pose file, as :func:`tracks_of` reads a table."""
    by: dict[int, dict[int, np.ndarray]] = {}
    for f in read_json_lines(path)[1]:
        for p in f["people"]:
            if p["track_id"] >= 0:
                by.setdefault(p["track_id"], {})[f["frame"]] = np.array(p["keypoints"])
    return _arrays(by)


def tracks_of(table: str, smoothed: bool) -> dict[int, np.ndarray]:
    """``{track id: (T, 17, 3)}`` of a table, frame by frame from each track's first to last (0: absent), detected
    keypoints or the live filter's."""
    _, rows, _ = read_table(table)
    by: dict[int, dict[int, np.ndarray]] = {}
    for row in rows:
        p = row_person(row)
        if p["track_id"] < 0:
            continue
        kp = np.array(p["keypoints"])
        if smoothed:
            for k, name in enumerate(COCO_KEYPOINT_NAMES):
                x, y = row[f"{name}_x_smooth"], row[f"{name}_y_smooth"]
                kp[k, :2] = (float(x), float(y)) if x else (0.0, 0.0)
        by.setdefault(p["track_id"], {})[int(float(row["frame"]))] = kp
    return _arrays(by)


def _arrays(by: dict[int, dict[int, np.ndarray]]) -> dict[int, np.ndarray]:
    out = {}
    for ident, frames in by.items():
        first, last = min(frames), max(frames)
        arr = np.zeros((last - first + 1, 17, 3))
        for f, kp in frames.items():
            arr[f - first] = kp
        out[ident] = arr
    return out


def jitter(tracks) -> float:
    return float(np.nanmean(np.concatenate([second_difference_rms(t) for t in tracks])))


def clip_table(raw: dict, live: dict, windows: list[int]) -> list[tuple]:
    rows = [("detected (raw)", "-", f"{jitter(raw.values()):.2f}", "0.00", "-"),
            ("live One-Euro filter", "-", f"{jitter(live.values()):.2f}", f"{shift(raw, live):.2f}", "-")]
    for w in windows:
        cfg = SmoothConfig(window=w)
        smooth = {i: smooth_track(t, cfg)[0] for i, t in raw.items()}
        rows.append(("offline", w, f"{jitter(smooth.values()):.2f}", f"{shift(raw, smooth):.2f}", refill(raw, cfg)))
    return rows


def shift(raw: dict, other: dict) -> float:
    """Mean distance between the detected keypoints and ``other``'s at the same frames (px)."""
    d = [np.linalg.norm(other[i][..., :2] - t[..., :2], axis=-1)[(t[..., 2] > 0) & (other[i][..., 2] > 0)]
         for i, t in raw.items()]
    return float(np.concatenate(d).mean())


def refill(raw: dict, cfg: SmoothConfig) -> str:
    """Three frames taken out of the middle of each long track, filled back: the mean error, the worst frame's
    mean error and the largest keypoint's (px)."""
    errs = []
    for t in raw.values():
        if len(t) < 30:
            continue
        mid = len(t) // 2
        cut = t.copy()
        cut[mid - 1:mid + 2] = 0
        out, filled = smooth_track(cut, cfg)
        was = t[mid - 1:mid + 2, :, 2] > 0
        got = filled[mid - 1:mid + 2] & was
        err = np.linalg.norm(out[mid - 1:mid + 2, :, :2] - t[mid - 1:mid + 2, :, :2], axis=-1)
        errs += [e[g] for e, g in zip(err, got) if g.any()]
    if not errs:
        return "-"
    return (f"{np.concatenate(errs).mean():.1f} / {max(e.mean() for e in errs):.1f} / "
            f"{max(e.max() for e in errs):.1f}")


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--poses", help="a tracked .csv table (default: made from the demo clip with ssapose video)")
    ap.add_argument("--windows", type=int, nargs="+", default=[5, 7, 9, 11, 15], help="frames, odd")
    ap.add_argument("--runs", type=int, default=20, help="synthetic walkers (default: %(default)s)")
    args = benchlib.parse(ap, windows=[9], runs=2)
    print("Synthetic walkers: mean error to the truth (px)")
    benchlib.table(["window (frames)", "detected", "smoothed", "filled into gaps"], synthetic_table(args.windows,
                                                                                                args.runs))
    work = tempfile.mkdtemp()                             # the clip's pose files, read below
    table, json_file = args.poses, None
    if table is None:
        table, json_file = str(Path(work) / "poses.csv"), str(Path(work) / "poses.jsonl")
        clip = str(paths.shared("data", "video", "store-aisle-detection.gif")) if args.quick else None
        with contextlib.redirect_stdout(io.StringIO()):
            cli(["video", *([clip] if clip else []), "--track", "--csv", table, "--json", json_file])
    raw, live = tracks_of(table, False), tracks_of(table, True)
    name = Path(args.poses).name if args.poses else "store-aisle-detection.gif" if args.quick else "the demo clip"
    print(f"\n{name}: {len(raw)} tracks")
    benchlib.table(["keypoints", "window (frames)", "jitter (px)", "mean shift from detected (px)",
                    "3 frames refilled: error mean / worst frame / worst keypoint (px)"],
                   clip_table(raw, live, args.windows))
    if json_file:
        before = tracks_of_file(json_file)
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "smooth.jsonl")
            smooth_file(json_file, out)
            after = tracks_of_file(out)
        print(f"\n`ssapose smooth` on the tracked pose file (its keypoints: the live filter's), {SmoothConfig()}")
        benchlib.table(["jitter before (px)", "jitter after (px)", "change", "mean shift (px)"],
                       [(f"{jitter(before.values()):.2f}", f"{jitter(after.values()):.2f}",
                         f"{jitter(after.values()) / jitter(before.values()) - 1:+.0%}", f"{shift(before, after):.2f}")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
