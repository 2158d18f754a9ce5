"""The oracle diagnostic (benchmarks/oracle_failures.py): limb-graph pieces and the ideal-grouping ceiling."""
import importlib.util

import numpy as np
import pytest

from conftest import ROOT, TINY_ANN, synthetic_person
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
    ann = str(TINY_ANN)
    ideal, _, split, total = mod.ideal_grouping(ann, 8, True)
    assert total == 12 and split == 1 and ideal["AP"] > 0.999
    stats, lines = mod.failures(ann, 8, True)
    assert stats["AP"] > 0.999 and lines == []
    ideal32, shared32, _, _ = mod.ideal_grouping(ann, 32, False)
    assert ideal32["AP"] < ideal["AP"]          # upsampling at stride 32 loses keypoints that no grouping recovers
    assert shared32["AP"] >= ideal32["AP"]      # sharing peaks can only help


def test_a_head_annotated_twice_caps_the_grouping(tmp_path):
    """Two people with the same head (one place gives one peak): a grouping must leave one of them
    without it, while with peaks shared both are found whole."""
    import json
    mod = _module()
    a = synthetic_person(100, 120)
    b = a.copy()
    b[5:, 0] += 40.0                            # the same head, the body 40 px to the side
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 8000.0,
             "bbox": [40, 20, 140, 220], "num_keypoints": 17, "keypoints": kp.ravel().tolist()}
            for i, kp in enumerate((a, b))]
    ann = tmp_path / "twice.json"
    ann.write_text(json.dumps({
        "images": [{"id": 1, "width": 240, "height": 260, "file_name": "x.jpg"}], "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}))
    exclusive, shared, _, _ = mod.ideal_grouping(str(ann), 8, True)
    assert shared["AP"] > 0.99
    # the person left without the head keeps 12 of 17 keypoints (OKS 0.71): matched at the OKS thresholds
    # 0.50-0.70; above them recall is 1 of 2, which COCO's 101 recall points score 51/101
    assert exclusive["AP"] == pytest.approx((5 + 5 * 51 / 101) / 10, abs=1e-3)
