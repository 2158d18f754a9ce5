import csv
import json

import numpy as np
import pytest
import torch

from ssapose.losses import LossConfig, ssa_loss
from ssapose.models import PafToHeat, build_model, get_config, load_checkpoint
from ssapose.targets import TargetConfig
from training.config import TrainConfig, load_config
from training.data import AugmentConfig, CocoKeypoints
from training.synthetic import ensure_generated, generate
from training.step import lr_factor
from training.train import main, train


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    ensure_generated(root, 6, 2, seed=3, size=96)
    return root


def test_synthetic_is_deterministic(tmp_path):
    a = generate(tmp_path / "a", 2, 1, seed=5, size=64)[0].read_text()
    b = generate(tmp_path / "b", 2, 1, seed=5, size=64)[0].read_text()
    assert a == b
    assert (tmp_path / "a/train/000000.jpg").read_bytes() == (tmp_path / "b/train/000000.jpg").read_bytes()


def test_dataset_items_and_flip(tiny_synthetic):
    cfg = get_config("lite", width=32)
    ds = CocoKeypoints(tiny_synthetic / "train.json", tiny_synthetic / "train", 96, TargetConfig(stride=8),
                       cfg.preprocess, AugmentConfig())
    x, t = ds[0]
    assert x.shape == (3, 96, 96) and t["heatmaps"].shape == (19, 12, 12) and t["mask"].shape == (12, 12)
    assert t["offsets"].abs().max() <= 0.5


def test_one_step_lowers_the_loss(tiny_synthetic):
    torch.manual_seed(0)
    cfg = get_config("lite", width=32)
    ds = CocoKeypoints(tiny_synthetic / "train.json", tiny_synthetic / "train", 96, TargetConfig(stride=8),
                       cfg.preprocess, None)
    xs, ts = zip(*[ds[i] for i in range(4)])
    x = torch.stack(xs)
    tg = {k: torch.stack([t[k] for t in ts]) for k in ts[0]}
    model, sub = build_model(cfg), PafToHeat()
    model.train()
    # the optimiser of the shipped config: Adam's first step moves each weight by lr against its gradient's sign
    opt = torch.optim.Adam(list(model.parameters()) + list(sub.parameters()), lr=1e-4)
    lcfg = LossConfig()
    before, _ = ssa_loss(model(x), tg, lcfg, sub)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after, _ = ssa_loss(model(x), tg, lcfg, sub)
    assert after.item() < before.item()


def test_batch_without_people_trains():
    cfg = get_config("lite", width=32)
    model, sub = build_model(cfg), PafToHeat()
    tg = {"heatmaps": torch.zeros(2, 19, 8, 8), "pafs": torch.zeros(2, 38, 8, 8), "offsets": torch.zeros(2, 36, 8, 8),
          "offset_mask": torch.zeros(2, 18, 8, 8), "salm": torch.ones(2, 19, 8, 8), "mask": torch.ones(2, 8, 8)}
    tg["heatmaps"][:, 18] = 1
    loss, terms = ssa_loss(model(torch.randn(2, 3, 64, 64)), tg, LossConfig(), sub)
    loss.backward()
    assert np.isfinite(terms["total"])


def test_lr_schedule_divides_by_three():
    cfg = TrainConfig(iterations=100, lr_steps=(0.5, 0.8))
    assert lr_factor(0, cfg) == 1 and lr_factor(50, cfg) == pytest.approx(1 / 3)
    assert lr_factor(99, cfg) == pytest.approx(1 / 9)


