"""Region-of-interest inference on video: the network runs only on the part of the frame where people are.

A frame's region is decided from the people of the frames ``lag`` and more before it (those have left the network by
the time it reaches it): the union of their boxes over the last ``memory`` of those frames, each widened by
``margin`` times the person's height on each side (their motion over ``lag`` frames and the context the network
needs), at the full frame's height and scale, its width rounded up to a multiple of ``bucket`` input pixels so that
a backend compiles only a few input shapes. The full frame runs instead

- on the first frames and at least every ``scan_s`` seconds of the source's clock (new people enter),
- after a frame that lost a person (fewer people than the frame before it: someone may have left the region),
- where the region would be ``max_share`` of the frame's width or more.

Where every person of the recent frames is large (at least ``large_px`` tall in the default input), the region
runs at a lower height, ``low_scale`` of the default (the people stay well above the size the network finds), until
someone is smaller than ``large_px * back_below`` (hysteresis: no flicker at the threshold); full frames always
run at the default height, so that a small newcomer is found.

Between scans a frame whose recent frames had nobody skips the network; before it does, it waits for the last
full frame before it to come through (a scan may just have found someone: the frames after it then look there at
once, and waiting costs nothing while the room is empty). In file mode the decisions are deterministic: frame ``n``
waits, if it must, until frame ``n - lag`` (or that full frame) has been seen. In live mode nothing waits: a frame
decides from what has come through.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from ssapose.model_card import Preprocess
from ssapose.poses import Poses
from ssapose.preprocess import letterbox_of


@dataclass(frozen=True)
class RegionConfig:
    """margin: widening of each person's box on each side, in person heights; scan_s: longest time between
    full-frame passes, s of the source's clock; bucket: region widths are multiples of this, input pixels;
    max_share: a region at least this share of the frame's width runs the full frame; memory: frames whose people
    make the region; large_px: a region whose people are all at least this tall (pixels of the default input) runs
    at ``low_scale`` of the default height (0: never), back at the default below ``large_px * back_below``."""

    margin: float = 0.3
    scan_s: float = 1.0
    bucket: int = 128
    max_share: float = 0.75
    memory: int = 3
    large_px: float = 150.0
    low_scale: float = 0.7
    back_below: float = 0.8


@dataclass(frozen=True)
class Window:
    """What the network sees of one frame: ``kind`` ``"full"``, ``"crop"`` (input columns ``x0`` to
    ``x0 + width`` at input height ``size``; 0: the default) or ``"skip"`` (nothing: nobody was near)."""

    kind: str
    x0: int = 0
    width: int = 0
    size: int = 0

    @property
    def columns(self) -> tuple[int, int] | None:
        """``(x0, width)`` for ``ssapose.preprocess.prepare``'s window, None for the full frame."""
        return (self.x0, self.width) if self.kind == "crop" else None


FULL, SKIP = Window("full"), Window("skip")


def choose_region(roi: bool | RegionConfig | None, scales: tuple[float, ...] = (1.0,),
                  auto: object = None) -> RegionConfig | None:
    """The one rule for every entry point: ``roi`` None (not said) runs the region where the network sees one
    view at one height (on by default: on the demo clip it doubles the FPS with the same poses, BENCHMARKS.md)
    and the full frame otherwise; True or a :class:`RegionConfig` asks for it (refused with several views); False
    turns it off."""
    if roi is None:
        return RegionConfig() if scales == (1.0,) and auto is None else None
    if roi is False:
        return None
    return roi if isinstance(roi, RegionConfig) else RegionConfig()


def person_spans(poses: Poses) -> np.ndarray:
    """``(N, 3)`` each person's leftmost and rightmost keypoint x and its height (frame pixels; the larger of its
    keypoints' vertical and horizontal extent, so that a person seen lying or in part still has a size)."""
    kp = poses.keypoints
    seen = kp[..., 2] > 0
    keep = seen.sum(axis=1) > 0
    if not keep.any():
        return np.zeros((0, 3))
    kp, seen = kp[keep], seen[keep]
    x = np.where(seen, kp[..., 0], np.nan)
    y = np.where(seen, kp[..., 1], np.nan)
    lo, hi = np.nanmin(x, axis=1), np.nanmax(x, axis=1)
    size = np.maximum(np.nanmax(y, axis=1) - np.nanmin(y, axis=1), hi - lo)
    return np.stack([lo, hi, size], axis=1)


