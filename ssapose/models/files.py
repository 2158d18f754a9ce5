"""Reading and writing ``.pt`` files so that opening one never runs code.

A ``.pt`` file is a pickle, and a pickle can name any function to call while it loads. Every
``.pt`` this project opens (``--model``, the app's Model... dialog, ``train.py --resume`` and
``--init``, offset heads, OpenPose weights) goes through :func:`safe_load`, which reads with
``torch.load(weights_only=True)``: tensors and plain data (dict, list, tuple, str, numbers,
bool, None) only. Everything we write goes through :func:`plain` first, so that our own files
contain nothing else.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import PurePath

import numpy as np
import torch


class UnsafeFileError(ValueError):
    """A ``.pt`` file that asks to build objects or call functions when it loads: refused, nothing ran."""


def plain(obj):
    """``obj`` with numpy scalars/arrays and paths turned into Python numbers, lists and strings
    (tensors, dicts, lists, tuples kept), so that ``weights_only`` loading accepts it."""
    if isinstance(obj, dict):
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    return obj


def safe_load(path, map_location="cpu"):
    """Load a ``.pt`` file as tensors and plain data, never running code from it.

    Raises:
        FileNotFoundError: no such file.
        UnsafeFileError: the file holds other objects (a crafted or foreign pickle); one line naming the file.
        ValueError: the file is truncated or not a PyTorch file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        wanted = re.search(r"GLOBAL (\S+)", str(e))
        if wanted is None:                  # not a request for code: a damaged or foreign pickle
            raise ValueError(f"{path} is not a readable PyTorch file (corrupt or truncated?)") from None
        raise UnsafeFileError(f"{path} was refused: it asks to call {wanted.group(1)} when it loads, and only "
                              "tensors and plain data are read from a .pt file (nothing from it ran)") from None
    except Exception as e:  # noqa: BLE001 - zip/EOF/format errors of a damaged file
        raise ValueError(f"{path} is not a readable PyTorch file (corrupt or truncated?): "
                         f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
