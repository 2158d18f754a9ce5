"""The Python API: a model in two lines, torch-free for ``.xml`` / ``.onnx`` / ``.engine`` files.

    import engines
    estimator = engines.load()                      # the default model, models/lwop.int8.xml
    poses = estimator(frame)                        # a BGR uint8 (H, W, 3) image, or an image's path
    for r in estimator.stream("clip.mp4", track=True):
        ...                 # r.index, r.time, r.poses.keypoints (N, 17, 3), r.poses.scores, r.poses.ids

``Poses`` (``ssapose.poses``) holds COCO-order keypoints ``(x, y, score)`` in the frame's pixels;
``poses.to_json()`` gives one dict per person, ``poses.to_coco(image_id)`` COCO results.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from engines import create_backend
from engines.modes import Mode, resolve_view
from engines.run.region import RegionConfig, choose_region
from engines.run.types import FrameResult
from engines.run.step import FrameStep
from engines.sinks import OutputSpec
from ssapose import paths
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.model_card import ModelConfig
from ssapose.poses import Poses
from ssapose.tracking import Tracker, TrackerConfig


class SourceEndedEarly(UserWarning):
    """:meth:`Estimator.stream` ended before the end of its source (damage it could not pass, a lost camera or
    connection); the stream's ``report`` says where and why."""


class Estimator:
    """A loaded model: call it on a frame for :class:`Poses`, or :meth:`stream` a source.

    Close it (or use ``with``) to release the backend; see :func:`load` for the arguments."""

    def __init__(self, model: str, *, backend: str = "auto", device: str = "cpu", threads: int | None = None,
                 view: Mode | None = None, decoder: DecoderChoice | DecoderConfig | None = None):
        self.model = str(model)
        self.view = view or resolve_view()
        self.backend = create_backend(self.model, backend, device=device, threads=threads)
        v = self.view
        self._decoder = decoder
        self._step = FrameStep(self.backend, v.height, decoder, flip=v.flip, scales=v.scales, auto=v.auto)

    @property
    def card(self) -> ModelConfig:
        """What the model file says about itself: preprocessing, stride, offsets, decoder defaults."""
        return self.backend.info.config

    @property
    def decoder(self) -> DecoderConfig:
        """The decoder settings in use (the card's defaults unless overridden at :func:`load`)."""
        return self._step.decoder

    def __call__(self, image: np.ndarray | str | Path) -> Poses:
        """People in one image: a BGR ``(H, W, 3) uint8`` array, a PIL image (read as RGB), or the path of an image
        file; those scoring at least the decoder's ``shown_score`` (``DecoderChoice(shown_score=0)`` at
        :func:`load`: every pose)."""
        poses = self._step(as_bgr(image))
        return poses.take(poses.shown(self.decoder.shown_score))

    def stream(self, source: str | int | Path, track: bool | TrackerConfig = False, max_frames: int = 0, *,
               live: bool | None = None, outputs: OutputSpec | None = None, draw: bool = False,
               roi: bool | RegionConfig | None = None) -> "Stream":
        """Every frame of a video file, GIF, image folder, camera index or stream URL through the threaded
        pipeline ``ssapose video`` runs (several requests in flight, frames in order; a live source drops stale
        frames unless ``live=False``): iterate it for one :class:`FrameResult` per frame (``r.index``, the frame
        number, damaged frames leaving gaps; ``r.time`` in seconds of the source's clock; ``r.poses``; ``r.frame``;
        ``r.draw()``; ``r.to_json()``).

        track: keep person ids across frames (``r.poses.ids``) and smooth keypoints, with a :class:`TrackerConfig`
        or the defaults; max_frames: stop after this many (0: all); outputs: files to write as ``ssapose video``
        does (``engines.sinks.OutputSpec``: mp4, pose file, table); draw: also give ``r.image``, the frame with the
        overlay; roi: run the network only where people are (``ssapose video --roi``: None, on where the network
        sees one view at one height; False: every frame whole; or an ``engines.run.region.RegionConfig``). The poses
        shown: as :meth:`__call__`'s, and a confirmed track's however weak (``Poses.shown``).

        When the stream ends before the end of its source, a :class:`SourceEndedEarly` warning says why; the
        returned object's ``report`` (``ssapose.sources.ReadReport``) says what was read, also after a normal end.
        Raises ``ssapose.sources.SourceError`` when the source cannot be opened, ``engines.sinks.SinkError`` when
        an output cannot be written."""
        from engines.run.pipeline import PipelineConfig
        from engines.run.session import RunSpec, open_run

        if isinstance(max_frames, (bool, np.bool_)) or not isinstance(max_frames, (int, np.integer)) or max_frames < 0:
            raise ValueError(f"max_frames must be a whole number >= 0 (0: all), got {max_frames!r}")
        v = self.view
        spec = RunSpec(str(source), self.model, live=live,
                       pipeline=PipelineConfig(input_size=v.height, decoder=self._decoder, flip=v.flip, scales=v.scales,
                                               auto=v.auto, draw=draw, hud=False, max_frames=int(max_frames),
                                               region=choose_region(roi, v.scales, v.auto)))
        tracker = Tracker(track if isinstance(track, TrackerConfig) else None) if track else None
        return Stream(open_run(spec, tracker, outputs or OutputSpec(), backend=self.backend))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Estimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Stream:
    """The frames of one source through the pipeline: iterate it once for :class:`FrameResult` s; ``report`` says
    what was read and why reading stopped. Stop early with :meth:`close` (or ``break`` and let it go)."""

    def __init__(self, run):
        self._run = run

    @property
    def report(self):
        """``ssapose.sources.ReadReport``: frames read of those declared, skipped and why, and why reading stopped."""
        return self._run.report

    def __iter__(self) -> Iterator[FrameResult]:
        try:
            yield from self._run.results()
        finally:
            self._run.close()
        if self._run.ended_early:
            warnings.warn(f"{self._run.source.name}: {self._run.report.describe()}", SourceEndedEarly, stacklevel=2)

    def close(self) -> None:
        self._run.close()


