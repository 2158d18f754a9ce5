from dataclasses import replace

import numpy as np
import pytest

from ssapose.decode import DecoderConfig, decode
from ssapose.decode.limbs import PROBE_FROM, greedy_pairs, match_pairs, pair_scores
from ssapose.decode.peaks import local_maxima
from ssapose.skeleton import coco_to_parts
from ssapose.targets import TargetConfig, encode_targets

from conftest import synthetic_person

ORACLE = DecoderConfig(min_parts=1, min_score=0.0, refine="offsets")


def _match(poses, truth):
    """For each true (17, 3) person, the max keypoint error of its best decoded person."""
    errs = []
    for kp in truth:
        vis = kp[:, 2] > 0
        d = [np.abs(p[vis, :2] - kp[vis, :2]).max() if (p[vis, 2] > 0).all() else np.inf for p in poses.keypoints]
        errs.append(min(d))
    return np.array(errs)


@pytest.mark.parametrize("stride", [8, 16])
def test_encode_decode_round_trip_real_people(tiny_people, stride):
    for im, parts in tiny_people:
        t = encode_targets(parts, im["width"], im["height"], TargetConfig(stride=stride))
        poses = decode(t.heatmaps, t.pafs, stride, t.offsets, ORACLE)
        assert len(poses) == len(parts)
        coco = parts[:, [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]]
        assert (_match(poses, coco) <= 0.5).all()


def test_without_offsets_error_grows_with_stride():
    truth = np.stack([synthetic_person(130.3, 150.7), synthetic_person(330.6, 160.2, 0.9)])
    errs = {}
    for stride in (8, 32):
        t = encode_targets(coco_to_parts(truth), 480, 320, TargetConfig(stride=stride))
        with_off = decode(t.heatmaps, t.pafs, stride, t.offsets, ORACLE)
        up = decode(t.heatmaps, t.pafs, stride, None, replace(ORACLE, refine="upsample"))
        assert (_match(with_off, truth) <= 0.5).all()
        errs[stride] = _match(up, truth).mean()
    assert errs[32] > errs[8] > 0.5


def test_empty_maps():
    z = np.zeros((19, 46, 46), np.float32)
    z[18] = 1
    assert len(decode(z, np.zeros((38, 46, 46), np.float32), 8, np.zeros((36, 46, 46), np.float32))) == 0
    assert len(decode(z, np.zeros((38, 46, 46), np.float32), 8, None)) == 0


def test_one_person_default_config():
    truth = synthetic_person(180, 180)[None]
    t = encode_targets(coco_to_parts(truth), 368, 368)
    poses = decode(t.heatmaps, t.pafs, 8, t.offsets)
    assert len(poses) == 1 and 0 < poses.scores[0] <= 1
    assert _match(poses, truth)[0] <= 0.5


