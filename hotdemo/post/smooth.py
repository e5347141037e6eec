"""Temporal filters for the lifted 3D poses (``--smooth none|gaussian|one-euro``, ``--smooth-param``).

* ``gaussian`` (default, sigma = 1 frame): a zero-phase Gaussian over time, edge-reflecting
  (:func:`gaussian_smooth`). Needs the whole track (offline); no lag. The parameter is sigma in
  frames; it runs in the post step (:func:`hotdemo.post.refine.refine`).
* ``one-euro``: the 1-euro filter (Casiez, Roussel and Vogel, CHI 2012): an exponential
  smoother whose cut-off frequency rises with the signal's speed, so slow motion is smoothed
  hard and fast motion follows with little lag. Causal (usable live), per coordinate. The
  parameter is the minimum cut-off frequency in Hz (default 2.0; lower = smoother, more lag);
  the speed coefficient is :data:`ONE_EURO_BETA` (per m/s) and the derivative cut-off
  :data:`ONE_EURO_DCUTOFF` Hz. It needs the frame rate and runs on the lifted tracks
  (:func:`smooth_tracks`).
* ``none``: the lifter's raw output.

:func:`smooth_joints` is the one dispatcher. ``python benchmarks/smoothing.py`` measures the
jitter (MPJVE) and lag of each. The filters run on the root-relative camera-frame joints of each track, before the world
alignment, and are linear in the joints for ``gaussian`` (the pelvis stays at 0).
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

import numpy as np
import torch

from hotdemo.core.errors import InputError
from hotdemo.core.types import Track3D

SMOOTH_METHODS = ("none", "gaussian", "one-euro")
DEFAULT_PARAM = {"none": 0.0, "gaussian": 1.0, "one-euro": 2.0}
#: 1-euro speed coefficient: cut-off Hz added per m/s of joint speed
ONE_EURO_BETA = 0.7
#: 1-euro cut-off (Hz) of the speed estimate
ONE_EURO_DCUTOFF = 1.0


def check_smooth(method: str, param: Optional[float] = None) -> tuple:
    """Validated ``(method, param)``: one-line :class:`InputError` for a bad name or value."""
    m = (method or "gaussian").strip().lower().replace("_", "-")
    if m == "oneeuro" or m == "1-euro" or m == "one-euro":
        m = "one-euro"
    if m not in SMOOTH_METHODS:
        raise InputError(f"unknown --smooth {method!r}; choose from {', '.join(SMOOTH_METHODS)}")
    p = DEFAULT_PARAM[m] if param is None else float(param)
    if m != "none" and not p > 0:
        raise InputError(f"--smooth-param must be positive for {m} (sigma in frames for gaussian, "
                         f"minimum cut-off in Hz for one-euro), got {param}")
    return m, p


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 (time) with edge-reflecting padding; ``sigma`` in frames."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    flat = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1).T, dtype=np.float64))[:, None]
    pad_mode = "reflect" if len(x) > r else "replicate"
    flat = torch.nn.functional.pad(flat, (r, r), mode=pad_mode)
    out = torch.nn.functional.conv1d(flat, torch.from_numpy(k)[None, None])[:, 0]
    return out.T.numpy().reshape(x.shape).astype(x.dtype)


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = ONE_EURO_BETA,
             d_cutoff: float = ONE_EURO_DCUTOFF) -> np.ndarray:
    """1-euro filter along axis 0 of ``x`` (T, ...), every other entry an independent signal."""
    x = np.asarray(x, np.float64)
    T = len(x)
    if T < 2:
        return x.copy()
    te = 1.0 / float(fps if fps and fps > 0 else 30.0)

    def alpha(cutoff):
        r = 2 * np.pi * cutoff * te
        return r / (r + 1.0)

    a_d = alpha(d_cutoff)
    out = np.empty_like(x)
    prev = x[0].copy()
    dprev = np.zeros_like(prev)
    out[0] = prev
    for t in range(1, T):
        dx = (x[t] - prev) / te
        dprev = a_d * dx + (1 - a_d) * dprev
        a = alpha(min_cutoff + beta * np.abs(dprev))
        prev = a * x[t] + (1 - a) * prev
        out[t] = prev
    return out


def smooth_joints(joints: np.ndarray, method: str, param: Optional[float], fps: float) -> np.ndarray:
    """Filter one track's joints (T, J, 3) over time; returns float32 of the same shape."""
    method, param = check_smooth(method, param)
    j = np.asarray(joints)
    if method == "none" or len(j) < 2:
        return j.astype(np.float32)
    if method == "gaussian":
        return gaussian_smooth(j.astype(np.float64), param).astype(np.float32)
    return one_euro(j, fps, min_cutoff=param).astype(np.float32)


def smooth_tracks(tracks3d: Sequence[Track3D], method: str, param: Optional[float], fps: float) -> List[Track3D]:
    """:func:`smooth_joints` on every track's ``joints_cam`` (before world alignment)."""
    out = []
    for t in tracks3d:
        jc = smooth_joints(t.joints_cam, method, param, fps)
        jc[:, 0] = 0.0  # root-relative, as the lifter returns them
        out.append(dataclasses.replace(t, joints_cam=jc))
    return out
