"""The Lightweight OpenPose importer against an independent run of the same IR (OpenVINO), and the real model."""
import shutil

import cv2
import numpy as np
import pytest
import torch

from ssapose import paths
from ssapose.models import load_checkpoint
from ssapose.models.ir import IRGraph, fake_quantize
from ssapose.models.lwop_weights import HEAT_FROM_IR, PAF_FROM_IR
from ssapose.preprocess import prepare
from ssapose.skeleton import NUM_HEATMAPS, NUM_PAFS, OPENPOSE_PART_NAMES, PART_NAMES

from conftest import DATA

IMAGES = [DATA / "coco_mini" / "val2017" / "000000183709.jpg", DATA / "coco_mini" / "train2017" / "000000129648.jpg"]


def openvino_fields(x: np.ndarray) -> np.ndarray:
    """The IR run by OpenVINO on a preprocessed input: ``(57, h, w)``, the IR's own channel order."""
    ov = pytest.importorskip("openvino")
    core = ov.Core()
    net = core.read_model(str(paths.lwop_ir()))
    net.reshape({0: list(x.shape)})
    compiled = core.compile_model(net, "CPU")
    raw = (x + 0.50196) * 255.0                       # the IR normalises its own BGR 0-255 input
    out = compiled(raw.astype(np.float32))
    named = {o.get_any_name(): out[o][0] for o in compiled.outputs}
    return np.concatenate([named["Mconv7_stage2_L2"], named["Mconv7_stage2_L1"]])


def channel_match(ours: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: mean |ours - theirs| on the same channel, and the index of their nearest channel."""
    d = np.abs(ours[:, None] - theirs[None]).mean(axis=(2, 3))
    return np.diag(d), d.argmin(axis=1)


@pytest.fixture(scope="module")
def fields(real_model):
    model, config, _ = load_checkpoint(real_model)
    out = []
    for path in IMAGES:
        x, _ = prepare(cv2.imread(str(path)), 256, config.preprocess)
        with torch.no_grad():
            o = model(torch.from_numpy(x))[-1]
        ours = np.concatenate([o.heatmaps[0].numpy(), o.pafs[0].numpy()])
        ir = openvino_fields(x)
        theirs = np.concatenate([ir[:NUM_HEATMAPS][HEAT_FROM_IR], ir[NUM_HEATMAPS:][PAF_FROM_IR]])
        out.append((ours, theirs, ir))
    return out


def test_import_matches_openvino_channel_by_channel(fields):
    for ours, theirs, _ in fields:
        err, nearest = channel_match(ours, theirs)
        # the IR's activations are 8-bit: each channel agrees within that, and is closest to its own twin
        assert err.max() < 0.02, err.max()
        assert (nearest == np.arange(len(ours))).all()


def test_a_wrong_channel_map_fails(fields):
    ours, _, ir = fields[0]
    wrong_paf = PAF_FROM_IR.copy()
    wrong_paf[[2, 4]] = wrong_paf[[4, 2]]                       # two limbs' x channels swapped
    wrong_heat = HEAT_FROM_IR.copy()
    wrong_heat[[2, 5]] = wrong_heat[[5, 2]]                     # right and left shoulder swapped
    for heat, paf in ((wrong_heat, PAF_FROM_IR), (HEAT_FROM_IR, wrong_paf)):
        theirs = np.concatenate([ir[:NUM_HEATMAPS][heat], ir[NUM_HEATMAPS:][paf]])
        _, nearest = channel_match(ours, theirs)
        assert not (nearest == np.arange(len(ours))).all()


def test_heatmap_order_pinned_by_name():
    assert [OPENPOSE_PART_NAMES[i] for i in HEAT_FROM_IR[:-1]] == list(PART_NAMES)
    assert HEAT_FROM_IR[-1] == NUM_HEATMAPS - 1 and len(PAF_FROM_IR) == NUM_PAFS


def test_fake_quantize_dequantizes_8bit_weights():
    # i8 weights in [-127, 127] mapped per channel to [lo, hi]
    q = np.array([[-127.0, 0.0, 127.0], [-127.0, 64.0, 127.0]])
    out = fake_quantize(q, -127, 127, np.array([[-1.0], [-0.5]]), np.array([[1.0], [0.5]]), levels=255)
    np.testing.assert_allclose(out, [[-1, 0, 1], [-0.5, 0.5 * 64 / 127, 0.5]])


def test_truncated_or_broken_ir_gives_a_clear_error(tmp_path):
    src = paths.lwop_ir()
    xml, bin_ = tmp_path / "m.xml", tmp_path / "m.bin"
    shutil.copy(src, xml)
    bin_.write_bytes(src.with_suffix(".bin").read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated"):
        IRGraph(str(xml)).conv("conv5_5/sep")
    xml.write_text(src.read_text()[:5000])
    with pytest.raises(ValueError, match="not valid XML"):
        IRGraph(str(xml))
    with pytest.raises(FileNotFoundError):
        IRGraph(str(tmp_path / "none.xml"))


def demo_frames(indices: list[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(paths.demo_video()))
    out, i = {}, 0
    while len(out) < len(indices):
        ok, frame = cap.read()
        assert ok, f"demo clip ended before frame {max(indices)}"
        if i in indices:
            out[i] = frame
        i += 1
    return out


def test_demo_clip_empty_room_and_one_person(real_model):
    """Frames picked by eye: the empty room (a table, a pillar, the floor) and one person walking."""
    from engines import create_backend
    from engines.run.step import FrameStep

    est = FrameStep(create_backend(real_model), 368)
    empty, one = [30, 470, 1380], [120, 300, 1050]
    frames = demo_frames(empty + one)
    assert [len(est(frames[i])) for i in empty] == [0, 0, 0]
    people = [est(frames[i]) for i in one]
    assert [len(p) for p in people] == [1, 1, 1]
    for p in people:                    # a whole body: head, shoulders, hips, ankles found
        assert (p.keypoints[0][:, 2] > 0).sum() >= 12
