"""Training targets (the encoder): people in input pixels -> fields on the output grid.

``encode_targets`` is the single entry point; it owns validation of the
people array and returns a :class:`Targets` bundle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssapose.grid import output_size
from ssapose.skeleton import NUM_PARTS
from ssapose.targets.keypoints import keypoint_fields
from ssapose.targets.limbs import limb_fields
from ssapose.targets.mask import downsample_ignore


@dataclass(frozen=True)
class TargetConfig:
    """How the fields are encoded.

    stride: input pixels per output cell (``f_d``: 8, 16 or 32).
    sigma: heatmap gaussian width in output cells (OpenPose: 7 px at stride 8).
    paf_width: PAF half-width in output cells (OpenPose: 1).
    offset_threshold: offsets valid where the heatmap is above this (Eq. 7: 0.4).
    salm_alpha: SALM strength (Eq. 15: 10); 0 gives uniform weights.
    """

    stride: int = 8
    sigma: float = 0.875
    paf_width: float = 1.0
    offset_threshold: float = 0.4
    salm_alpha: float = 10.0


@dataclass
class Targets:
    """All target fields of one image, on an ``H x W`` output grid (float32).

    heatmaps ``(19, H, W)``, pafs ``(38, H, W)``, offsets ``(36, H, W)`` in
    cells, offset_mask ``(18, H, W)``, salm ``(19, H, W)`` per-limb weights,
    mask ``(H, W)``: 1 where the loss counts.
    """

    heatmaps: np.ndarray
    pafs: np.ndarray
    offsets: np.ndarray
    offset_mask: np.ndarray
    salm: np.ndarray
    mask: np.ndarray


def validate_parts(parts: np.ndarray, width: int, height: int) -> np.ndarray:
    """Check and clean a people array before encoding.

    Args:
        parts: ``(N, 18, 3)`` float, ``(x, y, v)`` in input pixels; ``N`` may be 0.
        width, height: input size in pixels.
    Returns:
        a float64 copy in which parts outside the image, or not finite, have
        ``v = 0`` (they are skipped, not encoded).
    Raises:
        ValueError: on a wrong shape.
    """
    arr = np.asarray(parts, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, NUM_PARTS, 3))
    if arr.ndim != 3 or arr.shape[1:] != (NUM_PARTS, 3):
        raise ValueError(f"people must be (N, {NUM_PARTS}, 3) parts, got shape {arr.shape}")
    arr = arr.copy()
    x, y = arr[..., 0], arr[..., 1]
    inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (y >= 0) & (x <= width - 1) & (y <= height - 1)
    arr[..., 2] = np.where(inside & np.isfinite(arr[..., 2]), arr[..., 2], 0.0)
    arr[~np.isfinite(arr)] = 0.0
    return arr


def encode_targets(
    parts: np.ndarray,
    width: int,
    height: int,
    config: TargetConfig = TargetConfig(),
    ignore: np.ndarray | None = None,
) -> Targets:
    """Encode people into training targets.

    Args:
        parts: ``(N, 18, 3)`` people in part order (see ``skeleton.coco_to_parts``),
            ``(x, y, v)`` in input pixels.
        width, height: input image size in pixels.
        config: encoding parameters.
        ignore: optional ``(height, width)`` bool image of regions to leave out of the loss.
    """
    parts = validate_parts(parts, width, height)
    grid = output_size(width, height, config.stride)
    heat, offsets, omask = keypoint_fields(parts, grid, config.stride, config.sigma, config.offset_threshold)
    pafs, salm = limb_fields(parts, grid, config.stride, config.paf_width, config.salm_alpha)
    mask = downsample_ignore(ignore, grid, config.stride)
    return Targets(heat, pafs, offsets, omask, salm, mask)
