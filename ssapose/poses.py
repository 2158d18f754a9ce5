"""Poses: the decoder's output, and its conversions to COCO results."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssapose.skeleton import NUM_COCO_KEYPOINTS, PERSON_CATEGORY, parts_to_coco


@dataclass
class Poses:
    """People found in one image.

    keypoints ``(N, 17, 3) float32``: COCO order, ``(x, y, score)`` in input
    pixels, score 0 for a missing keypoint; scores ``(N,) float32``: person
    confidence in [0, 1]; ids ``(N,) int``: track ids when a tracker ran (-1: not yet confirmed), else None.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    ids: np.ndarray | None = None

    @staticmethod
    def empty() -> "Poses":
        return Poses(np.zeros((0, NUM_COCO_KEYPOINTS, 3), np.float32), np.zeros((0,), np.float32))

    @staticmethod
    def from_parts(parts: np.ndarray, scores: np.ndarray) -> "Poses":
        """From ``(N, 18, 3)`` part-order people (the neck is dropped)."""
        if len(parts) == 0:
            return Poses.empty()
        return Poses(parts_to_coco(parts).astype(np.float32), np.asarray(scores, np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def heights(self) -> np.ndarray:
        """``(N,) float32`` each person's vertical extent of present keypoints, in the keypoints' pixels (0 with
        fewer than 2)."""
        present = self.keypoints[..., 2] > 0
        y = self.keypoints[..., 1]
        top = np.where(present, y, np.inf).min(axis=1, initial=np.inf)
        bottom = np.where(present, y, -np.inf).max(axis=1, initial=-np.inf)
        return np.where(present.sum(axis=1) >= 2, bottom - top, 0.0).astype(np.float32)

    def take(self, keep: np.ndarray) -> "Poses":
        """The poses where ``keep`` (``(N,)`` bool or indices) says, in their order, ids kept."""
        return Poses(self.keypoints[keep], self.scores[keep], None if self.ids is None else self.ids[keep])

    def shown(self, min_score: float) -> np.ndarray:
        """``(N,) bool``: the poses a user is shown: score at least ``min_score`` (``DecoderConfig.shown_score``)
        or a confirmed track's (``ids >= 0``: the tracker keeps a person it follows through a weak frame)."""
        keep = self.scores >= min_score
        return keep | (self.ids >= 0) if self.ids is not None else keep

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> "Poses":
        """Map keypoints by ``x' = x * sx + dx``, ``y' = y * sy + dy`` (missing ones stay 0)."""
        kp = self.keypoints.copy()
        present = kp[..., 2] > 0
        kp[..., 0] = np.where(present, kp[..., 0] * sx + dx, 0.0)
        kp[..., 1] = np.where(present, kp[..., 1] * sy + dy, 0.0)
        return Poses(kp, self.scores.copy(), None if self.ids is None else self.ids.copy())

    def to_json(self) -> list[dict]:
        """One JSON-ready dict per person: ``keypoints`` 17 x ``[x, y, score]`` (pixels, rounded to 0.01),
        ``score`` and ``track_id`` (-1 without tracking)."""
        ids = self.ids if self.ids is not None else np.full(len(self), -1)
        return [{"keypoints": [[round(float(x), 2), round(float(y), 2), round(float(c), 3)] for x, y, c in kp],
                 "score": round(float(s), 4), "track_id": int(i)}
                for kp, s, i in zip(self.keypoints, self.scores, ids)]

    def to_coco(self, image_id: int) -> list[dict]:
        """The same as :meth:`to_coco_results` (COCO's results format, for ``pycocotools``)."""
        return self.to_coco_results(image_id)

    def to_coco_results(self, image_id: int) -> list[dict]:
        """COCO keypoint results: one dict per person, ``keypoints`` as 51 floats."""
        out = []
        for kp, s in zip(self.keypoints, self.scores):
            flat = kp.astype(np.float64).copy()
            flat[:, 2] = np.where(kp[:, 2] > 0, 1.0, 0.0)
            out.append({"image_id": int(image_id), "category_id": PERSON_CATEGORY,
                        "keypoints": [round(float(v), 2) for v in flat.ravel()], "score": float(s)})
        return out
