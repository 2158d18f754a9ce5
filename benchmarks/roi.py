"""Region-of-interest inference (``--roi``): speed against the full frame, and agreement with the full frame's poses.

    python benchmarks/roi.py --curve     # margins x scan intervals on the demo clip (where the defaults are chosen)
    python benchmarks/roi.py             # the defaults on the demo clip, the two GIFs and a crowded scene

Agreement, per clip: the poses of every frame with the region against those of the full frame (both shown poses,
file mode, the same model): each full-frame person matched greedily by OKS; "found" at OKS 0.5; the mean OKS of
those found; the share found, leaving out the frames of an entry delay. An entry is a frame with more full-frame
people than the frame before; its delay runs until every full-frame person of a frame is found again (the region
finds a newcomer at the next scan). FPS: ``ssapose video`` with the mp4 and pose file written, with and without
``--roi``, alternating, the median of the rounds; the curve times the pipeline without outputs.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

import benchlib

from app.cli import main as cli
from engines import create_backend
from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.region import RegionConfig
from ssapose import paths
from ssapose.coco import load_coco, oks_matrix
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.sources import FrameSource

GIFS = ("face-demographics-walking.gif", "store-aisle-detection.gif")


def poses_of(model: str, clip: str, region: RegionConfig | None, frames: int | None,
             height: int = DEFAULT_INPUT_HEIGHT) -> tuple[list, float, float]:
    """The shown poses of each frame, the clip's frame rate and the pipeline's FPS (no outputs)."""
    src = FrameSource(clip)
    fps = src.fps or 25.0
    with create_backend(model) as backend:
        pipe = Pipeline(itertools.islice(src, frames), backend,
                        PipelineConfig(input_size=height, draw=False, region=region, clock_fps=fps))
        t0 = time.perf_counter()
        out = [r.poses for r in pipe.results()]
        wall = time.perf_counter() - t0
    return out, fps, len(out) / wall


def _found(ref, got) -> tuple[int, list[float]]:
    """People of ``ref`` found in ``got`` (greedy OKS matching, at OKS 0.5), and their OKS."""
    sim = oks_matrix(ref.keypoints, got.keypoints)
    oks = []
    while sim.size and sim.max() >= 0.5:
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        oks.append(float(sim[i, j]))
        sim[i, :], sim[:, j] = -1, -1
    return len(oks), oks


def agreement(ref: list, got: list, fps: float) -> dict:
    """Mean OKS of the found people, the share found outside entry delays, and the entry delays (s)."""
    found = [_found(r, g) for r, g in zip(ref, got)]
    complete = [len(r) == 0 or n == len(r) for r, (n, _) in zip(ref, found)]
    delays, waiting = [], np.zeros(len(ref), bool)
    for k in range(1, len(ref)):
        if len(ref[k]) > len(ref[k - 1]):
            end = next((j for j in range(k, len(ref)) if complete[j]), len(ref))
            delays.append((end - k) / fps)
            waiting[k:end] = True
    people = sum(len(r) for r, w in zip(ref, waiting) if not w)
    hit = sum(n for (n, _), w in zip(found, waiting) if not w)
    oks = [o for _, os in found for o in os]
    return {"oks": float(np.mean(oks)) if oks else float("nan"), "found": hit / max(1, people),
            "delay_max": max(delays, default=0.0), "delay_median": float(np.median(delays)) if delays else 0.0,
            "entries": len(delays)}


def video_fps(model: str, clip: str, frames: int | None, roi: bool) -> float:
    """FPS of ``ssapose video CLIP --out o.mp4 --json p.jsonl [--roi]``, from its summary line."""
    with tempfile.TemporaryDirectory() as tmp:
        out = io.StringIO()
        extra = (["--max-frames", str(frames)] if frames else []) + (["--roi"] if roi else ["--no-roi"])
        with contextlib.redirect_stdout(out):
            cli(["video", clip, "--model", model, "--out", f"{tmp}/o.mp4", "--json", f"{tmp}/p.jsonl", *extra])
        line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("inference:"))
        return float(line.split("; ")[1].split(" FPS")[0])


def crowded_clip(folder: Path, frames: int) -> str:
    """A clip of the coco_mini val2017 image with the most people, panned a pixel a frame (people fill it)."""
    coco = load_coco(str(paths.coco_set("val").ann))
    iid = max(coco.getImgIds(), key=lambda i: len(coco.getAnnIds(imgIds=i, iscrowd=False)))
    img = cv2.imread(str(paths.coco_set("val").images / coco.imgs[iid]["file_name"]))
    h, w = img.shape[:2]
    out = str(folder / "crowd.mp4")
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"mp4v"), 10, (w - frames, h))
    for k in range(frames):
        writer.write(np.ascontiguousarray(img[:, k:k + w - frames]))
    writer.release()
    return out


def curve(args) -> None:
    """Margins x scan intervals on the demo clip: FPS against the full frame (same run), agreement, delays."""
    clip = str(paths.demo_video())
    ref, fps, full = poses_of(args.model, clip, None, args.frames)
    rows = []
    for large in args.larges:
        for scan in args.scans:
            for margin in args.margins:
                cfg = replace(RegionConfig(), margin=margin, scan_s=scan, large_px=large)
                got, _, speed = poses_of(args.model, clip, cfg, args.frames)
                a = agreement(ref, got, fps)
                rows.append((f"{large:g}", f"{margin:g}", f"{scan:g}", f"{speed / full:.2f}", f"{a['oks']:.3f}",
                             f"{a['found']:.3f}", f"{a['delay_median']:.1f} / {a['delay_max']:.1f}"))
    for height in args.heights:                   # the whole frame at a lower height, against the default's
        got, _, speed = poses_of(args.model, clip, None, args.frames, height)
        a = agreement(ref, got, fps)
        print(f"every frame whole at height {height}: {speed / full:.2f}x, mean OKS of found {a['oks']:.3f}, "
              f"share found {a['found']:.3f}")
    print(f"demo clip, {len(ref)} frames; full frame {full:.1f} FPS (pipeline, no outputs)")
    benchlib.table(["lower height from (px)", "margin (person heights)", "scan every (s)", "FPS vs full frame", "mean OKS of found",
                    "share found", "entry delay median / max (s)"], rows)


def report(args) -> None:
    """The defaults on every clip: FPS with outputs written, with and without, and agreement."""
    with tempfile.TemporaryDirectory() as tmp:
        clips = {**({} if args.quick else {"demo clip": str(paths.demo_video())}),    # it opens on an empty room
                 **{g: str(paths.shared("data", "video", g)) for g in GIFS},
                 "crowded scene (val2017's fullest image, panned)": crowded_clip(Path(tmp), args.crowd_frames)}
        rows = []
        for name, clip in clips.items():
            full, roi = [], []
            for _ in range(args.rounds):
                full.append(video_fps(args.model, clip, args.frames, False))
                roi.append(video_fps(args.model, clip, args.frames, True))
            ratio = [r / f for r, f in zip(roi, full)]
            ref, fps, _ = poses_of(args.model, clip, None, args.frames)
            got, _, _ = poses_of(args.model, clip, RegionConfig(), args.frames)
            a = agreement(ref, got, fps)
            rows.append((name, benchlib.rounds(full), benchlib.rounds(roi), f"{benchlib.median(ratio):.2f}",
                         f"{a['oks']:.3f}", f"{a['found']:.3f}", f"{a['delay_median']:.1f} / {a['delay_max']:.1f}"))
    print(f"RegionConfig defaults: {RegionConfig()}; {args.rounds} rounds")
    benchlib.table(["clip", "FPS full frame (rounds)", "FPS --roi (rounds)", "--roi / full, median",
                    "mean OKS of found", "share found", "entry delay median / max (s)"], rows)


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--curve", action="store_true", help="the margins x scan intervals on the demo clip")
    ap.add_argument("--margins", type=float, nargs="+", default=[0.15, 0.3, 0.5], help="person heights")
    ap.add_argument("--scans", type=float, nargs="+", default=[0.5, 1.0, 2.0], help="seconds")
    ap.add_argument("--larges", type=float, nargs="+", default=[0.0, RegionConfig().large_px],
                    help="people at least this tall (default input px) run at the lower height; 0: never")
    ap.add_argument("--heights", type=int, nargs="*", default=[256],
                    help="with --curve: also every frame whole at these heights, against the default's")
    ap.add_argument("--frames", type=int, help="the first N frames of each clip only (default: all)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the FPS comparison (default: %(default)s)")
    ap.add_argument("--crowd-frames", type=int, default=100, help="frames of the crowded scene (default: 100)")
    args = benchlib.parse(ap, frames=30, rounds=1, margins=[0.3], scans=[1.0], larges=[150.0], crowd_frames=10)
    (curve if args.curve else report)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
