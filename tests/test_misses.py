"""The miss diagnosis (benchmarks/misses.py): the keypoint radius and the class of each missed person."""
import importlib.util
import sys

import numpy as np
import pytest

from conftest import ROOT, synthetic_person
from ssapose.coco import oks_matrix
from ssapose.poses import Poses
from ssapose.skeleton import coco_to_parts, parts_to_coco


def _module():
    spec = importlib.util.spec_from_file_location("misses", ROOT / "benchmarks" / "misses.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod                  # its dataclass looks its module up
    spec.loader.exec_module(mod)
    return mod


def test_a_keypoint_at_the_radius_scores_the_similarity_asked_for():
    mod = _module()
    area = np.array([5000.0])
    r = mod.oks_radius(area)[0]
    truth = coco_to_parts(synthetic_person(100, 120)[None])
    for part in (0, 5, 11):                                   # nose, a shoulder and a hip: different sigmas
        found = truth.copy()
        found[0, part, 0] += r[part]                          # only this keypoint moved, by the radius
        one = truth.copy()
        one[0, np.arange(18) != part, 2] = 0                  # a person with this one keypoint
        got = oks_matrix(parts_to_coco(one), parts_to_coco(found), area)[0, 0]
        assert got == pytest.approx(mod.KEYPOINT_SIMILARITY, rel=1e-5)
    assert np.isinf(r[1])                                     # the neck: not scored by OKS


def _image(mod, poses, ideal_at):
    """One person; ``ideal_at`` {threshold: (18, 3) parts or None (no peaks)}; ``poses`` COCO (P, 17, 3)."""
    truth = coco_to_parts(synthetic_person(100, 120)[None])
    ideal = {t: (truth.astype(np.float32) if p is None else p[None]) for t, p in ideal_at.items()}
    kp = np.asarray(poses, np.float32).reshape(-1, 17, 3)
    return mod.Image(1, truth, np.array([8000.0]), [7], Poses(kp, np.ones(len(kp), np.float32)), ideal)


def test_each_missed_person_gets_the_class_of_what_lost_it():
    mod = _module()
    truth = coco_to_parts(synthetic_person(100, 120)[None])[0].astype(np.float32)
    none = np.zeros_like(truth)
    whole = parts_to_coco(truth)
    upper, lower = whole.copy(), whole.copy()
    upper[11:, 2] = 0                                          # the hips and legs elsewhere...
    lower[:11, 2] = 0
    other = whole.copy()
    other[9, 0] += 40                                          # a stranger's wrist in its place

    def cls(poses, ideal, taken=False):
        return mod.classify(_image(mod, poses, ideal), 0, 0.1, taken)

    assert cls([], {0.1: none, 0.05: none}) == "no peaks"
    assert cls([], {0.1: none, 0.05: truth}) == "weak peaks"
    assert cls([whole], {0.1: truth}, taken=True) == "pose taken"
    assert cls([upper, lower], {0.1: truth}) == "in pieces"
    assert cls([upper], {0.1: truth}) == "parts lost"
    assert cls([], {0.1: truth}) == "dropped"
    assert cls([other], {0.1: truth}) == "wrong parts"
