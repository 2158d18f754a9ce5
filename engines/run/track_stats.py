"""How well tracking went: ID switches, track lengths, fragments and keypoint jitter, from tracked frames."""
from __future__ import annotations

import numpy as np

from ssapose.coco import oks_matrix
from ssapose.poses import Poses


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

    def summary(self, tracker=None) -> dict:
        """The figures as a dict; with the ``tracker`` also the ids it created and its fragments."""
        lengths = [len(v) for v in self.raw.values()]
        raw, smooth = self.jitter("raw"), self.jitter("smoothed")
        nan = float("nan")
        out = {"frames": self.frames, "tracks": len(lengths),
               "ids_created": tracker.created if tracker is not None else len(lengths),
               "fragments": tracker.fragments if tracker is not None else 0,
               "mean_track_length": float(np.mean(lengths)) if lengths else 0.0,
               "track_lengths": sorted(lengths, reverse=True), "id_switches": self.id_switches(),
               "jitter_raw_px": float(np.nanmean(raw)) if np.isfinite(raw).any() else nan,
               "jitter_smoothed_px": float(np.nanmean(smooth)) if np.isfinite(smooth).any() else nan,
               "jitter_raw_per_keypoint": raw.round(2).tolist(), "jitter_smoothed_per_keypoint": smooth.round(2).tolist()}
        return out

    def describe(self, tracker=None) -> str:
        s = self.summary(tracker)
        px = lambda v: "n/a" if np.isnan(v) else f"{v:.2f} px"           # noqa: E731 (no track of 3+ frames)
        lengths = s["track_lengths"]
        span = f"lengths {lengths[-1]}-{lengths[0]} frames (median {int(np.median(lengths))})" if lengths else "no track"
        return (f"tracking: {s['tracks']} confirmed tracks over {s['frames']} frames ({s['ids_created']} ids created), "
                f"{span}, {s['fragments']} fragments never confirmed, {s['id_switches']} ID switches; keypoint "
                f"jitter (RMS second difference) {px(s['jitter_raw_px'])} raw, {px(s['jitter_smoothed_px'])} smoothed")