def test_crowded_maps():
    rng = np.random.default_rng(0)
    truth = np.stack([synthetic_person(60 + 90 * (i % 10), 110 + 230 * (i // 10), 0.4 + 0.05 * rng.random())
                      for i in range(50)])
    t = encode_targets(coco_to_parts(truth), 960, 1200, TargetConfig(stride=8))
    poses = decode(t.heatmaps, t.pafs, 8, t.offsets)
    assert len(poses) == 50
    assert (_match(poses, truth) <= 0.5).all()
    # random noise maps: a bounded answer in bounded time
    import time
    noise = rng.random((19, 46, 46)).astype(np.float32)
    t0 = time.perf_counter()
    poses = decode(noise, rng.uniform(-1, 1, (38, 46, 46)).astype(np.float32), 8, rng.uniform(-.5, .5, (36, 46, 46)),
                   DecoderConfig(refine="offsets"))
    assert time.perf_counter() - t0 < 30.0                       # 2.6 s measured; generous for a loaded CI
    assert len(poses) <= 46 * 46 * 18 // 3                      # every person has >= 3 parts from distinct peaks
    kp = poses.keypoints[poses.keypoints[..., 2] > 0]
    assert ((kp[:, :2] >= -0.5) & (kp[:, :2] <= 46 * 8 - 0.5)).all() and np.isfinite(poses.scores).all()  # in the map
    assert ((poses.scores >= 0) & (poses.scores <= 1.0 + 1e-6)).all()


def test_nms_breaks_plateaus_once():
    m = np.zeros((1, 5, 5), np.float32)
    m[0, 2, 2] = m[0, 2, 3] = 1.0
    c, y, x = local_maxima(m, 0.1)
    assert len(c) == 1


def test_nms_matches_a_dense_3x3_window_on_plateaus_and_borders():
    """The sparse NMS (neighbours read only around cells above threshold) equals the dense definition: strictly
    above the earlier raster neighbours, not below the later ones, nothing outside the grid."""
    rng = np.random.default_rng(11)
    maps = rng.integers(0, 4, (6, 9, 13)).astype(np.float32) / 3       # coarse levels: many plateaus and ties
    maps[0, 0, :] = 1.0                                                  # a plateau along the border
    pad = np.full((6, 11, 15), -np.inf, np.float32)
    pad[:, 1:-1, 1:-1] = maps
    want = maps > 0.1
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                other = pad[:, 1 + dy:10 + dy, 1 + dx:14 + dx]
                want &= maps > other if (dy, dx) < (0, 0) else maps >= other
    got = np.zeros_like(want)
    got[local_maxima(maps, 0.1)] = True
    assert want.sum() > 10 and np.array_equal(got, want)


def paf_scores(start, end, paf, stride, **kwargs):
    """Every (start, end) pair of one limb scored: ``(A, B)`` scores and valid flags."""
    ia, ib = np.meshgrid(np.arange(len(start)), np.arange(len(end)), indexing="ij")
    s, v = pair_scores(start[ia.ravel()], end[ib.ravel()], np.zeros(ia.size, np.int64), paf, stride, **kwargs)
    return s.reshape(ia.shape), v.reshape(ia.shape)


def test_paf_methods_and_matching():
    # two parallel vertical limbs, field pointing down in both columns
    paf = np.zeros((2, 20, 20), np.float32)
    paf[1, :, 4] = paf[1, :, 14] = 1.0
    start = np.array([[4 * 8 + 3.5, 2 * 8 + 3.5], [14 * 8 + 3.5, 2 * 8 + 3.5]], np.float32)
    end = start + [0, 80]
    for method in ("count", "mean"):
        s, v = paf_scores(start, end[::-1], paf, 8, method=method)
        assert v[0, 1] and v[1, 0] and not v[0, 0] and not v[1, 1]
        for m in ("greedy", "hungarian"):
            assert sorted(map(tuple, match_pairs(s, v, m).tolist())) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError):
        paf_scores(start, end, paf, 8, method="bogus")


def test_shape_errors():
    with pytest.raises(ValueError, match="pafs"):
        decode(np.zeros((19, 8, 8)), np.zeros((38, 8, 9)), 8)
    with pytest.raises(ValueError, match="offsets"):
        decode(np.zeros((19, 8, 8)), np.zeros((38, 8, 8)), 8, np.zeros((34, 8, 8)))


def _upper_body_and_leg():
    """A body split into two fragments no limb links: ``(body, upper, right leg, leg part indices)``."""
    from ssapose.skeleton import PART_NAMES
    body = coco_to_parts(synthetic_person(200, 200)[None])[0].astype(np.float32)
    body[:, 2] = 1.0
    legs = [PART_NAMES.index(n) for n in ("right_hip", "right_knee", "right_ankle")]
    upper = body.copy()
    upper[legs, 2] = 0                       # the upper body without its right leg...
    upper[PART_NAMES.index("neck"), 2] = 0   # ...and without a neck: nothing links them
    leg = np.zeros_like(body)
    leg[legs] = body[legs]
    return body, upper, leg, legs


def test_fragments_merge_within_skeleton_reach_only():
    from ssapose.decode.merge import merge_fragments
    _, upper, leg, legs = _upper_body_and_leg()
    parts, _ = merge_fragments(np.stack([upper, leg]), np.ones(2, np.float32), radius=1.5, min_size=64, reach=1.0)
    assert len(parts) == 1 and (parts[0, legs, 2] > 0).all()
    far = leg.copy()
    far[legs, 0] += 600                      # the same leg 600 px away cannot belong to this body
    parts, _ = merge_fragments(np.stack([upper, far]), np.ones(2, np.float32), radius=1.5, min_size=64, reach=1.0)
    assert len(parts) == 2


def test_torso_bones_bound_the_merge():
    """Hips are one pelvis apart, not two torsos through the neck: a leg a pelvis-width
    too far to the side cannot join, however large the merge radius."""
    from ssapose.decode.merge import merge_fragments
    from ssapose.skeleton import PART_NAMES, TYPICAL_LIMB_LENGTHS, TYPICAL_PATH_LENGTHS
    rh, lh = PART_NAMES.index("right_hip"), PART_NAMES.index("left_hip")
    assert TYPICAL_PATH_LENGTHS[rh, lh] < TYPICAL_LIMB_LENGTHS.max()
    body, upper, leg, legs = _upper_body_and_leg()
    hip_width = abs(body[rh, 0] - body[lh, 0])
    for shift, pieces in ((0.0, 1), (-3 * hip_width, 2)):
        moved = leg.copy()
        moved[legs, 0] += shift
        parts, _ = merge_fragments(np.stack([upper, moved]), np.ones(2, np.float32), radius=10, min_size=128, reach=1.0)
        assert len(parts) == pieces


def test_merging_takes_the_best_fit_first_whatever_the_order():
    """A face, its own arm right beside it and another person's forearm a little farther:
    the arm joins the face and the stranger's forearm stays alone, in any input order.
    (Taking the smallest piece first gave the face to the stranger's forearm.)"""
    from ssapose.decode.merge import merge_fragments
    from ssapose.skeleton import PART_NAMES
    body = coco_to_parts(synthetic_person(200, 200)[None])[0].astype(np.float32)
    body[:, 2] = 1.0

    def piece(names, dx=0.0):
        out = np.zeros_like(body)
        idx = [PART_NAMES.index(n) for n in names]
        out[idx] = body[idx]
        out[idx, 0] += dx
        return out

    face = piece(["nose", "right_eye", "left_eye", "right_ear", "left_ear"])
    arm = piece(["left_shoulder", "left_elbow", "left_wrist"])
    stranger = piece(["left_elbow", "left_wrist"], dx=30.0)
    pieces = np.stack([face, arm, stranger])
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        parts, _ = merge_fragments(pieces[order], np.ones(3, np.float32), radius=4, min_size=128, reach=1.0)
        assert len(parts) == 2
        joined = parts[np.argmax((parts[..., 2] > 0).sum(axis=1))]
        np.testing.assert_array_equal(joined[..., 2] > 0, (face[..., 2] > 0) | (arm[..., 2] > 0))
        np.testing.assert_allclose(joined[arm[..., 2] > 0], arm[arm[..., 2] > 0])


def test_unflip_turns_the_mirrored_persons_fields_into_the_persons_own():
    """The fields encoded for a mirrored person, passed through ``unflip``, are the person's own fields."""
    from ssapose.skeleton import flip_parts
    from ssapose.tta import unflip

    w, h = 160, 128
    person = coco_to_parts(synthetic_person(70.0, 62.0, 0.5)[None])
    person[0, :, 0] += np.linspace(-6, 9, person.shape[1])          # no symmetry to hide a swapped channel
    cfg = TargetConfig(stride=8)
    plain = encode_targets(person, w, h, cfg)
    mirrored = encode_targets(flip_parts(person, w), w, h, cfg)
    back = unflip({"heatmaps": mirrored.heatmaps, "pafs": mirrored.pafs, "offsets": mirrored.offsets})
    np.testing.assert_allclose(back["heatmaps"], plain.heatmaps, atol=1e-5)
    np.testing.assert_allclose(back["pafs"], plain.pafs, atol=1e-5)
    np.testing.assert_allclose(back["offsets"], plain.offsets, atol=1e-5)


@pytest.mark.parametrize("normalised", [True, False])
def test_the_mirrored_input_is_the_input_of_the_mirrored_frame(normalised):
    """What the flipped pass runs on: the network input of the frame mirrored left to right (NCHW float, NHWC
    uint8 for a model that normalises inside)."""
    from ssapose.model_card import Preprocess
    from ssapose.preprocess import prepare
    from ssapose.tta import mirror_input

    frame = np.random.default_rng(3).integers(0, 256, (64, 128, 3), dtype=np.uint8)     # no padding at height 64
    pre = Preprocess(mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0), pad_to=8, fit="height")
    x, _ = prepare(frame, 64, pre, normalised=normalised)
    want, _ = prepare(np.ascontiguousarray(frame[:, ::-1]), 64, pre, normalised=normalised)
    np.testing.assert_array_equal(mirror_input(x), want)
    assert not np.array_equal(x, want)


