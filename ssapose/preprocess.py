"""Frame -> network input, and the mapping of network coordinates back to the frame."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ssapose.model_card import Preprocess


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the network input: ``input = frame * scale`` at the
    top-left corner, padded to ``(width, height)`` pixels."""

    scale: float
    width: int
    height: int


def prepare(frame: np.ndarray, size: int, pre: Preprocess, normalised: bool = True) -> tuple[np.ndarray, Letterbox]:
    """Resize and normalise one BGR frame: ``(1, 3, h, w) float32``; with ``normalised=False`` the resized,
    padded frame itself, ``(1, h, w, 3) uint8`` BGR, for a backend that normalises inside the network."""
    canvas, box = letterbox(frame, size, pre)
    return (normalise(canvas, pre)[None] if normalised else canvas[None]), box


def letterbox(frame: np.ndarray, size: int, pre: Preprocess) -> tuple[np.ndarray, Letterbox]:
    """Resize one BGR frame and pad it: ``(h, w, 3) uint8`` and where it went.

    Args:
        frame: ``(H, W, 3) uint8`` BGR image.
        size: target of the longer side (or the height with ``fit="height"``), pixels.
        pre: the checkpoint's preprocessing.
    Returns:
        ``(h, w, 3) uint8`` BGR, ``h`` and ``w`` multiples of ``pre.pad_to``,
        and the letterbox to map poses back (``Poses.scaled(1/scale, 1/scale)``).
    Raises:
        ValueError: on an empty or non-colour frame.
    """
    if frame is None or frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"expected an (H, W, 3) colour frame, got shape {getattr(frame, 'shape', None)}")
    h, w = frame.shape[:2]
    scale = input_scale(h, w, size, pre)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    img = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pw, ph = -(-nw // pre.pad_to) * pre.pad_to, -(-nh // pre.pad_to) * pre.pad_to
    canvas = np.full((ph, pw, 3), pre.pad_value, np.uint8)
    canvas[:nh, :nw] = img
    return canvas, Letterbox(scale, pw, ph)


def input_scale(height: int, width: int, size: int, pre: Preprocess) -> float:
    """Network input pixels per frame pixel for a ``height x width`` frame at input size ``size``."""
    return size / (height if pre.fit == "height" else max(height, width))


def normalise(image: np.ndarray, pre: Preprocess) -> np.ndarray:
    """``(H, W, 3) uint8`` BGR -> ``(3, H, W) float32`` normalised as the checkpoint says."""
    chw = np.ascontiguousarray((image[..., ::-1] if pre.rgb else image).transpose(2, 0, 1))   # uint8: cheap
    std = np.asarray(pre.std, np.float32)
    x = chw.astype(np.float32)
    x *= (1.0 / (255.0 * std))[:, None, None]          # in place: (x / 255 - mean) / std
    x -= (np.asarray(pre.mean, np.float32) / std)[:, None, None]
    return x
