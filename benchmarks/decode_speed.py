"""Decoder speed: median ms per frame at a 368-pixel input (stride 8), on the real
COCO scenes (ground truth encoded into fields) and on a synthetic 50-person frame.

Usage: python benchmarks/decode_speed.py [--repeat 20]
"""
from __future__ import annotations

import time

import numpy as np

import benchlib

from ssapose import paths
from ssapose.coco import image_people, load_coco
from ssapose.decode import DecoderConfig, decode
from ssapose.skeleton import coco_to_parts
from ssapose.targets import TargetConfig, encode_targets



def scenes(size: int, sets: list[str]):
    """Fields of each real image scaled so that its longer side is ``size`` pixels."""
    for f in (paths.coco_set(n).ann for n in sets):
        coco = load_coco(str(f))
        for iid in sorted(coco.getImgIds()):
            info = coco.imgs[iid]
            s = size / max(info["width"], info["height"])
            parts = image_people(coco, iid, with_ignore=False).parts.copy()
            parts[..., :2] *= s
            t = encode_targets(parts, size, size, TargetConfig(stride=8))
            yield f"{f.name}:{iid}", len(parts), t


def crowd(size: int, n: int = 50):
    rng = np.random.default_rng(0)
    base = np.array([[0, -90], [-6, -96], [6, -96], [-14, -92], [14, -92], [-25, -60], [25, -60], [-35, -20],
                     [35, -20], [-40, 15], [40, 15], [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100],
                     [18, 100]], float)
    kp = np.zeros((n, 17, 3))
    cols = int(np.ceil(np.sqrt(n)))
    for i in range(n):
        c = ((i % cols) + 0.5) * size / cols, ((i // cols) + 0.5) * size / cols
        kp[i, :, :2] = base * (size / cols / 230) * rng.uniform(0.85, 1.0) + c
        kp[i, :, 2] = 2
    return encode_targets(coco_to_parts(kp), size, size, TargetConfig(stride=8))


def time_decode(t, cfg: DecoderConfig, offsets: bool, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        decode(t.heatmaps, t.pafs, 8, t.offsets if offsets else None, cfg)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--size", type=int, default=368)
    args = benchlib.parse(ap, repeat=1)
    real = list(scenes(args.size, benchlib.coco_sets(args, ("val", "tiny"))))
    big = crowd(args.size)
    print(f"{len(real)} real frames ({sum(n for _, n, _ in real)} people), input {args.size}, stride 8")
    print("| decoder | median of per-frame medians, real frames (ms) | p90 real (ms) | 50-person frame (ms) |")
    print("|---|---|---|---|")
    for name, cfg, off in [
        ("offsets, count, greedy", DecoderConfig(refine="offsets", paf_method="count"), True),
        ("offsets, count, hungarian", DecoderConfig(refine="offsets", paf_method="count", matching="hungarian"), True),
        ("offsets, mean (OpenPose), greedy", DecoderConfig(refine="offsets", paf_method="mean"), True),
        ("fit (default), mean, greedy", DecoderConfig(refine="fit", paf_method="mean"), True),
        ("upsampling, count, greedy", DecoderConfig(refine="upsample", paf_method="count"), False),
    ]:
        per = [time_decode(t, cfg, off, args.repeat) for _, _, t in real]
        print(f"| {name} | {np.median(per):.2f} | {np.percentile(per, 90):.2f} "
              f"| {time_decode(big, cfg, off, args.repeat):.2f} |", flush=True)


if __name__ == "__main__":
    main()
