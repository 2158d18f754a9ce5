"""COCO evaluation of a model file through any backend."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2

from engines import create_backend
from engines.runner import PoseEstimator
from ssapose.coco import evaluate, load_coco
from ssapose.decode import DecoderConfig


def evaluate_model(model: str, ann_file: str, image_dir: str, input_size: int = 368, backend: str = "auto",
                   decoder: DecoderConfig = DecoderConfig(), progress: bool = False,
                   on_image: Callable[[int, int], bool] | None = None) -> tuple[dict, list[dict]]:
    """Run the model on every image of ``ann_file`` and score it.

    ``on_image(done, total)`` is called after each image; returning False cancels
    (the figures then cover the images done). Returns ``(stats, results)``.
    """
    coco = load_coco(ann_file)
    est = PoseEstimator(create_backend(model, backend), input_size, decoder)
    ids = sorted(coco.getImgIds())
    results, done = [], []
    it = ids
    if progress:
        from tqdm import tqdm
        it = tqdm(ids, desc="eval", unit="img")
    for n, image_id in enumerate(it):
        path = Path(image_dir) / coco.imgs[image_id]["file_name"]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read image {path}")
        results.extend(est(img).to_coco_results(image_id))
        done.append(image_id)
        if on_image is not None and on_image(n + 1, len(ids)) is False:
            break
    est.backend.close()
    return evaluate(coco, results, done), results
