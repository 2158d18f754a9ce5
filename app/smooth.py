"""``ssapose smooth``: a tracked pose file smoothed offline, short gaps filled (``engines.sinks.smoothed``)."""
from __future__ import annotations

from engines.cli_args import bounded
from ssapose.track_smoothing import SmoothConfig


def add_command(sub) -> None:
    d = SmoothConfig()
    p = sub.add_parser("smooth", help="smooth a tracked pose file offline and fill short gaps (for analysis)",
                       description="Read a pose file that ssapose video --track wrote (.jsonl, or a .csv table: "
                                   "smoothed from its detected keypoints) and write a new one of the same kind: "
                                   "per track, keypoints missing for a few frames are filled by interpolation "
                                   "(marked as filled), then every keypoint is fitted by a local quadratic over a "
                                   "window of frames centred on each frame, weighted by keypoint score (no lag, "
                                   "unlike the live filter). People without a track id and keypoints with no "
                                   "support are left as they are. The header records the settings.")
    p.add_argument("input", help="the pose file to smooth (.jsonl or .csv)")
    p.add_argument("--out", required=True, help="the smoothed file to write, of the same kind (not the input)")
    p.add_argument("--max-gap", type=bounded(0, 1000, unit="frames"), default=d.max_gap,
                   help="longest run of missing frames filled, in frames (0: fill nothing; default: %(default)s)")
    p.add_argument("--window", type=bounded(3, 301, unit="frames"), default=d.window,
                   help="frames in each local fit, odd: more smooths more (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from engines.sinks import check_file, same_file
    from engines.sinks.smoothed import smooth_file

    if not Path(args.input).is_file():
        raise FileNotFoundError(f"{args.input}: no such pose file")
    if same_file(args.input, args.out):
        raise ValueError(f"--out {args.out} is the input: write the smoothed poses to another file")
    if args.window % 2 == 0:
        raise ValueError(f"--window {args.window}: give an odd number of frames (the fit is centred)")
    check_file(args.out, "--out", (Path(args.input).suffix.lower(),))
    filled = smooth_file(args.input, args.out, SmoothConfig(max_gap=args.max_gap, window=args.window))
    print(f"wrote {args.out}: tracks smoothed over {args.window} frames, {filled} keypoint values filled into gaps "
          f"of up to {args.max_gap} frames")
    return 0
