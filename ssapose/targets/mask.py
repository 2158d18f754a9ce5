"""The ignore mask: where the loss is not computed (crowds, unannotated people)."""
from __future__ import annotations

import numpy as np


def downsample_ignore(ignore: np.ndarray | None, grid: tuple[int, int], stride: int) -> np.ndarray:
    """Turn an input-resolution ignore image into a per-cell loss mask.

    Args:
        ignore: ``(H_in, W_in)`` bool or uint8, true where no person is
            annotated although one may be (crowd regions, people without
            keypoints), or ``None`` for no such region.
        grid: ``(W_out, H_out)`` in cells.
        stride: input pixels per cell.
    Returns:
        ``(H_out, W_out) float32``: 1 where the loss counts, 0 where more than
        half of the cell's block is ignored (OpenPose's ``mask_miss``).
    """
    w, h = grid
    if ignore is None:
        return np.ones((h, w), np.float32)
    ign = np.asarray(ignore).astype(np.float32)
    padded = np.zeros((h * stride, w * stride), np.float32)
    hh, ww = min(ign.shape[0], h * stride), min(ign.shape[1], w * stride)
    padded[:hh, :ww] = ign[:hh, :ww]
    frac = padded.reshape(h, stride, w, stride).mean(axis=(1, 3))
    return (frac <= 0.5).astype(np.float32)
