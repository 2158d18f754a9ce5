"""Parameters and GFLOPs (1 multiply-add = 2 FLOPs) of each registered network at a 368x368 input.

Usage: python benchmarks/model_size.py [--size 368]
"""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

import benchlib

from ssapose.models import REGISTRY, build_model


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--size", type=int, default=368)
    args = benchlib.parse(ap, size=64)
    print(f"| model | params (M) | GFLOPs at {args.size}x{args.size} |")
    print("|---|---|---|")
    for name, cfg in REGISTRY.items():
        m = build_model(cfg).eval()
        params = sum(p.numel() for p in m.parameters()) / 1e6
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            m(torch.zeros(1, 3, args.size, args.size))
        print(f"| {name} | {params:.2f} | {fc.get_total_flops() / 1e9:.1f} |", flush=True)


if __name__ == "__main__":
    main()
