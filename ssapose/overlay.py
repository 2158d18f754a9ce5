"""Drawing poses on frames (OpenCV only). Not on the decoder's hot path: the caller decides when to draw."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ssapose.grid import cells_to_pixels, read_offsets
from ssapose.inference import unbatched
from ssapose.poses import Poses
from ssapose.skeleton import COCO_KEYPOINT_NAMES, COCO_LIMBS

_LEFT = np.array([n.startswith("left_") for n in COCO_KEYPOINT_NAMES])


@dataclass(frozen=True)
class DrawStyle:
    """keypoint_threshold / limb_threshold: minimum keypoint score drawn (a limb
    needs both ends above limb_threshold); line_width in pixels; show_ids draws
    track ids; show_fps draws the FPS/latency text given to :func:`draw_hud`."""

    keypoint_threshold: float = 0.1
    limb_threshold: float = 0.1
    line_width: int = 2
    show_ids: bool = True
    show_fps: bool = True


@lru_cache(maxsize=1024)                    # 19 limbs a person a frame: an OpenCV call each cost a third of drawing
def _colour(i: int, left: bool) -> tuple[int, int, int]:
    hue = (i * 47) % 180
    hsv = np.uint8([[[hue, 200 if left else 255, 255 if left else 200]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_poses(frame: np.ndarray, poses: Poses, style: DrawStyle = DrawStyle(),
               track_ids: np.ndarray | None = None) -> np.ndarray:
    """Draw skeletons in place on a BGR ``(H, W, 3) uint8`` frame and return it.

    Limbs are coloured per person (by track id when given), left limbs lighter; a track id is written
    above each person that has one (``track_ids[n] >= 0``; -1: not a confirmed track).
    """
    lw = max(1, style.line_width)
    for n, (kp, score) in enumerate(zip(poses.keypoints, poses.scores)):
        ident = int(track_ids[n]) if track_ids is not None and track_ids[n] >= 0 else n
        ok_limb = kp[:, 2] > style.limb_threshold
        for a, b in COCO_LIMBS:
            if ok_limb[a] and ok_limb[b]:
                cv2.line(frame, (int(kp[a, 0]), int(kp[a, 1])), (int(kp[b, 0]), int(kp[b, 1])),
                         _colour(ident, _LEFT[a] or _LEFT[b]), lw, cv2.LINE_AA)
        for j in np.flatnonzero(kp[:, 2] > style.keypoint_threshold):
            cv2.circle(frame, (int(kp[j, 0]), int(kp[j, 1])), lw + 1, (255, 255, 255), -1, cv2.LINE_AA)
        if style.show_ids and track_ids is not None and track_ids[n] >= 0 and (kp[:, 2] > 0).any():
            top = kp[kp[:, 2] > 0][:, :2].min(axis=0)
            cv2.putText(frame, f"#{ident}", (int(top[0]), max(12, int(top[1]) - 6)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, _colour(ident, False), 1, cv2.LINE_AA)
    return frame


_HUD_FONT, _HUD_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.5


def hud_boxes(lines: list[str]) -> list[tuple[int, int, int, int, int, int]]:
    """Per line: the text origin ``(x, y)`` and its background box ``(x0, y0, x1, y1)`` in pixels,
    from the text's own metrics (so box and text can never drift apart)."""
    out, y = [], 4
    for text in lines:
        (w, h), base = cv2.getTextSize(text, _HUD_FONT, _HUD_SCALE, 1)
        x0, y0 = 4, y
        out.append((8, y0 + 3 + h, x0, y0, 8 + w + 4, y0 + 3 + h + base + 2))
        y = y0 + h + base + 7
    return out


def draw_hud(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw text lines (FPS, per-stage ms...) in the top-left corner, in place: white text on a
    dark box measured from the same text, readable on any background."""
    for text, (x, y, x0, y0, x1, y1) in zip(lines, hud_boxes(lines)):
        cv2.rectangle(frame, (x0, y0), (x1, y1), (0, 0, 0), -1)
        cv2.putText(frame, text, (x, y), _HUD_FONT, _HUD_SCALE, (255, 255, 255), 1, cv2.LINE_AA)
    return frame


def draw_fields(frame: np.ndarray, fields: dict, scale: float, stride: int, alpha: float = 0.55,
                offset_peaks: float = 0.3, x0: int = 0) -> np.ndarray:
    """Show what the network sees, in place on a BGR frame: the heatmaps (max over the 18 parts, as a
    colour map), the PAFs (colour by direction, brightness by strength, summed over limbs) and the
    offsets (a line from each peak's cell centre to its refined point, drawn 4x longer, at the peaks whose
    heatmap value is at least ``offset_peaks``: the confident ones, so that the picture stays readable).

    Args:
        fields: ``heatmaps (19, h, w)``, ``pafs (38, h, w)``, optionally ``offsets (36, h, w)``
            (or with a leading batch axis), at the network's output resolution.
        scale: frame pixels to input pixels (``Letterbox.scale``); stride: input pixels per cell.
        x0: input pixels left of the fields' first column (``Letterbox.x0``: a region of the frame).
    """
    f = unbatched(fields)
    if x0:                                                   # a region's fields: empty cells to its left
        f = {k: np.pad(v, ((0, 0), (0, 0), (x0 // stride, 0))) for k, v in f.items()}
    H, W = frame.shape[:2]
    cells_w, cells_h = int(np.ceil(W * scale / stride)), int(np.ceil(H * scale / stride))

    def to_frame(img: np.ndarray) -> np.ndarray:            # cells -> frame pixels (the letterboxed part)
        img = img[:cells_h, :cells_w]
        size = (int(round(img.shape[1] * stride / scale)), int(round(img.shape[0] * stride / scale)))
        return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)[:H, :W]

    heat = np.clip(f["heatmaps"][:18].max(axis=0), 0, 1)
    vx, vy = f["pafs"][0::2].sum(axis=0), f["pafs"][1::2].sum(axis=0)
    mag = np.clip(np.hypot(vx, vy), 0, 1)
    hsv = np.stack([((np.arctan2(vy, vx) + np.pi) / (2 * np.pi) * 179).astype(np.uint8),
                    np.full(mag.shape, 255, np.uint8), (mag * 255).astype(np.uint8)], axis=-1)
    paf = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    colour = np.maximum(cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET) * (heat[..., None] > 0.1),
                        paf)
    colour = to_frame(colour.astype(np.uint8))
    weight = to_frame(np.maximum(heat, mag).astype(np.float32))[..., None] * alpha
    h, w = colour.shape[:2]
    roi = frame[:h, :w]
    roi[:] = (roi * (1 - weight) + colour * weight).astype(np.uint8)
    if "offsets" in f:
        from ssapose.decode.peaks import local_maxima
        c, y, x = local_maxima(np.ascontiguousarray(f["heatmaps"][:18]), offset_peaks)
        centre = cells_to_pixels(np.stack([x, y], axis=1), stride)
        tip = centre + 4 * stride * np.stack(read_offsets(f["offsets"], c, y, x), axis=1)   # drawn 4x long
        for (ax, ay), (bx, by) in zip(centre / scale, tip / scale):
            cv2.line(frame, (int(ax), int(ay)), (int(bx), int(by)), (255, 255, 255), 1, cv2.LINE_AA)
    return frame
