"""Track ids across frames by OKS matching, with One-Euro smoothing of keypoints, and the figures
that say how well it went: ID switches, track lengths and keypoint jitter."""
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
                    tr.keypoints, tr.missed = poses.keypoints[pi].copy(), 0     # match on detections, not on
                    # the smoothed track, so that smoothing never costs an id
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

    def set_smoothing(self, min_cutoff: float, beta: float) -> None:
        """Change the One-Euro parameters now, for the tracks that exist and the ones to come."""
        self.min_cutoff, self.beta = min_cutoff, beta
        for t in self.tracks:
            t.filt.min_cutoff, t.filt.beta = min_cutoff, beta

    def describe(self) -> str:
        return (f"OKS matching (min_oks {self.min_oks}, max_missed {self.max_missed} frames), One-Euro "
                f"smoothing {'on' if self.smooth else 'off'} (min_cutoff {self.min_cutoff} Hz, beta {self.beta})")


def second_difference_rms(series: np.ndarray) -> np.ndarray:
    """``(T, 17, 3)`` keypoints of one track -> per keypoint the RMS of ``x[t+1] - 2 x[t] + x[t-1]`` (pixels),
    over the triples where the keypoint is present all three times; NaN where there is none."""
    if len(series) < 3:
        return np.full(series.shape[1], np.nan)
    d2 = series[2:, :, :2] - 2 * series[1:-1, :, :2] + series[:-2, :, :2]          # (T-2, 17, 2)
    ok = (series[2:, :, 2] > 0) & (series[1:-1, :, 2] > 0) & (series[:-2, :, 2] > 0)
    sq = np.where(ok, (d2 ** 2).sum(-1), 0.0).sum(0)
    n = ok.sum(0)
    return np.where(n > 0, np.sqrt(sq / np.maximum(n, 1)), np.nan)


class TrackStats:
    """Collects tracked frames and reports what users complain about: ID switches and jitter.

    ID switches, without ground truth: a new id that starts within ``gap`` frames of another id's
    last frame and matches that id's last pose (OKS >= ``min_oks``) is counted as the same person
    re-identified under a new id.
    """

    def __init__(self, gap: int = 15, min_oks: float = 0.3):
        self.gap, self.min_oks = gap, min_oks
        self.raw: dict[int, list] = {}
        self.smooth: dict[int, list] = {}
        self.first: dict[int, tuple[int, np.ndarray]] = {}
        self.last: dict[int, tuple[int, np.ndarray]] = {}
        self.frames = 0

    def add(self, index: int, raw: Poses, smoothed: Poses, ids: np.ndarray) -> None:
        self.frames += 1
        for n, ident in enumerate(ids.tolist()):
            if ident < 0:
                continue
            self.raw.setdefault(ident, []).append((index, raw.keypoints[n]))
            self.smooth.setdefault(ident, []).append((index, smoothed.keypoints[n]))
            self.first.setdefault(ident, (index, raw.keypoints[n]))
            self.last[ident] = (index, raw.keypoints[n])

    def id_switches(self) -> int:
        switches = 0
        for ident, (start, pose) in self.first.items():
            for other, (end, last) in self.last.items():
                if other != ident and 0 < start - end <= self.gap and \
                        oks_matrix(last[None], pose[None])[0, 0] >= self.min_oks:
                    switches += 1
                    break
        return switches

    def jitter(self, which: str) -> np.ndarray:
        """Per keypoint RMS second difference over consecutive frames of every track (pixels)."""
        tracks = self.raw if which == "raw" else self.smooth
        sq, n = np.zeros(17), np.zeros(17)
        for items in tracks.values():
            idx = np.array([i for i, _ in items])
            kp = np.stack([k for _, k in items])
            for run in np.split(np.arange(len(idx)), np.flatnonzero(np.diff(idx) != 1) + 1):
                r = second_difference_rms(kp[run])
                ok = np.isfinite(r)
                count = max(len(run) - 2, 0)
                sq[ok] += r[ok] ** 2 * count
                n[ok] += count
        return np.where(n > 0, np.sqrt(sq / np.maximum(n, 1)), np.nan)

    def summary(self) -> dict:
        lengths = [len(v) for v in self.raw.values()]
        raw, smooth = self.jitter("raw"), self.jitter("smoothed")
        return {"frames": self.frames, "tracks": len(lengths), "mean_track_length": float(np.mean(lengths)) if lengths
                else 0.0, "id_switches": self.id_switches(), "jitter_raw_px": float(np.nanmean(raw)) if
                np.isfinite(raw).any() else float("nan"), "jitter_smoothed_px": float(np.nanmean(smooth)) if
                np.isfinite(smooth).any() else float("nan"), "jitter_raw_per_keypoint": raw.round(2).tolist(),
                "jitter_smoothed_per_keypoint": smooth.round(2).tolist()}

    def describe(self) -> str:
        s = self.summary()
        px = lambda v: "n/a" if np.isnan(v) else f"{v:.2f} px"           # noqa: E731 (no track of 3+ frames)
        return (f"tracking: {s['tracks']} tracks over {s['frames']} frames, mean length {s['mean_track_length']:.1f} "
                f"frames, {s['id_switches']} ID switches; keypoint jitter (RMS second difference) "
                f"{px(s['jitter_raw_px'])} raw, {px(s['jitter_smoothed_px'])} smoothed")