def as_bgr(image) -> np.ndarray:
    """An image as the network takes it, BGR ``(H, W, 3) uint8``: an array as it is, a PIL image converted from
    RGB, a path read from disk. Raises ValueError in one line for anything else."""
    if isinstance(image, (str, Path)):
        from ssapose.fsnames import imread, shown

        path, image = image, imread(image)
        if image is None:
            raise ValueError(f"cannot read an image from {shown(path)}")
    elif hasattr(image, "convert") and hasattr(image, "mode"):          # PIL: RGB order
        image = np.asarray(image.convert("RGB"))[..., ::-1]
    image = np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
        raise ValueError(f"expected a BGR (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    return image


def load(model: str | Path = paths.DEFAULT_MODEL, *, backend: str = "auto", device: str = "cpu",
         threads: int | None = None, mode: str | None = "default", input_size: int | str | None = None,
         flip: bool | None = None, scales: tuple[float, ...] | None = None,
         decoder: DecoderChoice | DecoderConfig | None = None) -> Estimator:
    """Open a model file (``.xml`` OpenVINO, ``.onnx``, ``.engine`` TensorRT, ``.pt`` with torch installed).

    How the network sees a frame follows one rule, the command line's too (``engines.modes.resolve_view``): start
    from ``mode`` and let every value given here win over the mode's.

    Args:
        model: the file (default: the INT8 default model).
        backend, device, threads: as ``ssapose video``'s ``--backend``, ``--device``, ``--threads``.
        mode: ``"fast"``, ``"default"`` or ``"accurate"`` (``engines.modes.MODES``).
        input_size: network input height in pixels (32-4096; default: the mode's, 368, or 256 for fast), or
            ``"auto"``: a second pass (scales 1 and 1.5 averaged) on the images whose smallest person is small at
            the default height (``engines.modes.AutoHeight``; :meth:`Estimator.stream` decides frame by frame).
        flip: test-time flipping (the mirrored image's maps averaged in): 2x the network's cost (default: the
            mode's).
        scales: input heights relative to ``input_size`` averaged on the largest one's grid (must include 1;
            default: the mode's).
        decoder: None decodes as the model's card says; a :class:`DecoderChoice` overrides some settings.

    Raises:
        ValueError: a value outside its rule (the message names it and the rule).
    """
    view = resolve_view(mode or "default", input_size, flip, scales)
    return Estimator(model, backend=backend, device=device, threads=threads, view=view, decoder=decoder)
