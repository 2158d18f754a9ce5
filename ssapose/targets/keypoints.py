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
    peak = heat[:NUM_PARTS]                                  # (18, H, W) the max over the people so far
    ox = np.zeros((NUM_PARTS, h, w), np.float32)             # the owning person's offsets, in cells
    oy = np.zeros((NUM_PARTS, h, w), np.float32)
    s2 = np.float32((sigma * stride) ** 2)
    # One pass per person over all 18 parts at once: people are few, parts many. A cell belongs to the person
    # whose gaussian is highest there (the first on a tie), as an argmax over the people would choose.
    for person in parts:
        vis = person[:, 2] > 0
        if not vis.any():
            continue
        k = np.nonzero(vis)[0]
        dx = cx[None, :] - person[k, 0, None].astype(np.float32)          # (K, W) pixels
        dy = cy[None, :] - person[k, 1, None].astype(np.float32)          # (K, H)
        g = np.exp(-dy[:, :, None] ** 2 / s2) * np.exp(-dx[:, None, :] ** 2 / s2)   # (K, H, W)
        wins = g > peak[k]
        peak[k] = np.where(wins, g, peak[k])
        ox[k] = np.where(wins, clip_offsets(-dx / stride)[:, None, :], ox[k])
        oy[k] = np.where(wins, clip_offsets(-dy / stride)[:, :, None], oy[k])
    valid = peak > offset_threshold
    chx, chy = offset_channels(np.arange(NUM_PARTS))
    offsets[chx] = np.where(valid, ox, 0.0)
    offsets[chy] = np.where(valid, oy, 0.0)
    omask[:] = valid
    heat[NUM_PARTS] = 1.0 - peak.max(axis=0)
    return heat, offsets, omask
