"""Whether a window can be shown here (no Qt import, so callers can decide before loading Qt).

``python -m app.qt.display`` exits 0 if Qt can open the display, else says what is missing and exits 1
(``make demo`` then runs the headless pipeline instead of the app).
"""
from __future__ import annotations

import os
import subprocess
import sys

#: Debian/Ubuntu packages of Qt's X11 (xcb) platform plugin that a bare machine lacks.
XCB_PACKAGES = ("libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 "
                "libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0")


def has_display() -> bool:
    """True with an X11/Wayland display, Qt's offscreen-like platforms, or on Windows/macOS."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or \
        os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal", "vnc") or sys.platform in ("win32", "darwin")


def qt_problem(timeout: float = 30.0) -> str:
    """Empty if Qt can start an application on this display; else why not, with what to install.
    Tried in a child process: Qt aborts the whole process when its platform plugin cannot load."""
    probe = "from PyQt5.QtWidgets import QApplication; QApplication(['ssapose-probe'])"
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "Qt did not start within 30 s"
    if done.returncode == 0:
        return ""
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    why = next((ln for ln in lines if "platform plugin" in ln or "No module named" in ln), lines[-1] if lines else "")
    hint = ("pip install PyQt5" if "No module named" in why else
            f"on Debian/Ubuntu: apt-get install {XCB_PACKAGES}")
    return f"Qt cannot open the display (exit {done.returncode}: {why.strip()}); {hint}"


if __name__ == "__main__":
    problem = qt_problem() if has_display() else "no display found (DISPLAY is not set)"
    if problem:
        print(f"ssapose app: {problem}", file=sys.stderr)
    sys.exit(1 if problem else 0)
