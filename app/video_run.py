"""One source through the headless pipeline with its outputs and its summary (``ssapose video``'s core), and
the tracker's flags."""
from __future__ import annotations

import sys
from pathlib import Path

from engines.cli import decoder_choice, tta_choice
from engines.cli_args import bounded, fraction, prepare_output
from ssapose.overlay import DrawStyle


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


class Outputs:
    """Where one source's annotated video, pose file and table go (None: not written)."""

    def __init__(self, out: str | None, json: str | None, csv: str | None):
        self.out, self.json, self.csv = out, json, csv


def draw_style(args) -> DrawStyle:
    """The overlay the command line asks for (``--kp-threshold``, ``--limb-threshold``, ``--line-width``,
    ``--no-ids``, ``--no-fps``)."""
    return DrawStyle(args.kp_threshold, args.limb_threshold, args.line_width, not args.no_ids, not args.no_fps)


def run_one(args, source: str, outs: Outputs, backend=None, label: str = "", viewer=None) -> int:
    """One source through the pipeline with its outputs (``backend``: an opened one to share; ``label``: a
    prefix for its summary lines when several run at once; ``viewer``: a window whose ``show(image)`` returns
    False once closed). Exit status as ``app.commands.run_video``."""
    from tqdm import tqdm

    from app.outputs import JsonLinesWriter, TableWriter
    from app.pipeline import PipelineConfig, SourceFailed
    from app.session import RunSpec, open_run
    from app.track_stats import TrackStats
    from ssapose.tracking import Tracker
    from app.video_out import VideoOut

    for path, suffixes, what in ((outs.out, (".mp4",), "video"), (outs.json, (".jsonl", ".json"), "poses file"),
                                 (outs.csv, (".csv", ".parquet"), "table")):
        if path:
            prepare_output(path, suffixes, what, source=source)
    track = args.track or bool(outs.csv)
    bar = None
    style = draw_style(args)
    tta = tta_choice(args)
    spec = RunSpec(source, args.model, args.backend, args.device, args.threads, args.streams, live=args.live,
                   pipeline=PipelineConfig(input_size=tta.height, decoder=decoder_choice(args),
                                           max_frames=args.max_frames, draw=bool(outs.out or args.show), style=style,
                                           flip=tta.flip, scales=tta.scales, auto=tta.auto))
    tracker = Tracker(tracker_config(args)) if track else None
    stats = TrackStats() if tracker else None
    run = open_run(spec, tracker, backend=backend,
                   on_skip=lambda text: (bar.write if bar else print)(f"warning: {label}skipped {text}",
                                                                      file=sys.stderr))
    src, pipe = run.source, run.pipeline
    video = VideoOut(outs.out, src.fps) if outs.out else None
    poses = JsonLinesWriter(outs.json, source, args.model, src.fps, pipe.settings()) if outs.json else None
    table = TableWriter(outs.csv, {"source": source, "model": args.model, "fps": src.fps,
                                   "tracker": tracker.describe(), **pipe.settings()}) if outs.csv else None
    total = min(src.count, args.max_frames) if args.max_frames and src.count else src.count
    bar = tqdm(total=total or None, unit="frame", desc=Path(src.name).name,
               disable=not sys.stderr.isatty() or bool(label))
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
        _print_summary(src, pipe, stopped or (f"the source failed: {failure.__cause__}" if failure else ""), args,
                       outs, label)
    if stats is not None:
        print(label + stats.describe(tracker))
    if pipe.stats.processed == 0 and (failure or src.report.early):
        print(f"ssapose video: error: {label}nothing processed: {src.report.stopped or failure}", file=sys.stderr)
        return 1
    return 0


def _print_summary(src, pipe, stopped: str, args, outs: Outputs, label: str = "") -> None:
    """One line for every run: frames read / expected, skipped and why it stopped; then the outputs and speed."""
    report = src.report
    if stopped:
        report.stopped = stopped
    n = pipe.stats.processed
    line = f"{label}{report.describe()}; {n} processed, {pipe.stats.dropped} dropped as stale"
    if pipe.schedule is not None:
        line += f"; input size auto: second pass on {pipe.stats.second_pass} frames"
    print(line, file=sys.stderr if report.early else sys.stdout)
    written = [f"{what}: {p}" for what, p in (("video", outs.out), ("poses", outs.json), ("table", outs.csv)) if p]
    if written:
        print(label + "; ".join(written))
    if n:
        print(f"{label}inference: {pipe.backend.name}, {pipe.streams} request{'s' if pipe.streams > 1 else ''} in flight, "
              f"threads {args.threads or 'auto'}; " + pipe.summary().describe())


