"""The Python API (``engines.load``): a model in two lines, the same poses as the pipeline, torch-free."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

import engines
from engines import create_backend
from engines.run.step import FrameStep
from ssapose import paths

from conftest import DATA, DEMO, ROOT, TINY_ANN


@pytest.fixture(scope="module")
def estimator():
    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    with engines.load() as e:
        yield e


@pytest.fixture(scope="module")
def people_image():
    """The coco_tiny image with the most annotated people."""
    d = json.loads(TINY_ANN.read_text())
    counts = {}
    for a in d["annotations"]:
        counts[a["image_id"]] = counts.get(a["image_id"], 0) + (a.get("num_keypoints", 0) > 0)
    best = max(counts, key=counts.get)
    name = next(i["file_name"] for i in d["images"] if i["id"] == best)
    return next((DATA / "coco_tiny").rglob(name))


def test_call_finds_the_people_the_estimator_finds(estimator, people_image):
    image = cv2.imread(str(people_image))
    poses = estimator(image)
    assert len(poses) >= 1 and poses.keypoints.shape[1:] == (17, 3) and poses.ids is None
    with create_backend(str(paths.DEFAULT_MODEL), streams=1) as be:
        ref = FrameStep(be)(image)
    ref = ref.take(ref.shown(estimator.decoder.shown_score))    # the API returns the poses a user is shown
    np.testing.assert_allclose(poses.keypoints, ref.keypoints, atol=1e-3)
    from_path = estimator(str(people_image))                     # a path reads the same image
    np.testing.assert_allclose(from_path.keypoints, poses.keypoints, atol=1e-3)
    assert estimator.decoder.refine == "fit" and estimator.card.output_stride == 8


def test_outputs_are_json_and_coco(estimator, people_image):
    poses = estimator(str(people_image))
    people = json.loads(json.dumps(poses.to_json()))
    assert len(people) == len(poses) and len(people[0]["keypoints"]) == 17 and people[0]["track_id"] == -1
    coco = poses.to_coco(7)
    assert coco[0]["image_id"] == 7 and len(coco[0]["keypoints"]) == 51 and coco[0]["category_id"] == 1


def test_bad_images_are_refused(estimator, tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        estimator(str(tmp_path / "missing.jpg"))
    with pytest.raises(ValueError, match="BGR"):
        estimator(np.zeros((10, 10), np.uint8))


def test_stream_tracks_people_with_ids(estimator):
    """The demo clip's man walks in after the empty room: with tracking, his poses carry an id."""
    frames = list(estimator.stream(DEMO, track=True, max_frames=160))
    numbers = [r.index for r in frames]
    assert numbers == sorted(numbers) and len(frames) == 160
    ids = {int(i) for r in frames for i in r.poses.ids if i > 0}
    assert len(ids) >= 1
    untracked = next(r.poses for r in estimator.stream(DEMO, max_frames=1))
    assert untracked.ids is None


def test_the_api_loads_no_torch():
    code = ("import sys, cv2, engines\n"
            "e = engines.load()\n"
            "print(len(e(cv2.imread(sys.argv[1]))), 'torch' in sys.modules)\n")
    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    image = next((DATA / "coco_tiny").rglob("*.jpg"))
    out = subprocess.run([sys.executable, "-c", code, str(image)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False"
