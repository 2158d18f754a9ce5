"""Grouping limb connections into people (OpenPose's greedy assembly, with merging)."""
from __future__ import annotations

import numpy as np

from ssapose.decode.peaks import Peaks
from ssapose.skeleton import LIMBS, NUM_PARTS

#: Limbs after these (the ear-shoulder ones) only join or merge, never start a person.
NUM_TREE_LIMBS = 17


def assemble(
    peaks: Peaks,
    connections: list[np.ndarray],
    min_parts: int,
    min_score: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Group connections into people.

    Each connection adds its child to the person that holds its parent (or
    the reverse); a connection between two different people whose parts do
    not overlap merges them into one, so partial people found from different
    limbs become one full body.

    Args:
        peaks: all part candidates (K).
        connections: per limb, ``(M, 3) float64`` rows ``(i, j, score)`` with
            ``i, j`` indices into ``peaks``.
        min_parts: people with fewer parts are dropped; with 1, candidates that
            joined nobody become single-part people.
        min_score: people whose mean score (over parts and limbs) is lower are dropped.
    Returns:
        parts ``(N, 18, 3) float32`` (x, y, score) in input pixels and scores ``(N,)``.
    """
    members: list[list[int]] = []          # per person: candidate index per part, -1 if missing
    total: list[float] = []                # sum of part and limb scores
    n_terms: list[int] = []
    alive: list[bool] = []
    owner: dict[int, int] = {}
    cand_score = peaks.score.tolist()

    for k, (pa, pb) in enumerate(LIMBS.tolist()):
        for i, j, s in connections[k].tolist():
            i, j = int(i), int(j)
            oi, oj = owner.get(i), owner.get(j)
            if oi is None and oj is None:
                if k >= NUM_TREE_LIMBS:
                    continue
                m = [-1] * NUM_PARTS
                m[pa], m[pb] = i, j
                owner[i] = owner[j] = len(members)
                members.append(m)
                total.append(cand_score[i] + cand_score[j] + s)
                n_terms.append(3)
                alive.append(True)
            elif oj is None or oi is None:
                p, part, cand = (oi, pb, j) if oj is None else (oj, pa, i)
                if members[p][part] == -1:
                    members[p][part] = cand
                    owner[cand] = p
                    total[p] += cand_score[cand] + s
                    n_terms[p] += 2
            elif oi != oj:
                a, b = members[oi], members[oj]
                if all(x == -1 or y == -1 for x, y in zip(a, b)):
                    for q, c in enumerate(b):
                        if c != -1:
                            a[q] = c
                            owner[c] = oi
                    total[oi] += total[oj] + s
                    n_terms[oi] += n_terms[oj] + 1
                    alive[oj] = False
            else:
                total[oi] += s
                n_terms[oi] += 1

    people = [p for p in range(len(members)) if alive[p]]
    if min_parts <= 1:
        for c in np.flatnonzero(peaks.score > 0).tolist():
            if c not in owner:
                m = [-1] * NUM_PARTS
                m[int(peaks.part[c])] = c
                members.append(m)
                total.append(cand_score[c])
                n_terms.append(1)
                people.append(len(members) - 1)
    if not people:
        return np.zeros((0, NUM_PARTS, 3), np.float32), np.zeros((0,), np.float32)
    idx = np.array([members[p] for p in people], np.int64)              # (N, 18)
    scores = np.array([total[p] / n_terms[p] for p in people], np.float32)
    count = (idx >= 0).sum(axis=1)
    keep = (count >= min_parts) & (scores >= min_score)
    idx, scores = idx[keep], scores[keep]
    have = idx >= 0
    safe = np.where(have, idx, 0)
    parts = np.zeros(idx.shape + (3,), np.float32)
    parts[..., :2] = np.where(have[..., None], peaks.xy[safe], 0.0)
    parts[..., 2] = np.where(have, peaks.score[safe], 0.0)
    order = np.argsort(-scores, kind="stable")
    return parts[order], scores[order]
