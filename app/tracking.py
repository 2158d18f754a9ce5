"""Track ids across frames by OKS matching, with One-Euro smoothing of keypoints."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ssapose.poses import Poses
from ssapose.skeleton import COCO_SIGMAS


def oks_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Object keypoint similarity between ``(N, 17, 3)`` and ``(M, 17, 3)`` poses, ``(N, M)``.

    The scale is the area of ``a``'s keypoint box; keypoints missing in either count as 0.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    va, vb = a[..., 2] > 0, b[..., 2] > 0
    lo = np.where(va[..., None], a[..., :2], np.inf).min(1)
    hi = np.where(va[..., None], a[..., :2], -np.inf).max(1)
    area = np.maximum(np.prod(np.maximum(hi - lo, 1.0), axis=1), 1.0)          # (N,)
    d2 = ((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(-1)                  # (N, M, 17)
    k2 = (2 * COCO_SIGMAS) ** 2
    e = np.exp(-d2 / (2 * area[:, None, None] * k2))
    both = va[:, None] & vb[None]
    return (e * both).sum(-1) / np.maximum(va.sum(1)[:, None], 1)


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) over an array of values, per element."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x = self.dx = None
        self.t = None

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        if self.x is None:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = max(t - self.t, 1e-3)
        dx = (x - self.x) / dt
        self.dx = self.dx + self._alpha(self.d_cutoff, dt) * (dx - self.dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self.dx)
        self.x = self.x + self._alpha(cutoff, dt) * (x - self.x)
        self.t = t
        return self.x.copy()


@dataclass
class _Track:
    ident: int
    keypoints: np.ndarray
    missed: int
    filt: OneEuro


class Tracker:
    """Assign stable ids: Hungarian matching on OKS to the tracks of the last frames.

    Args:
        min_oks: lowest OKS that continues a track.
        max_missed: frames a track survives unmatched.
        smooth: One-Euro smoothing of matched keypoints (``min_cutoff``, ``beta``).
    """

    def __init__(self, min_oks: float = 0.3, max_missed: int = 10, smooth: bool = True,
                 min_cutoff: float = 1.0, beta: float = 0.05):
        self.min_oks, self.max_missed, self.smooth = min_oks, max_missed, smooth
        self.min_cutoff, self.beta = min_cutoff, beta
        self.tracks: list[_Track] = []
        self.next_id = 0

    def __call__(self, poses: Poses, timestamp: float) -> tuple[Poses, np.ndarray]:
        kp = poses.keypoints.copy()
        ids = np.full(len(kp), -1, np.int64)
        prev = np.stack([t.keypoints for t in self.tracks]) if self.tracks else np.zeros((0, 17, 3))
        sim = oks_matrix(prev, kp)
        matched = set()
        if sim.size:
            r, c = linear_sum_assignment(-sim)
            for ti, pi in zip(r, c):
                if sim[ti, pi] >= self.min_oks:
                    tr = self.tracks[ti]
                    ids[pi] = tr.ident
                    if self.smooth:
                        vis = kp[pi, :, 2] > 0
                        sm = tr.filt(kp[pi, :, :2], timestamp)
                        kp[pi, vis, :2] = sm[vis]
                    tr.keypoints, tr.missed = kp[pi].copy(), 0
                    matched.add(ti)
        for ti, tr in enumerate(self.tracks):
            if ti not in matched:
                tr.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for pi in np.flatnonzero(ids < 0):
            f = OneEuro(self.min_cutoff, self.beta)
            f(kp[pi, :, :2], timestamp)
            self.tracks.append(_Track(self.next_id, kp[pi].copy(), 0, f))
            ids[pi] = self.next_id
            self.next_id += 1
        return Poses(kp, poses.scores.copy()), ids
