import numpy as np

from ssapose import skeleton as sk


def test_sizes_and_channel_layout():
    assert sk.NUM_PARTS == 18 and sk.NUM_HEATMAPS == 19
    assert sk.NUM_LIMBS == 19 and sk.NUM_PAFS == 38 and sk.NUM_OFFSETS == 36
    # OpenPose's PAF channels are a permutation of the 38 channels.
    assert sorted(sk.OPENPOSE_PAF_CHANNELS.ravel().tolist()) == list(range(38))


def test_coco_round_trip_and_neck():
    kp = np.random.default_rng(0).uniform(0, 100, (3, 17, 3))
    kp[..., 2] = 2
    kp[1, 5, 2] = 0  # person 1 lacks its left shoulder -> no neck
    parts = sk.coco_to_parts(kp)
    assert np.allclose(sk.parts_to_coco(parts), kp)
    ls, rs = kp[0, 5, :2], kp[0, 6, :2]
    assert np.allclose(parts[0, sk.NECK, :2], (ls + rs) / 2)
    assert parts[1, sk.NECK, 2] == 0
    assert (sk.PART_TO_COCO[sk.COCO_TO_PART] == np.arange(17)).all()


def test_flip_permutations_are_involutions():
    for perm in (sk.FLIP_PARTS, sk.FLIP_HEATMAPS, sk.FLIP_LIMBS, sk.FLIP_COCO):
        assert (perm[perm] == np.arange(len(perm))).all()
    assert sk.PART_NAMES[sk.FLIP_PARTS[sk.PART_NAMES.index("left_wrist")]] == "right_wrist"
    # flipping a limb maps its endpoints to the mirrored endpoints
    for k, (a, b) in enumerate(sk.LIMBS):
        fa, fb = sk.LIMBS[sk.FLIP_LIMBS[k]]
        assert (fa, fb) == (sk.FLIP_PARTS[a], sk.FLIP_PARTS[b])


def test_flip_parts_twice_is_identity():
    parts = np.random.default_rng(1).uniform(0, 300, (4, 18, 3))
    parts[..., 2] = np.random.default_rng(2).integers(0, 3, (4, 18))
    twice = sk.flip_parts(sk.flip_parts(parts, 321), 321)
    assert np.allclose(twice, parts)
    once = sk.flip_parts(parts, 321)
    lw, rw = sk.PART_NAMES.index("left_wrist"), sk.PART_NAMES.index("right_wrist")
    vis = parts[:, lw, 2] > 0
    assert np.allclose(once[vis, rw, 0], 320 - parts[vis, lw, 0])


def test_sigmas():
    assert sk.COCO_SIGMAS.shape == (17,)
    assert np.allclose(sk.COCO_SIGMAS[sk.FLIP_COCO], sk.COCO_SIGMAS)