def test_train_and_resume_continue_from_same_step(tiny_synthetic, tmp_path):
    out = tmp_path / "run"
    base = TrainConfig(synthetic=True, synthetic_dir=str(tiny_synthetic), synthetic_train=6, synthetic_val=2,
                       synthetic_seed=3, input_size=96, width=32, batch_size=2,
                       iterations=4, workers=0, eval_every=4, checkpoint_every=2, out=str(out),
                       optimizer="adam", lr=1e-3)
    train(base)
    blob = torch.load(out / "last.pt", weights_only=True)
    assert blob["step"] == 4
    model, cfg, _ = load_checkpoint(str(out / "best.pt"))
    assert cfg.width == 32
    longer = TrainConfig(**{**vars(base), "iterations": 6})
    train(longer, resume="auto")
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 6
    rows = list(csv.DictReader(open(out / "log.csv")))
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] == 6 and rows[-1]["AP"] != ""


def test_config_file_and_cli_errors(tmp_path, capsys):
    f = tmp_path / "c.yaml"
    f.write_text("model: lite\nbogus_key: 1\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(str(f))
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 1
    assert "not found" in capsys.readouterr().err
    f.write_text("iterations: 7\nlr_steps: [0.5]\n")
    cfg = load_config(str(f))
    assert cfg.iterations == 7 and cfg.lr_steps == (0.5,)


def test_lr_schedule_follows_the_time_budget():
    cfg = TrainConfig(iterations=1000, lr_steps=(0.5,), time_budget_min=10.0)
    assert lr_factor(10, cfg, minutes=4.0) == 1
    assert lr_factor(10, cfg, minutes=6.0) == pytest.approx(1 / 3)     # cut short by the clock: still anneals


def test_synthetic_set_is_regenerated_only_when_its_parameters_change(tmp_path):
    assert ensure_generated(tmp_path, 2, 1, seed=1, size=64)
    assert not ensure_generated(tmp_path, 2, 1, seed=1, size=64)
    assert ensure_generated(tmp_path, 3, 1, seed=1, size=64)
    assert len(json.loads((tmp_path / "train.json").read_text())["images"]) == 3


def test_synthetic_overlap_limit_holds():
    from training.synthetic import _box, _overlap, generate_image, load_poses

    rng, poses = np.random.default_rng(0), load_poses()
    worst_free, worst_limited = 0.0, 0.0
    for _ in range(30):
        for limit in (1.0, 0.3):
            _, kps = generate_image(rng, poses, 128, max_overlap=limit)
            boxes = [_box(k[:, :2]) for k in kps]
            w = max([_overlap(b, boxes[:i]) for i, b in enumerate(boxes)] + [0.0])
            if limit == 1.0:
                worst_free = max(worst_free, w)
            else:
                worst_limited = max(worst_limited, w)
    assert worst_limited <= 0.3 < worst_free


def quick_config(tiny_synthetic, out, **kw) -> TrainConfig:
    return TrainConfig(**{**dict(synthetic=True, synthetic_dir=str(tiny_synthetic), synthetic_train=6,
                                 synthetic_val=2, synthetic_seed=3, input_size=96, width=32, batch_size=2,
                                 iterations=4, workers=0, eval_every=100, checkpoint_every=100, out=str(out),
                                 optimizer="adam", lr=1e-3), **kw})


def test_resume_restores_model_and_optimizer_exactly(tiny_synthetic, tmp_path):
    """The state after loading a checkpoint is the saved state, to the bit (weights, Adam moments, step).
    It is read at the first loss of the resumed run: after one forward pass, which moves BatchNorm's
    running statistics but no parameter."""
    import training.step as tr

    cfg = quick_config(tiny_synthetic, tmp_path / "run", iterations=3)
    train(cfg)
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    seen = {}
    real_loss = tr.ssa_loss

    def stop_at_once(stages, tg, lcfg, subnet):       # called after the checkpoint was loaded
        frame = __import__("inspect").currentframe().f_back          # train_step, called by train's loop
        stepper = frame.f_locals["s"]
        seen["model"] = {k: v.detach().clone() for k, v in stepper.model.named_parameters()}
        seen["optimizer"] = stepper.opt.state_dict()
        seen["step"] = frame.f_back.f_locals["step"]
        raise KeyboardInterrupt

    tr.ssa_loss = stop_at_once
    try:
        train(quick_config(tiny_synthetic, tmp_path / "run", iterations=6), resume="auto")
    finally:
        tr.ssa_loss = real_loss
    assert seen["step"] == saved["step"] == 3
    assert seen["model"]
    for k, v in seen["model"].items():
        assert torch.equal(v, saved["state_dict"][k].to(v.dtype)), k
    for slot, state in saved["optimizer"]["state"].items():
        for name, t in state.items():
            assert torch.equal(torch.as_tensor(seen["optimizer"]["state"][slot][name]), torch.as_tensor(t)), name


def test_interrupt_saves_last_and_resume_goes_on(tiny_synthetic, tmp_path, capsys):
    import training.step as tr

    calls = {"n": 0}
    real_loss = tr.ssa_loss

    def interrupt_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_loss(*a, **k)

    tr.ssa_loss = interrupt_third
    try:
        last = train(quick_config(tiny_synthetic, tmp_path / "run", iterations=5))
    finally:
        tr.ssa_loss = real_loss
    assert torch.load(last, weights_only=True)["step"] == 2
    assert "interrupted at step 2" in capsys.readouterr().err
    train(quick_config(tiny_synthetic, tmp_path / "run", iterations=5), resume="auto")
    assert torch.load(last, weights_only=True)["step"] == 5


def test_resume_without_checkpoint_fails_before_any_work(tmp_path, capsys):
    syn, out = tmp_path / "syn", tmp_path / "run"
    assert main(["--synthetic", "true", "--synthetic-dir", str(syn), "--out", str(out), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert not syn.exists() and not out.exists()


@pytest.mark.parametrize("text, words", [
    ("lr: abc\n", ["c.yaml", "'lr'", "float", "'abc'"]),
    ("iterations: [1, 2]\n", ["c.yaml", "'iterations'", "int", "[1, 2]"]),
    ("iterations: 7\n  lr: [\n", ["c.yaml", "not valid YAML", "line"]),
    ("- 1\n- 2\n", ["c.yaml", "mapping"]),
])
def test_config_errors_name_file_key_type_and_value(tmp_path, capsys, text, words):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    assert main(["--config", str(f)]) == 1
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert "Traceback" not in err


def test_unknown_model_is_a_clean_error(tmp_path, capsys):
    assert main(["--model", "nosuch", "--out", str(tmp_path / "r")]) == 1
    assert "unknown model 'nosuch'" in capsys.readouterr().err


def test_fine_tune_the_pretrained_lwop_with_the_paper_losses(tiny_synthetic, tmp_path, real_model):
    """model lwop + init models/lwop.pt: the network starts from the imported weights and the KL subnet trains."""
    cfg = quick_config(tiny_synthetic, tmp_path / "ft", model="lwop", init=real_model, iterations=2, kl=True,
                       optimizer="sgd", lr=1e-6)
    last = train(cfg)
    start = torch.load(real_model, weights_only=True)["state_dict"]
    tuned = torch.load(last, weights_only=True)
    assert tuned["config"]["arch"] == "lwop" and tuned["subnet"]
    k = "convs.Mconv7_stage2_L2.weight"
    delta = (tuned["state_dict"][k].float() - start[k].float()).abs().max()
    assert 0 < delta < 1e-2                           # moved, but from the pretrained weights


def _spot_dataset(tmp_path, cache=None):
    """An 800 px image with a bright spot at a keypoint, into a 200 px input (no augmentation)."""
    import cv2

    size, x0, y0 = 800, 413.0, 287.0
    yy, xx = np.mgrid[0:size, 0:size]
    img = (255 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 20.0 ** 2))).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "a.jpg"), np.dstack([img] * 3), [cv2.IMWRITE_JPEG_QUALITY, 100])
    kp = [0.0] * 51
    kp[0:3] = [x0, y0, 2]
    (tmp_path / "a.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": size, "height": size}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": kp, "num_keypoints": 1,
                         "area": 100.0, "bbox": [400, 270, 30, 30], "iscrowd": 0}],
        "categories": [{"id": 1, "name": "person"}]}))
    return CocoKeypoints(tmp_path / "a.json", tmp_path, 200, TargetConfig(stride=8),
                         get_config("lite", width=32).preprocess, None, image_cache=cache)


