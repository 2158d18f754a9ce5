"""``ssapose batch`` throughput against the machine's network-alone capacity, in one run.

    python benchmarks/batch_throughput.py [--clips 4] [--frames 100] [--ray]

Makes ``--clips`` clips of ``--frames`` frames of the demo clip (768x432), then per round: the network alone at
its best configuration (as benchmarks/capacity.py), and ``ssapose batch`` over the clips with 1 and 2 workers
(and on a local Ray instance with 2 actors, with --ray), and ``ssapose video`` with 1, 2 and 4 of the clips as
sources in one process. Total frames per second of each (process start and model loading included), and its ratio
to the capacity; medians over the rounds.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

import benchlib

from app.capacity import network_alone
from engines import auto_streams
from ssapose import paths
from ssapose.sources import read_frames


def make_clips(folder: Path, n: int, frames: int) -> None:
    cap = cv2.VideoCapture(str(paths.demo_video()))
    for i in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, 100 + 250 * i)
        out = None
        for _ in range(frames):
            ok, f = cap.read()
            if not ok:
                break
            out = out or cv2.VideoWriter(str(folder / f"clip{i}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10,
                                         (f.shape[1], f.shape[0]))
            out.write(f)
        out.release()


def batch_fps(clips: Path, frames: int, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "app.cli", "batch", str(clips), "--out-dir", out, *extra],
                       check=True, capture_output=True)
        return frames / (time.perf_counter() - t0)


def sources_fps(clips: Path, k: int, frames: int) -> float:
    """``ssapose video`` on the first ``k`` clips at once (one process, one model), pose files written."""
    files = sorted(str(p) for p in clips.glob("clip*.mp4"))[:k]
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "app.cli", "video", *files, "--json", out + "/"],
                       check=True, capture_output=True)
        return k * frames / (time.perf_counter() - t0)


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ray", action="store_true")
    args = benchlib.parse(ap, clips=2, frames=5, rounds=1)
    model = str(paths.DEFAULT_MODEL)
    with tempfile.TemporaryDirectory() as d:
        clips = Path(d)
        make_clips(clips, args.clips, args.frames)
        total = args.clips * args.frames
        inputs = read_frames(str(paths.demo_video()), 50)
        sizes = [k for k in (1, 2, 4) if k <= args.clips]
        runs = {"capacity": []} | {f"video, {k} source{'s' if k > 1 else ''}": [] for k in sizes} | {
            "batch, 1 worker": [], "batch, 2 workers": []} | ({"batch --ray, 2 actors": []} if args.ray else {})
        for _ in range(args.rounds):
            runs["capacity"].append(network_alone(model, inputs, auto_streams(), None))
            for k in sizes:
                runs[f"video, {k} source{'s' if k > 1 else ''}"].append(sources_fps(clips, k, args.frames))
            runs["batch, 1 worker"].append(batch_fps(clips, total))
            runs["batch, 2 workers"].append(batch_fps(clips, total, "--workers", "2", "--threads", "1",
                                                      "--streams", "1"))
            if args.ray:
                runs["batch --ray, 2 actors"].append(batch_fps(clips, total, "--ray", "--workers", "2",
                                                               "--threads", "1", "--streams", "1"))
    cap = benchlib.median(runs["capacity"])
    print(f"| what ({args.clips} clips x {args.frames} frames, {args.rounds} rounds) | FPS per round | median | "
          "/ capacity |")
    print("|---|---|---|---|")
    for k, v in runs.items():
        m = benchlib.median(v)
        print(f"| {k} | {', '.join(f'{x:.1f}' for x in v)} | {m:.1f} | {m / cap:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
