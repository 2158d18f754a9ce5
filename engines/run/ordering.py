"""Putting frames back in order after stages that run several at a time (inference with several requests
in flight): in file mode every frame comes out in sequence; in live mode a frame that arrives after a newer
one has come out is stale, and is dropped. And where a frame just read sits in its source: its number and time."""
from __future__ import annotations


class Reorder:
    """Feed ``(sequence, item)`` pairs in any order; :meth:`push` returns the items that may go on now.

    ``live=False``: items come out strictly by sequence (0, 1, 2...), holding back those that arrive early.
    ``live=True``: sequences may have gaps (frames dropped upstream); an item comes out as soon as it
    arrives unless a newer one already has, in which case it is stale: counted in ``dropped``.
    """

    def __init__(self, live: bool):
        self.live, self.next, self.held, self.dropped = live, 0, {}, 0

    def push(self, sequence: int, item) -> list:
        if self.live:
            if sequence < self.next:
                self.dropped += 1
                return []
            self.next = sequence + 1
            return [item]
        self.held[sequence] = item
        out = []
        while self.next in self.held:
            out.append(self.held.pop(self.next))
            self.next += 1
        return out


def source_time(frames) -> float:
    """The time (s) the source gives the frame just read (``FrameSource.time``: a video's own timestamp), or -1."""
    t = getattr(frames, "time", -1.0)
    return float(t) if isinstance(t, (int, float)) else -1.0


def position_of(frames, n: int) -> int:
    """The frame number of the frame just read: the source's own (``FrameSource.position``, which
    leaves gaps where frames were skipped), else its place ``n`` in the sequence."""
    pos = getattr(frames, "position", -1)
    return pos if isinstance(pos, int) and pos >= 0 else n
