"""Stopping a command from outside: Ctrl-C (SIGINT) and SIGTERM (``kill``, a service manager, a container's stop)
both end a run the same way, through its clean-up and its summary line; only the words and the exit status differ."""
from __future__ import annotations

import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread like Ctrl-C's ``KeyboardInterrupt``, so every ``finally`` and
    every handler of an interruption runs."""


def on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread (elsewhere: nothing; only it can set handlers)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise)


def _raise(signum, frame) -> None:
    raise Terminated()


def describe(e: KeyboardInterrupt) -> tuple[str, str, int]:
    """What stopped the run: a word, the signal as a user knows it, and the exit status (128 + the signal's
    number). A summary says ``"word (signal)"``; the command's last line the word alone."""
    if isinstance(e, Terminated):
        return "terminated", "SIGTERM", 143
    return "interrupted", "Ctrl-C", 130
