import numpy as np
import pytest

from ssapose.grid import cell_centres
from ssapose.skeleton import LIMBS, NUM_PARTS, coco_to_parts
from ssapose.targets import TargetConfig, encode_targets, validate_parts

from conftest import synthetic_person


def test_shapes_and_ranges(tiny_people):
    for im, parts in tiny_people:
        t = encode_targets(parts, im["width"], im["height"], TargetConfig(stride=8))
        h, w = -(-im["height"] // 8), -(-im["width"] // 8)
        assert t.heatmaps.shape == (19, h, w) and t.pafs.shape == (38, h, w)
        assert t.offsets.shape == (36, h, w) and t.offset_mask.shape == (18, h, w)
        assert t.salm.shape == (19, h, w) and t.mask.shape == (h, w)
        assert t.heatmaps.min() >= 0 and t.heatmaps.max() <= 1
        assert np.abs(t.offsets).max() <= 0.5
        norms = np.hypot(t.pafs[0::2], t.pafs[1::2])
        assert norms.max() <= 1 + 1e-5


def test_zero_where_it_should_be():
    parts = coco_to_parts(synthetic_person(100, 120)[None])
    t = encode_targets(parts, 400, 300, TargetConfig(stride=8, salm_alpha=10))
    # far from the person (right half of the image): nothing but background
    assert np.all(t.heatmaps[:NUM_PARTS, :, 25:] < 1e-6)
    assert np.all(t.heatmaps[NUM_PARTS, :, 25:] > 1 - 1e-6)
    assert np.all(t.pafs[:, :, 25:] == 0) and np.all(t.offsets[:, :, 25:] == 0)
    assert np.all(t.salm[:, :, 25:] < 1 + 1e-4)
    # offsets are zero exactly where the heatmap is <= 0.4
    for p in range(NUM_PARTS):
        valid = t.heatmaps[p] > 0.4
        assert (t.offset_mask[p].astype(bool) == valid).all()
        assert np.all(t.offsets[2 * p:2 * p + 2][:, ~valid] == 0)
        assert valid.any()


def test_offsets_point_inside_the_block():
    parts = coco_to_parts(synthetic_person(150, 150)[None])
    cfg = TargetConfig(stride=8)
    t = encode_targets(parts, 320, 320, cfg)
    c = cell_centres(40, 8)
    for p in range(NUM_PARTS):
        x, y = parts[0, p, :2]
        j, i = np.argmin(np.abs(c - x)), np.argmin(np.abs(c - y))   # the keypoint's own cell
        assert t.offset_mask[p, i, j] == 1
        assert np.isclose(c[j] + 8 * t.offsets[2 * p, i, j], x, atol=1e-4)
        assert np.isclose(c[i] + 8 * t.offsets[2 * p + 1, i, j], y, atol=1e-4)


def test_paf_direction_and_salm_peak_on_limb():
    kp = synthetic_person(100, 120)
    parts = coco_to_parts(kp[None])
    t = encode_targets(parts, 240, 260, TargetConfig(stride=4, salm_alpha=10))
    c = cell_centres(65, 4)
    for k, (a, b) in enumerate(LIMBS):
        pa, pb = parts[0, a, :2], parts[0, b, :2]
        mid = (pa + pb) / 2
        j, i = np.argmin(np.abs(c[:60] - mid[0])), np.argmin(np.abs(c - mid[1]))
        u = (pb - pa) / np.linalg.norm(pb - pa)
        assert np.allclose(t.pafs[2 * k:2 * k + 2, i, j], u, atol=1e-5)
        # Eq. 15-16 at that cell: alpha * exp(-d^2 / sigma^2) + 1, sigma = |limb| / 4 (pixels)
        p = np.array([c[j], c[i]])
        s = np.clip(np.dot(p - pa, u), 0, np.linalg.norm(pb - pa))
        d2 = np.sum((p - (pa + s * u)) ** 2)
        sigma = np.linalg.norm(pb - pa) / 4
        assert t.salm[k, i, j] == pytest.approx(10 * np.exp(-d2 / sigma ** 2) + 1, rel=1e-4)


def test_salm_alpha_zero_is_uniform():
    parts = coco_to_parts(synthetic_person(100, 120)[None])
    t = encode_targets(parts, 240, 260, TargetConfig(stride=8, salm_alpha=0))
    assert np.all(t.salm == 1)


def test_ignore_mask_downsampled():
    ignore = np.zeros((64, 64), bool)
    ignore[:32, :32] = True
    t = encode_targets(np.zeros((0, 18, 3)), 64, 64, TargetConfig(stride=8), ignore=ignore)
    assert t.mask[:4, :4].sum() == 0 and t.mask[4:, :].min() == 1 and t.mask[:, 4:].min() == 1


def test_no_people_gives_background_only():
    t = encode_targets(np.zeros((0, 18, 3)), 100, 80)
    assert t.heatmaps[:NUM_PARTS].max() == 0 and t.heatmaps[NUM_PARTS].min() == 1
    assert t.pafs.max() == 0 and t.offsets.max() == 0


def test_malformed_people():
    with pytest.raises(ValueError, match=r"\(N, 18, 3\)"):
        encode_targets(np.zeros((2, 17, 3)), 100, 100)
    parts = coco_to_parts(synthetic_person(50, 50)[None])
    parts[0, 0, :2] = (-40, 500)          # outside the image: skipped
    parts[0, 3, 0] = np.nan               # not finite: skipped
    clean = validate_parts(parts, 100, 100)
    assert clean[0, 0, 2] == 0 and clean[0, 3, 2] == 0 and np.isfinite(clean).all()
    t = encode_targets(parts, 100, 100)
    assert np.isfinite(t.heatmaps).all() and t.heatmaps[0].max() == 0
