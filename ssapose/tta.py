"""Test-time flipping: the network's maps of the mirrored image, mirrored back and averaged with the plain ones.

Mirroring swaps left and right: heatmap channels follow ``FLIP_PARTS``; each limb's field moves to its mirror
limb with its x component negated (and both components negated when the mirror limb runs the other way); offset
channels follow their part, x negated. The input width is a multiple of the stride, so output cell ``j`` of the
mirrored image is cell ``W - 1 - j`` of the plain one.
"""
from __future__ import annotations

import numpy as np

from ssapose.grid import offset_channels
from ssapose.skeleton import FLIP_PARTS, LIMBS, NUM_HEATMAPS, NUM_PARTS


def _limb_map() -> tuple[np.ndarray, np.ndarray]:
    """For each limb ``k``: the limb its mirror image is, and +1 / -1 if it runs the same / the other way."""
    index = {tuple(map(int, ab)): k for k, ab in enumerate(LIMBS)}
    target, sign = np.zeros(len(LIMBS), np.int64), np.ones(len(LIMBS), np.float32)
    for k, (a, b) in enumerate(LIMBS):
        fa, fb = int(FLIP_PARTS[a]), int(FLIP_PARTS[b])
        if (fa, fb) in index:
            target[k] = index[(fa, fb)]
        else:
            target[k], sign[k] = index[(fb, fa)], -1.0
    return target, sign


_LIMB_TARGET, _LIMB_SIGN = _limb_map()
_HEAT_TARGET = np.concatenate([FLIP_PARTS, np.arange(NUM_PARTS, NUM_HEATMAPS)])


def unflip(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fields of a mirrored image (``(C, h, w)`` or ``(B, C, h, w)``) expressed for the plain image."""
    out = {}
    heat = fields["heatmaps"][..., ::-1]
    h = np.empty_like(heat)
    h[..., _HEAT_TARGET, :, :] = heat
    out["heatmaps"] = h
    paf = fields["pafs"][..., ::-1]
    p = np.empty_like(paf)
    p[..., 2 * _LIMB_TARGET, :, :] = -paf[..., 0::2, :, :] * _LIMB_SIGN[:, None, None]
    p[..., 2 * _LIMB_TARGET + 1, :, :] = paf[..., 1::2, :, :] * _LIMB_SIGN[:, None, None]
    out["pafs"] = p
    if fields.get("offsets") is not None:
        off = fields["offsets"][..., ::-1]
        o = np.empty_like(off)
        sx, sy = offset_channels(np.arange(NUM_PARTS))
        tx, ty = offset_channels(FLIP_PARTS)
        o[..., tx, :, :] = -off[..., sx, :, :]
        o[..., ty, :, :] = off[..., sy, :, :]
        out["offsets"] = o
    return out


def mirror_input(x: np.ndarray) -> np.ndarray:
    """The network input mirrored: ``(B, 3, H, W)`` float or ``(B, H, W, 3)`` uint8 (width axis found by dtype)."""
    return np.ascontiguousarray(x[:, :, ::-1] if x.dtype == np.uint8 else x[..., ::-1])


def average(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The mean of two field sets with the same keys."""
    return {k: (a[k] + b[k]) * 0.5 for k in a}


def resample(fields: dict[str, np.ndarray], scale: float, base_scale: float, stride: int,
             shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Heatmaps and PAFs of one image seen at ``scale`` (input px per frame px), bilinearly resampled onto the
    ``shape = (h, w)`` stride-``stride`` grid of the same image seen at ``base_scale``.

    Cell ``j`` of the base grid is centred at frame pixel ``(stride j + (stride - 1) / 2) / base_scale``, which
    is cell ``((stride j + (stride - 1) / 2) scale / base_scale - (stride - 1) / 2) / stride`` of the other grid.
    Offsets are not resampled (their unit, the cell, differs between grids); ``(C, h', w')`` in, ``(C, h, w)`` out.
    """
    out = {}
    ratio, c = scale / base_scale, (stride - 1) / 2.0
    for name in ("heatmaps", "pafs"):
        f = fields[name][0] if fields[name].ndim == 4 else fields[name]
        for axis, n in ((1, shape[0]), (2, shape[1])):
            pos = ((stride * np.arange(n) + c) * ratio - c) / stride
            pos = np.clip(pos, 0, f.shape[axis] - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, f.shape[axis] - 1)
            wt = (pos - lo).astype(np.float32)
            a, b = np.take(f, lo, axis=axis), np.take(f, hi, axis=axis)
            wt = wt[:, None] if axis == 1 else wt[None, :]
            f = a + (b - a) * wt
        out[name] = f
    return out


def on_largest_grid(views: list[tuple], stride: int) -> tuple[int, list[dict[str, np.ndarray]]]:
    """Every view of one image on the grid of the largest (the finest). ``views``: ``(letterbox, fields)`` pairs,
    each view's fields ``(C, h, w)`` on its own stride-``stride`` grid. Returns ``(i, maps)``: ``i`` the largest
    view's index, ``maps`` every view's heatmaps and PAFs on its grid, in order (the largest's as they are, the
    others by :func:`resample`). Combining them (the mean, as ``FrameStep`` does) is the caller's."""
    finest = max(range(len(views)), key=lambda i: views[i][0].scale)
    grid, base = views[finest]
    shape = base["heatmaps"].shape[1:]
    return finest, [{k: f[k] for k in ("heatmaps", "pafs")} if i == finest else
                    resample(f, box.scale, grid.scale, stride, shape) for i, (box, f) in enumerate(views)]
