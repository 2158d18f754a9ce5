"""Limb candidates: PAF scores between every pair of part candidates (Eq. 3-5)."""
from __future__ import annotations

import numpy as np
from ssapose.grid import pixels_to_cells


def pair_scores(
    start: np.ndarray,
    end: np.ndarray,
    limb: np.ndarray,
    pafs: np.ndarray,
    stride: int,
    *,
    method: str,
    n_samples: int = 10,
    align_threshold: float = 0.5,
    min_aligned: float = 0.8,
    image_height: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Score P candidate limbs against their PAFs in one pass.

    The field is sampled at ``n_samples`` points evenly spaced on each segment
    (nearest cell, at output resolution) and projected on the segment's unit
    direction.

    Args:
        start, end: ``(P, 2)`` parent and child candidates, input pixels.
        limb: ``(P,)`` limb index of each pair; its field is ``pafs[2*limb : 2*limb+2]``.
        pafs: ``(2L, H, W)`` fields.
        stride: input pixels per cell.
        method: ``"count"``, the paper's Eq. 3: the fraction of samples whose
            projection exceeds ``align_threshold`` (0.5; the paper writes the
            test as a cross product, but a count of *aligned* samples is what
            its threshold, taken from OpenPose, measures); the mean projection
            breaks ties, and the score is scaled back into [0, 1]. ``"mean"``, OpenPose's: the mean projection plus a
            distance prior ``min(0.5 * image_height / length - 1, 0)``.
        align_threshold: projection above which a sample counts as aligned
            (``count``; OpenPose's criterion uses 0.05 with ``mean``).
        min_aligned: a pair is valid only if at least this fraction of its
            samples are aligned (both methods).
        image_height: for the distance prior (``mean``); defaults to the grid height.
    Returns:
        scores ``(P,) float32`` and valid ``(P,) bool``.
    """
    if method not in ("count", "mean"):
        raise ValueError(f"unknown PAF score method {method!r}; use 'count' or 'mean'")
    vec = end - start                                                   # (P, 2)
    length = np.linalg.norm(vec, axis=1)
    unit = vec / np.maximum(length, 1e-6)[:, None]
    t = np.linspace(0.0, 1.0, n_samples, dtype=np.float32)
    # A pair is valid only if at most `spare` of its samples fail the alignment test: a pair whose samples at
    # 3 of the positions all fail is out for sure (a crowd's many far-apart pairs), and only the others are
    # sampled everywhere. Those 3 samples are the same points the full test reads, so nothing else changes.
    fail_below = align_threshold if method == "count" else 0.05
    spare = n_samples - int(np.ceil(min_aligned * n_samples - 1e-9))
    scores, valid = np.zeros(len(start), np.float32), np.zeros(len(start), bool)
    probe = np.unique(np.linspace(0, n_samples - 1, 3).round().astype(np.int64)) if spare < 3 else None
    keep = np.arange(len(start))
    if probe is not None and len(probe) > spare:
        dots = _sample_dots(start, vec, unit, limb, pafs, stride, t[probe])
        keep = np.flatnonzero((dots <= fail_below).sum(axis=1) <= spare)
    if len(keep) == 0:
        return scores, valid
    dot = _sample_dots(start[keep], vec[keep], unit[keep], limb[keep], pafs, stride, t)   # (P', K)
    length = length[keep]
    mean = dot.mean(axis=1)
    if method == "count":
        aligned = (dot > align_threshold).mean(axis=1)
        tie = 1.0 / (10.0 * n_samples)
        kept = (aligned + tie * mean) / (1.0 + tie)            # the same order, at most 1 for unit fields
        ok = aligned >= min_aligned
    else:
        height = float(image_height if image_height is not None else pafs.shape[1] * stride)
        prior = np.minimum(0.5 * height / np.maximum(length, 1e-6) - 1.0, 0.0)
        kept = mean + prior
        ok = ((dot > 0.05).mean(axis=1) >= min_aligned) & (kept > 0)
    scores[keep] = kept
    valid[keep] = ok & (length > 1e-6)
    return scores, valid


def _sample_dots(start: np.ndarray, vec: np.ndarray, unit: np.ndarray, limb: np.ndarray, pafs: np.ndarray,
                 stride: int, t: np.ndarray) -> np.ndarray:
    """``(P, len(t))``: the field of each pair's limb at ``start + t * vec`` (nearest cell) along its direction."""
    _, h, w = pafs.shape
    pts = start[:, None, :] + t[None, :, None] * vec[:, None, :]        # (P, K, 2)
    cells = np.rint(pixels_to_cells(pts, stride)).astype(np.int64)
    cx = np.clip(cells[..., 0], 0, w - 1)
    cy = np.clip(cells[..., 1], 0, h - 1)
    flat = pafs.reshape(-1)
    at = (2 * limb[:, None] * h + cy) * w + cx                          # (P, K) index of the x channel
    return flat[at] * unit[:, None, 0] + flat[at + h * w] * unit[:, None, 1]


def match_pairs(scores: np.ndarray, valid: np.ndarray, method: str = "greedy") -> np.ndarray:
    """Choose a one-to-one subset of valid pairs with a high total score (Eq. 5).

    Args:
        scores, valid: ``(A, B)`` pair scores and valid flags (:func:`pair_scores` of every pair).
        method: ``"greedy"`` takes pairs by descending score (OpenPose);
            ``"hungarian"`` maximises the total with scipy's ``linear_sum_assignment``.
    Returns:
        ``(M, 2) int64`` rows ``(a, b)`` of chosen pairs, by descending score.
    """
    if not valid.any():
        return np.zeros((0, 2), np.int64)
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment     # scipy.optimize takes 0.6 s to import: only here

        cost = np.where(valid, -scores, 1e6)
        ra, rb = linear_sum_assignment(cost)
        ok = valid[ra, rb]
        ra, rb = ra[ok], rb[ok]
        order = np.argsort(-scores[ra, rb], kind="stable")
        return np.stack([ra[order], rb[order]], axis=1).astype(np.int64)
    if method != "greedy":
        raise ValueError(f"unknown matching method {method!r}; use 'greedy' or 'hungarian'")
    ia, ib = np.nonzero(valid)
    order = np.argsort(-scores[ia, ib], kind="stable")
    ia, ib = ia[order], ib[order]
    used_a = np.zeros(scores.shape[0], bool)
    used_b = np.zeros(scores.shape[1], bool)
    out = []
    for a, b in zip(ia.tolist(), ib.tolist()):
        if not used_a[a] and not used_b[b]:
            used_a[a] = used_b[b] = True
            out.append((a, b))
            if len(out) == min(scores.shape):
                break
    return np.array(out, np.int64).reshape(-1, 2)
