"""``ssa_loss`` against the paper's equations, computed by hand in numpy on tiny tensors.

Eq. 11-12 (summed L2 over the batch), Eq. 13-14 (KL(F_s || F_ps), gamma 9, delta = gamma + 1),
Eq. 15-16 (SALM weights, given here as a target map) and Eq. 17 with the quadratic-b betas per stage.
Every value below is written out from the equations, not from the code under test, so a term fed
the wrong way round, a stage given another stage's beta or a direction reversed changes the total.
"""
import numpy as np
import pytest
import torch

from ssapose.losses import LossConfig, ssa_loss
from ssapose.models.heads import StageOutput
from ssapose.skeleton import PART_NAMES

H = W = 4
B = 2
QUADRATIC_B = (0.0, 0.05, 0.15, 0.31, 0.65, 1.0)       # the paper's set, Section IV-B
LW, RW = PART_NAMES.index("left_wrist"), PART_NAMES.index("right_wrist")
NOSE = PART_NAMES.index("nose")
# limb channels by name, in the order of ssapose.skeleton (right elbow->wrist is limb 3, left is limb 5)
R_FOREARM, L_FOREARM = 3, 5


def _targets():
    th = np.zeros((B, 19, H, W), np.float32)
    th[:, LW, 1, 1] = 1.0                     # a left wrist at cell (1, 1)
    th[:, 18] = 1.0 - th[:, :18].max(axis=1)
    tp = np.zeros((B, 38, H, W), np.float32)
    tp[:, 2 * L_FOREARM, 2, 2] = 1.0          # the left forearm's field points +x at cell (2, 2)
    salm = np.ones((B, 19, H, W), np.float32)
    salm[:, L_FOREARM, 2, 2] = 3.0            # SALM weight of that cell (Eq. 15 evaluated elsewhere)
    salm[:, R_FOREARM, 2, 2] = 5.0
    off = np.zeros((B, 36, H, W), np.float32)
    omask = np.zeros((B, 18, H, W), np.float32)
    omask[:, LW, 1, 1] = 1.0
    off[:, 2 * LW, 1, 1] = 0.25
    mask = np.ones((B, H, W), np.float32)
    return {"heatmaps": th, "pafs": tp, "salm": salm, "offsets": off, "offset_mask": omask, "mask": mask}


def _stage(tg, s):
    """Stage ``s``'s prediction: the targets plus known errors; direction faults only in stages 1 and 4."""
    h, p, o = tg["heatmaps"].copy(), tg["pafs"].copy(), tg["offsets"].copy()
    h[:, NOSE, 0, 3] += 0.1 * (s + 1)         # an error without a twin: never a fault
    p[:, 2 * R_FOREARM + 1, 0, 0] += 0.2      # an error where the mirrored limb has no field: no fault
    o[:, 2 * LW, 1, 1] += 0.1                 # offset error under the offset mask
    if s in (1, 4):
        f = 0.6 if s == 1 else 0.9
        h[:, RW, 1, 1] = f                    # right wrist fires on the left wrist: a heatmap fault
        p[:, 2 * R_FOREARM, 2, 2] = f         # right forearm field where only the left one is: a PAF fault
    return h, p, o


def _expected_stage_terms(s, beta):
    """Hand-computed ``(heat, paf, offsets)`` sums per image (B identical images) for stage ``s``."""
    heat = (0.1 * (s + 1)) ** 2
    paf = 1.0 * 0.2 ** 2                      # SALM weight 1 at (0, 0)
    if s in (1, 4):
        f = 0.6 if s == 1 else 0.9
        heat += beta * f ** 2
        paf += beta * 5.0 * f ** 2            # the fault pixel carries the right forearm's SALM weight, 5
    return heat, paf, 0.1 ** 2


def _torch(tg):
    return {k: torch.from_numpy(v) for k, v in tg.items()}


