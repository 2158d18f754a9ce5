"""The ``ssapose`` command line. Subcommands register themselves in ``COMMANDS``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssapose.coco import format_stats

DEFAULT_ANNOTATIONS = "data/coco_tiny/test_coco.json"


def _add_eval(sub) -> None:
    p = sub.add_parser(
        "eval", help="COCO keypoint evaluation (--oracle: ground truth through encode -> decode)",
        description="Score poses with pycocotools' COCOeval. With --oracle, each image's ground truth "
                    "is encoded into targets at the given stride and decoded again: the AP measures the "
                    "best the encoding and the decoder can do, with no network.")
    p.add_argument("--oracle", action="store_true", help="evaluate encode -> decode of the ground truth")
    p.add_argument("--ann", default=DEFAULT_ANNOTATIONS, help="COCO keypoint annotation file (default: %(default)s)")
    p.add_argument("--stride", type=int, default=8, choices=(4, 8, 16, 32), help="output stride f_d (default: 8)")
    p.add_argument("--no-offsets", action="store_true", help="decode by upsampling instead of block-inside offsets")
    p.add_argument("--paf-method", choices=("count", "mean"), default="count",
                   help="limb score: paper's aligned-sample count, or OpenPose's mean (default: count)")
    p.add_argument("--matching", choices=("greedy", "hungarian"), default="greedy", help="per-limb matching")
    p.add_argument("--out", help="write the figures (and results) as JSON here")
    p.set_defaults(func=_run_eval)


def _run_eval(args) -> int:
    if not args.oracle:
        print("ssapose eval: only --oracle is available in this version; model evaluation comes with "
              "the engines (see `ssapose eval --help`)", file=sys.stderr)
        return 2
    from ssapose.decode import DecoderConfig
    from ssapose.oracle import oracle_eval
    from ssapose.targets import TargetConfig

    dec = DecoderConfig(min_parts=1, min_score=0.0, paf_method=args.paf_method, matching=args.matching)
    res = oracle_eval(args.ann, TargetConfig(stride=args.stride), dec, use_offsets=not args.no_offsets,
                      progress=sys.stderr.isatty())
    mode = "upsampling" if args.no_offsets else "offsets"
    print(format_stats(res.stats, f"oracle {Path(args.ann).name}, stride {args.stride}, {mode}, "
                                  f"{res.n_images} images"))
    if args.out:
        Path(args.out).write_text(json.dumps({"stats": res.stats, "stride": args.stride, "offsets": not args.no_offsets,
                                              "annotations": args.ann, "results": res.results}, indent=1))
    return 0


COMMANDS = [_add_eval]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssapose", description="SSA-Pose: real-time multi-person 2D pose "
                                     "estimation with resolution-irrelevant encoding.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as e:
        print(f"ssapose {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
