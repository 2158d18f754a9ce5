"""``ssapose batch``: many videos into one output folder, resumably, on worker processes or a Ray cluster.

Each worker holds one opened model (``app.batch.worker``). A video's outputs are written under temporary
names and renamed when it is finished; the folder's manifest (``ssapose-batch.json``) records each video as
done (with its size and time stamp, so a changed video is redone) or failed (with the reason). A rerun skips
the videos done. A failure (an unreadable file, a worker killed) is retried once, then recorded, and the
others go on.
"""
from __future__ import annotations

import glob
import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from app.batch.manifest import RETRIES, Manifest, stamp
from app.batch.worker import Job, WorkerOptions
from engines.sinks import OutputSpec, check_outputs
from ssapose.redact import redact
from ssapose.sources import listed_sources
from ssapose.track_smoothing import SmoothConfig

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")


def find_videos(inputs: list[str]) -> list[str]:
    """Files from folders (their videos, sorted), globs, text files listing one source a line (relative paths
    there are relative to the list's folder), and files; every path absolute (against the caller's working folder),
    so that the workers find them wherever they run."""
    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.suffix.lower() == ".txt" and p.is_file():
            out += listed_sources(item)
        elif any(c in item for c in "*?["):
            out += sorted(glob.glob(item, recursive=True))
        else:
            out.append(item)
    out = [v if "://" in v else os.path.abspath(v) for v in out]
    seen: set[str] = set()
    return [v for v in out if not (v in seen or seen.add(v))]


def output_names(videos: list[str]) -> dict[str, str]:
    """A distinct file stem per video that does not depend on the order of ``videos``: its name, or, where names
    repeat, the name with as many of its parent folders as tell the videos apart (``a-clip``, ``b-clip``), then
    with its extension."""
    groups: dict[str, list[str]] = {}
    for v in videos:
        groups.setdefault(_stem(v), []).append(v)
    stems = {group[0]: stem for stem, group in groups.items() if len(group) == 1}
    for stem, group in groups.items():
        if len(group) > 1:
            stems.update(_distinct(group, set(groups)))
    return {v: stems[v] for v in videos}


def _stem(video: str) -> str:
    return Path(video.split("?", 1)[0]).stem or "stream"


def _distinct(group: list[str], taken: set[str]) -> dict[str, str]:
    """Stems for videos of one name: the fewest parent folders that make them distinct (and new), else the name
    with its extension and a number in the order of the sorted paths."""
    parts = {v: Path(v.split("?", 1)[0]).parts for v in group}
    for k in range(1, max(len(p) for p in parts.values())):
        names = {v: "-".join(p[-k - 1:-1] + (Path(p[-1]).stem,)) for v, p in parts.items()}
        if len(set(names.values())) == len(group) and not taken & set(names.values()):
            return names
    return {v: f"{Path(v).name}-{n}" for n, v in enumerate(sorted(group), 1)}


class WorkerDied(RuntimeError):
    """The worker process ended while it had a video."""


