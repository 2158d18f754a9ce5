"""Train the RIE offset heads of the pretrained ``lwop`` network, its base frozen.

    python training/offsets.py --model models/lwop.pt --out models/lwop-offsets.pt --mode residual

The paper adds 36 offset channels to the last layer of each stage's heatmap
branch (Eq. 7-8). Here that layer is a 1x1 convolution, so the heads are
linear maps of the features the heatmaps' last layer reads, one per cell. With
the base frozen, those features are computed once per augmented image; only
the cells where a target is valid (ground-truth heatmap > 0.4) are kept, and
the heads are fitted to them with a masked L2 loss.

``--mode absolute`` learns Eq. 7's offsets. ``--mode residual`` learns a
correction to the log-parabola fit of the network's own heatmaps
(``DecoderConfig(refine="fit+offsets")``), starting at zero where the fit is.
Data: coco_mini train2017 only, never the evaluation sets.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ssapose import paths  # noqa: E402
from ssapose.coco import image_people, load_coco  # noqa: E402
from ssapose.decode.peaks import local_maxima, log_parabola_shift  # noqa: E402
from ssapose.models import load_checkpoint  # noqa: E402
from ssapose.models.lwop import OFFSET_HEADS, LightweightOpenPose  # noqa: E402
from ssapose.models.lwop_weights import offset_heads_state  # noqa: E402
from ssapose.preprocess import prepare  # noqa: E402
from ssapose.skeleton import NUM_PARTS, flip_parts  # noqa: E402
from ssapose.targets import TargetConfig, encode_targets  # noqa: E402


@torch.no_grad()
def head_inputs(model: LightweightOpenPose, x: torch.Tensor) -> tuple[list[torch.Tensor], np.ndarray]:
    """The features each offset head reads (stage 1: 512 ch, stage 2: 128 ch) and the final heatmaps."""
    seen = []
    hooks = [model.offset_heads[k].register_forward_hook(lambda m, i, o: seen.append(i[0])) for k, _ in OFFSET_HEADS]
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen, out[-1].heatmaps[0].numpy()


def dense_fit(heatmaps: np.ndarray) -> np.ndarray:
    """``(36, H, W)`` log-parabola shift of every cell of the 18 part maps, as the decoder computes it at peaks."""
    c, y, x = np.indices(heatmaps[:NUM_PARTS].shape).reshape(3, -1)
    dx, dy, _ = log_parabola_shift(heatmaps[:NUM_PARTS], c, y, x)
    shape = heatmaps[:NUM_PARTS].shape
    return np.stack([dx.reshape(shape), dy.reshape(shape)], axis=1).reshape(-1, *shape[1:])


def fold_of(image_ids: list[int], folds: int) -> dict[int, int]:
    """Image id -> fold, by rank among the ids with people: a fixed split of train2017 for cross-validation."""
    return {i: r % folds for r, i in enumerate(sorted(image_ids))}


def collect(model: LightweightOpenPose, pre, heights: list[int], mode: str, cells: str = "valid",
            flips: bool = True, skip_fold: int | None = None, folds: int = 2) -> dict:
    """Rows of ``(features, target, mask)`` at every cell where some part's offset is supervised.

    ``cells="valid"``: every cell where the ground-truth heatmap exceeds 0.4 (Eq. 7);
    ``cells="peaks"``: only those that are also peaks of the network's own heatmap,
    the cells the decoder reads.
    """
    cs = paths.coco_set("train")
    coco = load_coco(str(cs.ann))
    rows = {"f1": [], "f2": [], "t": [], "m": []}
    with_people = [i for i in sorted(coco.getImgIds()) if len(image_people(coco, i, with_ignore=False).parts)]
    fold = fold_of(with_people, folds)
    for image_id in with_people:
        if skip_fold is not None and fold[image_id] == skip_fold:
            continue
        people = image_people(coco, image_id, with_ignore=False)
        img = cv2.imread(str(cs.images / coco.imgs[image_id]["file_name"]))
        for flip in ((False, True) if flips else (False,)):
            frame = img[:, ::-1] if flip else img
            parts = flip_parts(people.parts, img.shape[1]) if flip else people.parts
            for h in heights:
                x, box = prepare(np.ascontiguousarray(frame), h, pre)
                (f1, f2), heat = head_inputs(model, torch.from_numpy(x))
                scaled = parts.copy()
                scaled[..., :2] *= box.scale
                t = encode_targets(scaled, box.width, box.height, TargetConfig(stride=8))
                target = t.offsets
                if mode == "residual":
                    target = target - dense_fit(heat)
                valid = t.offset_mask
                if cells == "peaks":
                    peak = np.zeros_like(valid)
                    peak[local_maxima(heat[:NUM_PARTS], 0.1)] = 1
                    valid = valid * peak
                mask = np.repeat(valid, 2, axis=0)                              # (36, H, W)
                keep = valid.any(axis=0).reshape(-1)
                rows["f1"].append(f1[0].reshape(f1.shape[1], -1).T[keep])
                rows["f2"].append(f2[0].reshape(f2.shape[1], -1).T[keep])
                rows["t"].append(target.reshape(36, -1).T[keep])
                rows["m"].append(mask.reshape(36, -1).T[keep])
    return {k: torch.from_numpy(np.concatenate(v).astype(np.float32)) for k, v in rows.items()}


def fit_heads(model: LightweightOpenPose, data: dict, steps: int, lr: float, weight_decay: float) -> dict:
    """Adam on the masked L2 of ``0.5 tanh(head(features))`` against the targets.

    Returns the final loss per head, and that of zero offsets (``"zero"``) for scale."""
    losses = {"zero": round(float((data["t"] ** 2 * data["m"]).sum() / data["m"].sum()), 5)}
    for (key, _), feats in zip(OFFSET_HEADS, (data["f1"], data["f2"])):
        head = model.offset_heads[key]
        w = head.weight.view(head.out_channels, -1)
        opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(steps):
            pred = 0.5 * torch.tanh(F.linear(feats, w, head.bias))
            loss = ((pred - data["t"]) ** 2 * data["m"]).sum() / data["m"].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses[key] = round(float(loss.detach()), 5)
    return losses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(paths.CHECKPOINT), help="lwop checkpoint (default: %(default)s)")
    ap.add_argument("--out", default=str(paths.OFFSET_HEADS), help="offset heads file (default: %(default)s)")
    ap.add_argument("--mode", choices=("absolute", "residual"), default="residual",
                    help="Eq. 7 offsets, or a residual on the log-parabola fit (default: %(default)s)")
    ap.add_argument("--cells", choices=("valid", "peaks"), default="peaks",
                    help="supervise every valid cell (Eq. 7), or only the heatmap peaks the decoder reads "
                         "(default: %(default)s)")
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 320, 368, 432],
                    help="input heights the images are seen at (default: %(default)s)")
    ap.add_argument("--holdout", type=int, choices=(0, 1),
                    help="leave out this half of train2017's images (2-fold cross-validation)")
    ap.add_argument("--steps", type=int, default=1500, help="Adam steps over all cells (default: %(default)s)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    args = ap.parse_args(argv)
    model, config, _ = load_checkpoint(args.model)
    if config.arch != "lwop" or not config.offsets:
        raise SystemExit(f"{args.model} is not an lwop model with offset heads")
    torch.manual_seed(0)
    t0 = time.perf_counter()
    data = collect(model, config.preprocess, args.heights, args.mode, args.cells, skip_fold=args.holdout)
    t1 = time.perf_counter()
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.offset_heads.parameters():
        p.requires_grad_(True)
    losses = fit_heads(model, data, args.steps, args.lr, args.weight_decay)
    t2 = time.perf_counter()
    notes = {"mode": args.mode, "cells_supervised": args.cells, "holdout_fold": args.holdout, "data": "coco_mini train2017", "heights": args.heights, "flips": True,
             "cells": int(len(data["t"])), "steps": args.steps, "lr": args.lr, "weight_decay": args.weight_decay,
             "features_s": round(t1 - t0, 1), "fit_s": round(t2 - t1, 1), "final_loss": losses}
    torch.save({"state_dict": offset_heads_state(model), "notes": notes}, args.out)
    print(f"wrote {args.out}: {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
