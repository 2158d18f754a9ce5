"""``ssapose doctor``: what this machine can run, and why ``auto`` picks the backend it picks.

One line per item: CPU features, torch and its CUDA build, the GPU, ONNX Runtime's providers,
OpenVINO's devices, TensorRT. Given a model (or engine), it says whether it opens here and
runs one frame. It exits non-zero only when that model cannot run.
"""
from __future__ import annotations

import importlib
import platform
import os
import shutil
import subprocess
from pathlib import Path

#: /proc/cpuinfo flags worth naming, and what they mean for inference.
CPU_FEATURES = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_vnni", "AVX-512 VNNI (int8)"),
                ("avx_vnni", "AVX-VNNI (int8)"), ("avx512_bf16", "AVX-512 BF16"), ("amx_tile", "AMX"),
                ("amx_int8", "AMX-INT8"), ("amx_bf16", "AMX-BF16"))
#: Flags of the 8-bit dot-product instructions OpenVINO's INT8 kernels use when the CPU has them.
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def cpu_line(cpuinfo: str | None = None) -> str:
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return f"CPU: {platform.processor() or platform.machine()} (features unknown on this OS)"
    flags = set()
    model = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        if key.strip() == "model name" and not model:
            model = value.strip()
    have = [name for flag, name in CPU_FEATURES if flag in flags]
    line = f"CPU: {model or platform.machine()}, {os.cpu_count()} cores; " + (", ".join(have) or "no AVX2")
    if not flags & INT8_DOT_FLAGS:
        line += ("; no VNNI or AMX-INT8: INT8 runs on AVX2's saturating 8-bit multiply-adds here, slower than on "
                 "those CPUs, and its AP differs a little from theirs (BENCHMARKS.md, INT8 against fp32)")
    return line


def nvidia_gpu_present() -> bool:
    """An NVIDIA GPU with its driver on this machine (device nodes, the driver's /proc entry or nvidia-smi)."""
    import glob
    import os

    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.isdir("/proc/driver/nvidia/gpus")
                or shutil.which("nvidia-smi"))


def torch_lines() -> list[str]:
    import torch

    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    lines = [f"torch {torch.__version__}: {build}"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            cap = ".".join(map(str, torch.cuda.get_device_capability(i)))
            lines.append(f"GPU {i}: {torch.cuda.get_device_name(i)}, compute capability {cap}")
    elif torch.version.cuda:
        lines.append("GPU: none visible to torch (driver missing, or CUDA_VISIBLE_DEVICES hides it)")
    elif nvidia_gpu_present():
        lines.append("GPU: an NVIDIA GPU is here, but this torch is a CPU-only build; for CUDA install a CUDA "
                     "build (README: GPU set-up)")
    else:
        lines.append("GPU: no NVIDIA GPU found (the CPU backends run everything)")
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
            if out:
                lines.append(f"nvidia-smi: {out.splitlines()[0]}")
        except (OSError, subprocess.SubprocessError):
            pass
    return lines


def package_lines() -> list[str]:
    lines = []
    try:
        import onnxruntime as ort
        lines.append(f"ONNX Runtime {ort.__version__}: providers {', '.join(ort.get_available_providers())}")
    except ImportError:
        lines.append("ONNX Runtime: not installed (pip install 'ssapose[onnx]')")
    try:
        import openvino as ov
        lines.append(f"OpenVINO {ov.__version__}: devices {', '.join(ov.Core().available_devices)}")
    except ImportError:
        lines.append("OpenVINO: not installed (pip install 'ssapose[openvino]'); CPU INT8 runs need it")
    if importlib.util.find_spec("tensorrt") is not None:
        import tensorrt as trt
        lines.append(f"TensorRT {trt.__version__}")
    else:
        lines.append("TensorRT: not installed (GPU only: pip install 'ssapose[tensorrt]')")
    return lines


def model_lines(path: str, backend: str = "auto", device: str = "cpu") -> tuple[list[str], bool]:
    """Whether ``path`` runs here: the backend ``auto`` picks and why, and one frame through it."""
    import numpy as np

    from engines import backend_kind, create_backend

    lines = []
    try:
        kind = backend_kind(path, backend, device)
    except ValueError as e:
        return [f"model {path}: {e}"], False
    why = {"torch": "a PyTorch checkpoint", "openvino": "an OpenVINO IR, or ONNX on a CPU with OpenVINO installed",
           "onnx": "ONNX with ONNX Runtime (OpenVINO missing, or a GPU asked for)",
           "tensorrt": "a TensorRT engine"}[kind]
    lines.append(f"model {path}: backend {kind}" + (f" ({why})" if backend == "auto" else " (named)"))
    try:
        be = create_backend(path, kind, device=device)
        x = np.zeros((1, 3, 256, 256), np.float32)
        out = be.infer(x)
        label = be.precision
        lines.append(f"  runs here: outputs {', '.join(f'{k} {tuple(v.shape)}' for k, v in out.items())}"
                     + (f", precision {label}" if label else ""))
        lines.append(f"  pipeline defaults here: {be.streams} inference request{'s' if be.streams > 1 else ''} in "
                     f"flight (--streams auto), threads auto (all {os.cpu_count()} cores)")
        be.close()
        return lines, True
    except (ImportError, FileNotFoundError, ValueError, RuntimeError) as e:
        lines.append(f"  cannot run here: {e}")
        return lines, False


def run_doctor(args) -> int:
    lines = [cpu_line(), *torch_lines(), *package_lines()]
    ok = True
    if args.model:
        more, ok = model_lines(args.model, args.backend, args.device)
        lines += more
    print("\n".join(lines))
    return 0 if ok else 1
