import json

import numpy as np
import pytest

from app.cli import main
from ssapose.coco import evaluate, image_people, load_coco
from ssapose.decode import DecoderConfig
from ssapose.oracle import oracle_eval
from ssapose.targets import TargetConfig

from conftest import MINI_ANNS, TINY_ANN


def test_ground_truth_as_results_scores_one():
    coco = load_coco(str(TINY_ANN))
    res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
           for a in coco.dataset["annotations"] if a["num_keypoints"] > 0]
    assert evaluate(coco, res)["AP"] == pytest.approx(1.0)
    assert evaluate(coco, [])["AP"] == 0.0


def test_oracle_tiny_with_offsets_is_perfect():
    r = oracle_eval(str(TINY_ANN), TargetConfig(stride=8), DecoderConfig(min_parts=1, min_score=0))
    assert r.stats["AP"] >= 0.98


@pytest.mark.parametrize("ann", MINI_ANNS, ids=lambda p: p.name)
def test_oracle_mini_offsets_beat_upsampling(ann):
    dec = DecoderConfig(min_parts=1, min_score=0)
    off = oracle_eval(str(ann), TargetConfig(stride=16), dec, use_offsets=True).stats["AP"]
    up = oracle_eval(str(ann), TargetConfig(stride=16), dec, use_offsets=False).stats["AP"]
    assert off > up + 0.05
    assert off >= 0.85


def test_cli_eval_oracle(tmp_path, capsys):
    out = tmp_path / "o.json"
    assert main(["eval", "--oracle", "--ann", str(TINY_ANN), "--stride", "8", "--out", str(out)]) == 0
    assert "AP" in capsys.readouterr().out
    assert json.loads(out.read_text())["stats"]["AP"] >= 0.98


def test_malformed_annotations(tmp_path, capsys):
    d = json.loads(TINY_ANN.read_text())
    d["annotations"][0]["keypoints"] = d["annotations"][0]["keypoints"][:10]     # wrong length
    del d["annotations"][1]["keypoints"]                                         # missing key
    d["annotations"][2]["keypoints"][0] = 1e6                                    # outside the image
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(d))
    coco = load_coco(str(f))
    for iid in coco.getImgIds():
        p = image_people(coco, iid)
        assert p.parts.ndim == 3
        # each person's annotation id, in the same order: the malformed ones are not people
        usable = [a for a in coco.imgToAnns[iid] if a["num_keypoints"] > 0 and not a["iscrowd"]
                  and len(a.get("keypoints", [])) == 51]
        assert p.ann_ids.tolist() == [a["id"] for a in usable]
        for a, parts in zip(usable, p.parts):
            assert np.allclose(parts[0, :2], a["keypoints"][:2]) or a["keypoints"][2] == 0   # the nose, if any
    r = oracle_eval(str(f), TargetConfig(stride=8), DecoderConfig(min_parts=1, min_score=0))
    assert 0 < r.stats["AP"] <= 1
    missing = tmp_path / "nope.json"
    assert main(["eval", "--oracle", "--ann", str(missing)]) == 1
    assert "not found" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert main(["eval", "--oracle", "--ann", str(garbage)]) == 1


@pytest.mark.parametrize("content, words", [
    ("{}", "no images"), ('{"images": [], "annotations": []}', "no images"),
    ("[1, 2]", "JSON list"), ("not json", "not valid JSON"),
    ('{"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}], "annotations": []}', "no person"),
])
def test_unusable_annotation_files_are_errors(tmp_path, capsys, content, words):
    f = tmp_path / "a.json"
    f.write_text(content)
    with pytest.raises(ValueError, match=words):
        load_coco(str(f))
    assert main(["eval", "--oracle", "--ann", str(f)]) == 1
    assert words in capsys.readouterr().err
