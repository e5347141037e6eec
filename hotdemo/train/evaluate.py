"""Evaluation of a lifter on the test subjects through the 4 real cameras.

Metrics (all on root-relative camera-frame poses, millimetres):

* MPJPE (protocol 1): mean Euclidean joint error.
* P-MPJPE (protocol 2): MPJPE after a per-frame similarity (rotation, translation, scale)
  Procrustes alignment of the prediction to the ground truth.
* MPJVE: mean per-joint velocity error, ``||d/dt pred - d/dt gt||`` per frame (mm per frame at
  the data's 50 fps).

Sequences are cut into windows of the model's frame count (the last window ends at the last
frame; overlapping frames are averaged) and, by default, every window is also run mirrored
(flip test-time augmentation) as at inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..camera import Camera, normalize_screen_coordinates
from ..skeletons import H36M17
from .augment import EVAL_NOISE, AugmentConfig, detector_noise
from .data import TEST_SUBJECTS, MotionData, SequenceInfo, clip_starts

DISCLAIMER = (
    "These numbers are on hotdemo's reconstruction of Human3.6M motion (forward kinematics from the "
    "exponential-map files, S1's proportions for every subject, projected 2D): they are NOT directly "
    "comparable with published Human3.6M results."
)


# ----------------------------------------------------------------------------- metrics
def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error of (..., J, 3) arrays, in their unit."""
    return float(np.linalg.norm(pred - gt, axis=-1).mean())


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Align each pose of ``pred`` (N, J, 3) to ``gt`` (N, J, 3) by the best similarity transform."""
    mu_p = pred.mean(axis=1, keepdims=True)
    mu_g = gt.mean(axis=1, keepdims=True)
    p0, g0 = pred - mu_p, gt - mu_g
    np_ = np.sqrt((p0 ** 2).sum(axis=(1, 2), keepdims=True))
    ng = np.sqrt((g0 ** 2).sum(axis=(1, 2), keepdims=True))
    np_ = np.maximum(np_, 1e-12)
    ng = np.maximum(ng, 1e-12)
    p0, g0 = p0 / np_, g0 / ng
    h = np.einsum("nji,njk->nik", g0, p0)  # (N, 3, 3) = g0^T p0
    u, s, vt = np.linalg.svd(h)
    v = vt.transpose(0, 2, 1)
    r = v @ u.transpose(0, 2, 1)
    # fix reflections
    det = np.sign(np.linalg.det(r))
    v[:, :, -1] *= det[:, None]
    s[:, -1] *= det
    r = v @ u.transpose(0, 2, 1)
    scale = (s.sum(axis=1) * ng[:, 0, 0] / np_[:, 0, 0])[:, None, None]
    return scale * (p0 * np_) @ r + mu_g


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after per-pose Procrustes alignment (rotation, translation, scale); (..., J, 3)."""
    J = pred.shape[-2]
    p = pred.reshape(-1, J, 3).astype(np.float64)
    g = gt.reshape(-1, J, 3).astype(np.float64)
    return mpjpe(procrustes_align(p, g), g)


def mpjve(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint velocity error of sequences (T, J, 3) (or (B, T, J, 3)), unit per frame."""
    vp = np.diff(pred, axis=-3)
    vg = np.diff(gt, axis=-3)
    return float(np.linalg.norm(vp - vg, axis=-1).mean())


# ----------------------------------------------------------------------------- running a model
def _flip_input(x: torch.Tensor) -> torch.Tensor:
    perm = torch.as_tensor(H36M17.flip_permutation)
    y = x[..., perm, :].clone()
    y[..., 0] = -y[..., 0]
    return y


@torch.no_grad()
def predict_windows(model: nn.Module, windows: np.ndarray, flip: bool = True, batch_size: int = 64) -> np.ndarray:
    """Run ``model`` on windows (N, T, 17, 2) screen-normalised -> (N, T, 17, 3), root set to 0.
    The windows go to the model's device; the result comes back as a CPU array."""
    model.eval()
    dev = next(model.parameters(), torch.empty(0)).device  # CPU for a parameter-free model
    outs = []
    for i in range(0, len(windows), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(windows[i:i + batch_size], dtype=np.float32)).to(dev)
        if flip:
            y = model(torch.cat([x, _flip_input(x)]))
            n = len(x)
            y = (y[:n] + _flip_input(y[n:])) / 2  # mirroring the output back is the same operation
        else:
            y = model(x)
        y = y - y[:, :, :1]
        outs.append(y.float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,) + windows.shape[1:3] + (3,), np.float32)


