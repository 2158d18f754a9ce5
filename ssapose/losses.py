"""The paper's training losses: summed L2 (Eq. 11-12), SALM (Eq. 15-16), PDD (Eq. 17)
and KL self-supervision (Eq. 13-14). Every term can be switched off for ablations.

All sums run over channels and pixels and are divided by the batch size only
(a per-image sum, not a mean: Eq. 11 notes the scale is absorbed by the
learning rate). Pixels where ``mask == 0`` (crowds, unannotated people) never count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ssapose.models.heads import PafToHeat, StageOutput
from ssapose.skeleton import FLIP_HEATMAPS, FLIP_LIMBS

#: PDD beta sets over six stages (paper, Section IV-B).
BETAS = {
    "uniform": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "linear": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "quadratic-a": (0.0, 0.45, 0.69, 0.85, 0.95, 1.0),
    "quadratic-b": (0.0, 0.05, 0.15, 0.31, 0.65, 1.0),
}


@dataclass(frozen=True)
class LossConfig:
    """Which terms are on, and their weights.

    salm: weight PAF pixels by the SALM map from the targets (its alpha is
        ``TargetConfig.salm_alpha``; alpha 0 or ``salm=False`` is plain L2).
    pdd: beta set name (``uniform`` turns PDD off).
    kl: self-supervision through the subnets of ``kl_mode``; with it the total
        is ``gamma*Ls + Lps + delta*(Lm+Ln) + Lkl`` (Eq. 14), ``delta = gamma + 1``.
    kl_mode: ``p2h`` (PAFs -> heatmaps, the paper's choice), ``h2p`` (heatmaps ->
        PAFs) or ``both`` (Table I). For ``h2p`` the PAFs are signed vectors, not
        distributions, so the subnet's PAFs are held to the PAF target (L2) and to
        the predicted PAFs (L2 in place of the KL term).
    gamma: Eq. 14's gamma (paper: 9).
    heat_weight: extra weight on the heatmap L2 (paper: 1). Short CPU runs raise
        it: summed over pixels, the PAF term is ~20x the heatmap term and the
        shared trunk then learns the heatmaps last.
    offsets_weight: weight of the offset L2 (Lx + Ly).
    fault_threshold: activation that makes a pixel a direction fault (0.4).
    """

    salm: bool = True
    pdd: str = "quadratic-b"
    kl: bool = True
    kl_mode: str = "p2h"
    gamma: float = 9.0
    heat_weight: float = 1.0
    offsets_weight: float = 1.0
    fault_threshold: float = 0.4


def stage_betas(name: str, n_stages: int) -> list[float]:
    """The beta of each of ``n_stages`` stages, interpolating the six-stage set.

    The first and last stages keep the set's ends (0 and 1) and the stages between
    sample its curve at their relative depth. With 2 stages, then, every set is
    ``(0, 1)`` and the sets cannot differ; with 3 the middle stage gets 0.5
    (linear), 0.77 (quadratic-a) or 0.23 (quadratic-b).
    """
    if name not in BETAS:
        raise ValueError(f"unknown PDD beta set {name!r}; known: {', '.join(BETAS)}")
    six = np.asarray(BETAS[name])
    if n_stages == 6:
        return six.tolist()
    return np.interp(np.linspace(0, 5, n_stages), np.arange(6), six).tolist()


def heatmap_faults(pred: torch.Tensor, target: torch.Tensor, threshold: float) -> torch.Tensor:
    """Direction-fault pixels of the heatmaps, ``(B, 19, H, W)`` bool.

    Pixel ``(c, i, j)`` is a fault when the prediction for part ``c`` is above
    ``threshold`` there, the target of the mirrored part ``flip(c)`` is above
    ``threshold`` (the mirrored part's ground-truth location), and the target
    of ``c`` itself is not: part ``c`` fires where its left/right twin is.
    Parts without a twin (nose, neck) and the background never fault.
    """
    flip = torch.as_tensor(FLIP_HEATMAPS, device=target.device)
    has_twin = (flip != torch.arange(len(flip), device=target.device)).view(1, -1, 1, 1)
    return has_twin & (pred > threshold) & (target[:, flip] > threshold) & (target <= threshold)


def paf_faults(pred: torch.Tensor, target: torch.Tensor, threshold: float) -> torch.Tensor:
    """Direction-fault pixels of the PAFs, ``(B, 38, H, W)`` bool (both channels of a limb).

    Pixel ``(k, i, j)`` is a fault when limb ``k``'s predicted vector is longer
    than ``threshold``, the mirrored limb has a target vector there, and limb
    ``k`` has none.
    """
    b, _, h, w = target.shape
    t = target.view(b, -1, 2, h, w)
    p = pred.view(b, -1, 2, h, w)
    t_on = t.abs().sum(2) > 0
    flip = torch.as_tensor(FLIP_LIMBS, device=target.device)
    has_twin = (flip != torch.arange(len(flip), device=target.device)).view(1, -1, 1, 1)
    fault = has_twin & (p.norm(dim=2) > threshold) & t_on[:, flip] & ~t_on
    return fault.repeat_interleave(2, dim=1)


def kl_heatmaps(p_heat: torch.Tensor, q_heat: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Eq. 13, summed over channels and divided by the batch: ``sum_c KL(P_c || Q_c)``.

    Each channel is made a distribution over its ``H x W`` pixels by
    ``p = (relu(x) + eps) / sum(relu(x) + eps)``: clamping keeps it
    non-negative, ``eps`` keeps the logarithms finite where a map is zero, and
    the sum is never below ``eps * H * W``.
    """
    def norm(x):
        x = torch.relu(x).flatten(2) + eps
        return x / x.sum(dim=2, keepdim=True)

    p, q = norm(p_heat), norm(q_heat)
    return (p * (p.log() - q.log())).sum() / p_heat.shape[0]


def ssa_loss(
    stages: list[StageOutput],
    targets: dict[str, torch.Tensor],
    config: LossConfig,
    subnets: torch.nn.Module | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss over all stages, and its terms (floats) for logging.

    Args:
        stages: the network's per-stage outputs.
        targets: batched target tensors ``heatmaps (B,19,H,W)``, ``pafs (B,38,H,W)``,
            ``offsets (B,36,H,W)``, ``offset_mask (B,18,H,W)``, ``salm (B,19,H,W)``,
            ``mask (B,H,W)``.
        config: which terms are on.
        subnets: the self-supervision subnets (``PafToHeat`` or ``SelfSupervision``),
            needed when ``config.kl``.
    """
    b = targets["heatmaps"].shape[0]
    mask = targets["mask"].unsqueeze(1)
    th, tp = targets["heatmaps"], targets["pafs"]
    paf_w = mask * (targets["salm"].repeat_interleave(2, dim=1) if config.salm else 1.0)
    off_w = mask * targets["offset_mask"].repeat_interleave(2, dim=1)
    gamma, delta = (config.gamma, config.gamma + 1.0) if config.kl else (1.0, 1.0)
    betas = stage_betas(config.pdd, len(stages))
    total = th.new_zeros(())
    logs = {"heat": 0.0, "paf": 0.0, "offsets": 0.0, "ps": 0.0, "kl": 0.0}
    for s, out in enumerate(stages):
        hw, pw = mask, paf_w
        if betas[s] != 1.0:
            with torch.no_grad():
                hw = mask * torch.where(heatmap_faults(out.heatmaps, th, config.fault_threshold), betas[s], 1.0)
                pw = paf_w * torch.where(paf_faults(out.pafs, tp, config.fault_threshold), betas[s], 1.0)
        l_heat = (hw * (out.heatmaps - th) ** 2).sum() / b
        l_paf = (pw * (out.pafs - tp) ** 2).sum() / b
        total = total + config.heat_weight * gamma * l_heat + delta * l_paf
        logs["heat"] += float(l_heat.detach())
        logs["paf"] += float(l_paf.detach())
        if out.offsets is not None and config.offsets_weight:
            l_off = (off_w * (out.offsets - targets["offsets"]) ** 2).sum() / b
            total = total + config.offsets_weight * l_off
            logs["offsets"] += float(l_off.detach())
        if config.kl:
            l_ps, l_kl = _self_supervision(out, th, tp, mask, paf_w, subnets, config.kl_mode)
            total = total + l_ps + l_kl
            logs["ps"] += float(l_ps.detach())
            logs["kl"] += float(l_kl.detach())
    logs["total"] = float(total.detach())
    return total, logs


def _self_supervision(out: StageOutput, th, tp, mask, paf_w, subnets, mode: str):
    """``(L_ps, L_kl)`` of one stage for the given mode (summed over both directions for ``both``)."""
    if subnets is None:
        raise ValueError("LossConfig.kl needs the self-supervision subnets")
    p2h = subnets if isinstance(subnets, PafToHeat) else getattr(subnets, "p2h", None)
    h2p = getattr(subnets, "h2p", None)
    b = th.shape[0]
    l_ps = l_kl = th.new_zeros(())
    if mode in ("p2h", "both"):
        ps = p2h(out.pafs)
        l_ps = l_ps + (mask * (ps - th) ** 2).sum() / b
        l_kl = l_kl + kl_heatmaps(out.heatmaps, ps)
    if mode in ("h2p", "both"):
        pp = h2p(out.heatmaps)
        l_ps = l_ps + (paf_w * (pp - tp) ** 2).sum() / b
        l_kl = l_kl + (mask * (pp - out.pafs) ** 2).sum() / b
    return l_ps, l_kl