def test_a_crowd_decodes_every_person():
    """64 people on one 1312x736 input (the crowd benchmark's scene): each found with its own keypoints; the
    pair pre-filter and the pairwise merge must not lose or mix anyone."""
    import sys

    sys.path.insert(0, str(__import__("conftest").ROOT / "benchmarks"))
    from crowd_decode import H, W, crowd, people

    from ssapose.skeleton import parts_to_coco
    from ssapose.coco import oks_matrix

    parts = crowd(people(), 64)
    t = encode_targets(parts, W, H, TargetConfig(stride=8))
    poses = decode(t.heatmaps, t.pafs, 8, t.offsets, DecoderConfig(), image_height=H)
    best = oks_matrix(parts_to_coco(parts), poses.keypoints).max(axis=1)
    assert len(poses) == 64 and (best > 0.9).all()


def _reference_pair_scores(start, end, limb, pafs, stride, method, n=10, align=0.5, min_aligned=0.8, height=None):
    """Every pair sampled at all n points: the definition the pre-filtered pair_scores must match."""
    _, h, w = pafs.shape
    scores, valid = [], []
    for s, e, k in zip(start, end, limb):
        v = e - s
        length = np.linalg.norm(v)
        u = v / max(length, 1e-6)
        dots = []
        for t in np.linspace(0.0, 1.0, n, dtype=np.float32):
            c = np.rint((s + t * v - (stride - 1) / 2.0) / stride).astype(int)
            cx, cy = np.clip(c[0], 0, w - 1), np.clip(c[1], 0, h - 1)
            dots.append(pafs[2 * k, cy, cx] * u[0] + pafs[2 * k + 1, cy, cx] * u[1])
        dots = np.array(dots)
        if method == "count":
            aligned = (dots > align).mean()
            tie = 1.0 / (10.0 * n)
            score, ok = (aligned + tie * dots.mean()) / (1.0 + tie), aligned >= min_aligned
        else:
            prior = min(0.5 * (height or h * stride) / max(length, 1e-6) - 1.0, 0.0)
            score = dots.mean() + prior
            ok = (dots > 0.05).mean() >= min_aligned and score > 0
        scores.append(score)
        valid.append(ok and length > 1e-6)
    return np.array(scores, np.float32), np.array(valid)


