"""Running a pose predictor over the images of a COCO annotation file."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from ssapose.fsnames import imread
from ssapose.poses import Poses

log = logging.getLogger(__name__)


def predict_images(coco, image_dir: str, predict: Callable[[np.ndarray], Poses],
                   on_image: Callable[[int, int], bool] | None = None, progress: bool = False) -> dict[int, Poses]:
    """``predict(frame)`` on every image of ``coco`` (by ascending id), in frame pixels.

    ``on_image(done, total)`` is called after each image; returning False stops
    early (the result then holds the images done). A missing image is an error.
    """
    ids = sorted(coco.getImgIds())
    it = ids
    if progress:
        from tqdm import tqdm
        it = tqdm(ids, desc="eval", unit="img")
    out: dict[int, Poses] = {}
    for n, image_id in enumerate(it):
        path = Path(image_dir) / coco.imgs[image_id]["file_name"]
        img = imread(path)
        if img is None:
            raise FileNotFoundError(f"cannot read image {path}")
        check_image_size(coco, image_id, img.shape[:2], path)
        out[image_id] = predict(img)
        if on_image is not None and on_image(n + 1, len(ids)) is False:
            break
    return out


def check_image_size(coco, image_id: int, shape: tuple[int, int], path) -> None:
    """Warn when an image's recorded ``height``/``width`` differ from the file's, and record the real size
    (the ignore regions and crowd masks are drawn at it)."""
    info = coco.imgs[image_id]
    h, w = shape
    if (info.get("height"), info.get("width")) != (h, w):
        log.warning("warning: %s is %dx%d, but the annotation file records %sx%s; scoring with the real size",
                    path, w, h, info.get("width"), info.get("height"))
        info["height"], info["width"] = h, w


def coco_results(poses: dict[int, Poses]) -> list[dict]:
    """COCO keypoint results of all images."""
    return [r for image_id, p in poses.items() for r in p.to_coco_results(image_id)]
