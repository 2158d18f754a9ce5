"""Argument checks shared by every ``ssapose`` command: one rule for sizes and output files.

The rule for outputs: a missing parent folder is created, an existing folder must
be writable, and the file's extension must be one the command writes. All of it
is checked when the arguments are parsed, before any work starts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from engines.modes import HEIGHT_RANGE
from engines.sinks import check_file, same_file


def bounded(lo: float, hi: float | None = None, *, integer: bool = True, unit: str = ""):
    """An argparse type for a number in ``[lo, hi]`` (``hi`` None: no upper bound), with one message
    for every way to miss: ``must be a whole number between 32 and 4096 (pixels), got '7'``."""
    kind = "a whole number" if integer else "a number"
    span = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
    rule = f"{kind} {span}" + (f" ({unit})" if unit else "")

    def parse(text: str):
        try:
            value = (int if integer else float)(text)
        except ValueError:
            value = None
        if value is None or value != value or value < lo or (hi is not None and value > hi):   # v != v: NaN
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    parse.__name__ = "whole number" if integer else "number"     # argparse names the type in its messages
    parse.rule = rule                                             # for a type that also takes words (_or_words)
    return parse


positive_int = bounded(1)
non_negative_int = bounded(0)
#: A network input height in pixels (``engines.modes.HEIGHT_RANGE``, the API's rule too).
input_size = bounded(*HEIGHT_RANGE, unit="pixels")
#: A score threshold.
fraction = bounded(0.0, 1.0, integer=False)


def _or_words(number, words: tuple[str, ...], word_value, word_text: str):
    """An argparse type: ``number(text)`` (a :func:`bounded` type), or ``word_value`` for one of ``words``; one
    message for both ways to miss: ``must be <number's rule>, or WORD_TEXT, got '...'``."""

    def parse(text: str):
        if text.strip().lower() in words:
            return word_value
        try:
            return number(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"must be {number.rule}, or {word_text}, got {text!r}") from None

    parse.__name__ = "value"
    return parse


def _count_or_auto(hi: int, auto_words: tuple[str, ...], auto_text: str):
    """An argparse type for a count in ``[1, hi]``, or one of ``auto_words`` for the backend's own choice (None)."""
    return _or_words(bounded(1, hi), auto_words, None, auto_text)


#: ``--input-size auto``: the height follows the people (``engines.modes.AutoHeight``).
AUTO_SIZE = "auto"
#: ``--input-size``: a height in pixels, or ``auto`` (returned as :data:`AUTO_SIZE`).
input_size_or_auto = _or_words(input_size, (AUTO_SIZE,), AUTO_SIZE, "auto")

#: ``--threads``: a count, or ``auto`` / ``0`` for the backend's own choice (all cores), given as None.
threads = _count_or_auto(1024, ("auto", "0"), "auto (or 0) for the backend's own choice")
#: ``--streams``: requests in flight, or ``auto`` (None).
streams = _count_or_auto(64, ("auto",), "auto")


def prepare_output(path: str, suffixes: tuple[str, ...], what: str = "output", source: str | None = None) -> Path:
    """Check an output file before any work: its suffix, that it is not the ``source`` being read,
    its folder (created if missing), writability (``engines.sinks.check_file``).

    Raises:
        ValueError: with the reason, naming the file.
    """
    if source is not None and same_file(path, source):
        raise ValueError(f"{what} {path!r} is the input {source!r}: it would be overwritten; write somewhere else")
    return check_file(path, what, suffixes)
