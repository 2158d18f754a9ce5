"""The app layer's subcommands: ``video`` (headless pipeline) and ``app`` (the Qt window).

Qt is imported only inside ``run_app`` and for ``video --show``, so ``ssapose video`` never loads it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engines.cli import DEFAULT_MODEL, add_decoder_args, add_model_args, add_tta_args, decoder_choice, tta_choice
from engines.cli_args import bounded, fraction, non_negative_int, prepare_output
from ssapose import paths

DEMO_VIDEO = str(paths.demo_video(must_exist=False))


def add_commands(sub) -> None:
    p = sub.add_parser("video", help="run the pipeline headless: video in, annotated video and JSON out",
                       description="Capture -> preprocess -> inference -> decoding (low-resolution peaks refined "
                                   "to sub-cell positions, PAF grouping) -> overlay, each stage in its own thread. "
                                   "INPUT is a video file, a GIF, an image folder, one image, a webcam index or a "
                                   "stream URL (rtsp://, http(s)://, udp://; reconnected with backoff if it drops). "
                                   "Without INPUT it runs the demo clip from the shared folder. Damaged frames "
                                   "and corrupt images are skipped with a warning; every run ends with a line "
                                   "saying frames read / expected, skipped, and why it stopped. Exit status: 0 "
                                   "when frames were processed (also when the input ended early: the summary "
                                   "says so), 1 when nothing could be processed, 130 on Ctrl-C.")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source (default: the demo clip in the shared folder)")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--json", help="write per-frame poses here as JSON Lines: a header line, then one line per "
                                  "frame, flushed as it comes (see README)")
    add_model_args(p)
    add_decoder_args(p)
    add_tta_args(p)
    p.add_argument("--track", action="store_true",
                   help="keep person ids across frames (OKS) and smooth keypoints (One-Euro); prints ID switches, "
                        "track lengths and keypoint jitter at the end")
    p.add_argument("--csv", help="write a table, one row per person per frame with raw and smoothed keypoints "
                                 "(.csv, or .parquet with pandas + pyarrow); implies --track")
    add_tracker_args(p)
    p.add_argument("--kp-threshold", type=fraction, default=0.1, help="minimum keypoint score drawn (default: 0.1)")
    p.add_argument("--limb-threshold", type=fraction, default=0.1,
                   help="minimum score of both ends of a drawn limb (default: %(default)s)")
    p.add_argument("--line-width", type=bounded(1, 64, unit="pixels"), default=2, help="skeleton line width in pixels (default: 2)")
    p.add_argument("--no-ids", action="store_true", help="do not draw track ids")
    p.add_argument("--no-fps", action="store_true", help="do not draw the FPS/latency text")
    p.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                   help="--live drops stale frames to keep up with the source (the default for cameras and true "
                        "streams: rtsp, udp, MJPEG); --no-live processes every frame in order (the default for "
                        "files, folders and http(s) URLs that serve a file)")
    p.add_argument("--max-frames", type=non_negative_int, default=0, help="stop after this many frames (0: all)")
    p.add_argument("--show", action="store_true", help="show the annotated frames in a window (needs PyQt5)")
    p.set_defaults(func=run_video)

    p = sub.add_parser("app", help="the desktop app (PyQt5): live skeletons, HUD, COCO evaluation",
                       description="Open the SSA-Pose window on a source (default: the bundled demo video).")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source to open at start")
    add_model_args(p)
    add_decoder_args(p)
    p.set_defaults(func=run_app)


def add_tracker_args(p) -> None:
    """The tracker's parameters as flags, their defaults from ``TrackerConfig`` (measured: BENCHMARKS.md)."""
    from ssapose.tracking import TrackerConfig

    d = TrackerConfig()
    g = p.add_argument_group("tracking (with --track)")
    g.add_argument("--track-high-score", type=fraction, default=d.high_score,
                   help="pose score of a confident detection, matched first (default: %(default)s)")
    g.add_argument("--track-low-score", type=fraction, default=d.low_score,
                   help="pose score below which the tracker ignores a detection (default: %(default)s)")
    g.add_argument("--track-start-score", type=fraction, default=d.start_score,
                   help="lowest pose score that starts a new track (default: %(default)s)")
    g.add_argument("--track-min-oks", type=fraction, default=d.min_oks,
                   help="lowest OKS against a track's predicted pose that continues it (default: %(default)s)")
    g.add_argument("--track-min-hits", type=bounded(1, 100), default=d.min_hits,
                   help=f"frames, of the first {d.confirm_window}, a new track must be matched in to get an id "
                        "(default: %(default)s)")
    g.add_argument("--track-lost-s", type=bounded(0.0, 3600, integer=False, unit="seconds"), default=d.max_lost_s,
                   help="seconds of the source's clock a lost track is kept to be re-identified (default: %(default)s)")
    g.add_argument("--smooth-min-cutoff", type=bounded(0.001, 1000, integer=False, unit="Hz"), default=d.min_cutoff,
                   help="One-Euro minimum cutoff in Hz: lower smooths more (default: %(default)s)")
    g.add_argument("--smooth-beta", type=bounded(0.0, 100, integer=False), default=d.beta,
                   help="One-Euro speed coefficient: higher follows fast motion sooner (default: %(default)s)")


