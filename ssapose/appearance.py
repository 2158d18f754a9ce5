"""A person's appearance from their own pixels, for re-identification: colour histograms of the parts the keypoints
outline. No network.

A descriptor is ``(PARTS, BINS)``: one histogram (summing to 1) per part: the torso (the quadrilateral of shoulders
and hips), the legs (bands from each hip through the knee to the ankle), the arms (bands from each shoulder through
the elbow to the wrist: sleeves or skin) and the head (a disc around the head keypoints seen: hair), a row of NaN
where a part is not seen well enough. Colourful pixels fall in hue x saturation bins; grey, black and white ones,
whose hue means nothing, in brightness bins of their own. Keypoint coordinates are frame pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

HUE_BINS, SAT_BINS, GREY_BINS = 12, 3, 4
BINS = HUE_BINS * SAT_BINS + GREY_BINS
PARTS = 4
#: Below this saturation or value (0-255) a pixel counts as grey (black to white).
GREY_BELOW = 50
#: COCO keypoints.
HEAD = (0, 1, 2, 3, 4)
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 11, 12, 13, 14, 15, 16
#: A keypoint counts when its score is at least this.
MIN_SCORE = 0.3
#: Pixels a part must cover to be described.
MIN_PIXELS = 150


def _histogram(hsv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The masked pixels' histogram (hue x saturation for colourful pixels, brightness for grey ones), summing to 1;
    NaN when too few pixels."""
    px = hsv[mask > 0].astype(np.int32)                                       # (P, 3)
    if len(px) < MIN_PIXELS:
        return np.full(BINS, np.nan)
    grey = (px[:, 1] < GREY_BELOW) | (px[:, 2] < GREY_BELOW)
    colour = px[:, 0] * HUE_BINS // 180 * SAT_BINS + (px[:, 1] - GREY_BELOW).clip(0) * SAT_BINS // (256 - GREY_BELOW)
    bins = np.where(grey, HUE_BINS * SAT_BINS + px[:, 2] * GREY_BINS // 256, colour)
    h = np.bincount(bins, minlength=BINS).astype(np.float64)
    return h / h.sum()


def _bands(shape, kp: np.ndarray, ok: np.ndarray, chains, width: float) -> np.ndarray:
    """A mask of thick lines along the keypoint ``chains`` (each link drawn when both ends are seen)."""
    mask = np.zeros(shape, np.uint8)
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            if ok[a] and ok[b] and width > 0:
                cv2.line(mask, tuple(np.round(kp[a, :2]).astype(int)), tuple(np.round(kp[b, :2]).astype(int)), 1,
                         max(2, int(width)))
    return mask


def _apart(kp: np.ndarray, ok: np.ndarray, a: int, b: int) -> float:
    """Pixels between keypoints ``a`` and ``b`` (a hip's or shoulders' width), 0 unless both are seen."""
    return float(np.linalg.norm(kp[a, :2] - kp[b, :2])) if ok[a] and ok[b] else 0.0


def describe(frame: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """``(N, PARTS, BINS)`` descriptors of the ``(N, 17, 3)`` people in the BGR ``frame``: torso, legs, arms, head."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    out = np.full((len(keypoints), PARTS, BINS), np.nan)
    shape = frame.shape[:2]
    for n, kp in enumerate(keypoints):
        ok = kp[:, 2] >= MIN_SCORE
        torso = [L_SHOULDER, R_SHOULDER, R_HIP, L_HIP]
        if ok[torso].all():
            mask = np.zeros(shape, np.uint8)
            cv2.fillConvexPoly(mask, np.round(kp[torso, :2]).astype(np.int32), 1)
            out[n, 0] = _histogram(hsv, mask)
        hips, shoulders = _apart(kp, ok, L_HIP, R_HIP), _apart(kp, ok, L_SHOULDER, R_SHOULDER)
        out[n, 1] = _histogram(hsv, _bands(shape, kp, ok, ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)),
                                           0.5 * hips))
        out[n, 2] = _histogram(hsv, _bands(shape, kp, ok, ((L_SHOULDER, L_ELBOW, L_WRIST),
                                                           (R_SHOULDER, R_ELBOW, R_WRIST)), 0.25 * shoulders))
        head = [k for k in HEAD if ok[k]]
        if head and shoulders > 0:
            mask = np.zeros(shape, np.uint8)
            centre = np.round(kp[head, :2].mean(axis=0)).astype(int)
            cv2.circle(mask, tuple(centre), max(2, int(0.3 * shoulders)), 1, -1)
            out[n, 3] = _histogram(hsv, mask)
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two ``(PARTS, BINS)`` descriptors are: the Bhattacharyya coefficient of each part both describe
    (1: the same colours), the lowest of them (every part seen must match: two people in black differ in their bare
    arms); NaN when they share none."""
    both = ~np.isnan(a[:, 0]) & ~np.isnan(b[:, 0])
    if not both.any():
        return float("nan")
    return float(np.sqrt(a[both] * b[both]).sum(axis=1).min())


class Appearance:
    """A track's appearance: the mean of its descriptors over the frames where a part was seen."""

    def __init__(self):
        self.sum, self.count = np.zeros((PARTS, BINS)), np.zeros(PARTS)

    def add(self, descriptor: np.ndarray) -> None:
        seen = ~np.isnan(descriptor[:, 0])
        self.sum[seen] += descriptor[seen]
        self.count[seen] += 1

    def mean(self) -> np.ndarray:
        """``(PARTS, BINS)``, NaN rows for parts never seen."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count[:, None] > 0, self.sum / self.count[:, None], np.nan)

    @property
    def frames(self) -> int:
        return int(self.count.max())
