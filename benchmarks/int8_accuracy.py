"""AP of the INT8 model against its fp32 ONNX source, on the same images.

Usage: python benchmarks/int8_accuracy.py --fp32 runs/engines/lite.onnx --int8 runs/engines/lite.int8.onnx

Rows: the held-out synthetic validation set (the bundled model's domain) and the
real COCO images of coco_tiny (out of domain for a model trained on synthetic data).
"""
from __future__ import annotations

import argparse

from ssapose import paths
from engines.evaluate import evaluate_model

SETS = [("synthetic val (100 images)", "data/synthetic/val.json", "data/synthetic/val", 256),
        ("coco_tiny (4 real images)", str(paths.coco_set("tiny").ann), str(paths.coco_set("tiny").images), 368)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--int8", required=True)
    args = ap.parse_args()
    print("| images | input | AP fp32 | AP int8 | change | AP50 fp32 | AP50 int8 |")
    print("|---|---|---|---|---|---|---|")
    for name, ann, images, size in SETS:
        a, _ = evaluate_model(args.fp32, ann, images, size)
        b, _ = evaluate_model(args.int8, ann, images, size)
        print(f"| {name} | {size} | {a['AP']:.3f} | {b['AP']:.3f} | {b['AP'] - a['AP']:+.3f} | {a['AP50']:.3f} "
              f"| {b['AP50']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
