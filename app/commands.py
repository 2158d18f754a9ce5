"""The app layer's subcommands: ``video`` (headless pipeline) and ``app`` (the Qt window).

Qt is imported only inside ``run_app`` and for ``video --show``, so ``ssapose video`` never loads it.
"""
from __future__ import annotations

import argparse

from app.video_run import add_tracker_args
from engines.cli import DEFAULT_MODEL, add_decoder_args, add_model_args, add_region_arg, add_tta_args
from engines.cli_args import bounded, fraction, non_negative_int
from ssapose import paths
from ssapose.overlay import DrawStyle
from ssapose.sources import STALL_S

DEMO_VIDEO = str(paths.demo_video(must_exist=False))


def add_commands(sub) -> None:
    p = sub.add_parser("video", help="run the pipeline headless: video in, annotated video and JSON out",
                       description="Capture -> preprocess -> inference -> decoding (low-resolution peaks refined "
                                   "to sub-cell positions, PAF grouping) -> overlay, each stage in its own thread. "
                                   "INPUT is a video file, a GIF, an image folder, one image, a webcam index or a "
                                   "stream URL (rtsp://, http(s)://, udp://; reconnected with backoff if it drops; given up after "
                                   f"{STALL_S:g} s without data: a stalled connection). "
                                   "Without INPUT it runs the demo clip from the shared folder. Damaged frames "
                                   "and corrupt images are skipped with a warning; every run ends with a line "
                                   "saying frames read / expected, skipped, and why it stopped. Exit status: 0 "
                                   "when frames were processed (also when the input ended early: the summary "
                                   "says so), 1 when nothing could be processed or an output could not be "
                                   "written, 130 on Ctrl-C, 143 on SIGTERM (both after the summary line).")
    p.add_argument("input", nargs="*", default=[DEMO_VIDEO],
                   help="one source or several, or a .txt file listing one a line (default: the demo clip in the "
                        "shared folder). Several run at once on one model, each with its own outputs, tracker "
                        "and summary: --out, --json and --csv then take a folder or a pattern with {name}")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--json", help="write per-frame poses here as JSON Lines: a header line, then one line per "
                                  "frame, flushed as it comes (see README)")
    add_model_args(p)
    add_decoder_args(p, shown=True)
    add_tta_args(p)
    add_region_arg(p)
    p.add_argument("--track", action="store_true",
                   help="keep person ids across frames (OKS) and smooth keypoints (One-Euro); prints ID switches, "
                        "track lengths and keypoint jitter at the end")
    p.add_argument("--csv", help="write a table, one row per person per frame with raw and smoothed keypoints "
                                 "(.csv, or .parquet: pip install 'ssapose[table]'); implies --track")
    add_tracker_args(p)
    style = DrawStyle()                                  # the overlay's defaults are defined there
    p.add_argument("--kp-threshold", type=fraction, default=style.keypoint_threshold,
                   help="minimum keypoint score drawn (default: %(default)s)")
    p.add_argument("--limb-threshold", type=fraction, default=style.limb_threshold,
                   help="minimum score of both ends of a drawn limb (default: %(default)s)")
    p.add_argument("--line-width", type=bounded(1, 64, unit="pixels"), default=style.line_width,
                   help="skeleton line width in pixels (default: %(default)s)")
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
    add_decoder_args(p, shown=True)
    p.set_defaults(func=run_app)


def run_video(args) -> int:
    """The headless pipeline, on one source or several. Exit 0 when frames were processed, even if the input
    ended early (damage, a lost camera: the summary says so); 1 when nothing could be processed (of any source,
    with several); 130 on Ctrl-C, 143 on SIGTERM."""
    from app.multi import expand_sources, outputs_for, run_many
    from app.video_run import run_one

    sources = expand_sources(args.input)
    if len(sources) > 1:
        return run_many(args, sources)
    viewer = None
    if args.show:
        from app.qt.viewer import Viewer
        viewer = Viewer()
    return run_one(args, sources[0], outputs_for(args, sources)[sources[0]], viewer=viewer)


def run_app(args) -> int:
    from app.qt.main_window import launch

    args.source_given = args.input != DEMO_VIDEO       # the defaults yield to a remembered source and model
    args.model_given = args.model != DEFAULT_MODEL

    return launch(args)
