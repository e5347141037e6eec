"""Where a lifter's windows go over a sequence, and how their outputs are blended back.

* :func:`window_starts`: the first frame of every window. With overlap (default, half a window)
  the windows overlap and are blended with :func:`window_weight`, a smooth weight that fades
  out towards each window's ends, so there is no seam at window borders; clips shorter than a
  window are edge-padded, centred. Without overlap the windows are placed as the official HoT
  demo (``vis.py get_pose3D``) places them: ``T // F + 1`` non-overlapping windows, centred on
  the clip, edge-padded at both ends.
* :func:`window_positions` / :func:`centre_positions`: the frame of every window slot
  (seq2seq windows, and one window centred on every frame for seq2frame models).
* :func:`blend_windows`: the per-frame weighted mean of the windows' outputs.
"""

from __future__ import annotations

from typing import Tuple, Union

import numpy as np
import torch

#: default overlap of consecutive windows, as a fraction of the window length
DEFAULT_OVERLAP = 0.5


def window_weight(frames: int) -> np.ndarray:
    """Blending weight over a window: sin^2 taper, positive everywhere, largest in the middle."""
    return np.sin(np.pi * (np.arange(frames) + 0.5) / frames) ** 2


def window_starts(T: int, F: int, overlap: Union[bool, float, int]) -> Tuple[np.ndarray, bool]:
    """First frame of every window over ``T`` frames (may be negative: edge padding), and
    whether the windows overlap (blended) or tile (official placement).

    ``overlap``: False / 0 -> the official demo's tiling; True -> :data:`DEFAULT_OVERLAP`;
    a float in (0, 1) -> that fraction of a window; an int >= 1 -> the stride in frames.
    """
    if overlap is False or (not isinstance(overlap, bool) and overlap == 0):
        n = T // F + 1
        offset = (n * F - T) // 2
        return np.arange(n) * F - offset, False
    if overlap is True:
        stride = F - int(round(F * DEFAULT_OVERLAP))
    elif isinstance(overlap, float) and 0 < overlap < 1:
        stride = F - int(round(F * overlap))
    elif isinstance(overlap, int) and overlap >= 1:
        stride = min(overlap, F)
    else:
        raise ValueError(f"overlap must be a bool, a fraction in (0, 1) or a stride >= 1, got {overlap!r}")
    stride = max(1, stride)
    if T <= F:
        return np.array([-((F - T) // 2)]), True
    starts = np.arange(0, T - F, stride)
    return np.unique(np.append(starts, T - F)), True


def window_positions(T: int, F: int, overlap: Union[bool, float, int]) -> Tuple[np.ndarray, bool]:
    """(W, F) frame of every slot of every window (out-of-range: edge padding), and whether
    they are blended (:func:`window_starts`)."""
    starts, blended = window_starts(T, F, overlap)
    return starts[:, None] + np.arange(F)[None, :], blended


def centre_positions(T: int, F: int) -> np.ndarray:
    """(T, F) frames of one window centred on every frame (seq2frame models keep the centre)."""
    c = (F - 1) // 2
    return np.arange(T)[:, None] - c + np.arange(F)[None, :]


def blend_windows(y: torch.Tensor, pos: np.ndarray, T: int, blended: bool) -> torch.Tensor:
    """Windows' outputs ``y`` (W, F, J, 3) at frames ``pos`` (W, F) -> (T, J, 3): each frame the
    mean of the slots that show it, weighted by :func:`window_weight` when ``blended`` (else
    equally); padding slots (outside 0..T-1) count for nothing."""
    F, J = y.shape[1], y.shape[2]
    valid = (pos >= 0) & (pos < T)
    w = (window_weight(F)[None, :] if blended else np.ones((1, F))) * valid
    w_t = torch.from_numpy(w.astype(np.float32)).to(y.device)
    dest = torch.from_numpy(np.clip(pos, 0, T - 1).reshape(-1)).to(y.device)
    acc = torch.zeros((T, J, 3), device=y.device).index_add_(
        0, dest, (y * w_t[:, :, None, None]).reshape(-1, J, 3))
    norm = torch.zeros(T, device=y.device).index_add_(0, dest, w_t.reshape(-1))
    return acc / norm[:, None, None]
