"""Regenerate docs/screenshot.png: the app as it first opens on the demo clip, with a tracked person's id drawn.

    xvfb-run -s "-screen 0 1280x900x24" .venv/bin/python scripts/screenshot.py [OUT.png]

The window keeps the size it gives itself (fitted to the video); the picture is taken once a confirmed track's id
has been drawn on a few frames in a row. Settings are a throwaway file, so the app shows its defaults.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PyQt5.QtCore import QSettings, QTimer
from PyQt5.QtWidgets import QApplication

from app.qt.main_window import build_window
from ssapose import paths

#: Frames in a row with an id drawn before the picture is taken (the id is not a one-frame flicker).
FRAMES_WITH_ID = 5


def main(out: str = str(Path(__file__).resolve().parents[1] / "docs" / "screenshot.png")) -> int:
    app = QApplication(sys.argv[:1])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.IniFormat)
    win = build_window(str(paths.demo_video()), str(paths.DEFAULT_MODEL), settings)
    win.show()
    win.live.start()
    seen = {"in_a_row": 0}

    def poll():
        seen["in_a_row"] = seen["in_a_row"] + 1 if win.live.last_info.get("ids") else 0
        if seen["in_a_row"] >= FRAMES_WITH_ID:
            win.live.pause_btn.setChecked(True)
            QTimer.singleShot(300, grab)
        else:
            QTimer.singleShot(100, poll)

    def grab():
        win.grab().save(out)
        size = win.size()
        print(f"wrote {out}: {size.width()}x{size.height()} window, ids {win.live.last_info['ids']} at frame "
              f"{win.live.last_info['index']}")
        win.close()
        app.quit()

    QTimer.singleShot(100, poll)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
