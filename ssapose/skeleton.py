"""The one definition of the body skeleton used by SSA-Pose.

Everything that needs part names, limb pairs, channel layouts, flip
permutations or COCO conversions imports them from here.

Parts follow OpenPose's COCO-18 body model: the 17 COCO keypoints plus a
neck (the midpoint of the shoulders). Heatmaps have one channel per part plus
a background channel (19). PAFs have an (x, y) pair per limb: 19 limbs, 38
channels, limb ``k`` at channels ``2k`` (x) and ``2k + 1`` (y). Offsets have
an (x, y) pair per part: 36 channels, part ``p`` at ``2p`` and ``2p + 1``.
"""
from __future__ import annotations

import numpy as np

PART_NAMES: tuple[str, ...] = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
NUM_PARTS = len(PART_NAMES)               # 18
NUM_HEATMAPS = NUM_PARTS + 1              # 19, the last is background
NECK = PART_NAMES.index("neck")

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_COCO_KEYPOINTS = len(COCO_KEYPOINT_NAMES)  # 17

#: For each of our 18 parts, its COCO keypoint index, or -1 for the neck.
PART_TO_COCO = np.array(
    [COCO_KEYPOINT_NAMES.index(n) if n in COCO_KEYPOINT_NAMES else -1 for n in PART_NAMES],
    dtype=np.int64,
)
#: For each of the 17 COCO keypoints, its index among our 18 parts.
COCO_TO_PART = np.array([PART_NAMES.index(n) for n in COCO_KEYPOINT_NAMES], dtype=np.int64)

