"""Conventions pinned by hand, independently of the code that implements them: limb order, grid, flips."""
import numpy as np
import pytest

from ssapose.decode import DecoderConfig, decode
from ssapose.skeleton import FLIP_PARTS, LIMBS, OPENPOSE_PAF_CHANNELS, PART_NAMES

from conftest import DATA, TINY_ANN


def test_all_19_limbs_by_name_in_openpose_order():
    names = [(PART_NAMES[a], PART_NAMES[b]) for a, b in LIMBS]
    assert names == [
        ("neck", "right_shoulder"), ("neck", "left_shoulder"), ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("neck", "left_hip"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("neck", "nose"), ("nose", "right_eye"),
        ("right_eye", "right_ear"), ("nose", "left_eye"), ("left_eye", "left_ear"),
        ("right_shoulder", "right_ear"), ("left_shoulder", "left_ear")]


def test_paf_channels_of_imported_openpose_weights():
    # Lightweight OpenPose's BODY_PARTS_PAF_IDS, limb by limb in the order above (the IR's PAF layout)
    assert OPENPOSE_PAF_CHANNELS.tolist() == [
        [12, 13], [20, 21], [14, 15], [16, 17], [22, 23], [24, 25], [0, 1], [2, 3], [4, 5], [6, 7], [8, 9],
        [10, 11], [28, 29], [30, 31], [34, 35], [32, 33], [36, 37], [18, 19], [26, 27]]


def single_peak(cell_x: int, cell_y: int, h: int = 12, w: int = 16) -> np.ndarray:
    """19 heatmaps with one gaussian (sigma 1 cell) centred exactly on one cell, in the nose channel."""
    yy, xx = np.mgrid[0:h, 0:w]
    heat = np.zeros((19, h, w), np.float32)
    heat[0] = np.exp(-((xx - cell_x) ** 2 + (yy - cell_y) ** 2) / 1.0)
    return heat


@pytest.mark.parametrize("refine, tol", [("none", 0.01), ("fit", 0.01), ("upsample", 0.5)])
def test_a_cell_centre_is_where_cv2_resize_puts_it(refine, tol):
    # By hand: with stride 8, cell 7 covers input pixels 56..63, whose centre is 59.5 (pixel centres at
    # integers, as cv2.resize aligns them); cell 5 covers 40..47, centre 43.5.
    from ssapose.decode import find_peaks
    peaks = find_peaks(single_peak(7, 5), None, 8, DecoderConfig(refine=refine))
    assert peaks.part.tolist() == [0]
    # upsampling lands on a whole pixel of the plateau 59..60 (its 3x3 centroid barely moves on a wide peak)
    assert peaks.xy[0] == pytest.approx([59.5, 43.5], abs=tol)


def test_cv2_resize_agrees_with_the_hand_derivation():
    import cv2
    up = cv2.resize(single_peak(7, 5)[0], (16 * 8, 12 * 8), interpolation=cv2.INTER_CUBIC)
    ys, xs = np.nonzero(up == up.max())
    assert xs.mean() == pytest.approx(59.5) and ys.mean() == pytest.approx(43.5)


def test_coco_results_keep_the_annotations_pixel_convention(tiny_people):
    """Encode an image's annotations, decode, and the COCO results give back the annotated coordinates."""
    from ssapose.targets import TargetConfig, encode_targets
    im, parts = tiny_people[0]
    t = encode_targets(parts, im["width"], im["height"], TargetConfig(stride=8))
    poses = decode(t.heatmaps, t.pafs, 8, t.offsets, DecoderConfig(min_parts=1, min_score=0, refine="offsets"))
    results = poses.to_coco_results(im["id"])
    coco = parts[:, [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]]
    for person in coco:
        vis = person[:, 2] > 0
        best = min(np.abs(np.array(r["keypoints"]).reshape(17, 3)[vis, :2] - person[vis, :2]).max() for r in results)
        assert best <= 0.5


def test_flip_puts_left_targets_at_the_mirror_of_right_parts():
    from ssapose.models import get_config
    from ssapose.targets import TargetConfig
    from training.data import AugmentConfig, CocoKeypoints

    size, stride = 368, 8
    ds = CocoKeypoints(TINY_ANN, DATA / "coco_tiny", size, TargetConfig(stride=stride), get_config("lwop").preprocess,
                       AugmentConfig(scale=(1.0, 1.0), rotate=0.0, flip=1.0, shift=0.0))
    checked = 0
    for i in range(len(ds)):
        _, t = ds[i]
        heat = t["heatmaps"].numpy()
        info = ds.coco.imgs[ds.ids[i]]
        from ssapose.coco import image_people
        people = image_people(ds.coco, ds.ids[i]).parts
        s = size / max(info["width"], info["height"])
        for person in people:
            for p, q in enumerate(FLIP_PARTS):
                if p == q or person[p, 2] <= 0 or person[q, 2] <= 0:
                    continue
                # by hand: scale about the image centre into the crop, then mirror x
                x = size - 1 - (s * (person[p, 0] - info["width"] / 2) + size / 2)
                y = s * (person[p, 1] - info["height"] / 2) + size / 2
                other = size - 1 - (s * (person[q, 0] - info["width"] / 2) + size / 2)
                if not (0 <= x < size and 0 <= y < size) or abs(x - other) < 4 * stride:
                    continue                       # the two sides too close to tell apart
                cx, cy = int((x - 3.5) / stride + 0.5), int((y - 3.5) / stride + 0.5)
                assert heat[q, cy, cx] > 0.5, (PART_NAMES[p], PART_NAMES[q])
                checked += 1
    assert checked >= 10