def test_total_matches_eq_14_and_17_by_hand_over_six_stages():
    tg = _targets()
    stages = [StageOutput(*(torch.from_numpy(a) for a in _stage(tg, s))) for s in range(6)]
    loss, terms = ssa_loss(stages, _torch(tg), LossConfig(kl=False, pdd="quadratic-b"))
    heat = paf = off = 0.0
    for s in range(6):
        h, p, o = _expected_stage_terms(s, QUADRATIC_B[s])
        heat, paf, off = heat + h, paf + p, off + o
    # without KL: gamma = delta = 1 (Eq. 12 summed over stages, Eq. 17 inside)
    assert terms["heat"] == pytest.approx(heat, rel=1e-5)
    assert terms["paf"] == pytest.approx(paf, rel=1e-5)
    assert terms["offsets"] == pytest.approx(off, rel=1e-5)
    assert loss.item() == pytest.approx(heat + paf + off, rel=1e-5)


def test_each_stage_gets_its_own_beta():
    """Faults only in one stage at a time: the total drops by exactly (1 - beta_s) x the fault's L2."""
    tg = _targets()
    for s in range(6):
        preds = []
        for k in range(6):
            h, p, o = (a.copy() for a in (tg["heatmaps"], tg["pafs"], tg["offsets"]))
            if k == s:
                h[:, RW, 1, 1] = 0.8
            preds.append(StageOutput(torch.from_numpy(h), torch.from_numpy(p), torch.from_numpy(o)))
        loss, _ = ssa_loss(preds, _torch(tg), LossConfig(kl=False, pdd="quadratic-b"))
        assert loss.item() == pytest.approx(QUADRATIC_B[s] * 0.8 ** 2, abs=1e-6), f"stage {s}"


class _FixedSubnet(torch.nn.Module):
    """A PAF->heatmap subnet whose output is a fixed map: isolates Eq. 13-14 from any network."""

    def __init__(self, out: np.ndarray):
        super().__init__()
        self.out = torch.from_numpy(out)
        self.p2h = lambda pafs: self.out


def _kl(p, q, eps=1e-6):
    """Eq. 13 in numpy: sum_c KL(P_c || Q_c), each channel normalised over its pixels, per image."""
    p = np.maximum(p, 0).reshape(p.shape[0], p.shape[1], -1) + eps
    q = np.maximum(q, 0).reshape(q.shape[0], q.shape[1], -1) + eps
    p, q = p / p.sum(2, keepdims=True), q / q.sum(2, keepdims=True)
    return float((p * np.log(p / q)).sum() / p.shape[0])


def test_kl_self_supervision_by_hand_gamma_9():
    tg = _targets()
    rng = np.random.default_rng(0)
    h, p, o = _stage(tg, 0)
    h = h + rng.uniform(0, 0.3, h.shape).astype(np.float32)        # an asymmetric pair of distributions
    ps = np.clip(tg["heatmaps"] + rng.uniform(-0.1, 0.6, h.shape), 0, None).astype(np.float32)
    stages = [StageOutput(torch.from_numpy(h), torch.from_numpy(p), torch.from_numpy(o))]
    loss, terms = ssa_loss(stages, _torch(tg), LossConfig(kl=True, pdd="uniform", gamma=9.0), _FixedSubnet(ps))
    l_heat = float(((h - tg["heatmaps"]) ** 2).sum() / B)
    salm = np.repeat(tg["salm"], 2, axis=1)
    l_paf = float((salm * (p - tg["pafs"]) ** 2).sum() / B)
    l_off = float((np.repeat(tg["offset_mask"], 2, axis=1) * (o - tg["offsets"]) ** 2).sum() / B)
    l_ps = float(((ps - tg["heatmaps"]) ** 2).sum() / B)
    l_kl = _kl(h, ps)                                              # F_s: the predicted heatmaps; F_ps: the subnet's
    assert l_kl != pytest.approx(_kl(ps, h), rel=1e-3)             # the test can tell the two directions apart
    assert terms["kl"] == pytest.approx(l_kl, rel=1e-4)
    assert terms["ps"] == pytest.approx(l_ps, rel=1e-5)
    gamma, delta = 9.0, 10.0
    assert loss.item() == pytest.approx(gamma * l_heat + l_ps + delta * l_paf + l_kl + l_off, rel=1e-5)
