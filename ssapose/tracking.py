"""Track ids across frames: tentative and confirmed tracks, two-stage OKS association, lost tracks
re-identified within a time window, and One-Euro smoothing of the confirmed tracks' keypoints.

Per frame, as ByteTrack does with boxes (here with poses and OKS):

1. confident detections (score >= ``high_score``) are matched to the confirmed tracks, the lost ones
   included, by OKS against each track's pose *predicted* to this frame (constant velocity);
2. weak detections (``low_score`` <= score < ``high_score``) are matched to the confirmed tracks
   still unmatched and not lost, so a person whose skeleton weakens for a frame keeps the track;
   those left then to the lost ones: a weak detection may start a track (4.), so where a lost
   track is predicted it is that person coming back (ByteTrack starts tracks from confident
   detections only, and so never meets this);
3. the confident detections left are matched to the tentative tracks;
4. the detections still left that score at least ``start_score`` start tentative tracks.

A tentative track is confirmed once it has been matched in ``min_hits`` frames of its first
``confirm_window``; only then it gets an id (consecutive from 1), is smoothed and written with a
``track_id``. One that cannot reach ``min_hits`` any more is dropped (a *fragment*). A confirmed
track that goes unmatched is *lost*: kept for ``max_lost_s`` seconds of the source's own clock and
re-identified, same id, when a person appears close to its predicted pose.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ssapose.appearance import Appearance, describe, similarity
from ssapose.poses import Poses
from ssapose.coco import oks_matrix


def one_euro_step(x_prev: np.ndarray, dx_prev: np.ndarray, dt, x: np.ndarray, min_cutoff: float, beta: float,
                  d_cutoff: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One step of the One-Euro filter (Casiez et al. 2012) on arrays of any shape (``dt`` in seconds,
    broadcast against them). Returns the filtered values and their filtered derivative."""
    dt = np.maximum(dt, 1e-3)
    a_d = 1.0 / (1.0 + 1.0 / (2 * np.pi * d_cutoff * dt))
    dx = dx_prev + a_d * ((x - x_prev) / dt - dx_prev)
    a = 1.0 / (1.0 + 1.0 / (2 * np.pi * (min_cutoff + beta * np.abs(dx)) * dt))
    return x_prev + a * (x - x_prev), dx


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) over an array of values, per element."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x = self.dx = None
        self.t = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        if self.x is None:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x.copy()
        self.x, self.dx = one_euro_step(self.x, self.dx, t - self.t, x, self.min_cutoff, self.beta, self.d_cutoff)
        self.t = t
        return self.x.copy()


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker's parameters (defaults measured on the demo clip and the two GIFs: BENCHMARKS.md).

    high_score / low_score: pose scores (the decoder's, 0-1) of confident and weak detections;
        below ``low_score`` a detection is ignored by the tracker (still drawn and written, without id).
    start_score: lowest score of a detection that starts a tentative track (a person entering the
        frame scores low at first: half their body is outside).
    min_oks: lowest OKS, against the predicted pose, that continues a track.
    min_hits, confirm_window: a tentative track is confirmed when matched in ``min_hits`` of its
        first ``confirm_window`` frames.
    max_lost_s: seconds (of the source's clock) a lost track waits to be re-identified.
    smooth, min_cutoff (Hz), beta: One-Euro smoothing of confirmed tracks.
    reid_s: seconds a person who left keeps their id for re-identification by appearance (0: off; needs the
        frames: ``tracker(poses, t, frame)``); reid_min: the lowest appearance similarity (Bhattacharyya
        coefficient of colour histograms, ``ssapose.appearance``) at which a new track takes that id.
    """

    high_score: float = 0.4
    low_score: float = 0.1
    start_score: float = 0.2
    min_oks: float = 0.3
    min_hits: int = 3
    confirm_window: int = 5
    max_lost_s: float = 1.0
    smooth: bool = True
    min_cutoff: float = 1.0
    beta: float = 0.05
    reid_s: float = 0.0
    reid_min: float = 0.9


@dataclass
class _Track:
    keypoints: np.ndarray                    # (17, 3) the last matched detection, pixels
    t: float                                 # when it was last matched (s)
    smoothed: np.ndarray                     # (17, 2) One-Euro state: filtered positions (px)...
    speed: np.ndarray = field(default_factory=lambda: np.zeros((17, 2)))       # ...and their derivative (px / s)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros((17, 2)))    # px / s, of the detections
    ident: int = 0                           # 0 while tentative
    hits: int = 1
    age: int = 1                             # frames since it started (tentative tracks)
    lost: bool = False
    look: Appearance | None = None           # its colours, for re-identification (reid_s > 0)



def _update(tracks: list[_Track], kp: np.ndarray, t: float, config: TrackerConfig) -> np.ndarray:
    """Move ``tracks`` on to their matched detections ``kp (M, 17, 3)`` at time ``t``, all at once: the
    velocity (half old, half new, where a keypoint was seen both times; the body's mean elsewhere) and the
    One-Euro state of the keypoints seen now. Returns the smoothed positions ``(M, 17, 2)``."""
    old = np.stack([tr.keypoints for tr in tracks])
    dt = np.array([t - tr.t for tr in tracks])[:, None, None]
    seen = kp[..., 2] > 0
    both = seen & (old[..., 2] > 0)
    v = (kp[..., :2] - old[..., :2]) / np.maximum(dt, 1e-6)
    body = (v * both[..., None]).sum(1, keepdims=True) / np.maximum(both.sum(1), 1)[:, None, None]
    v = np.where(both[..., None], v, body)
    vel = np.stack([tr.velocity for tr in tracks])
    vel = np.where((both.any(1) & (dt[:, 0, 0] > 0))[:, None, None], 0.5 * (vel + v), vel)
    x, dx = np.stack([tr.smoothed for tr in tracks]), np.stack([tr.speed for tr in tracks])
    nx, ndx = one_euro_step(x, dx, dt, kp[..., :2], config.min_cutoff, config.beta)
    x, dx = np.where(seen[..., None], nx, x), np.where(seen[..., None], ndx, dx)
    for m, tr in enumerate(tracks):
        tr.keypoints, tr.t, tr.lost, tr.hits = kp[m].copy(), t, False, tr.hits + 1
        tr.velocity, tr.smoothed, tr.speed = vel[m], x[m], dx[m]
    return x


class Tracker:
    """Callable ``(Poses, t seconds) -> (Poses, ids)``: ids ``(N,) int64``, -1 for detections without
    a confirmed track; the returned poses carry the smoothed keypoints of confirmed tracks.

    ``created`` counts confirmed ids, ``fragments`` tentative tracks that never confirmed.
    """

    def __init__(self, config: TrackerConfig | None = None, **overrides):
        import dataclasses

        self.config = dataclasses.replace(config or TrackerConfig(), **overrides)
        self.tracks: list[_Track] = []
        self.created = self.fragments = self.reidentified = 0
        self.departed: list[tuple[int, np.ndarray, float]] = []   # (id, appearance, last seen s) of people gone

    @property
    def wants_frame(self) -> bool:
        """Whether calls should pass the frame (re-identification by appearance)."""
        return self.config.reid_s > 0

    # one-Euro parameters, live (the app's sliders)
    @property
    def min_cutoff(self) -> float:
        return self.config.min_cutoff

    @property
    def beta(self) -> float:
        return self.config.beta

    def set_smoothing(self, min_cutoff: float, beta: float) -> None:
        """Change the One-Euro parameters now, for the tracks that exist and the ones to come."""
        import dataclasses

        self.config = dataclasses.replace(self.config, min_cutoff=min_cutoff, beta=beta)

    def __call__(self, poses: Poses, t: float, frame: np.ndarray | None = None) -> tuple[Poses, np.ndarray]:
        """Ids for ``poses`` at time ``t`` (s); ``frame``: the BGR image they were found in, for re-identification
        by appearance (``reid_s``)."""
        c = self.config
        kp, scores = poses.keypoints, poses.scores
        owner = np.full(len(kp), -1, np.int64)          # detection -> index in self.tracks
        high = np.flatnonzero(scores >= c.high_score)
        low = np.flatnonzero((scores >= c.low_score) & (scores < c.high_score))
        confirmed = [i for i, tr in enumerate(self.tracks) if tr.ident]
        tentative = [i for i, tr in enumerate(self.tracks) if not tr.ident]
        left = self._associate(confirmed, high, kp, t, owner)                    # 1. confident, all confirmed
        taken = set(owner.tolist())
        active = [i for i in confirmed if i not in taken and not self.tracks[i].lost]
        weak = self._associate(active, low, kp, t, owner)                        # 2. weak, the active ones
        lost = [i for i in confirmed if i not in taken and self.tracks[i].lost]
        self._associate(lost, weak, kp, t, owner)                                # 2b. weak, the lost ones
        left = self._associate(tentative, left, kp, t, owner)                    # 3. confident, tentative
        taken = set(owner.tolist())                                              # tracks matched so far
        weak_left = self._associate([i for i in tentative if i not in taken], low[owner[low] < 0],
                                    kp, t, owner)                                # 3b. weak, tentative
        left = np.concatenate([left, weak_left]).astype(np.int64)
        left = left[scores[left] >= c.start_score]
        dets = np.flatnonzero(owner >= 0)
        out, ids = kp.copy(), np.full(len(kp), -1, np.int64)
        smoothed = _update([self.tracks[i] for i in owner[dets]], kp[dets], t, c) if len(dets) else None
        matched = set(owner[dets].tolist())
        if frame is not None and c.reid_s > 0 and len(dets):
            for d, look in zip(dets, describe(frame, kp[dets])):
                tr = self.tracks[owner[d]]
                tr.look = tr.look or Appearance()
                tr.look.add(look)
        for i, tr in enumerate(self.tracks):
            if i not in matched and tr.ident:
                tr.lost = True
            tr.age += 0 if tr.ident else 1
            if not tr.ident and tr.hits >= c.min_hits:
                tr.ident = self._returning(tr) or self._new_id()
        for m, d in enumerate(dets):                # the smoothing was warmed up while the track was tentative
            tr = self.tracks[owner[d]]
            if tr.ident:
                ids[d] = tr.ident
                if c.smooth:
                    vis = kp[d, :, 2] > 0
                    out[d, vis, :2] = smoothed[m, vis]
        for d in left:                                                           # 4. new tentative tracks
            self.tracks.append(_Track(kp[d].copy(), t, kp[d, :, :2].copy()))
            if c.min_hits <= 1:
                self.tracks[-1].ident = ids[d] = self._new_id()
        self._forget(t)
        return Poses(out, scores.copy(), ids), ids

    def _associate(self, tracks: list[int], dets: np.ndarray, kp: np.ndarray, t: float,
                   owner: np.ndarray) -> np.ndarray:
        """Hungarian matching of ``dets`` to ``tracks`` on OKS against each track's predicted pose (and its
        last pose: the better of the two, so a noisy velocity costs no match); writes ``owner``.
        Returns the detections left unmatched."""
        if not len(tracks) or not len(dets):
            return np.asarray(dets, np.int64)
        from scipy.optimize import linear_sum_assignment         # 0.6 s to import: not before it is needed
        last = np.stack([self.tracks[i].keypoints for i in tracks])
        ahead = last.copy()                                           # constant velocity, at most 1 s ahead
        gap = np.clip(t - np.array([self.tracks[i].t for i in tracks]), 0.0, 1.0)
        ahead[..., :2] += np.stack([self.tracks[i].velocity for i in tracks]) * gap[:, None, None]
        sim = oks_matrix(np.concatenate([ahead, last]), kp[dets])
        sim = np.maximum(sim[:len(tracks)], sim[len(tracks):])
        rows, cols = linear_sum_assignment(-sim)
        ok = sim[rows, cols] >= self.config.min_oks
        owner[dets[cols[ok]]] = np.asarray(tracks)[rows[ok]]
        unmatched = np.ones(len(dets), bool)
        unmatched[cols[ok]] = False
        return dets[unmatched]

    def _new_id(self) -> int:
        self.created += 1
        return self.created

    def _returning(self, tr: _Track) -> int:
        """The id of a person who left and whom the new track ``tr`` looks like (``reid_min``), or 0: the most
        similar of those gone within ``reid_s``, none of them in view now."""
        if tr.look is None or not self.departed:
            return 0
        mine = tr.look.mean()
        sims = np.nan_to_num([similarity(mine, look) for _, look, _ in self.departed], nan=-1.0)
        k = int(np.argmax(sims))
        if sims[k] < self.config.reid_min:
            return 0
        self.reidentified += 1
        return self.departed.pop(k)[0]

    def _forget(self, t: float) -> None:
        c = self.config
        keep = []
        self.departed = [d for d in self.departed if t - d[2] <= c.reid_s]
        for tr in self.tracks:
            if tr.ident:
                if not (tr.lost and t - tr.t > c.max_lost_s):
                    keep.append(tr)
                elif c.reid_s > 0 and tr.look is not None:             # gone: remembered by appearance
                    self.departed.append((tr.ident, tr.look.mean(), tr.t))
            elif tr.hits + (c.confirm_window - tr.age) >= c.min_hits:     # it can still confirm
                keep.append(tr)
            else:
                self.fragments += 1
        self.tracks = keep

    def describe(self) -> str:
        c = self.config
        return (f"two-stage OKS tracking (confident >= {c.high_score}, weak >= {c.low_score}, min_oks {c.min_oks}), "
                f"confirmed after {c.min_hits} of {c.confirm_window} frames, lost tracks kept {c.max_lost_s} s; "
                f"One-Euro smoothing {'on' if c.smooth else 'off'} (min_cutoff {c.min_cutoff} Hz, beta {c.beta})"
                + (f"; people who leave re-identified by appearance for {c.reid_s:g} s (similarity >= "
                   f"{c.reid_min:g})" if c.reid_s > 0 else ""))
