"""Part candidates: peaks on the low-resolution heatmaps, refined to sub-cell positions.

Refinements: block-inside offsets (Eq. 8), a parabola fitted to the log heatmap
around the peak, both (offsets as a residual on the fit), or OpenPose's upsampling."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ssapose.grid import cells_to_pixels, clip_offsets, read_offsets


@dataclass
class Peaks:
    """Part candidates of one image, flat over all parts (K candidates).

    part ``(K,) int64``: part index 0..17; xy ``(K, 2) float32`` in input
    pixels; score ``(K,) float32`` heatmap value at the peak.
    """

    part: np.ndarray
    xy: np.ndarray
    score: np.ndarray

    def part_runs(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates sorted by part, ties in index order, ``(K,)``; and where each part ``p < n`` starts in
        that order and how many it has, ``(n,)`` each: part ``p``'s are ``order[start[p]:start[p] + count[p]]``."""
        order = np.argsort(self.part, kind="stable")
        bounds = np.searchsorted(self.part[order], np.arange(n + 1))
        return order, bounds[:-1], np.diff(bounds)


#: The 8 neighbours of a cell, and which of them come earlier in raster order (a plateau's first cell wins).
_NEIGHBOUR_DY = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
_NEIGHBOUR_DX = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
_NEIGHBOUR_EARLIER = (_NEIGHBOUR_DY < 0) | ((_NEIGHBOUR_DY == 0) & (_NEIGHBOUR_DX < 0))


