"""Geometry of the output grid, shared by the encoder and the decoder.

Input pixels have their centres at integer coordinates. Output cell ``j`` of a
network with stride ``f`` covers input pixels ``j*f .. j*f + f - 1`` and its
centre lies at ``j*f + (f - 1) / 2`` input pixels. This is the same alignment
as ``cv2.resize`` (and ``align_corners=False``) uses, so the offset decoder and
the upsampling decoder agree on where a cell is.

The paper's block-inside offsets (Eq. 7-8) are defined here too, once, for the encoder
(targets), the network's heads, the decoder and the overlay: in cells from the cell centre,
within ``+-OFFSET_LIMIT`` (the keypoint's nearest point of the cell's own block), part ``p``'s
``(x, y)`` in channels ``2p`` and ``2p + 1``.
"""
from __future__ import annotations

import math

import numpy as np


#: Block-inside offsets lie within this many cells of the cell centre (half a cell: inside the block).
OFFSET_LIMIT = 0.5


def clip_offsets(d: np.ndarray) -> np.ndarray:
    """Offsets (cells) clipped to the block, ``[-OFFSET_LIMIT, OFFSET_LIMIT]``."""
    return np.clip(d, -OFFSET_LIMIT, OFFSET_LIMIT)


def offset_channels(part) -> tuple:
    """The offset channels ``(x, y)`` of part index (or array of indices) ``part``: ``2p`` and ``2p + 1``."""
    return 2 * np.asarray(part), 2 * np.asarray(part) + 1


def read_offsets(offsets: np.ndarray, c: np.ndarray, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The raw offsets ``(dx, dy)``, ``(K,)`` cells each, of part ``c`` at cell ``(y, x)`` from ``(36, H, W)`` maps."""
    cx, cy = offset_channels(c)
    return offsets[cx, y, x], offsets[cy, y, x]


def output_size(width: int, height: int, stride: int) -> tuple[int, int]:
    """Output grid ``(W_out, H_out)`` in cells for an input of ``width x height`` pixels."""
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    return max(1, math.ceil(width / stride)), max(1, math.ceil(height / stride))


def cell_centres(n: int, stride: int) -> np.ndarray:
    """``(n,) float32``: input-pixel coordinate of the centre of each of ``n`` cells."""
    return (np.arange(n, dtype=np.float32) * stride + (stride - 1) / 2.0).astype(np.float32)


def cells_to_pixels(c: np.ndarray, stride: int) -> np.ndarray:
    """Map (fractional) cell coordinates to input pixels."""
    return np.asarray(c, dtype=np.float32) * stride + (stride - 1) / 2.0


def pixels_to_cells(p: np.ndarray, stride: int) -> np.ndarray:
    """Map input-pixel coordinates to (fractional) cell coordinates."""
    return (np.asarray(p, dtype=np.float32) - (stride - 1) / 2.0) / stride
