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


def _extents(parts: np.ndarray, have: np.ndarray) -> np.ndarray:
    """``(N,)`` diagonal in pixels of each person's bounding box of present parts (0 without parts)."""
    xy = parts[..., :2]
    lo = np.where(have[..., None], xy, np.inf).min(axis=1)
    hi = np.where(have[..., None], xy, -np.inf).max(axis=1)
    return np.where(have.any(axis=1), np.linalg.norm(hi - lo, axis=1), 0.0)


class _Pieces:
    """The pieces being merged: parts ``(N, 18, 3)``, their presence, counts, extents and scales."""

    def __init__(self, parts: np.ndarray, scores: np.ndarray, radius: float, min_size: float, reach: float):
        self.parts, self.scores = parts.copy(), scores.astype(np.float32).copy()
        self.have = self.parts[..., 2] > 0
        self.count = self.have.sum(axis=1)
        self.scale = body_scale(self.parts, self.have)
        self.extent = _extents(self.parts, self.have)
        self.radius, self.min_size, self.reach = radius, min_size, reach


    def costs(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), N) float32`` cost of joining each piece of ``rows`` with every piece.

        The cost is the gap between the nearest parts of the two pieces over
        ``radius`` times the extent of the smaller piece (at least ``min_size``
        pixels); a join needs a cost of at most 1. Where either piece has a
        scale ``s``, the skeleton vetoes joins no body can make: two parts are
        at most ``reach * s`` times their path through the limbs and torso bones
        apart. Pieces that share a part type, or are the same, cost inf.
        Only pairs of pieces with no part type in common are measured, present
        part against present part, so a crowd of whole people costs little: the
        work grows with the pairs that could join, not with pieces squared.
        """
        n = len(self.have)
        out = np.full((len(rows), n), np.inf, np.float32)
        hv = self.have.astype(np.float32)
        alive = self.count > 0
        disjoint = (hv[rows] @ hv.T == 0) & alive[None] & alive[rows][:, None]             # (R, N)
        r, c = np.nonzero(disjoint)
        if len(r) == 0:
            return out
        a = rows[r]
        d, ratio, first = self._part_pairs(a, c)
        near = np.minimum.reduceat(d, first)
        stretch = np.maximum.reduceat(ratio, first)                    # NaN (no scale on either side) vetoes nothing
        small = np.where(self.count[a] <= self.count[c], self.extent[a], self.extent[c])
        gap = near / (self.radius * np.maximum(small, self.min_size))
        ok = (gap <= 1.0) & ~(stretch > 1.0)
        out[r, c] = np.where(ok, gap, np.inf)
        return out

    def _part_pairs(self, a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every present part of piece ``a[q]`` against every present part of piece ``c[q]``, flat over the Q
        pairs: distances (pixels), their ratio to the skeleton's bound, and where each pair's run starts.

        Only present parts are paired (``count[a] * count[c]`` per pair, not 18 x 18), so the cost follows the
        parts that could join.
        """
        piece, ptype = np.nonzero(self.have)                            # present parts, piece by piece
        pstart = np.cumsum(self.count) - self.count
        na, nc = self.count[a], self.count[c]
        m = na * nc
        first = np.cumsum(m) - m
        q = np.repeat(np.arange(len(a)), m)
        local = np.arange(int(m.sum())) - first[q]
        ti = ptype[pstart[a][q] + local // nc[q]]
        tj = ptype[pstart[c][q] + local % nc[q]]
        d = np.linalg.norm(self.parts[a[q], ti, :2] - self.parts[c[q], tj, :2], axis=1)
        s = np.fmax(self.scale[a], self.scale[c])[q]                     # NaN: neither piece has a limb
        ratio = d / np.maximum(self.reach * s * TYPICAL_PATH_LENGTHS[ti, tj], 1e-6)
        return d, ratio, first

    def join(self, h: int, f: int) -> None:
        """Move piece ``f``'s parts into piece ``h``; ``f`` is left empty."""
        hv, fv = self.have, self.have[f].copy()
        self.parts[h, fv] = self.parts[f, fv]
        total = self.count[h] + self.count[f]
        self.scores[h] = (self.scores[h] * self.count[h] + self.scores[f] * self.count[f]) / total
        hv[h] |= fv
        hv[f] = False
        self.count[h] += self.count[f]
        self.count[f] = 0
        self.scale[h] = body_scale(self.parts[h:h + 1], hv[h:h + 1])[0]
        self.extent[h] = _extents(self.parts[h:h + 1], hv[h:h + 1])[0]


def merge_fragments(
    parts: np.ndarray, scores: np.ndarray, radius: float, min_size: float, reach: float
) -> tuple[np.ndarray, np.ndarray]:
    """Join pieces of people that share no limb, cheapest join first.

    The limb tree joins hips and shoulders only through the neck, so a person
    whose neck (or an elbow, a nose...) is not visible falls apart into pieces
    that share no limb. Two pieces with no part type in common may join when
    their gap is small for their size and the skeleton allows it (see
    ``_Pieces.costs``): a wrist cannot join a head farther than the arm and
    neck can reach. Joins are made cheapest first over all pairs, and a joined
    piece is compared afresh with the rest, so the result does not depend on
    the input order: a piece goes to the best fit left, not to the first host
    that would take it.

    Args:
        parts: ``(N, 18, 3) float32`` (x, y, score) in pixels; score 0 = missing.
        scores: ``(N,)`` person scores.
        radius: gap allowed, in units of the smaller piece's extent; 0 disables merging.
        min_size: smallest extent in pixels, so that single parts can merge.
        reach: slack on the skeleton-path bound (1 = the typical body exactly).
    Returns:
        merged ``(M, 18, 3)`` parts and ``(M,)`` scores by descending score, M <= N;
        a merged person's score is the part-count weighted mean of its pieces' scores.
    """
    n = len(parts)
    if radius <= 0 or n < 2:
        return parts, scores
    p = _Pieces(parts, scores, radius, min_size, reach)
    cost = p.costs(np.arange(n))
    best, arg = cost.min(axis=1), cost.argmin(axis=1)
    while True:
        i = int(np.argmin(best))
        if not best[i] <= 1.0:
            break
        j = int(arg[i])
        h, f = (i, j) if (p.count[i], p.scores[i]) >= (p.count[j], p.scores[j]) else (j, i)
        p.join(h, f)
        cost[f, :] = cost[:, f] = np.inf
        row = p.costs(np.array([h]))[0]
        cost[h, :] = cost[:, h] = row
        best[f] = np.inf
        stale = np.flatnonzero((arg == f) | (arg == h) | (np.arange(n) == h))
        best[stale], arg[stale] = cost[stale].min(axis=1), cost[stale].argmin(axis=1)
        better = row < best
        best[better], arg[better] = row[better], h
    alive = p.count > 0
    order = np.argsort(-p.scores[alive], kind="stable")
    return p.parts[alive][order], p.scores[alive][order]
