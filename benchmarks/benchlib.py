"""What the benchmark scripts share: their command line (every one has ``--quick``), the machine's name, the COCO
sets they score on, medians and markdown tables.

``--quick`` runs a script on a few frames or on coco_tiny's 4 images, one round: it checks that the script still
runs and prints its table (the test suite runs every script so), and its figures mean nothing.
"""
from __future__ import annotations

import argparse
import statistics
from typing import Iterable, Sequence

from engines.doctor import cpu_line
from ssapose import paths

QUICK_HELP = "a few frames or images, one round: checks that the script runs; its figures mean nothing"


def parser(doc: str) -> argparse.ArgumentParser:
    """The script's parser: its module docstring as the description, and ``--quick``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=QUICK_HELP)
    return ap


def parse(ap: argparse.ArgumentParser, argv: Sequence[str] | None = None, **small) -> argparse.Namespace:
    """Parse ``argv``; with ``--quick`` the options named in ``small`` take those values (fewer frames, one round)."""
    args = ap.parse_args(argv)
    if args.quick:
        for name, value in small.items():
            setattr(args, name, value)
    print(machine(), flush=True)
    return args


def machine() -> str:
    """One line naming the CPU, its cores and its vector features (figures differ between machines)."""
    return cpu_line().split("; no VNNI")[0]


def coco_sets(args: argparse.Namespace, wanted: Iterable[str]) -> list[str]:
    """The COCO sets to score (``train``, ``val``, ``tiny``): coco_tiny alone under ``--quick``."""
    return ["tiny"] if args.quick else list(wanted)


def ann(name: str) -> str:
    """The annotation file of COCO set ``name``."""
    return str(paths.coco_set(name).ann)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a markdown table; floats with 3 significant decimals unless already formatted."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in row) + " |", flush=True)


def rounds(values: Sequence[float], digits: int = 1) -> str:
    """``"a, b, c"``: one figure per round."""
    return ", ".join(f"{v:.{digits}f}" for v in values)
