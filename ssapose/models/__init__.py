"""Networks, their registry by name, and checkpoints that rebuild themselves.

A checkpoint stores the model config (name + parameters), hence the stride and
the channel layout, and the preprocessing, so that the file alone rebuilds the
model: ``load_checkpoint(path)``.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from ssapose.models.files import plain, safe_load
from ssapose.models.heads import PafToHeat, StageOutput
from ssapose.models.lite import LitePose
from ssapose.models.lwop import LightweightOpenPose
from ssapose.models.openpose import OpenPoseRIE
from ssapose.skeleton import NUM_HEATMAPS, NUM_OFFSETS, NUM_PAFS

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class Preprocess:
    """How a BGR uint8 frame becomes the network input.

    ``x = (rgb / 255 - mean) / std`` (or BGR if ``rgb`` is False), in NCHW
    float32; the frame is resized so that its longer side (``fit="long"``) or
    its height (``fit="height"``) equals the input size, then padded to a
    multiple of ``pad_to`` with ``pad_value``.
    """

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rgb: bool = False
    pad_to: int = 16
    pad_value: int = 128
    fit: str = "long"


@dataclass(frozen=True)
class ModelConfig:
    """A network by registry name with its parameters.

    arch: ``"openpose"`` (VGG19-10 + 6 stages), ``"lwop"`` (Lightweight OpenPose,
    MobileNet-v1 + 2 stages, the pretrained default) or ``"lite"``.
    offsets: with the 36 RIE offset channels.
    stages: OpenPose stages (1-6).
    stride, width, refinements: lite model only.
    """

    arch: str = "lite"
    offsets: bool = True
    stages: int = 6
    stride: int = 8
    width: int = 96
    refinements: int = 1
    preprocess: Preprocess = field(default_factory=Preprocess)

    @property
    def output_stride(self) -> int:
        return self.stride if self.arch == "lite" else 8

    def channel_layout(self) -> dict:
        return {"heatmaps": NUM_HEATMAPS, "pafs": NUM_PAFS, "offsets": NUM_OFFSETS if self.offsets else 0}


#: Named configs. ``openpose`` is the paper's model; ``openpose-baseline`` is
#: OpenPose without offsets; ``lwop`` is Lightweight OpenPose with RIE offsets (its
#: pretrained COCO weights come from ``ssapose import-ir``); ``lite``/``lite16`` are
#: small networks for tests and CPU training runs.
REGISTRY: dict[str, ModelConfig] = {
    "lwop": ModelConfig(arch="lwop", offsets=True, stages=2,
                        preprocess=Preprocess(mean=(0.50196,) * 3, std=(1.0, 1.0, 1.0), pad_to=8, fit="height")),
    "openpose": ModelConfig(arch="openpose", offsets=True,
                            preprocess=Preprocess(mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0), pad_to=8, fit="height")),
    "openpose-baseline": ModelConfig(arch="openpose", offsets=False,
                                     preprocess=Preprocess(pad_to=8, fit="height")),
    "lite": ModelConfig(arch="lite", stride=8, width=128, refinements=1),
    "lite16": ModelConfig(arch="lite", stride=16, width=128, refinements=1),
}


def get_config(name: str, **overrides) -> ModelConfig:
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    return dataclasses.replace(REGISTRY[name], **overrides)


def build_model(config: ModelConfig) -> nn.Module:
    if config.arch == "openpose":
        return OpenPoseRIE(stages=config.stages, offsets=config.offsets)
    if config.arch == "lwop":
        return LightweightOpenPose(offsets=config.offsets)
    if config.arch == "lite":
        return LitePose(stride=config.stride, width=config.width, refinements=config.refinements,
                        offsets=config.offsets)
    raise ValueError(f"unknown architecture {config.arch!r}")


def config_to_dict(config: ModelConfig) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    d["preprocess"] = Preprocess(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.get("preprocess", {}).items()})
    return ModelConfig(**d)


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
