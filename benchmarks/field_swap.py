"""Which of a model's fields limits its AP: swap in the ground truth one field at a time.

Usage: python benchmarks/field_swap.py [--model FILE] [--ann data/synthetic/val.json] [--images DIR]

For each validation image the model's heatmaps, PAFs and offsets are decoded
as they are, and again with one of them replaced by the encoded ground truth.
The AP gained by a swap is what that field costs the model. The last row
(all ground truth) is the oracle of that set. It also prints the model's
median heatmap value at the true peaks (a well-trained net is near 1).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ssapose.coco import evaluate, image_people, load_coco
from ssapose.inference import decode_fields, torch_fields
from ssapose.models import load_checkpoint
from ssapose.preprocess import prepare
from ssapose.skeleton import NUM_PARTS
from ssapose.targets import TargetConfig, encode_targets

#: row name -> which fields come from the ground truth
SWAPS = {"model": (), "ground-truth offsets": ("offsets",), "ground-truth PAFs": ("pafs",),
         "ground-truth heatmaps + offsets": ("heatmaps", "offsets"), "all ground truth": ("heatmaps", "pafs", "offsets")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a checkpoint trained on the synthetic set")
    ap.add_argument("--ann", default="data/synthetic/val.json")
    ap.add_argument("--images", help="image folder (default: next to --ann, named like it)")
    ap.add_argument("--input-size", type=int, default=256)
    args = ap.parse_args()
    model, cfg, _ = load_checkpoint(args.model)
    if not cfg.offsets:
        raise SystemExit(f"{args.model} has no offset channels; this diagnostic compares all three fields")
    images = Path(args.images or Path(args.ann).with_suffix(""))
    coco = load_coco(args.ann)
    ids = sorted(coco.getImgIds())
    results = {k: [] for k in SWAPS}
    at_peaks = []
    for iid in ids:
        info = coco.imgs[iid]
        frame = cv2.imread(str(images / info["file_name"]))
        if frame is None:
            raise SystemExit(f"cannot read {images / info['file_name']}")
        x, box = prepare(frame, args.input_size, cfg.preprocess)
        pred = torch_fields(model, x)
        h, w = pred["heatmaps"].shape[1:]
        parts = image_people(coco, iid, with_ignore=False).parts.copy()
        parts[..., :2] *= box.scale
        t = encode_targets(parts, w * cfg.output_stride, h * cfg.output_stride, TargetConfig(stride=cfg.output_stride))
        truth = {"heatmaps": t.heatmaps, "pafs": t.pafs, "offsets": t.offsets}
        at_peaks.append(pred["heatmaps"][:NUM_PARTS][t.heatmaps[:NUM_PARTS] > 0.9])
        for name, swapped in SWAPS.items():
            fields = {k: truth[k] if k in swapped else pred[k] for k in truth}
            results[name].extend(decode_fields(fields, cfg.output_stride, box).to_coco_results(iid))
    print(f"{args.model} on {args.ann} ({len(ids)} images, input {args.input_size})")
    print("| fields | AP | AP50 | AR |\n|---|---|---|---|")
    for name, res in results.items():
        s = evaluate(coco, res, ids)
        print(f"| {name} | {s['AP']:.3f} | {s['AP50']:.3f} | {s['AR']:.3f} |")
    v = np.concatenate(at_peaks)
    print(f"\nmodel heatmap at true peaks: median {np.median(v):.2f}, share above 0.4: {(v > 0.4).mean():.2f}")


if __name__ == "__main__":
    main()
