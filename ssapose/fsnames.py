"""File names OpenCV can open, and file names a person can read.

On Linux a file name is bytes; one that is not UTF-8 (a Latin-1 ``caf\\xe9.mp4``) reaches Python as a ``str`` with
surrogate escapes. OpenCV's Python bindings encode every path as UTF-8 and crash on such a ``str`` (a segmentation
fault, no message). :func:`for_opencv` hands OpenCV an ASCII alias instead: a link, in a private temporary folder
removed at exit, to the real file. :func:`shown` is the name as a message or an output's header shows it.
"""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading

import cv2
import numpy as np

_lock = threading.Lock()
_folder: str | None = None
_count = itertools.count()


def utf8(path) -> bool:
    """Whether ``path`` can be handed to OpenCV as it is."""
    try:
        os.fsdecode(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def for_opencv(path) -> str:
    """``path`` (str, bytes or a path object) in a form OpenCV can open or create: itself when it is UTF-8, else an
    ASCII-named link to it (the link may point at a file not yet written: OpenCV's writer creates it)."""
    p = os.fsdecode(os.fspath(path))
    if utf8(p):
        return p
    suffix = os.path.splitext(p)[1]
    suffix = suffix if utf8(suffix) else ""
    link = os.path.join(_alias_folder(), f"{next(_count)}{suffix}")
    os.symlink(os.path.abspath(p), link)
    return link


def _alias_folder() -> str:
    global _folder
    with _lock:
        if _folder is None:
            _folder = tempfile.mkdtemp(prefix="ssapose-names-")
            atexit.register(shutil.rmtree, _folder, True)
        return _folder


def imread(path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """``cv2.imread`` for any file name (None when the file cannot be read as an image)."""
    return cv2.imread(for_opencv(path), flags)


def imwrite(path, image: np.ndarray, params: list[int] | None = None) -> bool:
    """``cv2.imwrite`` for any file name."""
    return cv2.imwrite(for_opencv(path), image, params or [])


def shown(path) -> str:
    """``path`` as text a person can read and any output can hold: bytes that are not UTF-8 become U+FFFD."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "replace")
