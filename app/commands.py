"""The app layer's subcommands: ``video`` (headless pipeline) and ``app`` (the Qt window).

Qt is imported only inside ``run_app`` and for ``video --show``, so ``ssapose video`` never loads it.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

from app.outputs import pipeline_threads
from engines.cli import add_model_args
from engines.cli_args import prepare_output
from ssapose import paths

DEMO_VIDEO = str(paths.demo_video(must_exist=False))
#: One-Euro parameters chosen on the demo clip by jitter and lag (BENCHMARKS.md).
TRACK_MIN_CUTOFF, TRACK_BETA = 1.0, 0.05


def add_commands(sub) -> None:
    p = sub.add_parser("video", help="run the pipeline headless: video in, annotated video and JSON out",
                       description="Capture -> preprocess -> inference -> decoding (low-resolution peaks refined "
                                   "to sub-cell positions, PAF grouping) -> overlay, each stage in its own thread. "
                                   "INPUT is a video file, a GIF, an image folder, one image, a webcam index or a "
                                   "stream URL (rtsp://, http(s)://, udp://; reconnected with backoff if it drops). "
                                   "Without INPUT it runs the demo clip from the shared folder.")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source (default: the demo clip in the shared folder)")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--json", help="write per-frame poses here as JSON Lines: a header line, then one line per "
                                  "frame, flushed as it comes (see README)")
    add_model_args(p, threads_default=pipeline_threads())
    p.add_argument("--track", action="store_true",
                   help="keep person ids across frames (OKS) and smooth keypoints (One-Euro); prints ID switches, "
                        "track lengths and keypoint jitter at the end")
    p.add_argument("--csv", help="write a table, one row per person per frame with raw and smoothed keypoints "
                                 "(.csv, or .parquet with pandas + pyarrow); implies --track")
    p.add_argument("--smooth-min-cutoff", type=float, default=TRACK_MIN_CUTOFF,
                   help="One-Euro minimum cutoff in Hz: lower smooths more (default: %(default)s)")
    p.add_argument("--smooth-beta", type=float, default=TRACK_BETA,
                   help="One-Euro speed coefficient: higher follows fast motion sooner (default: %(default)s)")
    p.add_argument("--kp-threshold", type=float, default=0.1, help="minimum keypoint score drawn (default: 0.1)")
    p.add_argument("--limb-threshold", type=float, default=0.1,
                   help="minimum score of both ends of a drawn limb (default: %(default)s)")
    p.add_argument("--line-width", type=int, default=2, help="skeleton line width in pixels (default: 2)")
    p.add_argument("--no-ids", action="store_true", help="do not draw track ids")
    p.add_argument("--no-fps", action="store_true", help="do not draw the FPS/latency text")
    p.add_argument("--live", action="store_true", help="drop stale frames (default for webcams)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    p.add_argument("--show", action="store_true", help="show the annotated frames in a window (needs PyQt5)")
    p.set_defaults(func=run_video)

    p = sub.add_parser("app", help="the desktop app (PyQt5): live skeletons, HUD, COCO evaluation",
                       description="Open the SSA-Pose window on a source (default: the bundled demo video).")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source to open at start")
    add_model_args(p, threads_default=pipeline_threads())
    p.set_defaults(func=run_app)


def run_video(args) -> int:
    from tqdm import tqdm

    from app.outputs import JsonLinesWriter, TableWriter, VideoOut
    from app.pipeline import Pipeline, PipelineConfig
    from app.tracking import Tracker, TrackStats
    from engines import create_backend
    from ssapose.overlay import DrawStyle
    from ssapose.sources import FrameSource

    if args.out:
        prepare_output(args.out, (".mp4",), "video")
    if args.json:
        prepare_output(args.json, (".jsonl", ".json"), "poses file")
    if args.csv:
        prepare_output(args.csv, (".csv", ".parquet"), "table")
        args.track = True
    src = FrameSource(args.input)
    backend = create_backend(args.model, args.backend, device=args.device, threads=args.threads)
    style = DrawStyle(args.kp_threshold, args.limb_threshold, args.line_width, not args.no_ids, not args.no_fps)
    live = args.live or src.live
    cfg = PipelineConfig(input_size=args.input_size, live=live, draw=bool(args.out or args.show), style=style,
                         clock_fps=0.0 if live else src.fps)
    frames = itertools.islice(src, args.max_frames) if args.max_frames else src
    tracker = Tracker(min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta) if args.track else None
    stats = TrackStats() if tracker else None
    pipe = Pipeline(frames, backend, cfg, tracker)
    video = VideoOut(args.out, src.fps) if args.out else None
    poses = JsonLinesWriter(args.json, args.input, args.model, src.fps) if args.json else None
    table = TableWriter(args.csv, {"source": args.input, "model": args.model, "fps": src.fps,
                                   "tracker": tracker.describe()}) if args.csv else None
    viewer = None
    if args.show:
        from app.qt.viewer import Viewer
        viewer = Viewer()
    total = min(src.count, args.max_frames) if args.max_frames and src.count else src.count
    bar = tqdm(total=total or None, unit="frame", desc=Path(src.name).name, disable=not sys.stderr.isatty())
    try:
        for r in pipe.results():
            if video is not None and r.image is not None:
                video.write(r.image)
            if poses is not None:
                poses.write(r, src.fps)
            if table is not None:
                table.write(r, src.fps)
            if stats is not None:
                stats.add(r.index, r.raw_poses, r.poses, r.track_ids)
            if viewer is not None and not viewer.show(r.image):
                break
            bar.update(1)
    finally:
        bar.close()
        pipe.stop()
        src.close()
        for out in (video, poses, table):
            if out is not None:
                out.close()
        backend.close()
    n = pipe.stats.processed
    print(f"{n} frames processed, {pipe.stats.dropped} dropped"
          + (f"; video: {args.out}" if args.out else "") + (f"; poses: {args.json}" if args.json else ""))
    if n:
        print(pipe.summary().describe())
    if stats is not None:
        print(stats.describe())
    return 0


def run_app(args) -> int:
    from app.qt.main_window import launch

    args.source_given = args.input != DEMO_VIDEO       # the default yields to a remembered source

    return launch(args)
