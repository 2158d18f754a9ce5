"""Regenerate docs/screenshot.png: the app running on the demo video, under a (virtual) display.

    xvfb-run -s "-screen 0 1280x900x24" .venv/bin/python scripts/screenshot.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PyQt5.QtCore import QSettings, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from app.qt.main_window import build_window  # noqa: E402
from ssapose import paths  # noqa: E402


def main(out: str = str(ROOT / "docs/screenshot.png"), frames: int = 300) -> int:
    app = QApplication(sys.argv[:1])
    settings = QSettings(str(ROOT / "runs/screenshot-settings.ini"), QSettings.IniFormat)
    settings.clear()
    win = build_window(str(paths.demo_video()), str(paths.DEFAULT_MODEL), settings)
    win.resize(1100, 760)
    win.show()
    win.live.start()

    def poll():
        if win.live.view.frames_shown >= frames:
            win.live.pause_btn.setChecked(True)
            QTimer.singleShot(300, grab)
        else:
            QTimer.singleShot(100, poll)

    def grab():
        win.grab().save(out)
        print(f"wrote {out} after {win.live.view.frames_shown} frames")
        win.close()
        app.quit()

    QTimer.singleShot(100, poll)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
