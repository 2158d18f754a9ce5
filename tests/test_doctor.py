"""ssapose doctor: one line per item, non-zero only when the given model cannot run."""
from app.cli import main
from engines.doctor import cpu_line

CPUINFO = """processor	: 0
model name	: Example CPU
flags		: fpu sse2 avx2 avx512f avx512_vnni amx_tile amx_int8
"""


def test_cpu_features_are_named():
    line = cpu_line(CPUINFO)
    assert "Example CPU" in line and "AVX2" in line and "AVX-512 VNNI" in line and "AMX-INT8" in line
    assert "BF16" not in line
    assert "no VNNI" not in line


def test_a_cpu_without_int8_dot_products_is_told_what_int8_costs_there():
    line = cpu_line(CPUINFO.replace(" avx512_vnni", "").replace(" amx_int8", ""))
    assert "no VNNI or AMX-INT8" in line and "BENCHMARKS.md" in line


def test_doctor_exit_codes(small_model, tmp_path, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CPU:") and "torch" in out and "OpenVINO" in out and "TensorRT" in out
    assert main(["doctor", "--model", small_model]) == 0
    out = capsys.readouterr().out
    assert "backend torch (a PyTorch checkpoint)" in out and "runs here" in out
    assert "1 inference request in flight" in out                 # torch runs one request at a time
    assert main(["doctor", "--model", str(tmp_path / "none.pt")]) == 1
    assert "cannot run here" in capsys.readouterr().out
    import torch
    cuda = torch.cuda.is_available()
    assert main(["doctor", "--model", small_model, "--device", "cuda"]) == (0 if cuda else 1)
    assert cuda or "CPU-only build" in capsys.readouterr().out


def test_a_closed_pipe_ends_the_command_quietly():
    """``ssapose doctor | head -1``: when the reader has gone, no traceback, only a failing exit status."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)                                         # the reader is gone before anything is written
    try:
        script = "import sys; from app.cli import main; sys.exit(main(['doctor']))"
        done = subprocess.run([sys.executable, "-c", script], stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