def lift_sequence(model: nn.Module, x2d: np.ndarray, frames: int, flip: bool = True, batch_size: int = 64) -> np.ndarray:
    """Screen-normalised (L, 17, 2) -> (L, 17, 3) by windows of ``frames`` (overlaps averaged)."""
    L = len(x2d)
    pad = max(0, frames - L)
    xp = np.concatenate([x2d, np.repeat(x2d[-1:], pad, axis=0)]) if pad else x2d
    starts = clip_starts(len(xp), frames, frames)
    idx = starts[:, None] + np.arange(frames)[None]
    out = predict_windows(model, xp[idx], flip=flip, batch_size=batch_size)
    acc = np.zeros((len(xp), 17, 3), np.float64)
    cnt = np.zeros(len(xp))
    np.add.at(acc, idx.reshape(-1), out.reshape(-1, 17, 3))
    np.add.at(cnt, idx.reshape(-1), 1.0)
    return (acc / cnt[:, None, None])[:L].astype(np.float32)


# ----------------------------------------------------------------------------- evaluation
@dataclass
class EvalResult:
    """Per-action and overall errors (mm). ``rows[action] = {'mpjpe','p_mpjpe','mpjve','frames'}``."""

    setting: str
    rows: Dict[str, Dict[str, float]] = field(default_factory=dict)

    @property
    def average(self) -> Dict[str, float]:
        """Mean over actions (as published tables), plus the frame count."""
        keys = ("mpjpe", "p_mpjpe", "mpjve")
        out = {k: float(np.mean([r[k] for r in self.rows.values()])) for k in keys}
        out["frames"] = float(sum(r["frames"] for r in self.rows.values()))
        return out

    def to_dict(self) -> dict:
        return {"setting": self.setting, "rows": self.rows, "average": self.average}


def evaluate(
    model: nn.Module,
    data: MotionData,
    cameras: Dict[str, List[Camera]],
    frames: int,
    subjects: Sequence[str] = TEST_SUBJECTS,
    noise: bool = False,
    flip: bool = True,
    seed: int = 0,
    max_sequences: Optional[int] = None,
    batch_size: int = 64,
    progress=None,
) -> EvalResult:
    """MPJPE / P-MPJPE / MPJVE per action on ``subjects`` through their 4 real cameras.

    ``noise``: corrupt the projected 2D with the fixed detector-like noise ``EVAL_NOISE``.
    ``max_sequences``: evaluate only every k-th sequence so that at most this many are used
    (quick checks during training). ``progress``: optional callable(done, total).
    """
    seqs: List[SequenceInfo] = [s for s in data.subset(subjects) if s.subject in cameras]
    if max_sequences is not None and len(seqs) > max_sequences:
        seqs = seqs[:: int(np.ceil(len(seqs) / max_sequences))]
    cfg = AugmentConfig(**EVAL_NOISE)
    sums: Dict[str, np.ndarray] = {}
    total = len(seqs) * 4
    done = 0
    for si, info in enumerate(seqs):
        world = data.sequence(info)
        for ci, cam in enumerate(cameras[info.subject]):
            x_cam = cam.world_to_camera(world).astype(np.float32)
            px = cam.project(x_cam).astype(np.float32)
            if noise:
                rng = np.random.default_rng([seed, si, ci])
                px = detector_noise(rng, px[None], cfg)[0]
            x2d = normalize_screen_coordinates(px, cam.width, cam.height).astype(np.float32)
            gt = (x_cam - x_cam[:, :1]).astype(np.float64)
            pred = lift_sequence(model, x2d, frames, flip=flip, batch_size=batch_size).astype(np.float64)
            n = len(gt)
            s = sums.setdefault(info.action, np.zeros(4))
            s += np.array([mpjpe(pred, gt) * n, p_mpjpe(pred, gt) * n, mpjve(pred, gt) * (n - 1), n])
            done += 1
            if progress is not None:
                progress(done, total)
    res = EvalResult("detector-like 2D noise" if noise else "clean projected 2D")
    for action in sorted(sums):
        s = sums[action]
        res.rows[action] = {"mpjpe": s[0] / s[3] * 1000, "p_mpjpe": s[1] / s[3] * 1000,
                            "mpjve": s[2] / max(s[3] - 1, 1) * 1000, "frames": float(s[3])}
    return res


def format_table(results: Sequence[EvalResult]) -> str:
    """Markdown table: one row per action, MPJPE / P-MPJPE / MPJVE columns per setting."""
    actions = sorted({a for r in results for a in r.rows})
    head = "| action | " + " | ".join(f"P1 {r.setting} | P2 {r.setting} | MPJVE {r.setting}" for r in results) + " |"
    sep = "|---|" + "---|" * (3 * len(results))
    lines = [head, sep]
    for a in actions:
        cells = []
        for r in results:
            row = r.rows.get(a)
            cells += [f"{row['mpjpe']:.1f}", f"{row['p_mpjpe']:.1f}", f"{row['mpjve']:.2f}"] if row else ["-"] * 3
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    cells = []
    for r in results:
        av = r.average
        cells += [f"**{av['mpjpe']:.1f}**", f"**{av['p_mpjpe']:.1f}**", f"**{av['mpjve']:.2f}**"]
    lines.append("| **average** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + DISCLAIMER