class WorkerProcess:
    """A worker subprocess (``python -m app.batch.worker``) and its line protocol. It runs in the caller's working
    folder and in a session of its own, so that Ctrl-C reaches the supervisor alone, which then stops it
    (:meth:`stop`): the worker removes its unfinished outputs."""

    def __init__(self, opts: WorkerOptions):
        self.opts = opts
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "app.batch.worker", opts.to_json()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env,
                                     start_new_session=True)
        first = self._line()
        if not first.get("ready"):
            raise WorkerDied(f"the worker could not open the model: {first.get('reason', 'it exited')}")

    def _line(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise WorkerDied(f"the worker process ended (exit status {code})")
        return json.loads(line)

    def run(self, job: Job, progress=lambda n: None) -> dict:
        try:
            self.proc.stdin.write(json.dumps(asdict(job)) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise WorkerDied(f"the worker process is gone ({e})") from e
        while True:
            msg = self._line()
            if "progress" in msg:
                progress(msg["progress"])
            else:
                return msg

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()

    def stop(self) -> None:
        """End the worker now (SIGTERM: it removes the outputs of the video it had), killing it after 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_local(jobs: list[Job], opts: WorkerOptions, workers: int, manifest: Manifest, bar=None) -> dict[str, int]:
    """Process ``jobs`` on ``workers`` worker processes; returns counts of ``done`` and ``failed``."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put((job, 0))
    counts = {"done": 0, "failed": 0}
    lock = threading.Lock()

    def finish(job: Job, result: dict) -> None:
        entry = manifest.settle(job, result)
        with lock:
            counts[entry["status"]] += 1
            if bar is not None:
                bar.update(1)
                if entry["status"] == "failed":
                    bar.write(f"failed: {redact(job.video)}: {entry.get('reason')}", file=sys.stderr)

    workers_alive: list[WorkerProcess] = []
    stopping = threading.Event()                   # Ctrl-C: no new worker, no retry

    def serve() -> None:
        worker = None
        while not stopping.is_set():
            try:
                job, tries = todo.get_nowait()
            except queue.Empty:
                break
            try:
                if worker is None:
                    worker = WorkerProcess(opts)
                    workers_alive.append(worker)
                result = worker.run(job)
            except WorkerDied as e:
                worker = None                                  # a fresh process for the next try
                result = {"done": False, "reason": str(e)}
            if stopping.is_set():
                break
            if not result.get("done") and tries < RETRIES:
                todo.put((job, tries + 1))
                continue
            finish(job, result)
        if worker is not None:
            worker.close()

    threads = [threading.Thread(target=serve, name=f"ssapose-batch-{i}", daemon=True) for i in range(workers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)                        # Ctrl-C reaches this thread between joins
    except BaseException:
        stopping.set()
        for w in workers_alive:
            w.stop()
        raise
    return counts


def plan_jobs(videos: list[str], out_dir: Path, kinds: tuple[str, ...], manifest: Manifest
              ) -> tuple[list[Job], list[str]]:
    """The jobs to run and the videos skipped as already done. Every output is checked first
    (``engines.sinks.check_outputs``): none may be one of the videos or another video's output."""
    names = output_names(videos)
    suffix = {"poses": ".jsonl", "table": ".csv", "video": ".mp4"}
    jobs, skipped, taken = [], [], []
    for v in videos:
        outputs = {k: str(out_dir / f"{names[v]}{suffix[k]}") for k in kinds}
        check_outputs(OutputSpec(**outputs), videos, taken)
        taken += list(outputs.values())
        (skipped.append(v) if manifest.done(v, outputs) else jobs.append(Job(v, outputs, stamp(v))))
    return jobs, skipped


def summary_table(manifest: Manifest, videos: list[str], skipped: list[str]) -> str:
    lines = ["| video | status | frames | seconds | note |", "|---|---|---|---|---|"]
    for v in videos:
        e = manifest.entries.get(v, {})
        status = "skipped (done before)" if v in skipped else e.get("status", "?")
        note = e.get("reason", "") if e.get("status") == "failed" else e.get("stopped", "")
        lines.append(f"| {redact(_shown(v))} | {status} | {e.get('frames', '')} | "
                     f"{e.get('seconds', 0):.1f} | {note} |")
    return "\n".join(lines)


def _shown(video: str) -> str:
    """A video as the summary shows it: relative to the working folder when it is below it."""
    try:
        return str(Path(video).relative_to(Path.cwd()))
    except ValueError:
        return video


def out_folder(path: str) -> Path:
    """The output folder, absolute, created and checked writable before any work (ValueError in one line)."""
    out = Path(os.path.abspath(path))
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out-dir {path!r} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".ssapose-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"cannot write in --out-dir {path!r}: {e.strerror or e}") from e
    return out


def run_batch(args) -> int:
    """The ``batch`` command. Exit 0 when every video is done or skipped, 1 when any failed (the summary and
    the manifest say which and why), 2 when there is nothing to process."""
    from tqdm import tqdm

    from app.video_run import run_spec, tracker_config

    videos = find_videos(args.inputs)
    if not videos:
        print("ssapose batch: error: no videos found in the inputs given", file=sys.stderr)
        return 2
    out_dir = out_folder(args.out_dir)
    kinds = ("poses",) + (("table",) if args.csv else ()) + (("video",) if args.video else ())
    manifest = Manifest(out_dir)
    jobs, skipped = plan_jobs(videos, out_dir, kinds, manifest)
    run = run_spec(args, "")
    opts = WorkerOptions(run, args.track or args.smooth, asdict(SmoothConfig()) if args.smooth else None,
                         asdict(tracker_config(args)))
    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), unit="video", desc="batch", disable=not sys.stderr.isatty())
    try:
        if args.ray is not None:
            from app.batch.ray import run_ray

            counts = run_ray(jobs, opts, args.ray or None, args.workers, args.gpus_per_worker, manifest, bar)
        else:
            counts = run_local(jobs, opts, args.workers, manifest, bar)
    finally:
        bar.close()
    print(summary_table(manifest, videos, skipped))
    print(f"{counts['done']} done, {len(skipped)} skipped (done before), {counts['failed']} failed, of "
          f"{len(videos)} videos in {time.perf_counter() - t0:.0f} s; manifest: {manifest.path}")
    return 1 if counts["failed"] else 0


def add_command(sub) -> None:
    from app.video_run import add_tracker_args
    from engines.cli import add_decoder_args, add_model_args, add_region_arg, add_tta_args
    from engines.cli_args import bounded

    p = sub.add_parser("batch", help="many videos into one folder of pose files, resumably, on several workers "
                                     "or a Ray cluster",
                       description=__doc__.split("\n\n", 1)[0] + " Each video gives OUT_DIR/NAME.jsonl (and "
                                   ".csv, .mp4 when asked; videos of one name in different folders get their folder "
                                   "in it: a-clip.jsonl). No output may be one of the videos: that is refused before "
                                   "any work. A rerun skips the videos done; a failure (also a video that changed "
                                   "while it was processed, or an output that could not be written) is retried "
                                   "once, then recorded with its reason in OUT_DIR/ssapose-batch.json. Ctrl-C stops "
                                   "the workers and removes their unfinished outputs. Exit status: 0 when every "
                                   "video is done or skipped, 1 when any failed, 2 when no video was found.")
    p.add_argument("inputs", nargs="+", help="videos, folders (their videos), globs ('clips/**/*.mp4') or .txt "
                                             "files listing one video a line (relative to the list's folder)")
    p.add_argument("--out-dir", required=True, help="output folder (created; its manifest makes reruns resume)")
    p.add_argument("--workers", type=bounded(1, 256), default=1,
                   help="worker processes here, each with its own model (default: 1); with --ray, actors")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray (needs pip install 'ssapose[cluster]'): a local instance, or the cluster at "
                        "ADDRESS (e.g. ray://head:10001 or auto)")
    p.add_argument("--gpus-per-worker", type=bounded(0.0, 64, integer=False), default=0.0,
                   help="with --ray: GPUs each actor reserves (e.g. 1, or 0.25 to share one; default: 0)")
    p.add_argument("--csv", action="store_true", help="also write NAME.csv (one row per person per frame)")
    p.add_argument("--video", action="store_true", help="also write the annotated NAME.mp4")
    p.add_argument("--track", action="store_true", help="keep person ids across frames (as ssapose video --track)")
    p.add_argument("--smooth", action="store_true",
                   help="smooth each video's tracks offline once it is done and fill short gaps, as ssapose smooth "
                        "does (implies --track)")
    add_model_args(p)
    add_decoder_args(p, shown=True)
    add_tta_args(p)
    add_region_arg(p)
    add_tracker_args(p)
    p.set_defaults(func=run_batch)
