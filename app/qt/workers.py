"""Qt worker threads: they run the pipeline and the evaluation, and talk to the GUI only by signals."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QThread, pyqtSignal

from app.pipeline import Pipeline, PipelineConfig
from engines.modes import Mode
from ssapose.overlay import DrawStyle
from ssapose.model_card import DEFAULT_INPUT_HEIGHT


class PipelineWorker(QThread):
    """Consumes :class:`Pipeline` results off the GUI thread.

    Signals: ``frame(image, info)`` per frame (``image`` BGR uint8 with the overlay,
    ``info`` a dict with index, fps, timings, people, dropped), ``failed(str)``.
    """

    frame = pyqtSignal(object, dict)
    failed = pyqtSignal(str)
    model_failed = pyqtSignal(str)          # the model could not be opened (the dialog names it)

    def __init__(self, source: str, model: str, backend: str = "auto", input_size: int = DEFAULT_INPUT_HEIGHT,
                 style: DrawStyle = DrawStyle(), record: str | None = None, device: str = "cpu",
                 realtime: bool = True, loop: bool = False, tracker=None, decoder=None, mode: Mode = Mode()):
        super().__init__()
        self.device, self.realtime, self.loop, self.tracker = device, realtime, loop, tracker
        self.mode = mode                        # engines.modes: its height (if any) wins over input_size
        self.decoder = decoder                  # a DecoderChoice; None: the model's card
        self.show_fields = False
        self.source, self.model, self.backend_kind, self.input_size = source, model, backend, input_size
        self.style, self.record = style, record
        self.pipeline: Pipeline | None = None
        self._pause = threading.Event()
        self._halt = threading.Event()

    def set_style(self, style: DrawStyle) -> None:
        """Applied from the next frame on (the overlay stage reads it per frame)."""
        self.style = style
        if self.pipeline is not None:
            self.pipeline.style = style

    def pause(self, on: bool) -> None:
        (self._pause.set if on else self._pause.clear)()
        if self.pipeline is not None:
            self.pipeline.pause(on)          # the file's clock stops too: no fast-forward on resume

    def stop(self) -> None:
        self._halt.set()
        self._pause.clear()
        if self.pipeline is not None:
            self.pipeline.stop()
        self.wait(10000)

    def run(self) -> None:
        from app.outputs import JsonLinesWriter
        from app.session import ModelOpenError, RunSpec, open_run
        from app.video_out import VideoOut
        from engines.cli_args import same_file

        video, poses, run = None, None, None
        try:
            outputs = (self.record, Path(self.record).with_suffix(".jsonl")) if self.record else ()
            if any(same_file(p, self.source) for p in outputs):
                raise ValueError(f"the recording {self.record} would overwrite the source; record elsewhere")
            m = self.mode
            pipe = PipelineConfig(input_size=m.height or self.input_size, decoder=self.decoder, style=self.style,
                                  flip=m.flip, scales=m.scales, auto=m.auto, show_fields=self.show_fields,
                                  hud=False)                # the window has its own HUD under the view
            spec = RunSpec(self.source, self.model, self.backend_kind, self.device, realtime=self.realtime,
                           loop=self.loop, pipeline=pipe)
            try:
                run = open_run(spec, self.tracker, halted=self._halt.is_set)       # threads auto: all cores
            except ModelOpenError as e:     # shown in a dialog, and the model is not remembered
                self.model_failed.emit(str(e))
                return
            src, self.pipeline = run.source, run.pipeline
            for r in self.pipeline.results():
                while self._pause.is_set() and not self._halt.is_set():
                    self.msleep(20)
                if self._halt.is_set():
                    break
                if self.record:
                    if video is None:
                        video = VideoOut(self.record, src.fps)
                        poses = JsonLinesWriter(str(Path(self.record).with_suffix(".jsonl")), self.source,
                                                self.model, src.fps, self.pipeline.settings())
                    video.write(r.image)
                    poses.write(r, src.fps)
                t = r.timings
                self.frame.emit(r.image, {"index": r.index, "fps": self.pipeline.fps(), "people": len(r.poses),
                                          "dropped": self.pipeline.stats.dropped, "preprocess": t.preprocess,
                                          "inference": t.inference, "decode": t.decode, "overlay": t.overlay,
                                          "latency": r.latency_ms})
        except Exception as e:  # noqa: BLE001 - shown in a dialog
            self.failed.emit(str(e))
        finally:
            if run is not None:
                run.close()
            for out in (video, poses):
                if out is not None:
                    out.close()


class EvalWorker(QThread):
    """COCO evaluation off the GUI thread: ``progress(done, total)``, ``done(stats, results)``, ``failed(str)``."""

    progress = pyqtSignal(int, int)
    done = pyqtSignal(dict, list)
    failed = pyqtSignal(str)

    def __init__(self, model: str, ann: str, images: str, input_size: int = DEFAULT_INPUT_HEIGHT, backend: str = "auto",
                 device: str = "cpu", mode: Mode = Mode()):
        super().__init__()
        self.args = (model, ann, images, mode.height or input_size, backend)
        self.device, self.mode = device, mode
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        from engines.evaluate import evaluate_model

        model, ann, images, size, backend = self.args
        try:
            def tick(done, total):
                self.progress.emit(done, total)
                return not self._cancel.is_set()

            m = self.mode
            stats, results = evaluate_model(model, ann, images, size, backend, on_image=tick, device=self.device,
                                            flip=m.flip, scales=m.scales, auto=m.auto)
            self.done.emit(stats, results)
        except Exception as e:  # noqa: BLE001
            self.failed.emit(str(e))


def per_image_oks(coco, results: list[dict]) -> dict[int, float]:
    """Mean over an image's annotated people of their best OKS with a prediction (1.0 with no people)."""
    from ssapose.coco import oks_matrix

    by_image: dict[int, list] = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(np.asarray(r["keypoints"], float).reshape(17, 3))
    out = {}
    for iid in coco.getImgIds():
        gts = [np.asarray(a["keypoints"], float).reshape(17, 3) for a in coco.imgToAnns.get(iid, [])
               if a.get("num_keypoints", 0) > 0]
        if not gts:
            out[iid] = 1.0
            continue
        preds = by_image.get(iid, [])
        if not preds:
            out[iid] = 0.0
            continue
        out[iid] = float(oks_matrix(np.stack(gts), np.stack(preds)).max(axis=1).mean())
    return out
