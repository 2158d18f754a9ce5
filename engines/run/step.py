"""The per-frame step: one frame through a backend, preprocess -> infer -> decode, with per-stage timings.

The pipeline (``engines.run.pipeline``) runs its stages on every frame of a stream; a single image (``Estimator``'s
call, ``eval``) runs it whole."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from engines.base import Backend
from engines.modes import AutoHeight, check_scales
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.inference import decode_fields, unbatched
from ssapose.poses import Poses
from ssapose.preprocess import Letterbox, prepare
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.tta import average, mirror_input, on_largest_grid, unflip


@dataclass
class Timings:
    """Per-stage wall time of one frame, in milliseconds."""

    capture: float = 0.0
    preprocess: float = 0.0
    inference: float = 0.0
    decode: float = 0.0
    overlay: float = 0.0
    extra: dict = field(default_factory=dict)

    def total(self) -> float:
        """The frame's processing time (capture excluded: it is the source's, not ours)."""
        return self.preprocess + self.inference + self.decode + self.overlay


class FrameStep:
    """Frames in, poses (in frame pixels) out, through any backend: the step every entry point runs per frame.

    Args:
        backend: an opened backend.
        input_size: longer side (or height, per the checkpoint) of the network input in pixels.
        decoder: decoder parameters; or a :class:`DecoderChoice` (None: an empty one), resolved against the
            model's card, so that a model decodes the way it was trained to (its offsets, say) by default.
        flip: also run the mirrored input and average its maps, mirrored back (``ssapose.tta``): 2x the
            network's cost.
        scales: input heights relative to ``input_size`` whose heatmaps and PAFs are resampled onto the grid of
            the largest and averaged (the paper's multi-scale testing; 1x must be among them; the largest view's
            offsets are used); network cost: the sum of the squared scales. Only :meth:`infer` / calling the
            estimator uses them.
    """

    def __init__(self, backend: Backend, input_size: int = DEFAULT_INPUT_HEIGHT,
                 decoder: DecoderConfig | DecoderChoice | None = None, flip: bool = False,
                 scales: tuple[float, ...] = (1.0,), auto: AutoHeight | None = None):
        if not isinstance(decoder, DecoderConfig):
            decoder = (decoder or DecoderChoice()).resolve(backend.info.config.refine)
        self.backend, self.input_size, self.decoder, self.flip = backend, input_size, decoder, flip
        self.scales, self.auto = check_scales(scales), auto
        if auto is not None and self.scales != (1.0,):
            raise ValueError("an automatic input height chooses its own scales: give either scales or auto")

    def settings(self) -> dict:
        """How frames become poses, as JSON-ready values (a pose file's header records them): ``input_size`` (px),
        ``flip``, ``scales``, ``auto`` (the automatic height's rule, or None), the decoder's ``refine``,
        ``paf_method``, ``matching`` and ``shown_score``."""
        d = self.decoder
        return {"input_size": self.input_size, "flip": self.flip, "scales": list(self.scales),
                "auto": None if self.auto is None else asdict(self.auto), "refine": d.refine,
                "paf_method": d.paf_method, "matching": d.matching, "shown_score": d.shown_score}

    def prepare(self, frame: np.ndarray, t: Timings, window: tuple[int, int] | None = None,
                size: int | None = None) -> tuple[np.ndarray, Letterbox]:
        """Resize, pad and normalise one frame: ``(1, 3, h, w)`` float input, or ``(1, h, w, 3)`` uint8 for a
        backend that normalises inside the network (``takes_uint8``); fills ``t.preprocess``. ``window``:
        ``(x0, width)``, only those input columns, and ``size``, another input height (region-of-interest
        inference)."""
        t0 = time.perf_counter()
        x, box = self._input(frame, size or self.input_size, window)
        t.preprocess = (time.perf_counter() - t0) * 1e3
        return x, box

    def _input(self, frame: np.ndarray, size: int,
               window: tuple[int, int] | None = None) -> tuple[np.ndarray, Letterbox]:
        """The network input of ``frame`` at height ``size`` (only ``window``'s columns), in the form the backend
        takes."""
        return prepare(frame, size, self.backend.info.config.preprocess,
                       normalised=not getattr(self.backend, "takes_uint8", False), window=window)

    def network(self, x: np.ndarray, t: Timings, flip: bool | None = None) -> dict[str, np.ndarray]:
        """Run the network on a prepared input (and its mirror image, with ``flip``; None: the estimator's);
        fills ``t.inference``."""
        t0 = time.perf_counter()
        fields = self.backend.infer(x)
        if self.flip if flip is None else flip:
            fields = self._with_mirror(fields, x)
        t.inference = (time.perf_counter() - t0) * 1e3
        return fields

    def _with_mirror(self, fields: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
        """``fields`` of input ``x`` averaged with the maps of its mirror image, mirrored back (``ssapose.tta``)."""
        return average(fields, unflip(self.backend.infer(mirror_input(x))))

    def infer(self, frame: np.ndarray, t: Timings) -> tuple[dict[str, np.ndarray], Letterbox]:
        """:meth:`prepare` then :meth:`network` on one frame (at every scale of ``scales``, averaged on the grid of
        the largest); returns the fields and the letterbox of the view whose grid they are on."""
        x, box = self.prepare(frame, t)
        return self._with_scales(frame, self.network(x, t), box, self.scales, self.flip, t)

    def _with_scales(self, frame: np.ndarray, fields: dict[str, np.ndarray], box: Letterbox,
                     scales: tuple[float, ...], flip: bool,
                     t: Timings) -> tuple[dict[str, np.ndarray], Letterbox]:
        """``fields`` (the 1x maps, on ``box``'s grid) averaged with the maps of every other scale of ``scales``.

        Every view's heatmaps and PAFs are resampled onto the grid of the largest view, the finest one (the
        paper, after OpenPose, resizes every view's maps to one resolution): on the 1x grid, the larger views'
        detail, which separates and places small people, would be averaged away (docs/history.md, "Test-time
        augmentation"). The offsets are the largest view's own. Returns ``(fields, letterbox of that view)``;
        ``t.inference`` then counts every scale's network time.
        """
        if scales == (1.0,):
            return fields, box
        views = [(box, unbatched(fields))]
        pre, infer_ms = self.backend.info.config.preprocess, t.inference
        for s in scales:
            if s == 1.0:
                continue
            size = max(pre.pad_to, int(round(self.input_size * s)))
            xs, bs = self._input(frame, size)
            views.append((bs, unbatched(self.network(xs, t, flip))))
            infer_ms += t.inference                              # every scale's network time counts
        t.inference = infer_ms
        finest, on_grid = on_largest_grid(views, self.backend.info.stride)
        grid, base = views[finest]
        acc = {k: on_grid[finest][k].copy() for k in ("heatmaps", "pafs")}     # the largest first: the same sums
        for i, other in enumerate(on_grid):
            if i != finest:
                for k in acc:
                    acc[k] += other[k]
        return {**base, **{k: v / len(views) for k, v in acc.items()}}, grid

    def second_pass(self, frame: np.ndarray, fields: dict[str, np.ndarray], box: Letterbox,
                    t: Timings) -> tuple[dict[str, np.ndarray], Letterbox]:
        """``--input-size auto``'s second pass: the first pass's 1x maps (reused) with the views of ``auto``
        added (its mirror image, its other scales); returns the fields and the letterbox of their grid, as
        :meth:`infer` does; ``t.inference`` adds their network time."""
        a, first_ms = self.auto, t.inference
        if a.flip and not self.flip:
            x, _ = self._input(frame, self.input_size)
            t0 = time.perf_counter()
            fields = self._with_mirror(fields, x)
            first_ms += (time.perf_counter() - t0) * 1e3
        t.inference = first_ms
        return self._with_scales(frame, fields, box, a.scales, a.flip, t)

    @property
    def averages(self) -> bool:
        """Whether :meth:`infer` averages several views (flipping, scales) into the fields it returns."""
        return self.flip or self.scales != (1.0,)

    def decode(self, fields: dict[str, np.ndarray], box: Letterbox, t: Timings, averaged: bool = False) -> Poses:
        """Decode one frame's fields into poses in frame pixels; fills ``t.decode``. ``averaged``: the fields
        average several views (:attr:`averages`, or a :meth:`second_pass`): see ``DecoderConfig.for_fields``."""
        t0 = time.perf_counter()
        poses = decode_fields(fields, self.backend.info.stride, box, self.decoder.for_fields(averaged))
        t.decode = (time.perf_counter() - t0) * 1e3
        return poses

    def fields_for(self, frame: np.ndarray, t: Timings) -> tuple[dict[str, np.ndarray], Letterbox, bool, Poses | None]:
        """What a frame's poses are decoded from: ``(fields, letterbox of their grid, averaged, poses)``. With
        ``auto`` the first pass is decoded to judge the people's size; ``poses`` are those when no second pass
        follows, else None (the caller decodes the fields)."""
        fields, box = self.infer(frame, t)
        if self.auto is None:
            return fields, box, self.averages, None
        poses = self.decode(fields, box, t, self.averages)
        if not self.auto.fires(poses, box.scale):
            return fields, box, self.averages, poses
        return (*self.second_pass(frame, fields, box, t), True, None)

    def __call__(self, frame: np.ndarray, timings: Timings | None = None) -> Poses:
        """The poses of one frame; with ``auto``, a second pass where the first finds only small people."""
        t = timings if timings is not None else Timings()
        fields, box, averaged, poses = self.fields_for(frame, t)
        return poses if poses is not None else self.decode(fields, box, t, averaged)
