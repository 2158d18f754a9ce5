"""torchrun with the gloo backend on this CPU: 1 process against 2, and a resumed 2-process run."""
import csv
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from training.synthetic import ensure_generated


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    ensure_generated(root, 8, 2, seed=3, size=96)
    return root


def args(synthetic, out, iterations):
    return ["--synthetic", "true", "--synthetic-dir", str(synthetic), "--synthetic-train", "8", "--synthetic-val", "2",
            "--synthetic-seed", "3", "--input-size", "96", "--width", "32", "--batch-size", "2", "--workers", "0",
            "--iterations", str(iterations), "--eval-every", "100", "--checkpoint-every", "2", "--optimizer", "adam",
            "--lr", "1e-3", "--augment", "false", "--out", str(out)]


def run(nproc: int, extra: list[str]) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(ROOT / "training" / "train.py")] + extra
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def losses(out) -> list[float]:
    return [float(r["total"]) for r in csv.DictReader(open(out / "log.csv")) if r["total"]]


def test_one_and_two_processes_train_alike_and_resume(synthetic, tmp_path):
    run(1, args(synthetic, tmp_path / "one", 4))
    run(2, args(synthetic, tmp_path / "two", 4))
    a = torch.load(tmp_path / "one" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    first = {k: v for k, v in a["state_dict"].items() if v.is_floating_point()}
    moved = max(float((first[k] - b["state_dict"][k]).abs().max()) for k in first)
    assert moved > 0                                     # two processes saw other batches...
    la, lb = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert la and lb and 0.5 < lb[-1] / la[-1] < 2.0     # ...and reach a comparable loss from the same start
    run(2, args(synthetic, tmp_path / "two", 6) + ["--resume"])
    c = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    assert c["step"] == 6
