"""Validation AP of a model on a COCO keypoint file (the training loop's hook)."""
from __future__ import annotations

import numpy as np
import torch

from ssapose.coco import evaluate, load_coco
from ssapose.decode import DecoderConfig
from ssapose.evaluation import coco_results, predict_images
from ssapose.inference import predict
from ssapose.model_card import ModelConfig


def validate(model: torch.nn.Module, config: ModelConfig, ann_file: str, image_dir: str, input_size: int,
             decoder: DecoderConfig = DecoderConfig(), coco=None) -> dict:
    """COCOeval figures (AP, AP50, ...) plus ``err_px``: the mean error of matched keypoints in pixels."""
    coco = coco or load_coco(ann_file)
    was_training = model.training
    model.eval()
    try:
        poses = predict_images(coco, image_dir, lambda img: predict(model, config, img, input_size, decoder))
    finally:
        model.train(was_training)
    errs = [e for iid, p in poses.items() for e in _keypoint_errors(p.keypoints, coco.imgToAnns.get(iid, []))]
    stats = evaluate(coco, coco_results(poses))
    stats["err_px"] = float(np.mean(errs)) if errs else float("nan")
    return stats


def _keypoint_errors(pred: np.ndarray, anns: list[dict]) -> list[float]:
    """Per true person, the errors of its keypoints in the closest predicted person (pixels)."""
    out = []
    for a in anns:
        gt = np.asarray(a["keypoints"], float).reshape(17, 3)
        vis = gt[:, 2] > 0
        if not vis.any() or len(pred) == 0:
            continue
        both = vis[None] & (pred[:, :, 2] > 0)
        d = np.linalg.norm(pred[:, :, :2] - gt[None, :, :2], axis=2)
        mean = np.where(both, d, 0).sum(1) / np.maximum(both.sum(1), 1)
        mean[both.sum(1) == 0] = np.inf
        best = int(np.argmin(mean))
        if np.isfinite(mean[best]):
            out.extend(d[best][both[best]].tolist())
    return out
