"""A minimal Qt window for ``ssapose video --show``: shows frames until it is closed."""
from __future__ import annotations

import sys

import numpy as np


class Viewer:
    def __init__(self, title: str = "SSA-Pose"):
        from app.qt.display import has_display
        if not has_display():
            raise RuntimeError("--show needs a display; without one, write the result with --out")
        from PyQt5.QtWidgets import QApplication

        from app.qt.image import FrameView

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.view = FrameView()
        self.view.setWindowTitle(title)
        self.view.resize(960, 540)
        self.view.show()

    def show(self, image: np.ndarray | None) -> bool:
        """Display one frame; False once the window was closed."""
        if image is not None:
            self.view.set_frame(image)
        self.app.processEvents()
        return self.view.isVisible()
