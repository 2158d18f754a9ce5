"""Networks, their registry by name, and checkpoints that rebuild themselves.

A checkpoint stores the model config (name + parameters), hence the stride and
the channel layout, and the preprocessing, so that the file alone rebuilds the
model: ``load_checkpoint(path)``.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from ssapose.models.files import plain, safe_load
from ssapose.models.heads import PafToHeat, StageOutput
from ssapose.models.lite import LitePose
from ssapose.models.lwop import LightweightOpenPose
from ssapose.models.openpose import OpenPoseRIE
from ssapose.model_card import (REGISTRY, ModelConfig, Preprocess, config_from_dict, config_to_dict,  # noqa: F401
                                get_config)

CHECKPOINT_FORMAT = 1


def build_model(config: ModelConfig) -> nn.Module:
    if config.arch == "openpose":
        return OpenPoseRIE(stages=config.stages, offsets=config.offsets)
    if config.arch == "lwop":
        return LightweightOpenPose(offsets=config.offsets)
    if config.arch == "lite":
        return LitePose(stride=config.stride, width=config.width, refinements=config.refinements,
                        offsets=config.offsets)
    raise ValueError(f"unknown architecture {config.arch!r}")


def save_checkpoint(path: str, model: nn.Module, config: ModelConfig, half: bool = False, **extra) -> None:
    """Write ``{format, config, layout, stride, state_dict, **extra}`` atomically (temp file + rename)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu() for k, v in model.state_dict().items()}
    blob = {"format": CHECKPOINT_FORMAT, "config": config_to_dict(config), "layout": config.channel_layout(),
            "stride": config.output_stride, "state_dict": state, **plain(extra)}
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.tmp")   # created with the umask's permissions
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str, map_location: str = "cpu") -> tuple[nn.Module, ModelConfig, dict]:
    """Rebuild a model from a checkpoint alone. Returns ``(model in eval mode, config, raw blob)``.

    Raises:
        FileNotFoundError, or ValueError with the reason for a corrupt or foreign file
        (``files.UnsafeFileError`` for one that would run code: nothing from it runs).
    """
    blob = safe_load(path, map_location)
    if not isinstance(blob, dict) or "config" not in blob or "state_dict" not in blob:
        raise ValueError(f"{path} is not an SSA-Pose checkpoint (no config/state_dict); "
                         "OpenPose weights load with ssapose.models.openpose_weights")
    config = config_from_dict(blob["config"])
    model = build_model(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit model {config.arch}: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    return model.eval(), config, blob


__all__ = ["ModelConfig", "Preprocess", "REGISTRY", "get_config", "build_model", "save_checkpoint",
           "load_checkpoint", "PafToHeat", "StageOutput", "OpenPoseRIE", "LitePose", "LightweightOpenPose"]
