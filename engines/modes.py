"""Named inference modes: the input height, flipping and scales a user picks with ``--mode``.

``accurate`` was chosen on coco_mini train2017 only (``python benchmarks/tta_table.py --choose``); its AP on
val2017 and coco_tiny, with intervals, is in BENCHMARKS.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from ssapose.model_card import DEFAULT_INPUT_HEIGHT


@dataclass(frozen=True)
class Mode:
    """height: the network input height in px (None: ``--input-size``); flip: test-time flipping; scales: input
    heights relative to it whose maps are averaged on its grid."""

    height: int | None = None
    flip: bool = False
    scales: tuple[float, ...] = (1.0,)

    @property
    def cost(self) -> float:
        """Network cost relative to one pass at the height: the sum of the squared scales, doubled by flipping."""
        return sum(s * s for s in self.scales) * (2 if self.flip else 1) * ((self.height or DEFAULT_INPUT_HEIGHT) / DEFAULT_INPUT_HEIGHT) ** 2


MODES = {"fast": Mode(height=256), "default": Mode(), "accurate": Mode(flip=True, scales=(1.0, 1.5))}
