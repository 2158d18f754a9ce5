"""Every benchmark script still runs: each one's ``--quick`` mode (a few frames or coco_tiny, one round), run as a
user would from another folder with the installed package alone. A rename in the package breaks this test, not a
script nobody runs until the next measurement."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if p.name != "benchlib.py")
#: Scripts with a second question behind a flag: that path runs too.
MORE = {"capacity.py": ["--budget"], "auto_height.py": ["--choose"], "reid.py": ["--parts"]}
RUNS = [(p, []) for p in SCRIPTS] + [(ROOT / "benchmarks" / name, flags) for name, flags in MORE.items()]


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 20


def _repo_files() -> set[str]:
    return set(subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--ignored", "-o"], cwd=ROOT,
                              capture_output=True, text=True).stdout.split())


@pytest.mark.parametrize("script, flags", RUNS, ids=lambda v: v.name if hasattr(v, "name") else " ".join(v))
def test_a_benchmark_runs_and_prints_its_table(script, flags, tmp_path):
    """``--quick`` exits 0, names the machine and prints a markdown table, leaving nothing in the repository."""
    before = _repo_files()
    done = subprocess.run([sys.executable, str(script), "--quick", *flags], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines and lines[0].startswith("CPU: "), done.stdout[:500]
    assert any(ln.startswith("|---") for ln in lines), done.stdout[-2000:]
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("|---")]
    assert len(rows) >= 2, done.stdout[-2000:]                  # a header and at least one measured row
    assert not any(re.search(r"\bnan\b", r.lower()) for r in rows), done.stdout[-2000:]   # a figure of nothing
    assert _repo_files() == before, sorted(_repo_files() ^ before)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_says_what_it_measures(script):
    """Its docstring opens with the question it answers and shows how to run it."""
    text = script.read_text()
    assert text.startswith('"""') and "python benchmarks/" + script.name in text
    assert "sys.path" not in text
