"""The one rule for choosing a compute device (``--device`` of run, batch, lift, train and eval).

* ``auto`` (also empty or None): the first CUDA GPU when torch sees one, else the CPU;
* ``cpu``, ``cuda`` or ``cuda:N`` (any case): that device, which must exist;
* anything else: :class:`~hotdemo.core.errors.InputError` ("unknown device ...").

The result is a plain string that ``torch.device`` (and ultralytics / onnxruntime via the
stage builders) accept.
"""

from __future__ import annotations

import re
from typing import Optional

from hotdemo.core.errors import InputError

_CUDA_N = re.compile(r"cuda:(\d+)")


def resolve_device(device: Optional[str] = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` or ``"cpu"``; checks that an explicit device exists."""
    import torch

    d = str(device or "auto").strip().lower()
    if d == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if d == "cpu":
        return d
    m = _CUDA_N.fullmatch(d)
    if d != "cuda" and m is None:
        raise InputError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise InputError(f"--device {d} was asked for but no CUDA GPU is available; use --device cpu or auto")
    if m is not None and int(m.group(1)) >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise InputError(f"--device {d} was asked for but there {'is' if n == 1 else 'are'} only {n} CUDA "
                         f"GPU{'' if n == 1 else 's'} (cuda:0{'' if n == 1 else f' .. cuda:{n - 1}'})")
    return d


def onnx_session_options(threads: Optional[int] = None):
    """ONNX Runtime session options for every session hotdemo opens (2D models, the detector).

    ``threads``: intra-op threads (None: ONNX Runtime's default, the physical cores). Idle
    threads sleep instead of spinning: the pipeline runs two sessions in turn (detector, 2D
    model) beside a decode thread and ffmpeg, and spinning workers of one session took the
    cores the other needed (``benchmarks/e2e.py``; figures in docs/benchmarks.md).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = int(threads)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return so
