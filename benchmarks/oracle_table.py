"""Oracle AP table: encode ground truth -> decode -> COCOeval, for strides 8/16/32, with and without offsets.

Usage: python benchmarks/oracle_table.py [ANN.json ...]   (prints a markdown table)
"""
from __future__ import annotations

from pathlib import Path

import benchlib

from ssapose import paths
from ssapose.decode import DecoderConfig
from ssapose.oracle import oracle_eval
from ssapose.targets import TargetConfig

DEFAULT = [paths.coco_set(n).ann for n in ("train", "val", "tiny")]


def table(files: list[Path]) -> None:
    dec = DecoderConfig(min_parts=1, min_score=0.0)
    print("| annotations | stride | AP offsets | AP upsampling | AP gain | AR offsets | AR upsampling |")
    print("|---|---|---|---|---|---|---|")
    for f in files:
        for stride in (8, 16, 32):
            a = oracle_eval(str(f), TargetConfig(stride=stride), dec, use_offsets=True).stats
            b = oracle_eval(str(f), TargetConfig(stride=stride), dec, use_offsets=False).stats
            print(f"| {Path(f).name} | {stride} | {a['AP']:.3f} | {b['AP']:.3f} | {a['AP'] - b['AP']:+.3f} "
                  f"| {a['AR']:.3f} | {b['AR']:.3f} |", flush=True)


def main() -> None:
    parser = benchlib.parser(__doc__)
    parser.add_argument("annotations", nargs="*", type=Path,
                        help="COCO keypoint annotation files (default: coco_mini train2017, val2017, coco_tiny)")
    args = benchlib.parse(parser)
    table([Path(benchlib.ann("tiny"))] if args.quick else args.annotations or DEFAULT)


if __name__ == "__main__":
    main()
