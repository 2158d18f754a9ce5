"""numpy BGR frames -> Qt pixmaps, and a view that scales them keeping the aspect ratio."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage, QPixmap
from PyQt5.QtWidgets import QLabel, QSizePolicy


def to_pixmap(bgr: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy())


class FrameView(QLabel):
    """Shows the latest frame, scaled to the widget with the aspect ratio kept."""

    def __init__(self, text: str = ""):
        super().__init__(text)
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setStyleSheet("background: #202020; color: #bbbbbb;")
        self._pixmap: QPixmap | None = None
        self.frames_shown = 0
        self.last_frame: np.ndarray | None = None

    def set_frame(self, bgr: np.ndarray) -> None:
        self.last_frame = bgr
        self._pixmap = to_pixmap(bgr)
        self.frames_shown += 1
        self._rescale()

    def resizeEvent(self, event):  # noqa: N802 - Qt name
        self._rescale()
        super().resizeEvent(event)

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.setPixmap(self._pixmap.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))
