"""Merging partial people that no limb connects into the nearest compatible person."""
from __future__ import annotations

import numpy as np


def merge_fragments(
    parts: np.ndarray, scores: np.ndarray, radius: float, min_size: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Join fragments (people with few parts) into larger people nearby.

    The limb tree joins hips and shoulders only through the neck, so a person
    whose neck (or an elbow, a nose...) is not visible falls apart into pieces
    that share no limb. A fragment is merged into a person that has more
    parts, none of the same type, and whose nearest part lies within
    ``radius`` times a size: the larger of the diagonals of the two pieces'
    boxes, at least ``min_size`` pixels;
    among several, the one with the smallest relative gap wins. Fragments are
    taken smallest first, and hosts grow as they absorb them.

    Args:
        parts: ``(N, 18, 3) float32`` (x, y, score) in pixels; score 0 = missing.
        scores: ``(N,)`` person scores.
        radius: gap allowed, in units of the size; 0 disables merging.
        min_size: smallest size in pixels, so that single parts can merge.
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
    alive = np.ones(n, bool)
    for f in np.argsort(count, kind="stable"):
        hosts = alive & (count >= count[f]) & ~(have & have[f]).any(axis=1)
        hosts[f] = False
        if not hosts.any():
            continue
        h_idx = np.flatnonzero(hosts)
        hxy, hv = parts[h_idx, :, :2], have[h_idx]             # (H, 18, 2), (H, 18)
        fxy = parts[f, have[f], :2]                            # (F, 2)
        d = np.linalg.norm(hxy[:, :, None, :] - fxy[None, None, :, :], axis=3)   # (H, 18, F)
        gap = np.where(hv[:, :, None], d, np.inf).min(axis=(1, 2))
        lo = np.where(hv[..., None], hxy, np.inf).min(axis=1)
        hi = np.where(hv[..., None], hxy, -np.inf).max(axis=1)
        fsize = np.linalg.norm(fxy.max(axis=0) - fxy.min(axis=0))
        size = np.maximum(np.maximum(np.linalg.norm(hi - lo, axis=1), fsize), min_size)
        rel = gap / size
        best = int(np.argmin(rel))
        if rel[best] > radius:
            continue
        h = h_idx[best]
        parts[h, have[f]] = parts[f, have[f]]
        scores[h] = (scores[h] * count[h] + scores[f] * count[f]) / (count[h] + count[f])
        have[h] |= have[f]
        count[h] += count[f]
        alive[f] = False
    order = np.argsort(-scores[alive], kind="stable")
    return parts[alive][order], scores[alive][order]