def local_maxima(maps: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-maximum suppression in 3x3 windows, on every channel at once.

    Args:
        maps: ``(C, H, W) float32``.
        threshold: minimum value of a peak.
    Returns:
        ``(c, y, x)`` int arrays of peak positions. On a plateau exactly one
        cell wins: a peak must be strictly greater than its neighbours that
        come earlier in raster order and not smaller than the later ones.
    """
    _, h, w = maps.shape
    flat = np.ascontiguousarray(maps).reshape(-1)
    i = np.flatnonzero(flat > threshold)              # few cells: test only their neighbours (a flat search:
    c, rest = np.divmod(i, h * w)                     # numpy's multi-axis nonzero is 10x slower on these maps)
    y, x = np.divmod(rest, w)
    ny, nx = y[:, None] + _NEIGHBOUR_DY, x[:, None] + _NEIGHBOUR_DX          # (K, 8) each
    inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)                    # outside the grid: no neighbour
    value = flat[i]
    other = np.take(flat, np.where(inside, i[:, None] + (_NEIGHBOUR_DY * w + _NEIGHBOUR_DX), i[:, None]))
    v = value[:, None]                                # a NaN neighbour beats a peak, as the dense definition has it
    beaten = np.where(_NEIGHBOUR_EARLIER, ~(v > other), ~(v >= other)) & inside
    keep = ~beaten.any(axis=1)
    return c[keep], y[keep], x[keep]


def peaks_with_offsets(heatmaps: np.ndarray, offsets: np.ndarray, stride: int, threshold: float) -> Peaks:
    """Peaks on the low-resolution heatmaps, moved by their block-inside offsets.

    Args:
        heatmaps: ``(18, H, W)`` part heatmaps (no background).
        offsets: ``(36, H, W)`` offsets in cells, ``(x, y)`` per part.
        stride: input pixels per cell.
        threshold: minimum heatmap value of a peak.
    Returns:
        Peaks at ``cell_centre + stride * offset`` (Eq. 8), in input pixels.
    """
    c, y, x = local_maxima(heatmaps, threshold)
    ox, oy = read_offsets(offsets, c, y, x)
    xy = np.stack([cells_to_pixels(x + clip_offsets(ox), stride),
                   cells_to_pixels(y + clip_offsets(oy), stride)], axis=1)
    return Peaks(c.astype(np.int64), xy.astype(np.float32), heatmaps[c, y, x].astype(np.float32))


def log_parabola_shift(heatmaps: np.ndarray, c: np.ndarray, y: np.ndarray, x: np.ndarray,
                       eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-cell position of each peak from its 4 neighbours, with no upsampling.

    A gaussian is a parabola in log space, so per axis the vertex of the parabola
    through ``log h`` at ``-1, 0, +1`` is the peak: ``d = (l - r) / (2 (l - 2c + r))``.
    A missing neighbour (image border) mirrors the other one; a flat or non-concave
    profile gives 0.

    Args:
        heatmaps: ``(C, H, W) float32``; c, y, x: ``(K,)`` int peak positions (cells).
        eps: floor of the heatmap before the log.
    Returns:
        dx, dy ``(K,) float32`` in cells, clipped to ``[-0.5, 0.5]``; and the fitted
        peak value ``(K,) float32`` (the parabola's maximum, back in heatmap units,
        at least the cell's value and at most 1).
    """
    _, h, w = heatmaps.shape

    def lg(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:      # log of the heatmap at the peaks' neighbours only
        return np.log(np.maximum(heatmaps[c, yy, xx], eps))

    centre = lg(y, x)

    def axis(minus: np.ndarray, plus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        curv = minus - 2 * centre + plus
        ok = curv < -1e-6
        d = np.where(ok, (minus - plus) / (2 * np.where(ok, curv, -1.0)), 0.0)
        d = clip_offsets(d)
        gain = 0.5 * (plus - minus) * d + 0.5 * np.where(ok, curv, 0.0) * d * d   # the parabola's rise at d
        return d.astype(np.float32), gain

    xl, xr = np.maximum(x - 1, 0), np.minimum(x + 1, w - 1)
    yu, yd = np.maximum(y - 1, 0), np.minimum(y + 1, h - 1)
    left = np.where(x > 0, lg(y, xl), lg(y, xr))                # a missing neighbour mirrors the other one
    right = np.where(x < w - 1, lg(y, xr), left)
    up = np.where(y > 0, lg(yu, x), lg(yd, x))
    down = np.where(y < h - 1, lg(yd, x), up)
    dx, gx = axis(left, right)
    dy, gy = axis(up, down)
    cell = heatmaps[c, y, x]
    value = np.maximum(cell, np.minimum(np.exp(centre + gx + gy), 1.0))   # a heatmap's ideal peak is 1
    return dx, dy, np.where(cell > eps, value, cell).astype(np.float32)


def peaks_by_fit(heatmaps: np.ndarray, stride: int, threshold: float,
                 residual: np.ndarray | None = None) -> Peaks:
    """Peaks on the low-resolution heatmaps, refined by :func:`log_parabola_shift`.

    Args:
        heatmaps: ``(18, H, W)`` part heatmaps.
        stride: input pixels per cell; threshold: minimum heatmap value of a peak.
        residual: optional ``(36, H, W)`` offsets in cells added to the fit (a learned
            correction, ``(x, y)`` per part); the sum is clipped to the cell.
    Returns:
        Peaks in input pixels, scored by the fitted peak value.
    """
    c, y, x = local_maxima(heatmaps, threshold)
    dx, dy, value = log_parabola_shift(heatmaps, c, y, x)
    if residual is not None:
        rx, ry = read_offsets(residual, c, y, x)
        dx, dy = dx + rx, dy + ry
    xy = np.stack([cells_to_pixels(x + clip_offsets(dx), stride),
                   cells_to_pixels(y + clip_offsets(dy), stride)], axis=1)
    return Peaks(c.astype(np.int64), xy.astype(np.float32), value)


def peaks_at_cells(heatmaps: np.ndarray, stride: int, threshold: float) -> Peaks:
    """Peaks at the centres of their cells (no refinement): the baseline every refinement beats."""
    c, y, x = local_maxima(heatmaps, threshold)
    xy = np.stack([cells_to_pixels(x, stride), cells_to_pixels(y, stride)], axis=1)
    return Peaks(c.astype(np.int64), xy.astype(np.float32), heatmaps[c, y, x].astype(np.float32))


def peaks_by_upsampling(heatmaps: np.ndarray, stride: int, threshold: float) -> Peaks:
    """OpenPose's way: bicubic upsampling by ``stride``, NMS at input resolution,
    then a sub-pixel refinement by the weighted centroid of the 3x3 window.

    Args:
        heatmaps: ``(18, H, W)`` part heatmaps.
    Returns:
        Peaks in input pixels.
    """
    c, h, w = heatmaps.shape
    up = cv2.resize(np.ascontiguousarray(heatmaps.transpose(1, 2, 0)), (w * stride, h * stride),
                    interpolation=cv2.INTER_CUBIC)
    up = up.reshape(h * stride, w * stride, c).transpose(2, 0, 1)
    pc, py, px = local_maxima(up, threshold)
    pad = np.pad(up, ((0, 0), (1, 1), (1, 1)))
    d = np.arange(-1, 2)
    win = pad[pc[:, None, None], py[:, None, None] + 1 + d[None, :, None], px[:, None, None] + 1 + d[None, None, :]]
    win = np.maximum(win, 0.0)
    total = win.sum(axis=(1, 2)) + 1e-12
    sx = (win.sum(axis=1) * d[None, :]).sum(axis=1) / total
    sy = (win.sum(axis=2) * d[None, :]).sum(axis=1) / total
    xy = np.stack([px + sx, py + sy], axis=1).astype(np.float32)
    return Peaks(pc.astype(np.int64), xy, up[pc, py, px].astype(np.float32))