def _spot_error(ds, source, plan):
    warped, parts, _ = ds.transform(source, ds.people(0), plan)
    w = warped[..., 0].astype(np.float64)
    w = np.where(w > 0.5 * w.max(), w, 0.0)             # the spot only (the edge meets the grey pad)
    gy, gx = np.mgrid[0:200, 0:200]
    centroid = np.array([(w * gx).sum(), (w * gy).sum()]) / w.sum()
    return np.abs(centroid - parts[0, 0, :2]).max()


def test_reduced_jpeg_decoding_keeps_the_image_where_the_keypoints_are(tmp_path):
    """Decoded at 1/4 (the warp shrinks it 4x anyway), the bright spot drawn at a keypoint lands on that
    keypoint's input position, to a fraction of a pixel."""
    ds = _spot_dataset(tmp_path)
    plan = ds.plan(0)
    assert plan.reduce == 4
    for reduce in (1, 4):
        source = ds.image(0, reduce)
        assert source.image.shape[0] == 800 // reduce and source.fx == reduce
        assert _spot_error(ds, source, plan) < 0.15, f"decoded at 1/{reduce}"


def test_the_image_cache_keeps_the_geometry_and_is_read_back(tmp_path):
    ds = _spot_dataset(tmp_path, cache=tmp_path / "cache")
    source = ds.image(0)
    assert source.image.shape[:2] == (200, 200) and source.fx == source.fy == 4.0
    assert _spot_error(ds, source, ds.plan(0)) < 0.15
    (tmp_path / "a.jpg").unlink()                      # the copy is read from now on
    again = ds.image(0)
    assert again.image.shape == source.image.shape and np.abs(again.image.astype(int) - source.image).max() <= 8
    x, t = ds[0]
    assert x.shape == (3, 200, 200)


