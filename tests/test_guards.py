"""Tests written against bugs the suite once missed (issue 28); each names the bug it guards against.

Each was checked by planting the bug and watching the test fail.
"""
import json
import time

import numpy as np
import pytest
import torch

from engines.sinks import run_header
from engines.sinks.files import JsonLinesWriter
from engines.run.pipeline import FrameResult, Pipeline, PipelineConfig
from engines.run.step import Timings
from ssapose.decode.limbs import pair_scores
from ssapose.overlay import DrawStyle, draw_poses
from ssapose.poses import Poses

from conftest import TINY_ANN
from test_pipeline import FieldsBackend, frames


# -- bug: the JSON Lines writer no longer flushes each frame --------------------------------------------------
def test_a_reader_sees_each_frame_before_the_writer_closes(tmp_path):
    path = tmp_path / "p.jsonl"
    w = JsonLinesWriter(str(path), run_header("src.mp4", "m.xml", 10.0, {}))
    try:
        for i in range(3):
            kp = np.zeros((1, 17, 3), np.float32)
            r = FrameResult(i, i / 10, Poses(kp, np.ones(1, np.float32)), Timings())
            w.write(r)
            with open(path, encoding="utf-8") as f:            # another reader, while the run goes on
                lines = f.read().splitlines()
            assert len(lines) == i + 2 and json.loads(lines[-1])["frame"] == i
    finally:
        w.close()


# -- bug: live mode drops frames although inference keeps up ----------------------------------------------------
def test_live_mode_drops_nothing_when_inference_keeps_up():
    def camera(n=15, interval=0.1):
        for f in frames(n):
            time.sleep(interval)                              # 10 fps; the stand-in network takes ~1 ms
            yield f

    pipe = Pipeline(camera(), FieldsBackend(), PipelineConfig(live=True, draw=False))
    delivered = [r.index for r in pipe.results()]
    assert delivered == list(range(15)) and pipe.stats.dropped == 0


# -- bug: two limbs of the overlay's drawing table swapped ------------------------------------------------------
def _drawn_limbs() -> set[frozenset]:
    """Which keypoint pairs the overlay joins: two keypoints visible at a time, a line between them or not."""
    rng = np.random.default_rng(1)
    pts = rng.uniform(40, 360, (17, 2))
    drawn = set()
    style = DrawStyle(keypoint_threshold=1.0, limb_threshold=0.1)       # no joints drawn: lines only
    for a in range(17):
        for b in range(a + 1, 17):
            kp = np.zeros((1, 17, 3), np.float32)
            kp[0, [a, b], :2] = pts[[a, b]]
            kp[0, [a, b], 2] = 0.9
            img = draw_poses(np.zeros((400, 400, 3), np.uint8), Poses(kp, np.ones(1, np.float32)), style)
            mid = ((pts[a] + pts[b]) / 2).round().astype(int)
            if img[mid[1] - 1:mid[1] + 2, mid[0] - 1:mid[0] + 2].any():
                drawn.add(frozenset((a, b)))
    return drawn


def test_overlay_draws_the_coco_skeleton_of_the_annotation_files():
    cat = json.loads(TINY_ANN.read_text())["categories"][0]
    coco = {frozenset((a - 1, b - 1)) for a, b in cat["skeleton"]}       # 1-based in the file
    assert len(coco) == 19 and _drawn_limbs() == coco


# -- bug: the `mean` PAF score's distance prior removed ---------------------------------------------------------
def test_an_over_long_perfect_limb_scores_below_a_normal_one():
    h = w = 46                                                           # a 368 x 368 input at stride 8
    pafs = np.zeros((2, h, w), np.float32)
    pafs[0] = 1.0                                                        # a perfect field pointing +x everywhere
    start = np.array([[10.0, 184.0], [10.0, 184.0]])
    end = np.array([[90.0, 184.0], [330.0, 184.0]])                      # 80 px and 320 px long
    scores, valid = pair_scores(start, end, np.zeros(2, np.int64), pafs, 8, method="mean", image_height=368)
    # OpenPose's prior: mean projection (1 here) + min(0.5 * height / length - 1, 0)
    assert scores == pytest.approx([1.0, 1.0 + 0.5 * 368 / 320 - 1.0], abs=1e-5)
    assert scores[1] < scores[0] and valid.all()


