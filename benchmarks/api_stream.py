"""The Python API's ``stream()`` against ``ssapose video``, on the same clip, in one run.

Usage: python benchmarks/api_stream.py [--model FILE] [--frames 400] [--rounds 3] [--source CLIP]

Each round runs the same frames twice, one after the other: as ``ssapose video`` runs them without outputs
(``app.video_run.run_spec`` + ``engines.run.session.open_run``) and through ``engines.load().stream()``. FPS is
frames over the wall time from asking for the first result to the last (the model opened before, in both). The
ratio is taken per round and its median reported.
"""
from __future__ import annotations

import time

import benchlib

from app.cli import build_parser
from app.video_run import run_spec
from engines.run.session import open_run
from ssapose import paths


def fps_of(results) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = sum(1 for _ in results)
    return n, n / (time.perf_counter() - t0)


def video_fps(model: str, source: str, frames: int) -> float:
    """``ssapose video SOURCE --max-frames N`` without outputs, as its command line builds the run."""
    args = build_parser().parse_args(["video", source, "--model", model, "--max-frames", str(frames)])
    with open_run(run_spec(args, source)) as run:
        return fps_of(run.results())[1]


def stream_fps(model: str, source: str, frames: int) -> float:
    import engines

    with engines.load(model) as est:
        return fps_of(est.stream(source, max_frames=frames))[1]


def main() -> int:
    p = benchlib.parser(__doc__)
    p.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    p.add_argument("--source", default=str(paths.demo_video()))
    p.add_argument("--frames", type=int, default=400, help="frames per run (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of both (default: %(default)s)")
    args = benchlib.parse(p, frames=20, rounds=1)
    video, api = [], []
    for _ in range(args.rounds):
        video.append(video_fps(args.model, args.source, args.frames))
        api.append(stream_fps(args.model, args.source, args.frames))
    ratios = [a / v for a, v in zip(api, video)]
    print(f"{args.frames} frames of {args.source}, {args.rounds} rounds")
    print("| run | FPS per round | median |")
    print("|---|---|---|")
    print(f"| ssapose video (no outputs) | {', '.join(f'{v:.1f}' for v in video)} | {benchlib.median(video):.1f} |")
    print(f"| engines.load().stream() | {', '.join(f'{a:.1f}' for a in api)} | {benchlib.median(api):.1f} |")
    print(f"| stream / video | {', '.join(f'{r:.2f}' for r in ratios)} | {benchlib.median(ratios):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
