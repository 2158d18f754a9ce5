"""``--input-size auto`` on video: when to add the second pass, re-chosen every few frames from the tracked people.

Frames are taken in blocks of ``every``. Block ``b`` runs with the second pass when the rule of
:class:`engines.modes.AutoHeight` fired on enough of the frames of block ``b - 2`` (the block before last, so that
its frames have left the pipeline by the time block ``b`` reaches the network): it switches on at ``on`` of them
and off below ``off``, and holds between the two (hysteresis: it does not flicker on a person at the threshold).

In file mode the schedule is deterministic: the network stage waits, if it must, until block ``b - 2`` has been
seen whole. In live mode it never waits; a block decides from what of block ``b - 2`` came through (frames are
dropped there), else the last decision holds.
"""
from __future__ import annotations

import threading

from engines.modes import AutoHeight, ScheduleConfig
from ssapose.poses import Poses


class HeightSchedule:
    """Thread-safe: :meth:`observe` from the stage after tracking, :meth:`second_pass` from the network stage."""

    def __init__(self, rule: AutoHeight, live: bool, config: ScheduleConfig = ScheduleConfig()):
        self.rule, self.live, self.config = rule, live, config
        self._cond = threading.Condition()
        self._fired: dict[int, list[int]] = {}        # block -> [frames seen, frames the rule fired on]
        self._seen_upto = -1                           # highest sequence observed
        self._decided: dict[int, bool] = {0: False, 1: False}
        self._closed = False

    def observe(self, sequence: int, poses: Poses, scale: float) -> None:
        """Frame ``sequence`` came out with ``poses`` (frame pixels; ``scale``: input px per frame px at the
        default height). Frames arrive in order (file mode: every one)."""
        with self._cond:
            counts = self._fired.setdefault(sequence // self.config.every, [0, 0])
            counts[0] += 1
            counts[1] += self.rule.fires(poses, scale)
            self._seen_upto = max(self._seen_upto, sequence)
            self._cond.notify_all()

    def second_pass(self, sequence: int) -> bool:
        """Whether frame ``sequence`` gets the second pass. File mode: may wait until block ``b - 2`` is seen."""
        b = sequence // self.config.every
        with self._cond:
            if not self.live:
                last = (b - 1) * self.config.every - 1           # the last frame of block b - 2
                self._cond.wait_for(lambda: self._seen_upto >= last or self._closed)
            return self._decide(b)

    def _decide(self, b: int) -> bool:
        """Block ``b``'s decision, each block decided once, in order, from block ``b - 2``'s frames and the
        decision before it (called locked)."""
        if b in self._decided:
            return self._decided[b]
        earlier = [k for k in self._decided if k < b]
        if not earlier:                                  # a straggler from long ago: its block is forgotten
            return False
        k = max(earlier)
        state = self._decided[k]
        for blk in range(k + 1, b + 1):
            seen, fired = self._fired.get(blk - 2, (0, 0))
            if seen:
                frac = fired / seen
                state = frac >= self.config.on or (state and frac >= self.config.off)
            self._decided[blk] = state
        for old in [k for k in self._fired if k < b - 3]:
            del self._fired[old]
        for old in [k for k in self._decided if k < b - 3]:
            del self._decided[old]
        return state

    def close(self) -> None:
        """Release any waiting network stage (the pipeline stops)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
