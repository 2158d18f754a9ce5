"""Qt worker threads: they run the pipeline and the evaluation, and talk to the GUI only by signals."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QThread, pyqtSignal

from engines.run.pipeline import Pipeline, PipelineConfig
from engines.modes import Mode, resolve_view
from ssapose.overlay import DrawStyle


class PipelineWorker(QThread):
    """Consumes :class:`Pipeline` results off the GUI thread.

    Signals: ``frame(image, info)`` per frame (``image`` BGR uint8 with the overlay,
    ``info`` a dict with index, fps, timings, people, the confirmed track ids drawn, dropped), ``failed(str)``.
    """

    frame = pyqtSignal(object, dict)
    failed = pyqtSignal(str)
    model_failed = pyqtSignal(str)          # the model could not be opened (the dialog names it)

    def __init__(self, source: str, model: str, backend: str = "auto", style: DrawStyle = DrawStyle(),
                 record: str | None = None, device: str = "cpu", realtime: bool = True, loop: bool = False,
                 tracker=None, decoder=None, mode: Mode | None = None, region=None):
        super().__init__()
        self.device, self.realtime, self.loop, self.tracker = device, realtime, loop, tracker
        self.mode = mode or resolve_view()      # how the network sees a frame (engines.modes.resolve_view)
        self.decoder = decoder                  # a DecoderChoice; None: the model's card
        self.region = region                    # a RegionConfig: the network only where people are
        self.show_fields = False
        self.source, self.model, self.backend_kind = source, model, backend
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

    def outputs(self):
        """What a recording writes (``engines.sinks.OutputSpec``): the mp4 and its pose file beside it."""
        from engines.sinks import OutputSpec

        if not self.record:
            return OutputSpec()
        return OutputSpec(video=self.record, poses=str(Path(self.record).with_suffix(".jsonl")))

    def run(self) -> None:
        from engines.run.session import ModelOpenError, RunSpec, open_run

        run = None
        try:
            m = self.mode
            pipe = PipelineConfig(input_size=m.height, decoder=self.decoder, style=self.style,
                                  flip=m.flip, scales=m.scales, auto=m.auto, show_fields=self.show_fields,
                                  hud=False, region=self.region)   # the window has its own HUD under the view
            spec = RunSpec(self.source, self.model, self.backend_kind, self.device, realtime=self.realtime,
                           loop=self.loop, pipeline=pipe)
            try:
                run = open_run(spec, self.tracker, self.outputs(), halted=self._halt.is_set)   # threads auto: all cores
            except ModelOpenError as e:     # shown in a dialog, and the model is not remembered
                self.model_failed.emit(str(e))
                return
            self.pipeline = run.pipeline
            for r in run.results():
                while self._pause.is_set() and not self._halt.is_set():
                    self.msleep(20)
                if self._halt.is_set():
                    break
                t = r.timings
                ids = [] if r.poses.ids is None else [int(i) for i in r.poses.ids if i >= 0]
                self.frame.emit(r.image, {"index": r.index, "fps": self.pipeline.fps(), "people": len(r.poses),
                                          "ids": ids,
                                          "dropped": self.pipeline.stats.dropped, "preprocess": t.preprocess,
                                          "inference": t.inference, "decode": t.decode, "overlay": t.overlay,
                                          "latency": r.latency_ms})
            if run.ended_early:
                self.failed.emit(f"the source ended early: {run.report.describe()}")
        except Exception as e:  # noqa: BLE001 - shown in a dialog
            self.failed.emit(str(e))
        finally:
            if run is not None:
                try:
                    run.close()
                except Exception as e:  # noqa: BLE001 - shown in a dialog
                    self.failed.emit(str(e))


class EvalWorker(QThread):
    """COCO evaluation off the GUI thread: ``progress(done, total)``, ``done(stats, results)``, ``failed(str)``."""

    progress = pyqtSignal(int, int)
    done = pyqtSignal(dict, list)
    failed = pyqtSignal(str)

    def __init__(self, model: str, ann: str, images: str, backend: str = "auto", device: str = "cpu",
                 mode: Mode | None = None):
        super().__init__()
        self.mode = mode or resolve_view()      # how the network sees an image (engines.modes.resolve_view)
        self.args = (model, ann, images, self.mode.height, backend)
        self.device = device
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
