"""Several sources in one process: ``ssapose video A B C`` on one opened model.

Each source runs its own pipeline (live sources keep dropping stale frames, files keep every frame in order) with
its own tracker, outputs and summary; their inference threads share the model's requests, so the network is
kept busy by whichever source has a frame ready. No batching across sources is done.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from app.batch.command import output_names


def expand_sources(inputs: list[str]) -> list[str]:
    """The sources given, a ``.txt`` file standing for the sources it lists (one a line, # comments)."""
    from ssapose.sources import listed_sources

    out = []
    for item in inputs:
        p = Path(item)
        out += listed_sources(item) if p.suffix.lower() == ".txt" and p.is_file() else [item]
    return out


def per_source(template: str | None, name: str, suffix: str, single: bool = False) -> str | None:
    """A source's output path: ``template`` with ``{name}`` filled in, or ``template/NAME.suffix`` for a folder;
    with a ``single`` source, a plain file name too."""
    if not template:
        return None
    if "{name}" in template:
        return template.replace("{name}", name)
    if template.endswith(("/", "\\")) or Path(template).is_dir():
        Path(template).mkdir(parents=True, exist_ok=True)
        return str(Path(template) / f"{name}{suffix}")
    if single:
        return template
    raise ValueError(f"with several sources, {template!r} must be a folder (ending in /) or contain {{name}}, "
                     "so that each source gets its own file")


def outputs_for(args, sources: list[str]) -> dict:
    """Each source's :class:`engines.sinks.OutputSpec` from --out, --json and --csv, checked before any work: no
    output is an input or another output of the run (``engines.sinks.check_outputs``)."""
    from engines.sinks import OutputSpec, check_outputs

    names = output_names(sources)
    one = len(sources) == 1
    outs = {s: OutputSpec(per_source(args.out, names[s], ".mp4", one), per_source(args.json, names[s], ".jsonl", one),
                          per_source(args.csv, names[s], ".csv", one)) for s in sources}
    taken: list[str] = []
    for s in sources:
        check_outputs(outs[s], sources, taken)
        taken += [p for _, p in outs[s].items()]
    return outs


def run_many(args, sources: list[str]) -> int:
    """Every source at once on one backend; exit 1 if any source processed nothing, else 0."""
    from engines.run.session import RunSpec, open_backend
    from app.video_run import run_one

    if args.show:
        raise ValueError("--show takes one source; with several, write --out videos instead")
    names = output_names(sources)
    outputs = outputs_for(args, sources)
    backend = open_backend(RunSpec(sources[0], args.model, args.backend, args.device, args.threads, args.streams))
    codes: dict[str, int] = {}
    errors: dict[str, BaseException] = {}

    def work(source: str) -> None:
        try:
            codes[source] = run_one(args, source, outputs[source], backend=backend, label=f"[{names[source]}] ")
        except Exception as e:  # noqa: BLE001 - one source failing does not stop the others
            errors[source] = e
            codes[source] = 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(s,), name=f"ssapose-source-{i}", daemon=True)
               for i, s in enumerate(sources)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)                        # Ctrl-C reaches the main thread between joins
    finally:
        backend.close()
    for source, e in errors.items():
        print(f"ssapose video: error: [{names[source]}] {e}", file=sys.stderr)
    ok = sum(1 for c in codes.values() if c == 0)
    print(f"{len(sources)} sources in {time.perf_counter() - t0:.1f} s: {ok} processed, {len(sources) - ok} failed")
    return 0 if ok == len(sources) else 1
