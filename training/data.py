"""COCO keypoints (pycocotools) as training samples: augmentation + targets, for a DataLoader."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ssapose.coco import ImagePeople, image_people, load_coco
from ssapose.model_card import Preprocess
from ssapose.preprocess import normalise
from ssapose.skeleton import flip_parts
from ssapose.targets import TargetConfig, encode_targets


@dataclass(frozen=True)
class AugmentConfig:
    """The paper's augmentation (OpenPose's): scale, rotation, flip, then crop/pad.

    scale: range of the extra scale factor (after fitting the image's longer
        side to the input size).
    rotate: maximum rotation in degrees (uniform in [-rotate, rotate]).
    flip: probability of a horizontal flip (left/right parts swap).
    shift: maximum shift of the crop centre, as a fraction of the input size.
    """

    scale: tuple[float, float] = (0.5, 1.1)
    rotate: float = 45.0
    flip: float = 0.5
    shift: float = 0.2


class CocoKeypoints(Dataset):
    """Images and people from a COCO keypoint file, as network input and targets.

    Each item is ``(image (3, S, S) float32, targets dict of float32 tensors)``
    with ``S = input_size``; see :class:`ssapose.targets.Targets` for shapes.
    Images without people are kept (they teach the background).
    """

    def __init__(self, ann_file: str | Path, image_dir: str | Path, input_size: int, targets: TargetConfig,
                 preprocess: Preprocess, augment: AugmentConfig | None = None, seed: int = 0):
        self.coco = load_coco(str(ann_file))
        self.image_dir = Path(image_dir)
        self.ids = sorted(self.coco.getImgIds())
        self.size, self.targets, self.pre, self.augment = input_size, targets, preprocess, augment
        self.seed = seed

    def __len__(self) -> int:
        return len(self.ids)

    def _affine(self, w: int, h: int, rng) -> tuple[np.ndarray, bool]:
        s = self.size / max(w, h)
        angle, flip, centre = 0.0, False, np.array([w / 2, h / 2])
        if self.augment is not None:
            a = self.augment
            s *= rng.uniform(*a.scale)
            angle = rng.uniform(-a.rotate, a.rotate)
            flip = rng.random() < a.flip
            centre = centre + rng.uniform(-a.shift, a.shift, 2) * self.size / s
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, s)
        m[:, 2] += self.size / 2 - centre
        return m, flip

    def __getitem__(self, i: int):
        return self.encode(*self.transform(*self.read(i), i))

    def read(self, i: int) -> tuple[np.ndarray, ImagePeople]:
        """Stage 1: the ``i``-th image, decoded (BGR uint8), and its people and ignore regions."""
        image_id = self.ids[i]
        info = self.coco.imgs[image_id]
        path = self.image_dir / info["file_name"]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read image {path}")
        return img, image_people(self.coco, image_id)

    def transform(self, img: np.ndarray, people: ImagePeople, i: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Stage 2, augmentation: the image warped into the ``S x S`` input, its ``(N, 18, 3)`` parts in
        input pixels and the ``(S, S)`` bool ignore mask (or None), flipped where drawn."""
        rng = np.random.default_rng((self.seed, i, int(torch.randint(0, 2**31 - 1, ()).item())))
        m, flip = self._affine(img.shape[1], img.shape[0], rng)
        img = cv2.warpAffine(img, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(self.pre.pad_value,) * 3)
        parts = people.parts.copy()
        if len(parts):
            parts[..., :2] = parts[..., :2] @ m[:, :2].T + m[:, 2]
        ignore = None
        if people.ignore is not None:
            ignore = cv2.warpAffine(people.ignore.astype(np.uint8), m, (self.size, self.size),
                                    flags=cv2.INTER_NEAREST) > 0
        if flip:
            img = img[:, ::-1]
            parts = flip_parts(parts, self.size) if len(parts) else parts
            ignore = ignore[:, ::-1] if ignore is not None else None
        return img, parts, ignore

    def encode(self, img: np.ndarray, parts: np.ndarray, ignore: np.ndarray | None):
        """Stage 3: the normalised ``(3, S, S)`` input tensor and the target fields as tensors."""
        t = encode_targets(parts, self.size, self.size, self.targets, ignore)
        x = torch.from_numpy(normalise(np.ascontiguousarray(img), self.pre))
        return x, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vars(t).items()}


def _worker_init(_: int) -> None:
    """One thread per loader worker for OpenCV and torch: the workers are the parallelism, and OpenCV's own
    thread pool in each of them would only oversubscribe the cores."""
    cv2.setNumThreads(0)
    torch.set_num_threads(1)


def make_loader(dataset: CocoKeypoints, batch_size: int, workers: int, shuffle: bool = True,
                sampler=None, pin_memory: bool = False, prefetch: int = 4) -> DataLoader:
    """Batches of ``(input, targets)``; a ``sampler`` (distributed training) replaces shuffling.
    ``pin_memory`` for a CUDA device (asynchronous copies); ``prefetch`` batches ready per worker."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=workers, drop_last=shuffle and len(dataset) >= batch_size,
                      persistent_workers=workers > 0, pin_memory=pin_memory, worker_init_fn=_worker_init,
                      prefetch_factor=prefetch if workers > 0 else None)
