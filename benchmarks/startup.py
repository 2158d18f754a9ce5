"""Start-up of ``ssapose video``: seconds from launch to the first decoded frame, and peak memory after 100 frames.

Usage: python benchmarks/startup.py [--model FILE] [--runs 5]

Each run launches ``ssapose video DEMO --max-frames 100 --json FILE`` as a new process and polls the
JSON Lines file: the first frame line marks the first decoded frame. The peak RSS is the child's
maximum resident set (``getrusage``). It also says whether torch was imported on that path.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from ssapose import paths


def one_run(model: str, frames: int) -> tuple[float, float]:
    """``(seconds to the first decoded frame, peak RSS MiB)`` of one process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.jsonl"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", str(paths.demo_video()), "--model", model,
                                 "--max-frames", str(frames), "--json", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first = None
        while proc.poll() is None:
            if first is None and out.exists() and out.read_text().count("\n") >= 2:
                first = time.perf_counter() - t0
            time.sleep(0.005)
        if first is None:
            first = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return first, rss


def torch_on_path(model: str) -> bool:
    """Whether opening ``model`` the way ``ssapose video`` does imports torch (run in a fresh process)."""
    code = ("import sys; from app.cli import build_parser; from engines import create_backend; "
            "from engines.run.session import open_run; from app.video_run import run_one; "
            f"create_backend({model!r}, 'auto'); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip() == "True"


def main(argv=None) -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5, help="launches (default: %(default)s)")
    ap.add_argument("--frames", type=int, default=100, help="frames per launch (default: %(default)s)")
    args = benchlib.parse(ap, argv, runs=1, frames=5)
    firsts, peaks = [], []
    for _ in range(args.runs):
        first, rss = one_run(args.model, args.frames)
        firsts.append(first)
        peaks.append(rss)
    benchlib.table(["model", f"first decoded frame (s), median of {args.runs}", "each launch (s)",
                    f"peak RSS after {args.frames} frames (MiB)", "torch imported"],
                   [(Path(args.model).name, f"{benchlib.median(firsts):.2f}", benchlib.rounds(firsts, 2),
                     f"{max(peaks):.0f}", torch_on_path(args.model))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
