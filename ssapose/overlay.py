"""Drawing poses on frames (OpenCV only). Not on the decoder's hot path: the caller decides when to draw."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

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


def _colour(i: int, left: bool) -> tuple[int, int, int]:
    hue = (i * 47) % 180
    hsv = np.uint8([[[hue, 200 if left else 255, 255 if left else 200]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_poses(frame: np.ndarray, poses: Poses, style: DrawStyle = DrawStyle(),
               track_ids: np.ndarray | None = None) -> np.ndarray:
    """Draw skeletons in place on a BGR ``(H, W, 3) uint8`` frame and return it.

    Limbs are coloured per person (by track id when given), left limbs lighter.
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
        if style.show_ids and track_ids is not None and (kp[:, 2] > 0).any():
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