def test_pair_scores_match_the_full_sampling_on_noisy_fields():
    """The pre-filter drops only pairs the full test rejects, and the kept pairs score the same; with fewer pairs
    than ``PROBE_FROM`` (read in full at once) too."""
    rng = np.random.default_rng(3)
    pafs = np.zeros((38, 24, 30), np.float32)
    pafs[0, 5:20, 4:26] = 0.7                                      # a broad field for limb 0, plus noise
    pafs += rng.normal(0, 0.3, pafs.shape).astype(np.float32)
    start = rng.uniform(0, 240, (3000, 2)).astype(np.float32)
    end = rng.uniform(0, 240, (3000, 2)).astype(np.float32)
    limb = rng.integers(0, 2, 3000)
    assert 500 < PROBE_FROM < 3000
    for n, method in ((3000, "mean"), (3000, "count"), (500, "mean"), (500, "count")):
        ref_s, ref_v = _reference_pair_scores(start[:n], end[:n], limb[:n], pafs, 8, method)
        s, v = pair_scores(start[:n], end[:n], limb[:n], pafs, 8, method=method)
        assert 3 < ref_v.sum() < n - 20 and np.array_equal(v, ref_v), (n, method)
        np.testing.assert_allclose(s[v], ref_s[v], atol=1e-5)


def test_merge_costs_match_a_pair_by_pair_reference():
    from ssapose.decode.merge import _Pieces
    from ssapose.skeleton import TYPICAL_PATH_LENGTHS

    rng = np.random.default_rng(5)
    parts = np.zeros((30, 18, 3), np.float32)
    for i in range(30):                                            # pieces of 1-8 random part types
        types = rng.choice(18, rng.integers(1, 9), replace=False)
        parts[i, types, :2] = rng.uniform(0, 600, (len(types), 2))
        parts[i, types, 2] = 0.8
    p = _Pieces(parts, np.ones(30), 4.0, 128.0, 1.0)
    got = p.costs(np.arange(30))
    for a in range(30):
        for b in range(30):
            ha, hb = p.have[a], p.have[b]
            want = np.inf
            if a != b and not (ha & hb).any():
                d = np.linalg.norm(parts[a, ha, :2][:, None] - parts[b, hb, :2][None], axis=2)
                s = np.fmax(p.scale[a], p.scale[b])
                ratio = d / np.maximum(s * TYPICAL_PATH_LENGTHS[np.ix_(np.flatnonzero(ha), np.flatnonzero(hb))], 1e-6)
                small = p.extent[a] if p.count[a] <= p.count[b] else p.extent[b]
                gap = d.min() / (4.0 * max(small, 128.0))
                if gap <= 1.0 and not ratio.max() > 1.0:
                    want = gap
            assert got[a, b] == pytest.approx(want, rel=1e-5) or (np.isinf(want) and np.isinf(got[a, b])), (a, b)


