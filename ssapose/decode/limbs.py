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
        scores ``(P,) float32`` and valid ``(P,) bool``; an invalid pair's score is 0.
    """
    if method not in ("count", "mean"):
        raise ValueError(f"unknown PAF score method {method!r}; use 'count' or 'mean'")
    start, end = np.asarray(start, np.float32), np.asarray(end, np.float32)
    vx, vy = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]           # (P,) each: 1-D columns are fastest
    length = np.sqrt(vx * vx + vy * vy)
    norm, inv = np.maximum(length, np.float32(1e-6)), np.float32(1.0 / stride)
    _, h, w = pafs.shape
    seg = _Segments(np.stack([pixels_to_cells(start[:, 0], stride), pixels_to_cells(start[:, 1], stride), vx * inv,
                              vy * inv, vx / norm, vy / norm, (np.asarray(limb) * (2 * h * w)).astype(np.float32)]))
    fail_below = align_threshold if method == "count" else 0.05
    spare = n_samples - int(np.ceil(min_aligned * n_samples - 1e-9))
    dot, alive = _aligned_samples(seg, pafs, n_samples, fail_below, spare)
    scores, valid = np.zeros(len(start), np.float32), np.zeros(len(start), bool)
    if len(alive) == 0:
        return scores, valid
    length = length[alive]
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
    ok &= length > 1e-6
    scores[alive[ok]] = kept[ok]
    valid[alive[ok]] = True
    return scores, valid


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
    q = greedy_pairs(ia, ib, scores[ia, ib], min(scores.shape))
    return np.stack([ia[q], ib[q]], axis=1).astype(np.int64)


def greedy_pairs(ia: np.ndarray, ib: np.ndarray, scores: np.ndarray, most: int) -> np.ndarray:
    """OpenPose's greedy matching on a sparse list of valid pairs ``(ia[q], ib[q])`` scored ``scores[q]``.

    Pairs are taken by descending score (ties in list order) when neither end is used yet, until ``most``
    are chosen. Returns the ``(M,) int64`` positions ``q`` of the chosen pairs, by descending score.
    """
    order = np.argsort(-scores, kind="stable")
    used_a, used_b = set(), set()
    out = []
    for q, a, b in zip(order.tolist(), ia[order].tolist(), ib[order].tolist()):
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            out.append(q)
            if len(out) == most:
                break
    return np.array(out, np.int64)


def _probe_order(n: int) -> np.ndarray:
    """The sample indices ``0..n-1`` coarse to fine: the middle, the quarters, then the rest (ends last).

    A pair between two people crosses background, where the inner samples fail first; the ends sit on the
    candidates themselves and pass more often."""
    order: list[int] = []
    for depth in range(1, n + 1):
        for k in range(1, 2 ** depth, 2):
            i = int(round(k * (n - 1) / 2 ** depth))
            if i not in order:
                order.append(i)
        if len(order) >= n - 2:
            break
    return np.array(order + [i for i in range(n) if i not in order], np.int64)


#: Segments below this count are read at all samples at once: probing costs a fixed 0.2 ms in numpy calls, which a
#: full read of about 1000 segments costs too (measured on 2 cores; the same dots either way).
PROBE_FROM = 1000


class _Segments:
    """P candidate limbs as the rows of one ``(7, P) float32`` array, in cells: start ``(sx, sy)``, vector
    ``(vx, vy)``, unit direction ``(ux, uy)``, and ``base``, the flat index of each one's x plane in its
    ``(2L, h, w)`` fields (float32: exact below 2**24). One array, so that dropping segments is one copy."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows.astype(np.float32, copy=False)

    def __len__(self) -> int:
        return self.rows.shape[1]

    def take(self, keep: np.ndarray) -> "_Segments":
        """The segments where ``keep`` is True."""
        return _Segments(np.compress(keep, self.rows, axis=1))

    def dots(self, flat: np.ndarray, h: int, w: int, t: np.ndarray) -> np.ndarray:
        """The field at ``start + t * vec`` (nearest cell, clipped to the grid) projected on the direction.

        ``flat``: the fields flattened; ``t``: one fraction (-> ``(P,)``) or a ``(1, K)`` row (-> ``(P, K)``).
        """
        sx, sy, vx, vy, ux, uy, base = self.rows if np.ndim(t) == 0 else self.rows[:, :, None]
        x = np.clip(np.rint(sx + t * vx), 0, w - 1)
        y = np.clip(np.rint(sy + t * vy), 0, h - 1)
        at = (base + y * w + x).astype(np.int64)
        return np.take(flat, at) * ux + np.take(flat, at + h * w) * uy


def _aligned_samples(seg: _Segments, pafs: np.ndarray, n: int, fail_below: float,
                     spare: int) -> tuple[np.ndarray, np.ndarray]:
    """The projections of the segments that can still be valid: ``(P', n)`` dots and their ``(P',)`` indices.

    Sample ``k`` is the field at ``start + k / (n - 1) * vec``. Samples are read one position at a time
    (:func:`_probe_order`) and a segment is dropped as soon as more than ``spare`` of its samples are at most
    ``fail_below``: it would fail the full test. The survivors are then sampled at all ``n`` points, so their
    dots are exactly those of the full sampling. A crowd's many pairs between different people cost 3-4 reads
    each, not ``n``. Fewer than :data:`PROBE_FROM` segments are all read in full (the same survivors' dots).
    """
    _, h, w = pafs.shape
    flat = pafs.reshape(-1)
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)
    alive = np.arange(len(seg))                                      # the survivors; `seg` stays compact
    if len(seg) < PROBE_FROM:                                        # few pairs: one full read is cheaper
        return seg.dots(flat, h, w, t[None, :]), alive
    fails = np.zeros(len(seg), np.int64)
    for step, k in enumerate(_probe_order(n).tolist()):
        if len(alive) == 0:
            break
        fails += seg.dots(flat, h, w, t[k]) <= fail_below
        if step >= spare:
            keep = fails <= spare
            if not keep.all():
                alive, fails, seg = alive[keep], fails[keep], seg.take(keep)
    return seg.dots(flat, h, w, t[None, :]), alive
