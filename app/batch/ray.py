"""``ssapose batch --ray``: the same jobs on Ray actors, each holding one opened model.

Ray is optional (``pip install 'ssapose[cluster]'``). ``ray.init()`` starts a local instance; an ADDRESS joins a
running cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others). An actor
that dies (its machine lost, the process killed) is restarted once and its video tried again; a video that fails
twice is recorded in the manifest with its reason.
"""
from __future__ import annotations

from app.batch.manifest import RETRIES, Manifest
from app.batch.worker import Job, WorkerOptions


def import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError("--ray needs Ray: pip install 'ssapose[cluster]' (or pip install ray), then run again; "
                          "without --ray, --workers N runs worker processes on this machine") from None
    return ray


class BatchActor:
    """One opened model; ``run(job)`` processes one video (see ``app.batch.worker.process``)."""

    def __init__(self, opts: WorkerOptions):
        self.opts = opts
        self.backend = opts.open_model()

    def run(self, job: Job) -> dict:
        from app.batch.worker import process

        try:
            return {"done": True, **process(job, self.opts, self.backend)}
        except Exception as e:  # noqa: BLE001 - recorded in the manifest
            return {"done": False, "reason": f"{type(e).__name__}: {e}"}


def run_ray(jobs: list[Job], opts: WorkerOptions, address: str | None, actors: int, gpus: float,
            manifest: Manifest, bar=None, num_cpus: int | None = None) -> dict[str, int]:
    """Process ``jobs`` on ``actors`` Ray actors (``gpus`` each); returns counts of ``done`` and ``failed``."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    remote = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=RETRIES, max_task_retries=RETRIES)(BatchActor)
    pool = [remote.remote(opts) for _ in range(actors)]
    counts = {"done": 0, "failed": 0}
    pending = {}
    todo = list(jobs)
    try:
        while todo or pending:
            while todo and len(pending) < 2 * len(pool):
                job = todo.pop(0)
                pending[pool[len(pending) % len(pool)].run.remote(job)] = (job, 0)
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            job, tries = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as e:  # noqa: BLE001 - the actor died beyond its restarts
                result = {"done": False, "reason": f"the Ray actor died: {type(e).__name__}: {e}"}
            if not result.get("done") and tries < RETRIES:
                pending[pool[tries % len(pool)].run.remote(job)] = (job, tries + 1)
                continue
            status = manifest.settle(job, result)["status"]
            counts[status] += 1
            if bar is not None:
                bar.update(1)
    finally:
        if started:
            ray.shutdown()
    return counts