def tracker_config(args):
    """``TrackerConfig`` from the flags of :func:`add_tracker_args`."""
    from ssapose.tracking import TrackerConfig

    return TrackerConfig(high_score=args.track_high_score, low_score=args.track_low_score,
                         start_score=args.track_start_score, min_oks=args.track_min_oks,
                         min_hits=args.track_min_hits, confirm_window=max(TrackerConfig().confirm_window,
                                                                          args.track_min_hits),
                         max_lost_s=args.track_lost_s, min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta)


def run_video(args) -> int:
    """The headless pipeline. Exit 0 when frames were processed, even if the input ended early (damage, a
    lost camera: the summary says so); 1 when nothing could be processed; 130 on Ctrl-C."""
    from tqdm import tqdm

    from app.outputs import JsonLinesWriter, TableWriter
    from app.pipeline import SourceFailed
    from app.session import RunSpec, open_run
    from app.track_stats import TrackStats
    from ssapose.tracking import Tracker
    from app.video_out import VideoOut
    from ssapose.overlay import DrawStyle

    for path, suffixes, what in ((args.out, (".mp4",), "video"), (args.json, (".jsonl", ".json"), "poses file"),
                                 (args.csv, (".csv", ".parquet"), "table")):
        if path:
            prepare_output(path, suffixes, what, source=args.input)
    args.track = args.track or bool(args.csv)
    bar = None
    style = DrawStyle(args.kp_threshold, args.limb_threshold, args.line_width, not args.no_ids, not args.no_fps)
    tta = tta_choice(args)
    spec = RunSpec(args.input, args.model, args.backend, args.device, args.threads, args.streams, tta.height,
                   decoder_choice(args), live=args.live, max_frames=args.max_frames, draw=bool(args.out or args.show),
                   style=style, flip=tta.flip, scales=tta.scales)
    tracker = Tracker(tracker_config(args)) if args.track else None
    stats = TrackStats() if tracker else None
    run = open_run(spec, tracker, on_skip=lambda text: (bar.write if bar else print)(f"warning: skipped {text}",
                                                                                     file=sys.stderr))
    src, pipe = run.source, run.pipeline
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
    stopped, failure = "", None
    try:
        for r in pipe.results():
            if video is not None and r.image is not None:
                video.write(r.image)
            for out in (poses, table):
                if out is not None:
                    out.write(r, src.fps)
            if stats is not None:
                stats.add(r.index, r.raw_poses, r.poses, r.track_ids)
            if viewer is not None and not viewer.show(r.image):
                stopped = "window closed"
                break
            bar.update(1)
    except SourceFailed as e:
        failure = e
    except KeyboardInterrupt:
        stopped = "interrupted (Ctrl-C)"
        raise
    finally:
        bar.close()
        pipe.stop()
        if table is not None and stats is not None:
            table.footer({"tracking": stats.describe(tracker)})
        for out in (video, poses, table):
            if out is not None:
                out.close()
        run.close()
        if pipe.reached_max:
            stopped = f"--max-frames {args.max_frames} reached"
        _print_summary(src, pipe, stopped or (f"the source failed: {failure.__cause__}" if failure else ""), args)
    if stats is not None:
        print(stats.describe(tracker))
    if pipe.stats.processed == 0 and (failure or src.report.early):
        print(f"ssapose video: error: nothing processed: {src.report.stopped or failure}", file=sys.stderr)
        return 1
    return 0


def _print_summary(src, pipe, stopped: str, args) -> None:
    """One line for every run: frames read / expected, skipped and why it stopped; then the outputs and speed."""
    report = src.report
    if stopped:
        report.stopped = stopped
    n = pipe.stats.processed
    line = f"{report.describe()}; {n} processed, {pipe.stats.dropped} dropped as stale"
    print(line, file=sys.stderr if report.early else sys.stdout)
    written = [f"{what}: {p}" for what, p in (("video", args.out), ("poses", args.json), ("table", args.csv)) if p]
    if written:
        print("; ".join(written))
    if n:
        print(f"inference: {pipe.backend.name}, {pipe.streams} request{'s' if pipe.streams > 1 else ''} in flight, "
              f"threads {args.threads or 'auto'}; " + pipe.summary().describe())


def run_app(args) -> int:
    from app.qt.main_window import launch

    args.source_given = args.input != DEMO_VIDEO       # the defaults yield to a remembered source and model
    args.model_given = args.model != DEFAULT_MODEL

    return launch(args)
