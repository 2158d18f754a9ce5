"""Keypoint jitter and ID switches on the demo clip, and the One-Euro parameters that trade jitter for lag.

Usage: python benchmarks/smoothing.py [--video CLIP] [--model M] [--input-size 368]

The network runs once over the clip (the default model, file mode); the tracker then replays
the same detections with each (min_cutoff, beta), on the clip's own clock (frame / fps).
Jitter: RMS of the second difference of each keypoint along a track, in pixels; lag: mean
distance between a smoothed keypoint and the detected one, in pixels.
"""
from __future__ import annotations

import itertools

import numpy as np

import benchlib

from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.track_stats import TrackStats
from ssapose.tracking import Tracker
from engines import create_backend
from ssapose import paths
from ssapose.sources import FrameSource


def replay(detections: list, fps: float, min_cutoff: float, beta: float, smooth: bool = True) -> tuple[dict, float]:
    tracker, stats, lag = Tracker(min_cutoff=min_cutoff, beta=beta, smooth=smooth), TrackStats(), []
    for index, poses in detections:
        smoothed, ids = tracker(poses, index / fps)
        stats.add(index, poses, smoothed, ids)
        ok = poses.keypoints[..., 2] > 0
        if ok.any():
            lag.append(np.linalg.norm(smoothed.keypoints[..., :2] - poses.keypoints[..., :2], axis=-1)[ok].mean())
    return stats.summary(), float(np.mean(lag)) if lag else 0.0


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--video", default=str(paths.demo_video(must_exist=False)))
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    ap.add_argument("--input-size", type=int, default=368)
    ap.add_argument("--frames", type=int, help="the first N frames only (default: all)")
    args = benchlib.parse(ap, frames=20, video=str(paths.shared("data", "video", "store-aisle-detection.gif")))
    src = FrameSource(args.video)
    pipe = Pipeline(itertools.islice(src, args.frames), create_backend(args.model, threads=1), PipelineConfig(input_size=args.input_size, draw=False))
    detections = [(r.index, r.poses) for r in pipe.results()]
    print(f"{len(detections)} frames of {args.video} at {src.fps} fps, model {args.model}, input {args.input_size}")
    print("\n| min_cutoff (Hz) | beta | tracks | mean track length | ID switches | jitter raw px | jitter smoothed px "
          "| lag px |")
    print("|---|---|---|---|---|---|---|---|")
    base, _ = replay(detections, src.fps, 1.0, 0.0, smooth=False)
    print(f"| no smoothing | - | {base['tracks']} | {base['mean_track_length']:.1f} | {base['id_switches']} | "
          f"{base['jitter_raw_px']:.2f} | {base['jitter_raw_px']:.2f} | 0.00 |")
    for min_cutoff in (1.0,) if args.quick else (0.3, 0.5, 1.0, 2.0):
        for beta in (0.0, 0.05, 0.2):
            s, lag = replay(detections, src.fps, min_cutoff, beta)
            print(f"| {min_cutoff} | {beta} | {s['tracks']} | {s['mean_track_length']:.1f} | {s['id_switches']} | "
                  f"{s['jitter_raw_px']:.2f} | {s['jitter_smoothed_px']:.2f} | {lag:.2f} |", flush=True)


if __name__ == "__main__":
    main()
