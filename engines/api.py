"""The Python API: a model in two lines, torch-free for ``.xml`` / ``.onnx`` / ``.engine`` files.

    import engines
    estimator = engines.load()                      # the default model, models/lwop.int8.xml
    poses = estimator(frame)                        # a BGR uint8 (H, W, 3) image, or an image's path
    for frame_number, poses in estimator.stream("clip.mp4", track=True):
        ...                                         # poses.keypoints (N, 17, 3), poses.scores, poses.ids

``Poses`` (``ssapose.poses``) holds COCO-order keypoints ``(x, y, score)`` in the frame's pixels;
``poses.to_json()`` gives one dict per person, ``poses.to_coco(image_id)`` COCO results.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from engines import create_backend
from engines.cli_args import AUTO_SIZE
from engines.modes import AUTO, AutoHeight
from engines.runner import PoseEstimator
from ssapose import paths
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.model_card import DEFAULT_INPUT_HEIGHT, ModelConfig
from ssapose.poses import Poses
from ssapose.tracking import Tracker, TrackerConfig


class Estimator:
    """A loaded model: call it on a frame for :class:`Poses`, or :meth:`stream` a source.

    Close it (or use ``with``) to release the backend; see :func:`load` for the arguments."""

    def __init__(self, model: str, *, backend: str = "auto", device: str = "cpu", threads: int | None = None,
                 input_size: int = DEFAULT_INPUT_HEIGHT, decoder: DecoderChoice | DecoderConfig | None = None,
                 flip: bool = False, scales: tuple[float, ...] = (1.0,), auto: AutoHeight | None = None):
        self.model = str(model)
        self.backend = create_backend(self.model, backend, device=device, threads=threads, streams=1)
        self._run = PoseEstimator(self.backend, input_size, decoder, flip=flip, scales=scales, auto=auto)

    @property
    def card(self) -> ModelConfig:
        """What the model file says about itself: preprocessing, stride, offsets, decoder defaults."""
        return self.backend.info.config

    @property
    def decoder(self) -> DecoderConfig:
        """The decoder settings in use (the card's defaults unless overridden at :func:`load`)."""
        return self._run.decoder

    def __call__(self, image: np.ndarray | str | Path) -> Poses:
        """People in one image: a BGR ``(H, W, 3) uint8`` array or the path of an image file; those scoring at
        least the decoder's ``shown_score`` (``DecoderChoice(shown_score=0)`` at :func:`load`: every pose)."""
        if isinstance(image, (str, Path)):
            import cv2

            path = image
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read an image from {path}")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
            raise ValueError(f"expected a BGR (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
        poses = self._run(image)
        return poses.take(poses.shown(self.decoder.shown_score))

    def stream(self, source: str | int, track: bool | TrackerConfig = False, max_frames: int = 0
               ) -> Iterator[tuple[int, Poses]]:
        """``(frame number, Poses)`` for every frame of a video file, GIF, image folder, camera index or stream
        URL, in order (damaged frames are skipped and leave gaps in the numbering). ``track``: keep person ids
        across frames (``poses.ids``) and smooth keypoints, with a :class:`TrackerConfig` or the defaults. The
        poses shown: as :meth:`__call__`'s, and a confirmed track's however weak (``Poses.shown``)."""
        import time

        from ssapose.sources import FrameSource

        t0 = time.perf_counter()
        tracker = Tracker(track if isinstance(track, TrackerConfig) else None) if track else None
        with FrameSource(str(source)) as src:
            for n, frame in enumerate(src):
                if max_frames and n >= max_frames:
                    break
                poses = self._run(frame)
                if tracker is not None:
                    file_clock = src.fps > 0 and not src.live        # a file's own time, else the wall clock
                    clock = src.position / src.fps if file_clock else time.perf_counter() - t0
                    poses, _ = tracker(poses, clock)        # it sees every pose, weak ones too
                yield src.position, poses.take(poses.shown(self.decoder.shown_score))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Estimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load(model: str | Path = paths.DEFAULT_MODEL, *, backend: str = "auto", device: str = "cpu",
         threads: int | None = None, input_size: int | str = DEFAULT_INPUT_HEIGHT,
         decoder: DecoderChoice | DecoderConfig | None = None, flip: bool = False,
         scales: tuple[float, ...] = (1.0,), mode: str | None = None) -> Estimator:
    """Open a model file (``.xml`` OpenVINO, ``.onnx``, ``.engine`` TensorRT, ``.pt`` with torch installed).

    Args:
        model: the file (default: the INT8 default model).
        backend, device, threads: as ``ssapose video``'s ``--backend``, ``--device``, ``--threads``.
        input_size: network input height in pixels, or ``"auto"``: a second pass (scales 1 and 1.5 averaged)
            on the images whose smallest person is small at the default height (``engines.modes.AutoHeight``;
            :meth:`Estimator.stream` decides frame by frame).
        decoder: None decodes as the model's card says; a :class:`DecoderChoice` overrides some settings.
        flip: test-time flipping (the mirrored image's maps averaged in): 2x the network's cost.
        scales: input heights relative to ``input_size`` averaged on its grid (must include 1).
        mode: ``"fast"``, ``"default"`` or ``"accurate"`` (``engines.modes``), instead of the three above.
    """
    if mode is not None:
        from engines.modes import MODES

        m = MODES[mode]
        input_size, flip, scales = m.height or input_size, m.flip, m.scales
    auto = None
    if input_size == AUTO_SIZE:
        input_size, auto = DEFAULT_INPUT_HEIGHT, AUTO
    elif not isinstance(input_size, int):
        raise ValueError(f"input_size must be a height in pixels or 'auto', got {input_size!r}")
    return Estimator(model, backend=backend, device=device, threads=threads, input_size=input_size,
                     decoder=decoder, flip=flip, scales=scales, auto=auto)
