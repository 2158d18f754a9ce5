"""Named inference modes: the input height, flipping and scales a user picks with ``--mode``.

``accurate`` was chosen on coco_mini train2017 only (``python benchmarks/tta_table.py --choose``); its AP on
val2017 and coco_tiny, with intervals, is in BENCHMARKS.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.poses import Poses


def check_scales(scales) -> tuple[float, ...]:
    """``scales`` as a tuple, checked: input heights relative to the default height's pass, positive, 1 among them
    (the default height's pass, which ``--input-size auto`` reuses as its first)."""
    try:
        scales = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        raise ValueError(f"scales must be a list of numbers, got {scales!r}") from None
    if 1.0 not in scales or any(s <= 0 for s in scales):
        raise ValueError(f"scales {scales}: they must be positive and include 1 (the default height's pass)")
    return scales


def views_cost(scales: tuple[float, ...], flip: bool) -> float:
    """Network cost of running ``scales`` (each ``s`` costs ``s**2``), doubled by flipping, relative to one pass."""
    return sum(s * s for s in scales) * (2 if flip else 1)


#: The statistics of the people's heights that :class:`AutoHeight` can judge by.
STATISTICS = ("min", "median")


@dataclass(frozen=True)
class AutoHeight:
    """``--input-size auto``: a first pass at the default height and, when the people it finds are small there,
    a second pass whose maps are averaged with the first's on the grid of the largest view (the first pass is
    reused as scale 1).

    small_px: people count as small when ``statistic`` of their keypoint heights, in network-input pixels at
        the default height, is below this; statistic: ``"min"`` (the smallest person) or ``"median"``;
        flip, scales: the second pass (scales relative to the default height; 1 must be among them).
    Chosen on coco_mini train2017 only (``python benchmarks/auto_height.py --choose``).
    """

    small_px: float = 32.0
    statistic: str = "min"
    flip: bool = False
    scales: tuple[float, ...] = (1.0, 1.5)

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {self.statistic!r}; use one of {', '.join(STATISTICS)}")
        check_scales(self.scales)

    def fires(self, poses: Poses, scale: float) -> bool:
        """Whether ``poses`` (frame pixels; ``scale`` input px per frame px at the default height) call for the
        second pass. No people: no second pass."""
        h = poses.heights() * scale
        h = h[h > 0]
        if len(h) == 0:
            return False
        return bool((np.min(h) if self.statistic == "min" else np.median(h)) < self.small_px)

    @property
    def extra_cost(self) -> float:
        """Network cost of the second pass beyond the first, relative to one pass at the default height."""
        return views_cost(self.scales, self.flip) - 1.0


#: The rule of ``--input-size auto``: the best train2017 AP of ``python benchmarks/auto_height.py --choose``.
AUTO = AutoHeight(small_px=32.0)


@dataclass(frozen=True)
class ScheduleConfig:
    """``--input-size auto`` on video (``engines.run.height_schedule``): every: frames per block; on / off: fraction
    of a block's frames on which the rule fires that switches the second pass on / off."""

    every: int = 15
    on: float = 0.5
    off: float = 0.25

    def __post_init__(self):
        if self.every < 1 or not 0 <= self.off <= self.on <= 1:
            raise ValueError(f"schedule {self}: every >= 1 and 0 <= off <= on <= 1")


@dataclass(frozen=True)
class Mode:
    """height: the network input height in px (None: ``--input-size``); flip: test-time flipping; scales: input
    heights relative to it whose maps are averaged on the largest one's grid; auto: ``--input-size auto``'s rule
    (None: off)."""

    height: int | None = None
    flip: bool = False
    scales: tuple[float, ...] = (1.0,)
    auto: AutoHeight | None = None

    @property
    def cost(self) -> float:
        """Network cost relative to one pass at the default height: the sum of the squared scales, doubled by
        flipping (with ``auto``: its first pass; the second adds ``auto.extra_cost`` where it fires)."""
        size = (self.height or DEFAULT_INPUT_HEIGHT) / DEFAULT_INPUT_HEIGHT
        return views_cost(self.scales, self.flip) * size ** 2

    def describe(self) -> str:
        """One line for a user: what runs, and its network cost (e.g. ``flipped, scales 1, 1.5 (6.5x the network)``)."""
        what = ([f"height {self.height}"] if self.height else []) + (["flipped"] if self.flip else []) + \
            ([f"scales {', '.join(f'{s:g}' for s in self.scales)}"] if self.scales != (1.0,) else [])
        cost = f"{self.cost:.3g}x the network"
        if self.auto is not None:
            a = self.auto
            who = "the smallest person" if a.statistic == "min" else "the median person"
            what.append(f"a second pass ({'flipped, ' if a.flip else ''}scales {', '.join(f'{s:g}' for s in a.scales)})"
                        f" where {who} is under {a.small_px:g} px")
            cost += f", +{a.extra_cost:.3g}x where it fires"
        return f"{', '.join(what) or 'one pass at the input height'} ({cost})"


#: ``accurate``: the cheapest candidate of ``benchmarks/tta_table.py --choose`` within 0.002 AP of the best on
#: coco_mini train2017: flipping and the paper's four scales.
MODES = {"fast": Mode(height=256), "default": Mode(), "accurate": Mode(flip=True, scales=(0.5, 1.0, 1.5, 2.0))}


def resolve_view(mode: str = "default", input_size=None, flip: bool | None = None,
                 scales=None) -> Mode:
    """How the network sees a frame, by the one rule every entry point follows (CLI, app, batch, Python API):
    start from ``mode`` (a name of :data:`MODES`) and let every value given explicitly win over the mode's.

    input_size: the network input height in pixels (a whole number from 32 to 4096; numpy integers too), ``"auto"``
        (a first pass at the default height, a second where people are small), or None (the mode's height, else the
        default); flip: test-time flipping (None: the mode's); scales: input heights relative to the input size whose
        maps are averaged (None: the mode's; 1 must be among them). Returns a :class:`Mode` whose ``height`` is set.

    Raises:
        ValueError: one line naming the value and the rule it breaks.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    m = MODES[mode]
    auto = isinstance(input_size, str) and input_size.strip().lower() == "auto"
    if auto:
        height = DEFAULT_INPUT_HEIGHT
    elif input_size is None:
        height = m.height or DEFAULT_INPUT_HEIGHT
    else:
        height = check_height(input_size)
    scales = m.scales if scales is None else check_scales(scales)
    if auto and scales != (1.0,):
        raise ValueError("input size 'auto' chooses its own scales: give no scales (nor the accurate mode), or a "
                         "fixed input size")
    return Mode(height=height, flip=m.flip if flip is None else bool(flip), scales=scales,
                auto=AUTO if auto else None)


#: The network input heights a user may ask for, in pixels.
HEIGHT_RANGE = (32, 4096)


def check_height(value) -> int:
    """``value`` as an input height in pixels: a whole number (numpy integers too, not a bool) in
    :data:`HEIGHT_RANGE`; raises ValueError in one line otherwise."""
    lo, hi = HEIGHT_RANGE
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"input size must be a whole number of pixels from {lo} to {hi}, or 'auto'; got {value!r}")
    return int(value)


#: The presets the desktop app offers: the ``--mode`` ones and ``--input-size auto``.
APP_MODES = {**MODES, "auto height": Mode(auto=AUTO)}


def preset_view(name: str, input_size=None) -> Mode:
    """The view of the app's preset ``name`` (:data:`APP_MODES`), an explicit ``input_size`` winning as in
    :func:`resolve_view`."""
    if name == "auto height":
        return resolve_view("default", "auto")
    return resolve_view(name, input_size)
