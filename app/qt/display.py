"""Whether a window can be shown here (no Qt import, so callers can decide before loading Qt)."""
from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """True with an X11/Wayland display, Qt's offscreen-like platforms, or on Windows/macOS."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or \
        os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal", "vnc") or sys.platform in ("win32", "darwin")
