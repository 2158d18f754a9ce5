"""The SSA-Pose main window: a live tab and a COCO evaluation tab, shortcuts and remembered settings."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from app.qt.display import has_display, qt_problem
from ssapose import paths


def build_window(source: str, model: str, settings=None, device: str = "cpu", source_given: bool = False,
                 model_given: bool = False, decoder=None):
    """Create (not show) the main window; ``settings`` defaults to QSettings('ssapose', 'app')."""
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QMainWindow, QShortcut, QTabWidget
    from PyQt5.QtGui import QKeySequence

    from app.qt.eval_tab import EvalTab
    from app.qt.live_tab import LiveTab

    class MainWindow(QMainWindow):
        def __init__(self):
            super().__init__()
            self.settings = settings if settings is not None else QSettings("ssapose", "app")
            self.setWindowTitle("SSA-Pose")
            self.live = LiveTab(self.settings, source, model, device, source_given, model_given)
            if decoder is not None:
                self.live.panel.set_decoder(decoder)
            if self.live.note:
                self.statusBar().showMessage(self.live.note, 15000)
            ann = paths.shared("data", "coco_mini", "annotations", "person_keypoints_val2017.json",
                               must_exist=False)
            images = paths.shared("data", "coco_mini", "val2017", must_exist=False)
            self.eval = EvalTab(self.settings, str(ann), str(images), model, device)
            tabs = QTabWidget()
            tabs.addTab(self.live, "Live")
            tabs.addTab(self.eval, "COCO evaluation")
            self.setCentralWidget(tabs)
            self.resize(960, 640)
            self._fitted = False
            self.live.first_frame.connect(self.fit_to_video)
            QShortcut(QKeySequence(" "), self, activated=self.live.pause_btn.toggle)
            QShortcut(QKeySequence("F"), self, activated=self.toggle_fullscreen)
            QShortcut(QKeySequence("S"), self, activated=self.snapshot)
            self.statusBar().showMessage("Space: pause   F: full screen   S: snapshot")

        def fit_to_video(self, width: int, height: int) -> None:
            """Size the window so the video shows at its own size (smaller where the screen is), once: after the
            first frame of the first run, so a window the user has sized keeps its size."""
            from PyQt5.QtWidgets import QApplication

            if self._fitted or self.isFullScreen() or self.isMaximized():
                return
            self._fitted = True
            view = self.live.view
            extra_w, extra_h = self.width() - view.width(), self.height() - view.height()
            screen = QApplication.primaryScreen().availableGeometry()
            scale = min(1.0, (0.9 * screen.width() - extra_w) / width, (0.9 * screen.height() - extra_h) / height)
            self.resize(max(self.minimumSizeHint().width(), int(width * scale) + extra_w),
                        int(height * scale) + extra_h)

        def toggle_fullscreen(self):
            self.showNormal() if self.isFullScreen() else self.showFullScreen()

        def snapshot(self) -> str | None:
            frame = self.live.view.last_frame
            if frame is None:
                return None
            from ssapose.fsnames import imwrite
            path = str(Path.cwd() / f"ssapose-snapshot-{time.strftime('%Y%m%d-%H%M%S')}.png")
            imwrite(path, frame)
            self.statusBar().showMessage(f"saved {path}", 5000)
            return path

        def closeEvent(self, event):  # noqa: N802
            self.live.stop()
            self.eval.cancel()
            super().closeEvent(event)

    return MainWindow()


def install_error_dialog() -> None:
    """Any exception that escapes a Qt slot is shown in a dialog instead of ending the app
    (PyQt5 aborts the process on an unhandled exception in a slot)."""
    import traceback

    from PyQt5.QtWidgets import QMessageBox

    def show(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        QMessageBox.critical(None, "SSA-Pose", f"{kind.__name__}: {value}")

    sys.excepthook = show


def launch(args) -> int:
    from engines.cli import decoder_choice

    if not has_display():
        print("ssapose app: no display found (DISPLAY is not set). Run the same pipeline headless with\n"
              "  ssapose video [INPUT] --out annotated.mp4 --json poses.json", file=sys.stderr)
        return 1
    problem = "" if os.environ.get("QT_QPA_PLATFORM") else qt_problem()
    if problem:
        print(f"ssapose app: {problem}. Or run the same pipeline headless: ssapose video [INPUT] --out "
              "annotated.mp4", file=sys.stderr)
        return 1
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    install_error_dialog()
    win = build_window(args.input, args.model, device=args.device, source_given=getattr(args, "source_given", True),
                       model_given=getattr(args, "model_given", True), decoder=decoder_choice(args))
    win.show()
    win.live.start()
    stop_on_signals(app, win)
    return app.exec_()


def stop_on_signals(app, win) -> None:
    """Ctrl-C (SIGINT) and SIGTERM close the window cleanly. Qt's event loop runs no Python code of its
    own, so a timer hands control to Python every 200 ms, where the handler can run."""
    import signal

    from PyQt5.QtCore import QTimer

    def close(*_):
        win.close()
        app.quit()

    signal.signal(signal.SIGINT, close)
    signal.signal(signal.SIGTERM, close)
    timer = QTimer(win)
    timer.timeout.connect(lambda: None)
    timer.start(200)
