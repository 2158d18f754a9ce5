"""The oracle diagnostic (benchmarks/oracle_failures.py): limb-graph pieces and the ideal-grouping ceiling."""
import importlib.util

import numpy as np

from conftest import ROOT, synthetic_person
from ssapose.skeleton import PART_NAMES, coco_to_parts


def _module():
    spec = importlib.util.spec_from_file_location("oracle_failures", ROOT / "benchmarks" / "oracle_failures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_limb_graph_pieces():
    pieces = _module().pieces
    visible = coco_to_parts(synthetic_person(100, 100)[None])[0, :, 2] > 0
    assert visible.all() and pieces(visible) == 1
    no_neck = visible.copy()
    no_neck[[PART_NAMES.index("neck"), PART_NAMES.index("left_shoulder")]] = False
    # without the neck: the head with the right arm (ear-shoulder limb), the left forearm and each leg
    assert pieces(no_neck) == 4
    assert pieces(np.zeros(18, bool)) == 0


def test_ideal_grouping_and_failures_on_coco_tiny():
    mod = _module()
    ann = str(ROOT / "data/coco_tiny/test_coco.json")
    ideal, split, total = mod.ideal_grouping(ann, 8, True)
    assert total == 12 and split == 1 and ideal["AP"] > 0.999
    stats, lines = mod.failures(ann, 8, True)
    assert stats["AP"] > 0.999 and lines == []
    ideal32, _, _ = mod.ideal_grouping(ann, 32, False)
    assert ideal32["AP"] < ideal["AP"]          # upsampling at stride 32 loses keypoints that no grouping recovers
