"""The decoder: network fields at output resolution -> people in input pixels.

peaks (NMS on the low-resolution heatmaps) -> sub-cell refinement (block-inside
offsets, a log-parabola fit, both, or upsampling) -> PAF limb scores -> per-limb
matching -> assembly -> fragment merging.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ssapose.decode.assemble import assemble
from ssapose.decode.limbs import greedy_pairs, match_pairs, pair_scores
from ssapose.decode.merge import merge_fragments
from ssapose.decode.peaks import (Peaks, peaks_at_cells, peaks_by_fit, peaks_by_upsampling,
                                  peaks_with_offsets)
from ssapose.poses import Poses
from ssapose.skeleton import LIMBS, NUM_OFFSETS, NUM_PAFS, NUM_PARTS


#: The sub-cell refinements of ``DecoderConfig.refine``.
REFINEMENTS = ("offsets", "fit", "fit+offsets", "upsample", "none")


@dataclass(frozen=True)
class DecoderConfig:
    """Decoder parameters (defaults follow OpenPose where the paper is silent; the
    refinement and PAF score were chosen on coco_mini train2017, see BENCHMARKS.md).

    peak_threshold: minimum heatmap value of a part candidate (OpenPose: 0.1).
    averaged_peak_threshold: the same for maps averaged over several views (test-time flipping, scales,
        ``--input-size auto``'s second pass), where a part seen strongly in one view only is diluted by the
        others. Chosen on coco_mini train2017 for every averaging mode (docs/history.md, "Test-time
        augmentation"); :meth:`for_averaged_maps` applies it.
    averaged_min_score: ``min_score`` for averaged maps, for the same reason: a small person whose parts only
        the larger views see well has a diluted mean score there (chosen on coco_mini train2017 the same way).
    refine: how a low-resolution peak becomes a sub-cell position: ``"offsets"``
        (the network's block-inside offsets, Eq. 8), ``"fit"`` (a parabola through
        the log heatmap at the peak and its 4 neighbours, no network output
        needed), ``"fit+offsets"`` (the offsets as a learned residual on the fit),
        ``"upsample"`` (OpenPose: bicubic x stride, NMS at input resolution) or
        ``"none"`` (cell centres). The offset modes fall back to ``"fit"`` when no
        offsets are given.
    paf_method: ``"mean"`` (OpenPose; the default, best on real maps) or
        ``"count"`` (paper, Eq. 3). See docs/history.md for why count loses on
        real network PAFs, whose projections rarely reach its 0.5 threshold.
    n_samples: points sampled on each candidate limb (OpenPose: 10).
    align_threshold: projection counted as aligned by ``"count"`` (paper: 0.5).
    min_aligned: fraction of aligned samples a limb needs (OpenPose: 0.8).
    matching: ``"greedy"`` (OpenPose) or ``"hungarian"``.
    merge_radius: partial people that no limb connects are joined, cheapest
        join first, when they have no part type in common and their nearest
        parts are within this many times the smaller one's extent (0 turns
        merging off); see ``merge_fragments``.
    merge_min_size: smallest extent in pixels a join is judged by.
    merge_reach: slack on the skeleton-path bound that vetoes impossible merges.
    min_parts: fewest parts a person may have after merging (OpenPose: 3 of 18, neck included).
    min_score: lowest mean part-and-limb score a person may have.
    shown_score: lowest ranked person score (the one poses carry) of a pose shown to a user: drawn, written to
        JSON Lines / CSV, returned by the Python API. :func:`decode` itself keeps every pose (AP counts the weak
        ones too, ``ssapose eval`` scores them all); ``Poses.shown`` applies it. One value for every mode:
        chosen on coco_mini train2017 by F1 at OKS 0.5 (``python benchmarks/shown_score.py --choose``).
    """

    peak_threshold: float = 0.1
    averaged_peak_threshold: float = 0.05
    averaged_min_score: float = 0.05
    refine: str = "fit"
    paf_method: str = "mean"
    n_samples: int = 10
    align_threshold: float = 0.5
    min_aligned: float = 0.8
    matching: str = "greedy"
    min_parts: int = 3
    min_score: float = 0.2
    merge_radius: float = 4.0
    merge_min_size: float = 128.0
    merge_reach: float = 1.0
    shown_score: float = 0.1

    def for_averaged_maps(self) -> "DecoderConfig":
        """These settings for fields that average several views: ``averaged_peak_threshold`` and
        ``averaged_min_score`` in place of ``peak_threshold`` and ``min_score``."""
        return replace(self, peak_threshold=self.averaged_peak_threshold, min_score=self.averaged_min_score)

    def for_fields(self, averaged: bool) -> "DecoderConfig":
        """The settings for fields that average several views (:meth:`for_averaged_maps`) or come from one."""
        return self.for_averaged_maps() if averaged else self


@dataclass(frozen=True)
class DecoderChoice:
    """What a user asked of the decoder (``--refine``, ``--paf-method``, ``--matching``, ``--shown-score``); None
    keeps the model's own default (its card's ``refine``), then :class:`DecoderConfig`'s."""

    refine: str | None = None
    paf_method: str | None = None
    matching: str | None = None
    shown_score: float | None = None

    def resolve(self, model_refine: str = "") -> DecoderConfig:
        """The decoder for a model whose card says ``model_refine`` (empty: no preference)."""
        d = DecoderConfig()
        return DecoderConfig(refine=self.refine or model_refine or d.refine, paf_method=self.paf_method or d.paf_method,
                             matching=self.matching or d.matching,
                             shown_score=d.shown_score if self.shown_score is None else self.shown_score)


