"""Every benchmark script imports with the installed package alone (no path edits): a rename in the package breaks
this test, not a script nobody runs until the next measurement."""
import importlib.util
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 20


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_imports_and_explains_itself(script, tmp_path):
    """Its imports resolve and ``--help`` prints its usage, run as a user would, from another folder."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower(), done.stdout[:500]