# Limbs as (parent, child) part indices, in OpenPose's order: the 17 limbs of
# the tree rooted at the neck, then the two redundant ear-shoulder limbs.
_LIMB_NAMES = (
    ("neck", "right_shoulder"), ("neck", "left_shoulder"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("neck", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("neck", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"),
    ("nose", "left_eye"), ("left_eye", "left_ear"),
    ("right_shoulder", "right_ear"), ("left_shoulder", "left_ear"),
)
LIMBS = np.array([(PART_NAMES.index(a), PART_NAMES.index(b)) for a, b in _LIMB_NAMES], dtype=np.int64)
NUM_LIMBS = len(LIMBS)                    # 19
NUM_PAFS = 2 * NUM_LIMBS                  # 38
NUM_OFFSETS = 2 * NUM_PARTS               # 36

#: Channel pair that OpenPose's released COCO model (and pytorch-openpose's
#: ``body_pose_model.pth``) uses for each of our limbs, counted within the
#: 38 PAF channels. Used only when loading those weights.
OPENPOSE_PAF_CHANNELS = np.array(
    [(12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3),
     (4, 5), (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33),
     (36, 37), (18, 19), (26, 27)],
    dtype=np.int64,
)


#: OpenPose's COCO-18 heatmap channel order (Caffe model, Lightweight OpenPose and
#: Open Model Zoo's human-pose-estimation-0001); the 19th channel is background.
OPENPOSE_PART_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
#: Our heatmap channel i is OpenPose's channel OPENPOSE_HEATMAP_CHANNELS[i] (background last in both).
OPENPOSE_HEATMAP_CHANNELS = np.array([OPENPOSE_PART_NAMES.index(n) for n in PART_NAMES] + [NUM_PARTS],
                                     dtype=np.int64)


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


#: Part permutation under a horizontal flip: part p becomes FLIP_PARTS[p].
FLIP_PARTS = np.array([PART_NAMES.index(_mirror_name(n)) for n in PART_NAMES], dtype=np.int64)
#: Heatmap channel permutation under a flip (background stays last).
FLIP_HEATMAPS = np.concatenate([FLIP_PARTS, [NUM_PARTS]])
_limb_index = {tuple(l): k for k, l in enumerate(LIMBS.tolist())}
#: Limb permutation under a flip: limb k becomes FLIP_LIMBS[k].
FLIP_LIMBS = np.array(
    [_limb_index[(int(FLIP_PARTS[a]), int(FLIP_PARTS[b]))] for a, b in LIMBS], dtype=np.int64
)
#: COCO keypoint permutation under a flip.
FLIP_COCO = np.array(
    [COCO_KEYPOINT_NAMES.index(_mirror_name(n)) for n in COCO_KEYPOINT_NAMES], dtype=np.int64
)

#: COCO's category id of people, which every prediction carries.
PERSON_CATEGORY = 1

#: Per-keypoint OKS sigmas of the COCO evaluation, in COCO keypoint order.
COCO_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89],
    dtype=np.float64,
) / 10.0

#: Limbs of the COCO 17-keypoint skeleton (0-based), for drawing COCO poses.
COCO_LIMBS = np.array(
    [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
     (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)],
    dtype=np.int64,
)


#: A typical upright body, about 200 px tall, in part order (x, y): used only for
#: proportions (limb lengths), never as a pose prior.
_TYPICAL_BODY = np.array([
    (0, -90), (0, -60), (-25, -60), (-35, -20), (-40, 15), (25, -60), (35, -20), (40, 15),
    (-15, 10), (-17, 55), (-18, 100), (15, 10), (17, 55), (18, 100), (-6, -96), (6, -96), (-14, -92), (14, -92)],
    dtype=np.float64)


def _typical_lengths(pairs: np.ndarray) -> np.ndarray:
    """``(P,)`` distance between the two parts of each ``(P, 2)`` pair on the typical body."""
    return np.linalg.norm(_TYPICAL_BODY[pairs[:, 0]] - _TYPICAL_BODY[pairs[:, 1]], axis=1)


#: Typical length of each limb, in pixels of that ~200 px body.
TYPICAL_LIMB_LENGTHS = _typical_lengths(LIMBS)


#: Bones of the torso that are no PAF limb (shoulder-shoulder, hip-hip, shoulder-hip):
#: the torso is rigid, so these bound distances as the limbs do.
_TORSO_BONES = np.array([(PART_NAMES.index(a), PART_NAMES.index(b)) for a, b in (
    ("right_shoulder", "left_shoulder"), ("right_hip", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "left_hip"))], dtype=np.int64)


def _path_lengths() -> np.ndarray:
    d = np.full((NUM_PARTS, NUM_PARTS), np.inf)
    np.fill_diagonal(d, 0.0)
    d[LIMBS[:, 0], LIMBS[:, 1]] = d[LIMBS[:, 1], LIMBS[:, 0]] = TYPICAL_LIMB_LENGTHS
    d[_TORSO_BONES[:, 0], _TORSO_BONES[:, 1]] = d[_TORSO_BONES[:, 1], _TORSO_BONES[:, 0]] = _typical_lengths(_TORSO_BONES)
    for k in range(NUM_PARTS):                       # Floyd-Warshall on 18 nodes
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return d


#: ``(18, 18)``: the shortest path through the limbs and torso bones between two parts
#: of the typical body. No two parts of one person are farther apart than this (times
#: their scale).
TYPICAL_PATH_LENGTHS = _path_lengths()


def coco_to_parts(keypoints: np.ndarray) -> np.ndarray:
    """Convert COCO keypoints to our 18 parts, adding the neck.

    Args:
        keypoints: ``(..., 17, 3)`` float, COCO order, ``(x, y, v)`` in pixels;
            ``v > 0`` marks an annotated keypoint.
    Returns:
        ``(..., 18, 3)`` float64 in part order. The neck is the shoulders'
        midpoint with ``v = min(v_ls, v_rs)`` when both are annotated, else 0.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-2:] != (NUM_COCO_KEYPOINTS, 3):
        raise ValueError(f"expected (..., 17, 3) COCO keypoints, got shape {kp.shape}")
    parts = np.zeros(kp.shape[:-2] + (NUM_PARTS, 3), dtype=np.float64)
    parts[..., COCO_TO_PART, :] = kp
    ls = kp[..., COCO_KEYPOINT_NAMES.index("left_shoulder"), :]
    rs = kp[..., COCO_KEYPOINT_NAMES.index("right_shoulder"), :]
    both = (ls[..., 2] > 0) & (rs[..., 2] > 0)
    parts[..., NECK, :2] = np.where(both[..., None], (ls[..., :2] + rs[..., :2]) / 2, 0.0)
    parts[..., NECK, 2] = np.where(both, np.minimum(ls[..., 2], rs[..., 2]), 0.0)
    return parts


def parts_to_coco(parts: np.ndarray) -> np.ndarray:
    """Drop the neck and reorder ``(..., 18, K)`` parts into ``(..., 17, K)`` COCO order."""
    parts = np.asarray(parts)
    if parts.shape[-2] != NUM_PARTS:
        raise ValueError(f"expected (..., 18, K) parts, got shape {parts.shape}")
    return parts[..., COCO_TO_PART, :]


def flip_parts(parts: np.ndarray, width: float) -> np.ndarray:
    """Mirror ``(..., 18, 3)`` parts horizontally in an image ``width`` pixels wide.

    Pixel centres sit at integer coordinates, so ``x`` maps to ``width - 1 - x``.
    Left and right parts swap so that a flipped left wrist is a right wrist.
    """
    out = np.array(parts, dtype=np.float64, copy=True)
    out[..., 0] = np.where(out[..., 2] > 0, width - 1 - out[..., 0], out[..., 0])
    return out[..., FLIP_PARTS, :]