def find_peaks(heatmaps: np.ndarray, offsets: np.ndarray | None, stride: int, config: DecoderConfig) -> Peaks:
    """Part candidates in input pixels from ``(>=18, H, W)`` heatmaps and optional ``(36, H, W)`` offsets."""
    parts = np.ascontiguousarray(heatmaps[:NUM_PARTS], dtype=np.float32)
    mode, t = config.refine, config.peak_threshold
    if mode not in REFINEMENTS:
        raise ValueError(f"unknown refinement {mode!r}; use one of {', '.join(REFINEMENTS)}")
    if offsets is None and mode in ("offsets", "fit+offsets"):
        mode = "fit"
    if mode == "offsets":
        return peaks_with_offsets(parts, np.asarray(offsets, np.float32), stride, t)
    if mode == "fit+offsets":
        return peaks_by_fit(parts, stride, t, residual=np.asarray(offsets, np.float32))
    if mode == "fit":
        return peaks_by_fit(parts, stride, t)
    if mode == "upsample":
        return peaks_by_upsampling(parts, stride, t)
    return peaks_at_cells(parts, stride, t)


def connect(peaks: Peaks, pafs: np.ndarray, stride: int, config: DecoderConfig,
            image_height: float | None = None) -> list[np.ndarray]:
    """Per limb, the chosen connections as ``(M, 3)`` rows ``(i, j, score)`` into ``peaks``.

    The candidate pairs of all limbs are scored in one vectorised pass, then
    matched limb by limb.
    """
    order, first_of, count = peaks.part_runs(NUM_PARTS)
    na, nb = count[LIMBS[:, 0]], count[LIMBS[:, 1]]                  # (19,) candidates at each end of a limb
    sizes = na * nb
    out = [np.zeros((0, 3)) for _ in LIMBS]
    if not sizes.sum():
        return out
    first = np.cumsum(sizes) - sizes                                   # each limb's run in the flat pair list
    limb = np.repeat(np.arange(len(LIMBS)), sizes)                     # every start x end pair of every limb
    local = np.arange(int(sizes.sum())) - first[limb]
    nbl = nb[limb]
    ia = order[first_of[LIMBS[limb, 0]] + local // nbl]                # start candidate: slow index
    ib = order[first_of[LIMBS[limb, 1]] + local % nbl]                 # end candidate: fast index
    start, end = np.take(peaks.xy, ia, axis=0), np.take(peaks.xy, ib, axis=0)    # take: 15x faster than [ia]
    scores, valid = pair_scores(
        start, end, limb, pafs, stride, method=config.paf_method, n_samples=config.n_samples,
        align_threshold=config.align_threshold, min_aligned=config.min_aligned, image_height=image_height)
    ok = np.flatnonzero(valid)                                          # few: found once, split by limb
    bounds = np.searchsorted(ok, np.append(first, len(valid)))
    for k in range(len(LIMBS)):
        q = ok[bounds[k]:bounds[k + 1]]
        if len(q) == 0:
            continue
        if config.matching == "greedy":
            q = q[greedy_pairs(ia[q], ib[q], scores[q], int(min(na[k], nb[k])))]
        else:
            run = slice(first[k], first[k] + sizes[k])
            pairs = match_pairs(scores[run].reshape(na[k], nb[k]), valid[run].reshape(na[k], nb[k]),
                                config.matching)
            q = first[k] + pairs[:, 0] * nb[k] + pairs[:, 1]
        out[k] = np.column_stack([ia[q], ib[q], scores[q]])
    return out


def decode(
    heatmaps: np.ndarray,
    pafs: np.ndarray,
    stride: int,
    offsets: np.ndarray | None = None,
    config: DecoderConfig = DecoderConfig(),
    image_height: float | None = None,
) -> Poses:
    """Decode one image's fields into people.

    Args:
        heatmaps: ``(18 or 19, H, W) float32`` at output resolution.
        pafs: ``(38, H, W) float32``.
        stride: input pixels per output cell.
        offsets: ``(36, H, W) float32`` block-inside offsets in cells, or None.
        config: decoder parameters.
        image_height: input height in pixels, for OpenPose's distance prior.
    Returns:
        Poses in input pixels (COCO order).
    """
    heatmaps = np.asarray(heatmaps, np.float32)
    pafs = np.asarray(pafs, np.float32)
    if heatmaps.ndim != 3 or heatmaps.shape[0] < NUM_PARTS:
        raise ValueError(f"heatmaps must be (18 or 19, H, W), got {heatmaps.shape}")
    if pafs.shape != (NUM_PAFS,) + heatmaps.shape[1:]:
        raise ValueError(f"pafs must be ({NUM_PAFS}, H, W) matching heatmaps {heatmaps.shape}, got {pafs.shape}")
    if offsets is not None and np.shape(offsets) != (NUM_OFFSETS,) + heatmaps.shape[1:]:
        raise ValueError(f"offsets must be ({NUM_OFFSETS}, H, W) matching heatmaps, got {np.shape(offsets)}")
    peaks = find_peaks(heatmaps, offsets, stride, config)
    if len(peaks.part) == 0:
        return Poses.empty()
    connections = connect(peaks, pafs, stride, config, image_height)
    parts, scores = assemble(peaks, connections, min_parts=1, min_score=config.min_score)
    parts, scores = merge_fragments(parts, scores, config.merge_radius, config.merge_min_size,
                                    config.merge_reach)
    n_parts = (parts[..., 2] > 0).sum(axis=1)
    keep = n_parts >= config.min_parts
    # Rank complete people above fragments: mean score times completeness.
    final = scores[keep] * n_parts[keep] / NUM_PARTS
    order = np.argsort(-final, kind="stable")
    return Poses.from_parts(parts[keep][order], final[order])
