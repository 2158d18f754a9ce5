"""Part candidates: peaks on the heatmaps, refined by offsets (Eq. 8) or by upsampling."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ssapose.grid import cells_to_pixels


@dataclass
class Peaks:
    """Part candidates of one image, flat over all parts (K candidates).

    part ``(K,) int64``: part index 0..17; xy ``(K, 2) float32`` in input
    pixels; score ``(K,) float32`` heatmap value at the peak.
    """

    part: np.ndarray
    xy: np.ndarray
    score: np.ndarray

    def of_part(self, p: int) -> np.ndarray:
        """Indices (into this Peaks) of the candidates of part ``p``."""
        return np.flatnonzero(self.part == p)


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
    c, h, w = maps.shape
    pad = np.full((c, h + 2, w + 2), -np.inf, dtype=np.float32)
    pad[:, 1:-1, 1:-1] = maps
    centre = pad[:, 1:-1, 1:-1]
    keep = centre > threshold
    for dy, dx in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):          # earlier neighbours
        keep &= centre > pad[:, 1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):             # later neighbours
        keep &= centre >= pad[:, 1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
    return np.nonzero(keep)


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
    ox = offsets[2 * c, y, x]
    oy = offsets[2 * c + 1, y, x]
    xy = np.stack([cells_to_pixels(x + np.clip(ox, -0.5, 0.5), stride),
                   cells_to_pixels(y + np.clip(oy, -0.5, 0.5), stride)], axis=1)
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
