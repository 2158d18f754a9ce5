"""Merging partial people that no limb connects into the person they can belong to."""
from __future__ import annotations

import numpy as np

from ssapose.skeleton import LIMBS, TYPICAL_LIMB_LENGTHS, TYPICAL_PATH_LENGTHS


def body_scale(parts: np.ndarray, have: np.ndarray) -> np.ndarray:
    """``(N,)`` size of each person relative to the typical body (NaN without a limb).

    The largest ratio of an observed limb to its typical length: foreshortening only
    shortens limbs, so the longest-looking limb is the best estimate.
    """
    both = have[:, LIMBS[:, 0]] & have[:, LIMBS[:, 1]]                           # (N, 19)
    length = np.linalg.norm(parts[:, LIMBS[:, 0], :2] - parts[:, LIMBS[:, 1], :2], axis=2)
    ratio = np.where(both, length / TYPICAL_LIMB_LENGTHS, -np.inf).max(axis=1)
    return np.where(np.isfinite(ratio), ratio, np.nan)


def merge_fragments(
    parts: np.ndarray, scores: np.ndarray, radius: float, min_size: float = 1.0, reach: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Join fragments (people with few parts) into the person they can belong to.

    The limb tree joins hips and shoulders only through the neck, so a person
    whose neck (or an elbow, a nose...) is not visible falls apart into pieces
    that share no limb. A fragment may join a person that has at least as many
    parts, none of the same type, and whose nearest part lies within ``radius``
    times a size: the larger of the diagonals of the two pieces' boxes, at least
    ``min_size`` pixels. Where either piece has a limb, its scale ``s`` is known
    (:func:`body_scale`) and vetoes impossible merges: no two parts of one person
    are farther apart than ``reach * s`` times the path through the skeleton's
    limbs and torso bones between them (``TYPICAL_PATH_LENGTHS``). A wrist cannot be farther from a
    head than the arm and neck can reach. Among the hosts allowed, the one
    with the smallest relative gap wins. Fragments are taken smallest first;
    hosts grow as they absorb them.

    Args:
        parts: ``(N, 18, 3) float32`` (x, y, score) in pixels; score 0 = missing.
        scores: ``(N,)`` person scores.
        radius: gap allowed, in units of the size; 0 disables merging.
        min_size: smallest size in pixels, so that single parts can merge.
        reach: slack on the skeleton-path bound (1 = the typical body exactly).
    Returns:
        merged ``(M, 18, 3)`` parts and ``(M,)`` scores, M <= N; a merged
        person's score is the part-count weighted mean of its pieces' scores.
    """
    n = len(parts)
    if radius <= 0 or n < 2:
        return parts, scores
    parts, scores = parts.copy(), scores.astype(np.float32).copy()
    have = parts[..., 2] > 0                                   # (N, 18)
    count = have.sum(axis=1)
    scale = body_scale(parts, have)
    alive = np.ones(n, bool)
    for f in np.argsort(count, kind="stable"):
        hosts = alive & (count >= count[f]) & ~(have & have[f]).any(axis=1)
        hosts[f] = False
        if not hosts.any():
            continue
        h_idx = np.flatnonzero(hosts)
        fp = np.flatnonzero(have[f])                            # fragment's part types
        fxy = parts[f, fp, :2]                                  # (F, 2)
        d = np.linalg.norm(parts[h_idx][:, :, None, :2] - fxy[None, None], axis=3)     # (H, 18, F)
        pair = have[h_idx][:, :, None]
        s = np.fmax(scale[h_idx], scale[f])                     # NaN only if neither has a limb
        bound = reach * s[:, None, None] * TYPICAL_PATH_LENGTHS[:, fp][None]
        rel_body = np.where(pair, d / np.maximum(bound, 1e-6), -np.inf).max(axis=(1, 2))
        hxy = parts[h_idx, :, :2]
        lo = np.where(have[h_idx][..., None], hxy, np.inf).min(axis=1)
        hi = np.where(have[h_idx][..., None], hxy, -np.inf).max(axis=1)
        fsize = np.linalg.norm(fxy.max(axis=0) - fxy.min(axis=0))
        size = np.maximum(np.maximum(np.linalg.norm(hi - lo, axis=1), fsize), min_size)
        rel = np.where(pair, d, np.inf).min(axis=(1, 2)) / (radius * size)
        rel = np.where(np.isnan(s) | (rel_body <= 1.0), rel, np.inf)     # the reach bound only vetoes
        best = int(np.argmin(rel))
        if rel[best] > 1.0:
            continue
        h = h_idx[best]
        parts[h, have[f]] = parts[f, have[f]]
        scores[h] = (scores[h] * count[h] + scores[f] * count[f]) / (count[h] + count[f])
        have[h] |= have[f]
        count[h] += count[f]
        scale[h] = body_scale(parts[h:h + 1], have[h:h + 1])[0]
        alive[f] = False
    order = np.argsort(-scores[alive], kind="stable")
    return parts[alive][order], scores[alive][order]
