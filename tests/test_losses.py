import numpy as np
import pytest
import torch

from ssapose.losses import LossConfig, heatmap_faults, kl_heatmaps, ssa_loss, stage_betas
from ssapose.models import PafToHeat
from ssapose.models.heads import StageOutput
from ssapose.skeleton import PART_NAMES, coco_to_parts
from ssapose.targets import TargetConfig, encode_targets

from conftest import synthetic_person


def _targets(alpha=10.0):
    parts = coco_to_parts(np.stack([synthetic_person(60, 70, 0.5), synthetic_person(150, 80, 0.6)]))
    t = encode_targets(parts, 224, 160, TargetConfig(stride=8, salm_alpha=alpha))
    return {k: torch.from_numpy(v)[None] for k, v in vars(t).items()}


def _perfect(tg, stages=2):
    return [StageOutput(tg["heatmaps"].clone(), tg["pafs"].clone(), tg["offsets"].clone()) for _ in range(stages)]


def _noisy(tg, stages=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [StageOutput(*(t + 0.3 * torch.randn(t.shape, generator=g) for t in (tg["heatmaps"], tg["pafs"], tg["offsets"])))
            for _ in range(stages)]


@pytest.mark.parametrize("cfg", [LossConfig(kl=False), LossConfig(kl=False, salm=False, pdd="uniform"),
                                 LossConfig(kl=False, pdd="linear")])
def test_terms_zero_at_target_positive_away(cfg):
    tg = _targets()
    loss0, terms0 = ssa_loss(_perfect(tg), tg, cfg)
    assert loss0.item() == pytest.approx(0.0, abs=1e-6)
    loss1, terms1 = ssa_loss(_noisy(tg), tg, cfg)
    assert loss1.item() > 0
    for k in ("heat", "paf", "offsets"):
        assert terms0[k] == pytest.approx(0.0, abs=1e-6) and terms1[k] > 0


def test_kl_term_zero_when_distributions_agree():
    tg = _targets()
    h = tg["heatmaps"]
    assert kl_heatmaps(h, h).item() == pytest.approx(0.0, abs=1e-6)
    assert kl_heatmaps(h, h.roll(3, dims=3)).item() > 0
    assert torch.isfinite(kl_heatmaps(torch.zeros_like(h), h))       # safe on all-zero maps
    sub = PafToHeat()
    loss, terms = ssa_loss(_noisy(tg), tg, LossConfig(kl=True), sub)
    assert terms["kl"] > 0 and terms["ps"] > 0
    loss.backward()
    assert all(p.grad is not None for p in sub.parameters())


def test_salm_alpha_zero_equals_plain_l2():
    tg0, plain = _targets(alpha=0.0), LossConfig(kl=False, salm=False, pdd="uniform")
    pred = _noisy(tg0)
    a, _ = ssa_loss(pred, tg0, LossConfig(kl=False, salm=True, pdd="uniform"))
    b, _ = ssa_loss(pred, tg0, plain)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    # and with alpha > 0 it weighs more
    tg10 = _targets(alpha=10.0)
    c, _ = ssa_loss(pred, tg10, LossConfig(kl=False, salm=True, pdd="uniform"))
    assert c.item() > b.item()


def test_pdd_beta_one_equals_plain_l2_and_less_below():
    tg = _targets()
    pred = _noisy(tg, stages=6)
    # a left/right confusion: predict the right wrist where the left one is
    lw, rw = PART_NAMES.index("left_wrist"), PART_NAMES.index("right_wrist")
    for s in pred:
        s.heatmaps[:, rw] = torch.maximum(s.heatmaps[:, rw], tg["heatmaps"][:, lw])
    uniform, _ = ssa_loss(pred, tg, LossConfig(kl=False, pdd="uniform"))
    plain, _ = ssa_loss(pred, tg, LossConfig(kl=False, salm=True, pdd="uniform"))
    assert uniform.item() == pytest.approx(plain.item())
    quad, _ = ssa_loss(pred, tg, LossConfig(kl=False, pdd="quadratic-b"))
    assert quad.item() < uniform.item()
    faults = heatmap_faults(pred[0].heatmaps, tg["heatmaps"], 0.4)
    assert faults[:, rw].any() and not faults[:, PART_NAMES.index("nose")].any()


def test_stage_betas():
    assert stage_betas("quadratic-b", 6) == [0.0, 0.05, 0.15, 0.31, 0.65, 1.0]
    assert stage_betas("quadratic-b", 2) == [0.0, 1.0]
    middles = {name: stage_betas(name, 3)[1] for name in ("linear", "quadratic-a", "quadratic-b")}
    assert middles["linear"] == pytest.approx(0.5) and middles["quadratic-a"] == pytest.approx(0.77)
    assert middles["quadratic-b"] == pytest.approx(0.23)
    with pytest.raises(ValueError):
        stage_betas("cubic", 6)


@pytest.mark.parametrize("mode", ["p2h", "h2p", "both"])
def test_self_supervision_modes(mode):
    from ssapose.models.heads import SelfSupervision
    tg = _targets()
    sub = SelfSupervision(mode)
    loss, terms = ssa_loss(_noisy(tg), tg, LossConfig(kl=True, kl_mode=mode), sub)
    assert terms["ps"] > 0 and terms["kl"] > 0
    loss.backward()
    assert all(p.grad is not None for p in sub.parameters())
    with pytest.raises(ValueError):
        SelfSupervision("sideways")


def test_heat_weight_scales_only_the_heatmap_term():
    tg = _targets()
    pred = _noisy(tg)
    base = LossConfig(kl=False, pdd="uniform")
    a, terms = ssa_loss(pred, tg, base)
    b, _ = ssa_loss(pred, tg, LossConfig(kl=False, pdd="uniform", heat_weight=3.0))
    assert b.item() - a.item() == pytest.approx(2.0 * terms["heat"], rel=1e-4)
