"""``ssapose batch``: many videos into one output folder, resumably, on worker processes or a Ray cluster.

Each worker holds one opened model (``app.batch_worker``). A video's outputs are written under temporary
names and renamed when it is finished; the folder's manifest (``ssapose-batch.json``) records each video as
done (with its size and time stamp, so a changed video is redone) or failed (with the reason). A rerun skips
the videos done. A failure (an unreadable file, a worker killed) is retried once, then recorded, and the
others go on.
"""
from __future__ import annotations

import glob
import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from app.batch_manifest import RETRIES, Manifest, stamp
from app.batch_worker import Job, WorkerOptions
from app.pipeline import PipelineConfig
from app.session import RunSpec
from ssapose.redact import redact

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")


def find_videos(inputs: list[str]) -> list[str]:
    """Files from folders (their videos, sorted), globs, text files listing one source a line, and files."""
    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.suffix.lower() == ".txt" and p.is_file():
            base = p.parent
            for line in p.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(line if "://" in line or Path(line).is_absolute() else str(base / line))
        elif any(c in item for c in "*?["):
            out += sorted(glob.glob(item, recursive=True))
        else:
            out.append(item)
    seen: set[str] = set()
    return [v for v in out if not (v in seen or seen.add(v))]


def output_names(videos: list[str]) -> dict[str, str]:
    """A distinct file stem per video: its name, with the parent folder's (then a number) where names repeat."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for v in videos:
        p = Path(v)
        stem = p.stem
        if stem in taken:
            stem = f"{p.parent.name}-{p.stem}"
        n = 2
        base = stem
        while stem in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem)
        stems[v] = stem
    return stems


class WorkerDied(RuntimeError):
    """The worker process ended while it had a video."""


class WorkerProcess:
    """A worker subprocess (``python -m app.batch_worker``) and its line protocol."""

    def __init__(self, opts: WorkerOptions):
        self.opts = opts
        self.proc = subprocess.Popen([sys.executable, "-m", "app.batch_worker", opts.to_json()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     cwd=str(Path(__file__).resolve().parents[1]))
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


def run_local(jobs: list[Job], opts: WorkerOptions, workers: int, manifest: Manifest, bar=None) -> dict[str, int]:
    """Process ``jobs`` on ``workers`` worker processes; returns counts of ``done`` and ``failed``."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put((job, 0))
    counts = {"done": 0, "failed": 0}
    lock = threading.Lock()

    def finish(job: Job, result: dict) -> None:
        entry = {"status": "done" if result.get("done") else "failed", "source": stamp(job.video),
                 "outputs": job.outputs, **{k: v for k, v in result.items() if k != "done"}}
        manifest.record(job.video, entry)
        with lock:
            counts[entry["status"]] += 1
            if bar is not None:
                bar.update(1)
                if entry["status"] == "failed":
                    bar.write(f"failed: {redact(job.video)}: {result.get('reason')}", file=sys.stderr)

    def serve() -> None:
        worker = None
        while True:
            try:
                job, tries = todo.get_nowait()
            except queue.Empty:
                break
            try:
                worker = worker or WorkerProcess(opts)
                result = worker.run(job)
            except WorkerDied as e:
                worker = None                                  # a fresh process for the next try
                result = {"done": False, "reason": str(e)}
            if not result.get("done") and tries < RETRIES:
                todo.put((job, tries + 1))
                continue
            finish(job, result)
        if worker is not None:
            worker.close()

    threads = [threading.Thread(target=serve, name=f"ssapose-batch-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def plan_jobs(videos: list[str], out_dir: Path, kinds: tuple[str, ...], manifest: Manifest
              ) -> tuple[list[Job], list[str]]:
    """The jobs to run and the videos skipped as already done."""
    names = output_names(videos)
    suffix = {"json": ".jsonl", "csv": ".csv", "mp4": ".mp4"}
    jobs, skipped = [], []
    for v in videos:
        outputs = {k: str(out_dir / f"{names[v]}{suffix[k]}") for k in kinds}
        (skipped.append(v) if manifest.done(v, outputs) else jobs.append(Job(v, outputs)))
    return jobs, skipped


def summary_table(manifest: Manifest, videos: list[str], skipped: list[str]) -> str:
    lines = ["| video | status | frames | seconds | note |", "|---|---|---|---|---|"]
    for v in videos:
        e = manifest.entries.get(v, {})
        status = "skipped (done before)" if v in skipped else e.get("status", "?")
        note = e.get("reason", "") if e.get("status") == "failed" else e.get("stopped", "")
        lines.append(f"| {redact(Path(v).name)} | {status} | {e.get('frames', '')} | "
                     f"{e.get('seconds', 0):.1f} | {note} |")
    return "\n".join(lines)


def run_batch(args) -> int:
    """The ``batch`` command. Exit 0 when every video is done or skipped, 1 when any failed (the summary and
    the manifest say which and why), 2 when there is nothing to process."""
    from tqdm import tqdm

    from engines.cli import decoder_choice, tta_choice

    videos = find_videos(args.inputs)
    if not videos:
        print("ssapose batch: error: no videos found in the inputs given", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = ("json",) + (("csv",) if args.csv else ()) + (("mp4",) if args.video else ())
    manifest = Manifest(out_dir)
    jobs, skipped = plan_jobs(videos, out_dir, kinds, manifest)
    tta = tta_choice(args)
    run = RunSpec("", args.model, args.backend, args.device, args.threads, args.streams,
                  pipeline=PipelineConfig(input_size=tta.height, decoder=decoder_choice(args), draw=False,
                                          flip=tta.flip, scales=tta.scales, auto=tta.auto))
    opts = WorkerOptions(run, args.track)
    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), unit="video", desc="batch", disable=not sys.stderr.isatty())
    try:
        if args.ray is not None:
            from app.batch_ray import run_ray

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
    from engines.cli import add_decoder_args, add_model_args, add_tta_args
    from engines.cli_args import bounded

    p = sub.add_parser("batch", help="many videos into one folder of pose files, resumably, on several workers "
                                     "or a Ray cluster",
                       description=__doc__.split("\n\n", 1)[0] + " Each video gives OUT_DIR/NAME.jsonl (and "
                                   ".csv, .mp4 when asked). A rerun skips the videos done; a failure is retried "
                                   "once, then recorded with its reason in OUT_DIR/ssapose-batch.json. Exit "
                                   "status: 0 when every video is done or skipped, 1 when any failed, 2 when no "
                                   "video was found.")
    p.add_argument("inputs", nargs="+", help="videos, folders (their videos), globs ('clips/**/*.mp4') or .txt "
                                             "files listing one video a line")
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
    add_model_args(p)
    add_decoder_args(p, shown=True)
    add_tta_args(p)
    p.set_defaults(func=run_batch)
