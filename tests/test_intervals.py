"""AP intervals: bootstrap over images, single and paired, on result sets whose AP and difference are known."""
import numpy as np
import pytest

from engines.cli import compare_spec
from ssapose.coco import evaluate, load_coco
from ssapose.decode import DecoderChoice
from ssapose.intervals import ap_interval, influence, paired_difference

from conftest import MINI_ANNS

VAL = next(p for p in MINI_ANNS if "val" in p.name)


@pytest.fixture(scope="module")
def coco():
    return load_coco(str(VAL))


def _truth_as_results(coco, shift: float = 0.0, keep=lambda image_id: True) -> list[dict]:
    """Every annotated person as a detection, keypoints moved ``shift`` px right, on the images ``keep`` keeps."""
    out = []
    for a in coco.dataset["annotations"]:
        if a.get("num_keypoints", 0) == 0 or a.get("iscrowd") or not keep(a["image_id"]):
            continue
        kp = np.asarray(a["keypoints"], float).reshape(17, 3)
        kp[:, 0] += np.where(kp[:, 2] > 0, shift, 0.0)
        kp[:, 2] = (kp[:, 2] > 0).astype(float)
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp.ravel().tolist(), "score": 0.9})
    return out


def test_perfect_results_have_ap_one_with_no_spread(coco):
    iv = ap_interval(coco, _truth_as_results(coco), draws=200)
    assert iv.value == pytest.approx(1.0) and iv.low == pytest.approx(1.0) and iv.high == pytest.approx(1.0)


def test_the_point_value_is_cocoevals_ap(coco):
    results = _truth_as_results(coco, shift=6.0)
    iv = ap_interval(coco, results, draws=200)
    assert iv.value == pytest.approx(evaluate(coco, results)["AP"], abs=1e-9)
    assert iv.low < iv.value < iv.high                    # people differ in size: the shift hurts some more


def test_identical_sets_differ_by_exactly_zero(coco):
    r = _truth_as_results(coco, shift=6.0)
    a, b, d = paired_difference(coco, r, list(r), draws=200)
    assert d.value == d.low == d.high == 0.0 and not d.excludes_zero


def test_a_known_loss_is_resolved_and_its_interval_holds_the_truth(coco):
    """B misses every person on half of the images: its AP falls, and the paired interval excludes zero."""
    ids = sorted(coco.getImgIds())
    half = set(ids[::2])
    full = _truth_as_results(coco)
    part = _truth_as_results(coco, keep=lambda i: i in half)
    a, b, d = paired_difference(coco, full, part, draws=300)
    assert a.value == pytest.approx(1.0)
    assert d.value == pytest.approx(evaluate(coco, part)["AP"] - 1.0, abs=1e-9)
    assert d.excludes_zero and d.high < 0 and d.low <= d.value <= d.high
    assert b.high - b.low > d.high - d.low - 1e-9 or b.high - b.low > 0.05


def test_empty_results_score_zero(coco):
    iv = ap_interval(coco, [], draws=100)
    assert iv.value == iv.low == iv.high == 0.0


def test_compare_spec():
    base = DecoderChoice(refine="fit")
    assert compare_spec("m.xml", base, "a.xml") == ("m.xml", base, False)
    assert compare_spec("@paf-method=count", base, "a.xml") == ("a.xml", DecoderChoice("fit", "count", None), False)
    assert compare_spec("@flip=on", base, "a.xml")[2] is True
    with pytest.raises(ValueError, match="not refine"):
        compare_spec("m.xml@speed=fast", base, "a.xml")


def test_the_interval_is_the_central_95_percent_of_the_draws():
    from ssapose.intervals import _interval

    iv = _interval(500.0, list(range(1001)), 10)
    assert (iv.low, iv.high, iv.draws) == (25.0, 975.0, 1001)


def test_eval_prints_the_interval_and_the_paired_difference(capsys):
    from app.cli import main
    from ssapose import paths

    from conftest import TINY_ANN

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    assert main(["eval", "--ann", str(TINY_ANN), "--ci", "--draws", "100"]) == 0
    assert "(95 % interval, bootstrap over 4 images, 100 draws)" in capsys.readouterr().out
    assert main(["eval", "--ann", str(TINY_ANN), "--compare", "@refine=fit", "--refine", "fit", "--draws", "100"]) == 0
    out = capsys.readouterr().out
    assert "difference B - A +0.000 [+0.000, +0.000]: not resolved" in out


def test_influence_finds_the_one_image_that_carries_a_difference(coco):
    """B loses every person of one image: that image carries the whole difference (without it, none is left)."""
    ids = sorted(coco.getImgIds())
    crowded = max(ids, key=lambda i: len(coco.getAnnIds(imgIds=i, iscrowd=False)))
    a = _truth_as_results(coco)
    b = _truth_as_results(coco, keep=lambda i: i != crowded)
    full = evaluate(coco, b)["AP"] - evaluate(coco, a)["AP"]
    rows = influence(coco, a, b)
    assert len(rows) == len(ids) and rows[-1][0] == crowded
    assert rows[-1][1] == pytest.approx(full, abs=1e-9) and full < -0.01
    assert all(abs(v) < abs(full) / 2 for _, v in rows[:-1])
    assert all(v == 0.0 for _, v in influence(coco, a, list(a)))
