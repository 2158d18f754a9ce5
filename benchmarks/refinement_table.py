"""AP of every sub-cell refinement x PAF score x input height, on the real COCO sets.

Usage: python benchmarks/refinement_table.py [--model models/lwop.pt] [--heights 256 368]
       [--sets val tiny train] [--refine fit offsets ...] [--paf count mean]

The network runs once per image and height (its fields are cached under
runs/fields/); each decoder variant then decodes the same fields, so the table
compares decoders on identical maps. Decode time is the median per image.
"""
from __future__ import annotations

import hashlib
import tempfile
import os
import pickle
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

import benchlib

from engines import create_backend
from engines.run.step import FrameStep, Timings
from ssapose import paths
from ssapose.coco import evaluate, load_coco
from ssapose.decode import REFINEMENTS, DecoderConfig
from ssapose.inference import decode_fields


def cached_fields(model: str, set_name: str, height: int, cache: Path, limit: int | None = None) -> tuple[object, list]:
    """``(coco, [(image_id, fields, letterbox)])`` for one set (its first ``limit`` images) at one height, computed
    once."""
    cs = paths.coco_set(set_name)
    coco = load_coco(str(cs.ann))
    key = hashlib.sha1(f"{os.path.getmtime(model)}{os.path.getsize(model)}".encode()).hexdigest()[:8]
    f = cache / f"{Path(model).stem}-{key}-{set_name}-{height}{f'-{limit}' if limit else ''}.pkl"
    if f.exists():
        return coco, pickle.loads(f.read_bytes())
    est = FrameStep(create_backend(model), height)
    out = []
    for image_id in sorted(coco.getImgIds())[:limit]:
        img = cv2.imread(str(cs.images / coco.imgs[image_id]["file_name"]))
        fields, box = est.infer(img, Timings())
        out.append((image_id, fields, box))
    cache.mkdir(parents=True, exist_ok=True)
    f.write_bytes(pickle.dumps(out))
    return coco, out


def decode_all(items: list, stride: int, decoder: DecoderConfig) -> tuple[list[dict], list[float]]:
    """COCO results of one decoder on cached fields, and the decode ms of each image."""
    results, times = [], []
    for image_id, fields, box in items:
        t0 = time.perf_counter()
        poses = decode_fields(fields, stride, box, decoder)
        times.append((time.perf_counter() - t0) * 1e3)
        results.extend(poses.to_coco_results(image_id))
    return results, times


def score(coco, items: list, stride: int, decoder: DecoderConfig) -> tuple[float, float]:
    """``(AP, median decode ms)`` of one decoder on cached fields."""
    results, times = decode_all(items, stride, decoder)
    return evaluate(coco, results, [i for i, _, _ in items])["AP"], float(np.median(times))


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.CHECKPOINT))
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 368])
    ap.add_argument("--sets", nargs="+", default=["val", "tiny", "train"], choices=("val", "tiny", "train"))
    ap.add_argument("--refine", nargs="+", default=list(REFINEMENTS), choices=REFINEMENTS)
    ap.add_argument("--paf", nargs="+", default=["count", "mean"], choices=("count", "mean"))
    ap.add_argument("--cache", default="runs/fields", help="folder of the cached fields (default: %(default)s)")
    args = benchlib.parse(ap, heights=[256], sets=["tiny"], refine=["fit", "offsets"], paf=["mean"],
                          cache=tempfile.mkdtemp())
    stride = create_backend(args.model).info.stride
    print(f"model {args.model}; AP (COCOeval, OKS) / median decode ms per image")
    print("| refinement | PAF | height | " + " | ".join(args.sets) + " |")
    print("|---|---|---|" + "---|" * len(args.sets))
    data = {(s, h): cached_fields(args.model, s, h, Path(args.cache)) for h in args.heights for s in args.sets}
    for refine in args.refine:
        for paf in args.paf:
            for h in args.heights:
                dec = replace(DecoderConfig(), refine=refine, paf_method=paf)
                cells = [score(*data[(s, h)], stride, dec) for s in args.sets]
                print(f"| {refine} | {paf} | {h} | " + " | ".join(f"{a:.3f} / {ms:.1f}" for a, ms in cells) + " |",
                      flush=True)


if __name__ == "__main__":
    main()
