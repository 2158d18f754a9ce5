"""Oracle evaluation: encode each image's ground truth, decode it, score it; and ideal grouping of peaks.

The first measures the best AP the encoding and decoding can reach, with no network; the second the best AP a
grouping of given peaks (the oracle's, or a network's) can reach, whatever the decoder.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ssapose.coco import evaluate, image_people, load_coco, oks_matrix
from ssapose.decode import DecoderConfig, decode
from ssapose.decode.peaks import Peaks
from ssapose.poses import Poses
from ssapose.skeleton import NUM_PARTS, parts_to_coco
from ssapose.targets import TargetConfig, encode_targets


@dataclass(frozen=True)
class OracleResult:
    stats: dict
    results: list
    n_images: int


def oracle_eval(ann_file: str, target_config: TargetConfig, decoder_config: DecoderConfig,
                use_offsets: bool = True, progress: bool = False) -> OracleResult:
    """Encode -> decode -> COCOeval on every image of ``ann_file`` (images are not read).

    ``use_offsets`` decodes with the encoded block-inside offsets; otherwise the
    heatmaps are upsampled (the two refinements the paper compares).
    """
    decoder_config = replace(decoder_config, refine="offsets" if use_offsets else "upsample")
    coco = load_coco(ann_file)
    ids = sorted(coco.getImgIds())
    results: list[dict] = []
    it = ids
    if progress:
        from tqdm import tqdm
        it = tqdm(ids, desc="oracle", unit="img")
    for image_id in it:
        info = coco.imgs[image_id]
        people = image_people(coco, image_id, with_ignore=False)
        t = encode_targets(people.parts, int(info["width"]), int(info["height"]), target_config)
        poses = decode(t.heatmaps, t.pafs, target_config.stride, t.offsets,
                       decoder_config, image_height=info["height"])
        results.extend(poses.to_coco_results(image_id))
    return OracleResult(evaluate(coco, results, ids), results, len(ids))


def keypoint_peak_distances(truth: np.ndarray, peaks: Peaks) -> np.ndarray:
    """``(N, 18, K)`` distance in pixels from each person's part ``(N, 18, 3)`` (x, y, v) to each peak, inf where
    the part is not visible or the peak is of another part type."""
    d = np.linalg.norm(truth[:, :, None, :2] - peaks.xy[None, None], axis=3)
    same = peaks.part[None, None] == np.arange(NUM_PARTS)[:, None]
    return np.where((truth[..., 2] > 0)[..., None] & same, d, np.inf)


def take_peaks(d: np.ndarray, n_visible: np.ndarray, peaks: Peaks, radius: float | np.ndarray,
               shared: bool) -> np.ndarray:
    """Ideal grouping: ``(N, 18, 3)`` parts where each person, fewest visible parts (``n_visible`` ``(N,)``)
    first, takes the nearest peak of each part within ``radius`` pixels (a number or ``(N, 18)``) of its
    keypoint; without ``shared`` a taken peak is gone. ``d``: :func:`keypoint_peak_distances`."""
    parts = np.zeros(d.shape[:2] + (3,), np.float32)
    radius = np.broadcast_to(radius, d.shape[:2])
    free = np.ones(d.shape[2], bool)
    for n in np.argsort(n_visible, kind="stable"):
        dn = np.where(free[None], d[n], np.inf)                                          # (18, K)
        k = dn.argmin(axis=1)
        got = dn[np.arange(len(k)), k] <= radius[n]
        parts[n, got, :2] = peaks.xy[k[got]]
        parts[n, got, 2] = peaks.score[k[got]]
        if not shared:
            free[k[got]] = False
    return parts


def own_oks_results(truth: np.ndarray, parts: np.ndarray, areas: np.ndarray, image_id: int) -> list[dict]:
    """COCO results of ideal poses: ``parts`` ``(N, 18, 3)``, pose ``n`` grouped for person ``n`` of ``truth``
    ``(N, 18, 3)`` (areas ``(N,)`` pixels^2), each scored by its OKS against that person (the best ranking there
    is); poses without parts are left out."""
    keypoints = parts_to_coco(parts).astype(np.float32)
    scores = np.diagonal(oks_matrix(parts_to_coco(truth), keypoints, areas))
    keep = (parts[..., 2] > 0).any(axis=1)
    return Poses(keypoints[keep], scores[keep]).to_coco_results(image_id)
