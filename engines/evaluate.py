"""COCO evaluation of a model file through any backend."""
from __future__ import annotations

from typing import Callable

from engines import Backend, create_backend
from engines.modes import AutoHeight, Mode
from engines.run.step import FrameStep, Timings
from ssapose.coco import check_images, evaluate, find_image_dir, load_coco
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.evaluation import coco_results, predict_images
from ssapose.inference import decode_fields
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.poses import Poses


def evaluate_model(model: str, ann_file: str, image_dir: str | None, input_size: int = DEFAULT_INPUT_HEIGHT,
                   backend: str = "auto", decoder: DecoderConfig | DecoderChoice | None = None, progress: bool = False,
                   on_image: Callable[[int, int], bool] | None = None, device: str = "cpu",
                   threads: int | None = None, opened: Backend | None = None, flip: bool = False,
                   scales: tuple[float, ...] = (1.0,), auto: AutoHeight | None = None) -> tuple[dict, list[dict]]:
    """Run the model on every image of ``ann_file`` and score it.

    ``image_dir`` None finds the images beside the file or in the COCO layout. ``flip``, ``scales``, ``auto``:
    test-time augmentation and ``--input-size auto`` (``engines.modes``). ``opened``: an
    already opened backend to use (and leave open) instead of opening ``model``.

    ``on_image(done, total)`` is called after each image; returning False cancels
    (the figures then cover the images done). Returns ``(stats, results)``.
    """
    coco = load_coco(ann_file)
    image_dir = image_dir or find_image_dir(ann_file, coco)
    check_images(coco, image_dir)                 # every image there, before the model opens
    be = opened or create_backend(model, backend, device=device, threads=threads, streams=1)   # one image at a time
    est = FrameStep(be, input_size, decoder, flip=flip, scales=scales, auto=auto)
    try:
        poses = predict_images(coco, image_dir, est, on_image, progress)
    finally:
        if opened is None:
            be.close()
    results = coco_results(poses)
    return evaluate(coco, results, list(poses)), results


def fields_of_images(model: str, mode: Mode, ann_file: str) -> tuple[dict, int, DecoderConfig]:
    """What ``mode``'s estimator decodes on every image of ``ann_file``, kept to be decoded with any decoder (the
    network runs once): ``({image_id: (fields, letterbox of their grid, averaged)}, the model's stride, the
    decoder its card asks for)``. With ``mode.auto``, ``averaged`` says whether the second pass ran."""
    coco = load_coco(ann_file)
    with create_backend(model, streams=1) as be:
        est = FrameStep(be, mode.height or DEFAULT_INPUT_HEIGHT, flip=mode.flip, scales=mode.scales,
                            auto=mode.auto)
        kept = predict_images(coco, find_image_dir(ann_file, coco), lambda f: est.fields_for(f, Timings())[:3])
        return kept, be.info.stride, est.decoder


def decode_images(kept: dict, stride: int, decoder: DecoderConfig) -> dict[int, Poses]:
    """The poses of :func:`fields_of_images`' images, decoded with ``decoder`` (its averaged-map settings where
    the fields average several views)."""
    return {iid: decode_fields(f, stride, box, decoder.for_fields(averaged)) for iid, (f, box, averaged) in kept.items()}