# -- bug: checkpoints written straight to the final path --------------------------------------------------------
def test_a_save_that_fails_half_way_leaves_the_last_good_checkpoint(tmp_path, monkeypatch):
    from ssapose.models import build_model, get_config, load_checkpoint, save_checkpoint

    cfg = get_config("lite", width=32)
    torch.manual_seed(0)
    model = build_model(cfg)
    path = tmp_path / "last.pt"
    save_checkpoint(str(path), model, cfg, step=1)
    real_save = torch.save

    def crash_half_way(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        with open(f, "r+b") as fh:                                       # the disk fills up mid-write
            fh.truncate(fh.seek(0, 2) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash_half_way)
    with pytest.raises(OSError):
        save_checkpoint(str(path), build_model(cfg), cfg, step=2)
    monkeypatch.setattr(torch, "save", real_save)
    loaded, _, blob = load_checkpoint(str(path))
    assert blob["step"] == 1
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]           # no temporary file left behind


# -- bug: DistributedSampler.set_epoch no longer called ---------------------------------------------------------
def test_each_epoch_of_a_distributed_run_sees_another_order(tmp_path, monkeypatch):
    """Rank 0 of 2, faked in this process: the sampler is real, the process group is not needed."""
    from training import distributed
    from training.config import TrainConfig
    from training.data import CocoKeypoints
    from training.synthetic import ensure_generated
    from training.train import train

    class FakeRank0(distributed.Dist):
        def wrap(self, model):
            return model

        def average_grads(self, params):
            pass

        def barrier(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(distributed, "setup", lambda device: FakeRank0(0, 2, 0, device))
    seen: list[int] = []
    real_getitem = CocoKeypoints.__getitem__
    monkeypatch.setattr(CocoKeypoints, "__getitem__", lambda self, i: (seen.append(int(i)), real_getitem(self, i))[1])
    root = tmp_path / "syn"
    ensure_generated(root, 8, 2, seed=3, size=64)
    cfg = TrainConfig(synthetic=True, synthetic_dir=str(root), synthetic_train=8, synthetic_val=2, synthetic_seed=3,
                      input_size=64, width=16, batch_size=4, iterations=4, workers=0, eval_every=10 ** 6,
                      checkpoint_every=10 ** 6, out=str(tmp_path / "run"), optimizer="adam", lr=1e-4, augment=False)
    train(cfg)
    epochs = [tuple(seen[k:k + 4]) for k in range(0, 16, 4)]            # 4 of the 8 samples per epoch on rank 0
    assert len(seen) >= 16 and len(set(epochs)) > 1, epochs


# -- several inference requests in flight (issue 22) ------------------------------------------------------------
class _StreamsBackend(FieldsBackend):
    """Three requests at once, each taking a random time: frames finish out of order."""

    def __init__(self):
        super().__init__()
        self.streams = 3
        self.rng = np.random.default_rng(0)

    def infer(self, batch):
        time.sleep(float(self.rng.uniform(0.0, 0.02)))
        return super().infer(batch)


def test_file_mode_keeps_order_with_several_requests_in_flight():
    be = _StreamsBackend()
    pipe = Pipeline(frames(40), be, PipelineConfig(draw=False))
    out = list(pipe.results())
    assert [r.index for r in out] == list(range(40)) and pipe.stats.dropped == 0
    assert len([t for t in pipe._threads if t.name == "ssapose-_infer"]) == 3
    for r in out[::9]:                                   # each frame's poses are its own, not a neighbour's
        err = min(np.abs(kp[:, :2] - be.truth(r.index)[0, :, :2]).max() for kp in r.poses.keypoints)
        assert err < 1.0


def test_live_mode_with_several_requests_delivers_only_newer_frames():
    be = _StreamsBackend()

    def camera():
        for f in frames(60):
            time.sleep(0.002)
            yield f

    pipe = Pipeline(camera(), be, PipelineConfig(live=True, draw=False))
    idx = [r.index for r in pipe.results()]
    assert idx == sorted(idx) and len(idx) + pipe.stats.dropped == 60
