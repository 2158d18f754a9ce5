"""Argument checks shared by every ``ssapose`` command: one rule for sizes and output files.

The rule for outputs: a missing parent folder is created, an existing folder must
be writable, and the file's extension must be one the command writes. All of it
is checked when the arguments are parsed, before any work starts.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def input_size(text: str) -> int:
    """argparse type: a network input size in pixels, 32..4096."""
    value = positive_int(text)
    if not 32 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"input size must be between 32 and 4096 pixels, got {value}")
    return value


def prepare_output(path: str, suffixes: tuple[str, ...], what: str = "output") -> Path:
    """Check an output file before any work: its suffix, its folder (created if missing), writability.

    Raises:
        ValueError: with the reason, naming the file.
    """
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise ValueError(f"{what} {path!r} must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise ValueError(f"{what} {path!r} is a folder; give a file name")
    folder = p.parent if str(p.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create the folder of {what} {path!r}: {e.strerror}") from e
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {what} {path!r}: folder {folder} is not writable")
    return p
