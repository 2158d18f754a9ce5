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
    """The pieces being merged: parts ``(N, 18, 3)``, their presence, counts, extents and scales, and per pair
    of pieces with no part type in common (``disjoint``) two scale-free statistics over their present parts:
    ``near``, the smallest distance in pixels, and ``reach_ratio``, the largest distance over the two parts'
    typical path length. A join needs no new distances: the joined piece's statistics are the min / max of its
    two pieces' rows, so a crowd costs its part pairs once, not once per join."""

    def __init__(self, parts: np.ndarray, scores: np.ndarray, radius: float, min_size: float, reach: float):
        self.parts, self.scores = parts.copy(), scores.astype(np.float32).copy()
        self.have = self.parts[..., 2] > 0
        self.count = self.have.sum(axis=1)
        self.scale = body_scale(self.parts, self.have)
        self.extent = _extents(self.parts, self.have)
        self.radius, self.min_size, self.reach = radius, min_size, reach
        n = len(parts)
        hv = self.have.astype(np.float32)
        alive = self.count > 0
        self.disjoint = (hv @ hv.T == 0) & alive[None] & alive[:, None]                   # (N, N)
        self.near = np.full((n, n), np.inf, np.float32)
        self.reach_ratio = np.full((n, n), -np.inf, np.float32)
        a, c = np.divmod(np.flatnonzero(self.disjoint), n)           # numpy's 2-axis nonzero: 2x slower
        if len(a):
            d, ratio, first = self._part_pairs(a, c)
            self.near[a, c] = np.minimum.reduceat(d, first)
            self.reach_ratio[a, c] = np.maximum.reduceat(ratio, first)

    def _part_pairs(self, a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every present part of piece ``a[q]`` against every present part of piece ``c[q]``, flat over the Q
        pairs: distances (pixels), the same over the two parts' typical path length, and where each pair's
        run starts. Only present parts are paired (``count[a] * count[c]`` per pair, not 18 x 18)."""
        ptype = np.flatnonzero(self.have) % self.have.shape[1]     # present parts, piece by piece
        pstart = np.cumsum(self.count) - self.count
        na, nc = self.count[a], self.count[c]
        m = na * nc
        first = np.cumsum(m) - m
        q = np.repeat(np.arange(len(a)), m)
        local = np.arange(int(m.sum())) - first[q]
        ncq = np.take(nc, q)
        ti = np.take(ptype, np.take(pstart[a], q) + local // ncq)
        tj = np.take(ptype, np.take(pstart[c], q) + local % ncq)
        n_parts = self.parts.shape[1]
        x, y = self.parts[..., 0].ravel(), self.parts[..., 1].ravel()
        at_i, at_j = np.take(a, q) * n_parts + ti, np.take(c, q) * n_parts + tj
        d = np.hypot(np.take(x, at_i) - np.take(x, at_j), np.take(y, at_i) - np.take(y, at_j))
        return d, d / TYPICAL_PATH_LENGTHS.ravel()[ti * n_parts + tj], first

    def costs(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), N) float32`` cost of joining each piece of ``rows`` with every piece.

        The cost is the gap between the nearest parts of the two pieces over
        ``radius`` times the extent of the smaller piece (at least ``min_size``
        pixels); a join needs a cost of at most 1. Where either piece has a
        scale ``s``, the skeleton vetoes joins no body can make: two parts are
        at most ``reach * s`` times their path through the limbs and torso bones
        apart. Pieces that share a part type, or are the same, cost inf.
        """
        s = np.fmax(self.scale[rows][:, None], self.scale[None, :])                      # NaN: no scale
        small = np.where(self.count[rows][:, None] <= self.count[None, :], self.extent[rows][:, None],
                         self.extent[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            stretch = self.reach_ratio[rows] / (self.reach * s)             # NaN vetoes nothing
            gap = self.near[rows] / (self.radius * np.maximum(small, self.min_size))
        ok = self.disjoint[rows] & (gap <= 1.0) & ~(stretch > 1.0)
        return np.where(ok, gap, np.inf).astype(np.float32)

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
        dis = self.disjoint[h] & self.disjoint[f]                       # a piece shares no type with h + f
        near = np.where(dis, np.minimum(self.near[h], self.near[f]), np.inf)
        ratio = np.where(dis, np.maximum(self.reach_ratio[h], self.reach_ratio[f]), -np.inf)
        for m, row, empty in ((self.disjoint, dis, False), (self.near, near, np.inf),
                              (self.reach_ratio, ratio, -np.inf)):
            m[h, :] = m[:, h] = row
            m[f, :] = m[:, f] = empty


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