def test_merge_costs_after_joins_equal_those_of_the_joined_pieces_afresh():
    """A join updates the pair statistics from its two pieces' rows; they must equal a fresh measurement."""
    from ssapose.decode.merge import _Pieces

    rng = np.random.default_rng(8)
    parts = np.zeros((40, 18, 3), np.float32)
    for i in range(40):
        types = rng.choice(18, rng.integers(1, 6), replace=False)
        parts[i, types, :2] = rng.uniform(0, 400, (len(types), 2))
        parts[i, types, 2] = 0.8
    p = _Pieces(parts, np.ones(40), 4.0, 128.0, 1.0)
    joins = 0
    for h, f in rng.integers(0, 40, (200, 2)).tolist():
        if p.disjoint[h, f] and joins < 12:
            p.join(h, f)
            joins += 1
    fresh = _Pieces(p.parts * p.have[..., None], p.scores, 4.0, 128.0, 1.0)      # a joined-away piece: empty
    assert joins == 12
    np.testing.assert_allclose(p.costs(np.arange(40)), fresh.costs(np.arange(40)), rtol=1e-6)
    assert np.isfinite(fresh.costs(np.arange(40))).sum() > 20


def test_resample_puts_a_peak_where_the_frame_has_it():
    """A person's fields encoded on a 1.5x grid, resampled onto the 1x grid, peak where the 1x fields do."""
    from ssapose.tta import resample

    person = coco_to_parts(synthetic_person(100.0, 110.0, 0.7)[None])
    cfg = TargetConfig(stride=8)
    base = encode_targets(person, 256, 224, cfg)
    big = person.copy()
    big[..., :2] *= 1.5
    other = encode_targets(big, 384, 336, cfg)
    back = resample({"heatmaps": other.heatmaps, "pafs": other.pafs}, 1.5, 1.0, 8, base.heatmaps.shape[1:])
    assert back["heatmaps"].shape == base.heatmaps.shape
    for p in range(18):
        want = np.unravel_index(base.heatmaps[p].argmax(), base.heatmaps[p].shape)
        got = np.unravel_index(back["heatmaps"][p].argmax(), base.heatmaps[p].shape)
        assert max(abs(want[0] - got[0]), abs(want[1] - got[1])) <= 0, p
        # and to a fraction of a cell: the centroids of the two peaks (the 1.5x gaussian is narrower)
        cy, cx = (np.clip(want[0] + np.arange(-1, 2), 0, 27), np.clip(want[1] + np.arange(-1, 2), 0, 31))
        wa, wb = base.heatmaps[p][np.ix_(cy, cx)] ** 2, back["heatmaps"][p][np.ix_(cy, cx)] ** 2
        ca = np.array([wa.sum(1) @ cy, wa.sum(0) @ cx]) / wa.sum()
        cb = np.array([wb.sum(1) @ cy, wb.sum(0) @ cx]) / wb.sum()
        assert np.abs(ca - cb).max() < 0.1, (p, ca, cb)


def _reference_greedy(ia, ib, scores, most):
    """OpenPose's greedy matching, pair by pair: the definition greedy_pairs must match."""
    used_a, used_b, out = set(), set(), []
    for q in np.argsort(-scores, kind="stable").tolist():
        if ia[q] not in used_a and ib[q] not in used_b and len(out) < most:
            used_a.add(ia[q])
            used_b.add(ib[q])
            out.append(q)
    return out


def test_greedy_pairs_match_the_pair_by_pair_definition():
    """The sparse greedy matching chooses what the pair-by-pair definition chooses, in its order, with ties,
    shared ends and a cap on the count."""
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(1, 40))
        ia, ib = rng.integers(0, 12, n), rng.integers(0, 12, n)
        scores = np.round(rng.random(n), 1).astype(np.float32)          # coarse: many ties
        most = int(rng.integers(1, 13)) if trial % 3 == 0 else 12
        got = greedy_pairs(ia, ib, scores, most).tolist()
        assert got == _reference_greedy(ia, ib, scores, most), trial


def test_nms_drops_a_peak_beside_a_nan_cell():
    """A NaN neighbour (a broken map) counts as higher, so the peak beside it is dropped (its sub-cell fit would
    be NaN), as the dense 3x3 comparison does."""
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, -1)):
        m = np.zeros((2, 9, 9), np.float32)
        m[1, 4, 4] = 0.5
        assert len(local_maxima(m, 0.1)[0]) == 1
        m[1, 4 + dy, 4 + dx] = np.nan
        assert len(local_maxima(m, 0.1)[0]) == 0, (dy, dx)
