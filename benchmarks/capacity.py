"""The pipeline against the machine's inference capacity, measured side by side in one run.

Usage: python benchmarks/capacity.py [--model FILE] [--frames 300] [--rounds 3]

Each round, on the same frames of the demo clip at the default height:
1. capacity: the network alone, preprocessed inputs ready, ``streams`` threads each with its own request
   (the backend's best configuration on all cores: OpenVINO THROUGHPUT, ``auto_streams()`` requests);
2. the network alone with one synchronous request (the old default), for reference;
3. ``ssapose video`` with its default flags, overlay drawn and the mp4 and JSON Lines written;
4. the same with ``--streams 1 --threads 1`` (the old default).
It prints each round's FPS and the ratio pipeline / capacity, then the medians.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from app.capacity import network_alone
from app.cli import main as cli
from engines import auto_streams
from ssapose import paths
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.sources import read_frames


def pipeline(model: str, frames: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        import contextlib
        import io
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli(["video", "--model", model, "--max-frames", str(frames), "--out", f"{tmp}/o.mp4",
                 "--json", f"{tmp}/p.jsonl", *extra])
        line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("inference:"))
        return float(line.split("; ")[1].split(" FPS")[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--frames", type=int, default=300, help="frames of the demo clip (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default: %(default)s)")
    args = ap.parse_args(argv)
    clip = read_frames(str(paths.demo_video()), limit=args.frames)
    streams = auto_streams()
    print(f"{Path(args.model).name}, {len(clip)} frames at height {DEFAULT_INPUT_HEIGHT}, {streams} streams")
    print("| round | capacity (network alone, best) | network alone, 1 request | pipeline (default) | "
          "pipeline, --streams 1 --threads 1 | pipeline / capacity |")
    print("|---|---|---|---|---|---|")
    ratios, rows = [], []
    for r in range(args.rounds):
        cap = network_alone(args.model, clip, streams, None)
        one = network_alone(args.model, clip, 1, 1)
        pipe = pipeline(args.model, args.frames, [])
        old = pipeline(args.model, args.frames, ["--streams", "1", "--threads", "1"])
        ratios.append(pipe / cap)
        rows.append((cap, one, pipe, old))
        print(f"| {r + 1} | {cap:.1f} | {one:.1f} | {pipe:.1f} | {old:.1f} | {pipe / cap:.2f} |", flush=True)
    med = [statistics.median(c) for c in zip(*rows)]
    print(f"| median | {med[0]:.1f} | {med[1]:.1f} | {med[2]:.1f} | {med[3]:.1f} | {statistics.median(ratios):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
