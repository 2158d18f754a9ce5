"""Keypoint fields: gaussian heatmaps (Eq. 6) and block-inside offsets (Eq. 7)."""
from __future__ import annotations

import numpy as np

from ssapose.grid import cell_centres, clip_offsets, offset_channels
from ssapose.skeleton import NUM_HEATMAPS, NUM_PARTS


def keypoint_fields(
    parts: np.ndarray, grid: tuple[int, int], stride: int, sigma: float, offset_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode heatmaps and block-inside offsets for all people at once.

    Args:
        parts: ``(N, 18, 3)`` float, ``(x, y, v)`` in input pixels; ``v > 0`` is visible.
        grid: ``(W_out, H_out)`` output size in cells.
        stride: input pixels per output cell (``f_d``).
        sigma: gaussian width in output cells; heatmap is ``exp(-d^2 / sigma^2)``.
        offset_threshold: offsets are valid where the heatmap exceeds this (0.4).
    Returns:
        heatmaps ``(19, H, W) float32``: per-part maximum over people (rather
        than Eq. 6's sum, so that close people keep separate peaks), the last
        channel is background ``1 - max(parts)``;
        offsets ``(36, H, W) float32``: ``(x, y)`` per part, in cells relative
        to the cell centre, clipped to ``[-0.5, 0.5]`` (the closest point of
        the cell's block to the keypoint); zero where invalid;
        offset_mask ``(18, H, W) float32``: 1 where the offset is valid.
    """
    w, h = grid
    cx, cy = cell_centres(w, stride), cell_centres(h, stride)
    heat = np.zeros((NUM_HEATMAPS, h, w), np.float32)
    offsets = np.zeros((2 * NUM_PARTS, h, w), np.float32)
    omask = np.zeros((NUM_PARTS, h, w), np.float32)
    s2 = (sigma * stride) ** 2
    for p in range(NUM_PARTS):
        vis = parts[:, p, 2] > 0
        if not vis.any():
            continue
        kx, ky = parts[vis, p, 0].astype(np.float32), parts[vis, p, 1].astype(np.float32)
        dx = cx[None, :] - kx[:, None]                      # (K, W) pixels
        dy = cy[None, :] - ky[:, None]                      # (K, H)
        g = np.exp(-dy[:, :, None] ** 2 / s2) * np.exp(-dx[:, None, :] ** 2 / s2)  # (K, H, W)
        owner = g.argmax(axis=0)                            # (H, W) nearest person
        peak = np.take_along_axis(g, owner[None], axis=0)[0]
        heat[p] = peak
        valid = peak > offset_threshold
        ox = clip_offsets(-dx[owner, np.arange(w)[None, :]] / stride)
        oy = clip_offsets(-dy[owner, np.arange(h)[:, None]] / stride)
        chx, chy = offset_channels(p)
        offsets[chx] = np.where(valid, ox, 0.0)
        offsets[chy] = np.where(valid, oy, 0.0)
        omask[p] = valid
    heat[NUM_PARTS] = 1.0 - heat[:NUM_PARTS].max(axis=0)
    return heat, offsets, omask
