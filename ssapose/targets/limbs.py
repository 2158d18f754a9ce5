"""Limb fields: part affinity fields (Eq. 2) and SALM loss weights (Eq. 15-16)."""
from __future__ import annotations

import numpy as np

from ssapose.grid import cell_centres
from ssapose.skeleton import LIMBS, NUM_LIMBS


def limb_fields(
    parts: np.ndarray, grid: tuple[int, int], stride: int, paf_width: float, salm_alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Encode PAFs and SALM weights for all people at once.

    Args:
        parts: ``(N, 18, 3)`` float, ``(x, y, v)`` in input pixels.
        grid: ``(W_out, H_out)`` in cells.
        stride: input pixels per output cell.
        paf_width: half-width of a limb in cells; a cell is on the limb when
            its centre lies at most this far from the limb line and projects
            onto the segment extended by the same amount at both ends (the
            ends' own cells are on the limb, as in OpenPose's box test).
        salm_alpha: SALM strength ``alpha``; 0 gives all-ones weights.
    Returns:
        pafs ``(38, H, W) float32``: unit vectors parent -> child, averaged
        over the people whose limbs overlap a cell, zero elsewhere;
        salm ``(19, H, W) float32``: per-limb loss weight
        ``alpha * exp(-d^2 / sigma^2) + 1`` with ``d`` the distance from the
        cell centre to the limb segment and ``sigma = |limb| / (4 f_d)``, both
        in cells (Eq. 16); the maximum over people, 1 far from every limb.
    """
    w, h = grid
    cx, cy = cell_centres(w, stride), cell_centres(h, stride)
    count = np.zeros((NUM_LIMBS, h, w), np.float32)
    fx = np.zeros((NUM_LIMBS, h, w), np.float32)
    fy = np.zeros((NUM_LIMBS, h, w), np.float32)
    salm = np.ones((NUM_LIMBS, h, w), np.float32)
    half = np.float32(paf_width * stride)
    # One pass per person over all 19 limbs at once (people are few, limbs many).
    for person in parts:
        ok = (person[LIMBS[:, 0], 2] > 0) & (person[LIMBS[:, 1], 2] > 0)
        pa = person[LIMBS[:, 0], :2].astype(np.float32)
        vec = person[LIMBS[:, 1], :2].astype(np.float32) - pa
        length = np.linalg.norm(vec, axis=1)
        k = np.nonzero(ok & (length > 1e-3))[0]
        if not len(k):
            continue
        pa, length = pa[k], length[k]
        u = vec[k] / length[:, None]                                     # (K, 2)
        rx = cx[None, None, :] - pa[:, 0, None, None]                    # (K, 1, W)
        ry = cy[None, :, None] - pa[:, 1, None, None]                    # (K, H, 1)
        along = rx * u[:, 0, None, None] + ry * u[:, 1, None, None]      # (K, H, W)
        across = np.abs(rx * u[:, 1, None, None] - ry * u[:, 0, None, None])
        on = (along >= -half) & (along <= length[:, None, None] + half) & (across <= half)
        count[k] += on
        fx[k] += on * u[:, 0, None, None]
        fy[k] += on * u[:, 1, None, None]
        if salm_alpha:
            t = np.clip(along, 0.0, length[:, None, None])
            d2 = (along - t) ** 2 + across ** 2                           # pixels^2
            sig2 = (length / 4.0)[:, None, None] ** 2                     # (|limb| / 4 f_d cells)^2 in pixels^2
            salm[k] = np.maximum(salm[k], salm_alpha * np.exp(-d2 / sig2) + 1.0)
    pafs = np.zeros((2 * NUM_LIMBS, h, w), np.float32)
    nz = count > 0
    pafs[0::2] = np.where(nz, fx / np.maximum(count, 1), 0.0)
    pafs[1::2] = np.where(nz, fy / np.maximum(count, 1), 0.0)
    return pafs, salm