class RegionSchedule:
    """Thread-safe: :meth:`observe` from the stage after decoding (frames in order), :meth:`window` from the
    preprocessing stage (frames in order)."""

    def __init__(self, config: RegionConfig, live: bool, lag: int, align: int, size: int, pre: Preprocess):
        self.config, self.live, self.lag, self.align, self.size, self.pre = config, live, max(1, lag), align, size, pre
        self.low_size = max(align, int(round(size * config.low_scale / align)) * align)
        self._low = False                                         # the region runs at the lower height
        self._cond = threading.Condition()
        self._seen: deque = deque(maxlen=config.memory + 1)       # (sequence, spans) of the last frames seen
        self._seen_upto = -1
        self._last_scan = -math.inf
        self._last_full = -1                                      # the sequence of the last full frame
        self._closed = False
        self.counts = {"full": 0, "crop": 0, "skip": 0}
        self.low_crops = 0                                        # crops at the lower height
        self._crop_share = 0.0

    def observe(self, sequence: int, poses: Poses) -> None:
        """Frame ``sequence`` came out with ``poses`` (frame pixels)."""
        with self._cond:
            self._seen.append((sequence, person_spans(poses)))
            self._seen_upto = max(self._seen_upto, sequence)
            self._cond.notify_all()

    def window(self, sequence: int, time_s: float, height: int, width: int) -> Window:
        """What the network sees of frame ``sequence`` (at ``time_s`` on the source's clock), ``height x width``
        frame pixels."""
        with self._cond:
            bound = sequence - self.lag if not self.live else sequence
            self._wait(bound)
            win = self._decide(sequence, bound, time_s, height, width)
            if win.kind == "skip" and self._last_full > bound:     # a scan on its way may have found someone
                self._wait(self._last_full)
                win = self._decide(sequence, self._last_full, time_s, height, width)
            if win.kind == "full":
                self._last_full = sequence
            self.counts[win.kind] += 1
            if win.kind == "crop":
                full = letterbox_of(height, width, win.size, self.pre).width
                self._crop_share += win.width / full
                self.low_crops += win.size != self.size
            return win

    def _wait(self, sequence: int) -> None:
        """File mode: until frame ``sequence`` has been seen (called locked)."""
        if not self.live:
            self._cond.wait_for(lambda: self._seen_upto >= sequence or self._closed)

    def _decide(self, sequence: int, bound: int, time_s: float, frame_h: int, frame_w: int) -> Window:
        """The window of frame ``sequence`` from the people of the frames up to ``bound`` (called locked)."""
        recent = [spans for seq, spans in self._seen if seq <= bound][-self.config.memory:]
        if len(recent) < 2 or time_s - self._last_scan >= self.config.scan_s or len(recent[-1]) < len(recent[-2]):
            self._last_scan = time_s
            return FULL
        spans = np.concatenate(recent)
        if not len(spans):
            return SKIP
        default = letterbox_of(frame_h, frame_w, self.size, self.pre)
        smallest = float(spans[:, 2].min()) * default.scale              # default-input pixels
        c = self.config
        self._low = c.large_px > 0 and smallest >= c.large_px * (c.back_below if self._low else 1.0)
        size = self.low_size if self._low else self.size
        box = letterbox_of(frame_h, frame_w, size, self.pre)
        scale, full_width = box.scale, box.width
        pad = self.config.margin * spans[:, 2]
        lo, hi = float((spans[:, 0] - pad).min()) * scale, float((spans[:, 1] + pad).max()) * scale
        width = self.config.bucket * math.ceil(max(hi - lo, 1.0) / self.config.bucket)
        width = self.align * math.ceil(width / self.align)
        if width >= self.config.max_share * full_width:
            self._last_scan = time_s
            return FULL
        x0 = min(max(0.0, (lo + hi - width) / 2), full_width - width)
        x0 = self.align * int(x0 // self.align)
        return Window("crop", x0, width, size)

    def describe(self) -> str:
        """One line for a run's summary: frames per kind and the mean crop's share of the width."""
        c = self.counts
        total = max(1, sum(c.values()))
        crop = (f" (mean width {self._crop_share / c['crop']:.0%}, {self.low_crops / c['crop']:.0%} at height "
                f"{self.low_size})") if c["crop"] else ""
        return (f"region of interest: {c['crop'] / total:.0%} of frames cropped{crop}, {c['skip'] / total:.0%} "
                f"skipped (nobody near), {c['full'] / total:.0%} full")

    def close(self) -> None:
        """Release a waiting preprocessing stage (the pipeline stops)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
