import pytest
import torch

from ssapose.models import build_model, get_config, load_checkpoint, save_checkpoint
from ssapose.models.openpose import OpenPoseRIE
from ssapose.models.openpose_weights import load_openpose_weights, openpose_key, our_key, to_openpose_state


@pytest.mark.parametrize("name,stride", [("lite", 8), ("lite16", 16)])
def test_lite_outputs(name, stride):
    m = build_model(get_config(name)).eval()
    with torch.no_grad():
        out = m(torch.zeros(1, 3, 128, 96))
    last = out[-1]
    assert last.heatmaps.shape == (1, 19, 128 // stride, 96 // stride)
    assert last.pafs.shape == (1, 38, 128 // stride, 96 // stride)
    assert last.offsets.shape == (1, 36, 128 // stride, 96 // stride)
    assert last.offsets.abs().max() <= 0.5


def test_openpose_sizes_match_paper():
    rie = sum(p.numel() for p in OpenPoseRIE(offsets=True).parameters())
    base = sum(p.numel() for p in OpenPoseRIE(offsets=False).parameters())
    assert base == pytest.approx(52.31e6, rel=0.01)        # OpenPose COCO body model
    assert (rie - base) / base == pytest.approx(0.044, abs=0.002)   # paper, Fig. 10: +4.4 %


def test_openpose_names_and_round_trip():
    base = OpenPoseRIE(stages=6, offsets=False)
    flat = to_openpose_state(base)
    # the names and shapes of pytorch-openpose's body_pose_model.pth
    assert flat["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert flat["conv4_4_CPM.weight"].shape == (128, 256, 3, 3)
    assert flat["conv5_5_CPM_L1.weight"].shape == (38, 512, 1, 1)
    assert flat["conv5_5_CPM_L2.weight"].shape == (19, 512, 1, 1)
    assert flat["Mconv1_stage2_L1.weight"].shape == (128, 185, 7, 7)
    assert flat["Mconv7_stage6_L2.bias"].shape == (19,)
    assert len(flat) == 184
    for k in flat:
        assert openpose_key(our_key(k)) == k
    # loading them into the RIE model keeps the baseline's heatmaps and PAFs exactly
    rie = OpenPoseRIE(stages=6, offsets=True)
    fresh = load_openpose_weights(rie, flat)
    assert fresh == []            # every tensor is touched (offset rows are left as initialised inside)
    back = to_openpose_state(rie)
    assert all(torch.equal(back[k], flat[k]) for k in flat)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b = base.eval()(x)[-1], rie.eval()(x)[-1]
    assert torch.allclose(a.heatmaps, b.heatmaps, atol=1e-5) and torch.allclose(a.pafs, b.pafs, atol=1e-5)


def test_openpose_paf_channel_order():
    # OpenPose stores the neck->right-shoulder PAF at its channels 12/13 (pytorch-openpose mapIdx [31, 32] - 19)
    base = OpenPoseRIE(stages=1, offsets=False)
    flat = to_openpose_state(base)
    flat["conv5_5_CPM_L1.bias"] = torch.zeros(38)
    flat["conv5_5_CPM_L1.bias"][12] = 5.0
    load_openpose_weights(base, flat)
    assert base.state_dict()["stages.0.L1.conv5_5_CPM_L1.bias"][0] == 5.0


def test_checkpoint_rebuilds_model(tmp_path):
    cfg = get_config("lite16", width=32)
    m = build_model(cfg)
    p = tmp_path / "m.pt"
    save_checkpoint(str(p), m, cfg, half=True, step=3)
    m2, cfg2, blob = load_checkpoint(str(p))
    assert cfg2 == cfg and blob["stride"] == 16 and blob["layout"]["offsets"] == 36 and blob["step"] == 3
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(m.eval()(x)[-1].heatmaps, m2(x)[-1].heatmaps, atol=1e-2)


def test_bad_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(str(tmp_path / "missing.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_checkpoint(str(bad))
    cfg = get_config("lite", width=32)
    good = tmp_path / "good.pt"
    save_checkpoint(str(good), build_model(cfg), cfg)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ValueError):
        load_checkpoint(str(cut))
    other = tmp_path / "other.pt"
    torch.save({"conv1_1.weight": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match="not an SSA-Pose checkpoint"):
        load_checkpoint(str(other))
