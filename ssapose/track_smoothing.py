"""Offline smoothing of tracked keypoints: short gaps filled, then a zero-phase fit weighted by keypoint score.

For recorded video, where every frame of a track is known before any is smoothed (the live One-Euro filter of
``ssapose.tracking`` sees only the past, so it lags and cannot fill a missed frame):

1. **Gaps**: a keypoint missing for at most ``max_gap`` frames between two frames that have it (the whole person
   missing, or that keypoint) is interpolated linearly; such values are marked as filled.
2. **Fit**: each keypoint's x and y are replaced by a local quadratic fitted over ``window`` frames centred on the
   frame, each detected sample weighted by its score (filled ones weigh nothing): a Savitzky-Golay filter with
   weights. It is symmetric in time (zero phase: no lag), follows a turn or a step of real motion better than a
   low-pass run forward and backward (which flattens peaks of fast motion), and lets a confident detection count
   more than a doubtful one. Where a window holds fewer than three detected samples the value is left as it is.

Keypoints with no support (missing, and not in a short gap) stay missing. Shapes: a track is ``(T, 17, 3)``
keypoints (x, y in pixels, score; score 0: missing) on consecutive frames of the file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

METHOD = "gaps filled linearly, then a score-weighted local quadratic (Savitzky-Golay) over a centred window"


@dataclass(frozen=True)
class SmoothConfig:
    """max_gap: longest run of missing frames filled, frames; window: frames of each local fit (odd, >= 3)."""

    max_gap: int = 5
    window: int = 9

    def __post_init__(self):
        if self.max_gap < 0 or self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"max_gap >= 0 and an odd window >= 3 frames, got {self.max_gap} and {self.window}")

    def describe(self) -> dict:
        """What a smoothed file's header records."""
        return {"method": METHOD, **asdict(self)}


def fill_gaps(kp: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 17, 3)`` keypoints with every run of at most ``max_gap`` missing frames between two present ones
    interpolated linearly (score: the lower of the two neighbours'); and the ``(T, 17)`` mask of filled values."""
    out = kp.astype(np.float64).copy()
    t = np.arange(len(kp))[:, None]
    have = kp[..., 2] > 0                                                    # (T, 17)
    prev = np.maximum.accumulate(np.where(have, t, -1), axis=0)              # last present frame at or before
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(have, t, len(kp)), 0), axis=0), 0)
    filled = ~have & (prev >= 0) & (nxt < len(kp)) & (nxt - prev - 1 <= max_gap)
    if not filled.any():
        return out, filled
    j = np.arange(kp.shape[1])[None].repeat(len(kp), 0)
    p, n = np.clip(prev, 0, len(kp) - 1), np.clip(nxt, 0, len(kp) - 1)
    a = ((t - p) / np.maximum(n - p, 1))[..., None]                          # (T, 17, 1)
    between = out[p, j, :2] * (1 - a) + out[n, j, :2] * a
    out[..., :2] = np.where(filled[..., None], between, out[..., :2])
    out[..., 2] = np.where(filled, np.minimum(out[p, j, 2], out[n, j, 2]), out[..., 2])
    return out, filled


def weighted_fit(values: np.ndarray, weights: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Each ``(T, K)`` series replaced by a local quadratic fitted over ``window`` frames centred on each frame,
    weighted by ``weights`` ``(T, K)``; and the ``(T, K)`` mask of frames with at least 3 weighted samples (elsewhere
    the fit is not used)."""
    h = window // 2
    pad = ((h, h), (0, 0))
    x = sliding_window_view(np.pad(values, pad), window, axis=0)            # (T, K, window)
    w = sliding_window_view(np.pad(weights, pad), window, axis=0)
    u = np.arange(-h, h + 1, dtype=np.float64)
    s = [(w * u ** m).sum(-1) for m in range(5)]                              # moments of the weights
    b = [(w * x * u ** m).sum(-1) for m in range(3)]
    a = np.stack([np.stack([s[i + k] for k in range(3)], -1) for i in range(3)], -2)   # (T, K, 3, 3)
    enough = (w > 0).sum(-1) >= 3                                             # 3 distinct frames: solvable
    a = np.where(enough[..., None, None], a, np.eye(3))
    coef = np.linalg.solve(a, np.stack(b, -1)[..., None])[..., 0]            # (T, K, 3): value at u = 0 first
    return np.where(enough, coef[..., 0], values), enough


def smooth_track(kp: np.ndarray, config: SmoothConfig = SmoothConfig()) -> tuple[np.ndarray, np.ndarray]:
    """One track's ``(T, 17, 3)`` keypoints smoothed, and the ``(T, 17)`` mask of the values filled into gaps."""
    out, filled = fill_gaps(kp, config.max_gap)
    weight = np.where(kp[..., 2] > 0, kp[..., 2], 0.0)                      # detected samples only
    present = out[..., 2] > 0
    for c in (0, 1):
        fitted, _ = weighted_fit(np.where(present, out[..., c], 0.0), weight, config.window)
        out[..., c] = np.where(present, fitted, out[..., c])
    return out, filled