def test_the_image_cache_keeps_the_ignore_masks(tmp_path):
    """Crowd and unannotated regions, kept at the cached copy's resolution, mask the same cells (to a few
    cells on the region's edge) as the full-resolution masks, and images without such regions have none."""
    from ssapose import paths

    s = paths.coco_set("train")
    pre = get_config("lwop").preprocess
    full = CocoKeypoints(s.ann, s.images, 368, TargetConfig(stride=8), pre, None)
    cached = CocoKeypoints(s.ann, s.images, 368, TargetConfig(stride=8), pre, None, image_cache=tmp_path)
    checked = 0
    for i in range(len(full)):
        want = full.people(i).ignore
        for _ in range(2):                                   # made, then read back
            got = cached.people(i).ignore
            assert (got is None) == (want is None), i
        if want is None:
            continue
        plan = full.plan(i)
        a = full.target_fields(*full.transform(full.image(i), full.people(i), plan)[1:]).mask
        b = cached.target_fields(*cached.transform(cached.image(i), cached.people(i), plan)[1:]).mask
        assert (a != b).mean() < 0.02, i
        checked += 1
    assert checked >= 5


def test_uint8_batches_are_normalised_on_the_device_as_the_loader_would():
    from ssapose.model_card import Preprocess
    from ssapose.preprocess import normalise
    from training.data import normalise_batch

    img = np.random.default_rng(2).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    for pre in (get_config("lwop").preprocess, Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                                                          rgb=True)):
        raw = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
        np.testing.assert_allclose(normalise_batch(raw, pre)[0].numpy(), normalise(img, pre), atol=1e-5)
