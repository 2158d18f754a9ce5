"""Decoding a network's fields into poses in frame pixels (every backend), and the reference PyTorch
inference (torch is imported only by the functions that run a torch model)."""
from __future__ import annotations

import numpy as np

from ssapose.decode import DecoderConfig, decode
from ssapose.model_card import ModelConfig
from ssapose.poses import Poses
from ssapose.preprocess import Letterbox, prepare


def unbatched(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One image's fields: ``(C, h, w)`` arrays as they are, ``(1, C, h, w)`` ones without their batch axis."""
    return {k: v[0] if v.ndim == 4 else v for k, v in fields.items()}

def decode_fields(fields: dict[str, np.ndarray], stride: int, box: Letterbox,
                  decoder: DecoderConfig = DecoderConfig()) -> Poses:
    """Decode one image's fields and map the poses back to frame pixels.

    Args:
        fields: ``heatmaps (19, h, w)``, ``pafs (38, h, w)`` and optionally ``offsets (36, h, w)``,
            or the same with a leading batch axis of 1.
        stride: the model's output stride; box: how the frame was placed in the input.
    """
    f = unbatched(fields)
    poses = decode(f["heatmaps"], f["pafs"], stride, f.get("offsets"), decoder, image_height=box.height)
    return box.to_frame(poses)


def torch_fields(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run the torch ``model`` on a ``(1, 3, H, W)`` input; the last stage's fields as ``(C, h, w)`` arrays."""
    import torch

    p = next(model.parameters())
    with torch.no_grad():
        out = model(torch.from_numpy(x).to(p.device, p.dtype))[-1]
    fields = {"heatmaps": out.heatmaps[0], "pafs": out.pafs[0]}
    if out.offsets is not None:
        fields["offsets"] = out.offsets[0]
    return {k: v.float().cpu().numpy() for k, v in fields.items()}


def predict(model, config: ModelConfig, frame: np.ndarray, size: int,
            decoder: DecoderConfig = DecoderConfig()) -> Poses:
    """People in one BGR frame, in frame pixels."""
    x, box = prepare(frame, size, config.preprocess)
    return decode_fields(torch_fields(model, x), config.output_stride, box, decoder)
