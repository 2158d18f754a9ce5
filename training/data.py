"""COCO keypoints (pycocotools) as training samples: augmentation + targets, for a DataLoader."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ssapose.coco import ImagePeople, image_people, load_coco
from ssapose.model_card import Preprocess
from ssapose.preprocess import normalise
from ssapose.skeleton import FLIP_PARTS
from ssapose.targets import TargetConfig, Targets, encode_targets


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

    ``image_cache``: a folder for copies of the images shrunk to the largest size the augmentation ever
    samples (``S x`` the top of the scale range, on the longer side), made the first time each is read
    (decoding such a copy costs a fraction of the original); None reads the originals every time.
    """

    def __init__(self, ann_file: str | Path, image_dir: str | Path, input_size: int, targets: TargetConfig,
                 preprocess: Preprocess, augment: AugmentConfig | None = None, seed: int = 0,
                 image_cache: str | Path | None = None, raw_input: bool = False):
        self.coco = load_coco(str(ann_file))
        self.raw_input = raw_input
        self.image_dir = Path(image_dir)
        self.ids = sorted(self.coco.getImgIds())
        self.size, self.targets, self.pre, self.augment = input_size, targets, preprocess, augment
        self.seed = seed
        self.cache = Path(image_cache) if image_cache else None
        top = max(augment.scale) if augment is not None else 1.0
        self.cache_side = int(np.ceil(input_size * max(top, 1.0)))

    def __len__(self) -> int:
        return len(self.ids)

    def plan(self, i: int) -> "Plan":
        """The ``i``-th sample's augmentation, drawn before decoding (the sizes come from the annotations)."""
        info = self.coco.imgs[self.ids[i]]
        w, h = int(info["width"]), int(info["height"])
        rng = np.random.default_rng((self.seed, i, int(torch.randint(0, 2**31 - 1, ()).item())))
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
        if flip:                                   # mirror inside the warp: x -> S - 1 - x, no copy afterwards
            m = np.array([[-1.0, 0.0, self.size - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0.0, 0.0, 1.0]])
        # JPEG decoding at 1/2, 1/4 or 1/8 (in the DCT, several times cheaper) where the warp shrinks the image
        # at least that much anyway: no detail the input could hold is lost.
        reduce = max(f for f in (1, 2, 4, 8) if f == 1 or f * s <= 1.0)
        return Plan(m, flip, reduce, w, h)

    def image(self, i: int, reduce: int = 1) -> "Decoded":
        """The ``i``-th image, BGR uint8: its cached copy where there is a cache, else decoded at ``1 / reduce``."""
        info = self.coco.imgs[self.ids[i]]
        path = self.image_dir / info["file_name"]
        if self.cache is not None and max(info["width"], info["height"]) > self.cache_side:
            img = self._cached(path, info["file_name"])
            return Decoded(img, info["width"] / img.shape[1], info["height"] / img.shape[0])
        img = cv2.imread(str(path), REDUCED[reduce])
        if img is None:
            raise FileNotFoundError(f"cannot read image {path}")
        return Decoded(img, float(reduce), float(reduce))

    def _cached(self, path: Path, name: str) -> np.ndarray:
        """The shrunk copy of ``path`` (longer side ``cache_side``), made and written atomically if missing."""
        copy = self.cache / str(self.cache_side) / name
        img = cv2.imread(str(copy), cv2.IMREAD_COLOR) if copy.is_file() else None
        if img is not None:
            return img
        full = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if full is None:
            raise FileNotFoundError(f"cannot read image {path}")
        h, w = full.shape[:2]
        k = self.cache_side / max(h, w)
        img = cv2.resize(full, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_name(f".{copy.name}.{os.getpid()}.jpg")
        cv2.imwrite(str(tmp), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        os.replace(tmp, copy)                     # several workers may make the same copy: the last one wins
        return img

    def people(self, i: int) -> ImagePeople:
        """The ``i``-th image's people (part order, image pixels) and ignore regions: at full resolution, or with
        an image cache at the cached copy's (made once, like the copy: decoding crowd masks costs as much)."""
        info = self.coco.imgs[self.ids[i]]
        if self.cache is None or max(info["width"], info["height"]) <= self.cache_side:
            return image_people(self.coco, self.ids[i])
        base = self.cache / str(self.cache_side) / info["file_name"]
        mask, none = base.with_name(base.name + ".ignore.png"), base.with_name(base.name + ".noignore")
        people = image_people(self.coco, self.ids[i], with_ignore=False)
        if none.is_file():
            return people
        small = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) if mask.is_file() else None
        if small is None:
            full = image_people(self.coco, self.ids[i]).ignore
            mask.parent.mkdir(parents=True, exist_ok=True)
            if full is None:
                none.touch()
                return people
            k = self.cache_side / max(full.shape)
            size = (max(1, round(full.shape[1] * k)), max(1, round(full.shape[0] * k)))
            small = (cv2.resize(full.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
            tmp = mask.with_name(f".{mask.name}.{os.getpid()}.png")
            cv2.imwrite(str(tmp), small * 255)
            os.replace(tmp, mask)
        return ImagePeople(people.parts, small > 0, people.areas, people.ann_ids)

    def transform(self, source: "Decoded", people: ImagePeople, plan: "Plan"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Augmentation: the image warped into the ``S x S`` input, its ``(N, 18, 3)`` parts in input pixels
        and the ``(S, S)`` bool ignore mask (or None), mirrored where the plan says (left and right swap)."""
        m, fx, fy = plan.matrix, source.fx, source.fy
        # a pixel of a shrunk image covers f x f pixels of the full one: x_full = f x + (f - 1) / 2
        shrink = np.array([[fx, 0.0, (fx - 1) / 2], [0.0, fy, (fy - 1) / 2], [0.0, 0.0, 1.0]])
        m_img = m @ shrink
        img = cv2.warpAffine(source.image, m_img, (self.size, self.size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(self.pre.pad_value,) * 3)
        parts = people.parts.copy()
        if len(parts):
            parts[..., :2] = parts[..., :2] @ m[:, :2].T + m[:, 2]
            if plan.flip:
                parts = parts[..., FLIP_PARTS, :]
        ignore = None
        if people.ignore is not None:                  # at full size, or the cache's: its own shrink
            gx, gy = plan.width / people.ignore.shape[1], plan.height / people.ignore.shape[0]
            m_ign = m @ np.array([[gx, 0.0, (gx - 1) / 2], [0.0, gy, (gy - 1) / 2], [0.0, 0.0, 1.0]])
            ignore = cv2.warpAffine(people.ignore.astype(np.uint8), m_ign, (self.size, self.size),
                                    flags=cv2.INTER_NEAREST) > 0
        return img, parts, ignore

    def target_fields(self, parts: np.ndarray, ignore: np.ndarray | None) -> Targets:
        """The target fields of one sample (see :class:`ssapose.targets.Targets`)."""
        return encode_targets(parts, self.size, self.size, self.targets, ignore)

    def tensors(self, img: np.ndarray, targets: Targets):
        """The ``(3, S, S)`` input and the targets, as tensors: the input normalised (float32), or with
        ``raw_input`` the BGR uint8 pixels, a quarter of the bytes, which :func:`normalise_batch` normalises on
        the training device."""
        if self.raw_input:
            x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
            return x, {k: torch.from_numpy(v) for k, v in vars(targets).items()}
        x = torch.from_numpy(normalise(img, self.pre))
        return x, {k: torch.from_numpy(v) for k, v in vars(targets).items()}

    def __getitem__(self, i: int):
        plan = self.plan(i)
        img, parts, ignore = self.transform(self.image(i, plan.reduce), self.people(i), plan)
        return self.tensors(img, self.target_fields(parts, ignore))


@dataclass(frozen=True)
class Decoded:
    """A decoded image and how much smaller it is than the annotated one: ``fx``, ``fy`` annotated pixels per
    pixel (1 at full size)."""

    image: np.ndarray
    fx: float
    fy: float


@dataclass(frozen=True)
class Plan:
    """One sample's augmentation: ``matrix (2, 3)`` from image pixels to input pixels (the mirror included),
    ``flip`` (left and right parts swap), ``reduce``: the JPEG is decoded at ``1 / reduce`` of its size; ``width``,
    ``height``: the annotated image size in pixels."""

    matrix: np.ndarray
    flip: bool
    reduce: int
    width: int = 0                 # the annotated image size in pixels
    height: int = 0


REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
           8: cv2.IMREAD_REDUCED_COLOR_8}


def normalise_batch(x: torch.Tensor, pre: Preprocess) -> torch.Tensor:
    """``(B, 3, S, S)`` BGR uint8 -> float32 normalised as ``ssapose.preprocess.normalise`` does, on x's device."""
    x = x.float()
    if pre.rgb:
        x = x.flip(1)
    std = torch.tensor(pre.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    mean = torch.tensor(pre.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return x * (1.0 / (255.0 * std)) - mean / std


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
