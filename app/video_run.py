"""One source through the headless pipeline with its outputs and its summary (``ssapose video``'s core), and
the tracker's flags."""
from __future__ import annotations

import sys
from pathlib import Path

from engines.cli import decoder_choice, region_choice, tta_choice
from engines.cli_args import bounded, fraction
from engines.sinks import OutputSpec
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
    g.add_argument("--track-reid-s", type=bounded(0.0, 3600, integer=False, unit="seconds"), default=d.reid_s,
                   help="seconds a person who left keeps their id, to get it back on return if they look the same "
                        "(colours of torso and legs; 0: off, the default: every return is a new id)")
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
                         max_lost_s=args.track_lost_s, min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta,
                         reid_s=args.track_reid_s)


def draw_style(args) -> DrawStyle:
    """The overlay the command line asks for (``--kp-threshold``, ``--limb-threshold``, ``--line-width``,
    ``--no-ids``, ``--no-fps``)."""
    return DrawStyle(args.kp_threshold, args.limb_threshold, args.line_width, not args.no_ids, not args.no_fps)


def run_one(args, source: str, outs: OutputSpec, backend=None, label: str = "", viewer=None) -> int:
    """One source through the pipeline with its outputs (``backend``: an opened one to share; ``label``: a
    prefix for its summary lines when several run at once; ``viewer``: a window whose ``show(image)`` returns
    False once closed). Exit status as ``app.commands.run_video``; a failure to write an output ends the run with
    its summary and exit status 1."""
    from tqdm import tqdm

    from app.stop import describe
    from engines.run.session import open_run
    from engines.sinks import SinkError
    from ssapose.tracking import Tracker

    tracker = Tracker(tracker_config(args)) if args.track or outs.table else None
    bar = None
    spec = run_spec(args, source, draw=bool(args.show))
    run = open_run(spec, tracker, outs, backend=backend, track_stats=True,
                   on_skip=lambda text: (bar.write if bar else print)(f"warning: {label}skipped {text}",
                                                                      file=sys.stderr))
    src = run.source
    total = min(src.count, args.max_frames) if args.max_frames and src.count else src.count
    bar = tqdm(total=total or None, unit="frame", desc=Path(src.name).name,
               disable=not sys.stderr.isatty() or bool(label))
    write_error = None
    try:
        for r in run.results():
            if viewer is not None and not viewer.show(r.image):
                run.stopped = "window closed"
                break
            bar.update(1)
    except SinkError as e:
        write_error = e
        run.stopped = f"cannot write: {e}"
    except KeyboardInterrupt as e:
        word, signal, _ = describe(e)
        run.stopped = f"{word} ({signal})"
        raise
    finally:
        bar.close()
        try:
            run.close()
        except SinkError as e:
            write_error = write_error or e
            run.stopped = run.stopped or f"cannot write: {e}"
        _print_summary(run, args, outs, label)
    if run.stats is not None:
        print(label + run.stats.describe(tracker))
    if write_error is not None:
        print(f"ssapose video: error: {label}{write_error}", file=sys.stderr)
        return 1
    if run.processed == 0 and (run.failure or run.report.early):
        print(f"ssapose video: error: {label}nothing processed: {run.report.stopped}", file=sys.stderr)
        return 1
    return 0


def run_spec(args, source: str, draw: bool = False):
    """The :class:`engines.run.session.RunSpec` of one source from the flags of ``video`` (and ``batch``): the
    model, how the network sees a frame (``tta_choice``), the decoder, the overlay and the frame limit."""
    from engines.run.pipeline import PipelineConfig
    from engines.run.session import RunSpec

    view = tta_choice(args)
    style = draw_style(args) if hasattr(args, "kp_threshold") else DrawStyle()
    return RunSpec(source, args.model, args.backend, args.device, args.threads, args.streams,
                   live=getattr(args, "live", None),
                   pipeline=PipelineConfig(input_size=view.height, decoder=decoder_choice(args),
                                           max_frames=getattr(args, "max_frames", 0), draw=draw, style=style,
                                           flip=view.flip, scales=view.scales, auto=view.auto,
                                           region=region_choice(args)))


def _print_summary(run, args, outs: OutputSpec, label: str = "") -> None:
    """One line for every run: frames read / expected, skipped and why it stopped; then the outputs and speed."""
    report, pipe = run.report, run.pipeline
    n = pipe.stats.processed
    line = f"{label}{report.describe()}; {n} processed, {pipe.stats.dropped} dropped as stale"
    if pipe.schedule is not None:
        line += f"; input size auto: second pass on {pipe.stats.second_pass} frames"
    if pipe.region is not None:
        line += f"; {pipe.region.describe()}"
    print(line, file=sys.stderr if report.early else sys.stdout)
    rate = run.rate()
    if rate.startswith("variable"):
        print(f"{label}frame rate {rate}")
    written = [f"{what}: {p}" for what, p in (("video", outs.video), ("poses", outs.poses), ("table", outs.table))
               if p]
    if written:
        print(label + "; ".join(written))
    if n:
        print(f"{label}inference: {pipe.backend.name}, {pipe.streams} request{'s' if pipe.streams > 1 else ''} in flight, "
              f"threads {args.threads or 'auto'}; " + pipe.summary().describe())
