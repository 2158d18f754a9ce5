"""Frame -> network input, and the mapping of network coordinates back to the frame."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ssapose.model_card import Preprocess


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the network input: ``input = frame * scale`` at the top-left corner, padded to
    ``(width, height)`` pixels. A window of it (region-of-interest inference) starts ``x0`` input pixels right of
    that corner and is ``width`` wide: a point at input ``x`` lies at frame ``(x + x0) / scale``."""

    scale: float
    width: int
    height: int
    x0: int = 0

    def to_frame(self, poses):
        """``poses`` in this input's pixels, mapped to frame pixels."""
        return poses.scaled(1 / self.scale, 1 / self.scale, self.x0 / self.scale)


def prepare(frame: np.ndarray, size: int, pre: Preprocess, normalised: bool = True,
            window: tuple[int, int] | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize and normalise one BGR frame: ``(1, 3, h, w) float32``; with ``normalised=False`` the resized,
    padded frame itself, ``(1, h, w, 3) uint8`` BGR, for a backend that normalises inside the network.
    ``window``: ``(x0, width)`` input pixels, both multiples of ``pre.pad_to``: only those columns of the
    letterboxed frame (the rest is neither normalised nor seen by the network)."""
    canvas, box = letterbox(frame, size, pre)
    if window is not None:
        x0, width = window
        if x0 % pre.pad_to or width % pre.pad_to or width <= 0 or x0 < 0 or x0 + width > box.width:
            raise ValueError(f"window {window} is not {pre.pad_to}-aligned inside the {box.width}-pixel input")
        canvas, box = canvas[:, x0:x0 + width], Letterbox(box.scale, width, box.height, x0)
    return (normalise(canvas, pre)[None] if normalised else np.ascontiguousarray(canvas)[None]), box


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
    box = letterbox_of(h, w, size, pre)
    nw, nh = max(1, round(w * box.scale)), max(1, round(h * box.scale))
    img = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if box.scale < 1 else cv2.INTER_LINEAR)
    canvas = np.full((box.height, box.width, 3), pre.pad_value, np.uint8)
    canvas[:nh, :nw] = img
    return canvas, box


def letterbox_of(height: int, width: int, size: int, pre: Preprocess) -> Letterbox:
    """Where a ``height x width`` frame goes in the network input at input size ``size`` (nothing resized)."""
    scale = input_scale(height, width, size, pre)
    nw, nh = max(1, round(width * scale)), max(1, round(height * scale))
    return Letterbox(scale, -(-nw // pre.pad_to) * pre.pad_to, -(-nh // pre.pad_to) * pre.pad_to)


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
