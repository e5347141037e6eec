"""Evaluation of a lifter on the test subjects through the 4 real cameras.

Metrics (all on root-relative camera-frame poses, millimetres):

* MPJPE (protocol 1): mean Euclidean joint error.
* P-MPJPE (protocol 2): MPJPE after a per-frame similarity (rotation, translation, scale)
  Procrustes alignment of the prediction to the ground truth.
* MPJVE: mean per-joint velocity error, ``||d/dt pred - d/dt gt||`` per frame (mm per frame at
  the data's 50 fps).
* acceleration error: mean per-joint ``||d2/dt2 pred - d2/dt2 gt||`` (mm per frame squared at 50
  fps), the jitter measure of the 3D pose literature; in the JSON records (``accel``), not in the
  printed table.

Every sequence is lifted by a :class:`hotdemo.lift.lifter.Lifter` from its projected pixels and
post-processed, through the function ``hotdemo run`` / ``hotdemo lift`` use for a video's keypoints
(:func:`hotdemo.post.refine.lift_and_refine`: normalisation, windows and their blending, flip, root
handling, output units, then agreement with the 2D, bone lengths, smoothing): the figures measure
what users get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Union

import numpy as np

from hotdemo.core.camera import Camera
from hotdemo.core.errors import InputError
from hotdemo.train.augment import EVAL_NOISE, AugmentConfig, detector_noise
from hotdemo.train.data import TEST_SUBJECTS, MotionData, SequenceInfo

if TYPE_CHECKING:
    from hotdemo.lift.lifter import Lifter
    from hotdemo.post.refine import PostSettings

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


# ----------------------------------------------------------------------------- 2D settings
#: the 2D settings of an evaluation besides the named error models (hotdemo.train.errors2d):
#: "clean" projected 2D, "noisy" the fixed detector-like noise EVAL_NOISE of earlier sessions
BASE_SETTINGS = ("clean", "noisy")
#: groups accepted by parse_noise: "both" (clean, noisy), "models" (every error model), "all"
NOISE_GROUPS = ("both", "models", "all")


def noise_names() -> List[str]:
    """Every single 2D setting ``evaluate(noise=...)`` takes: clean, noisy, then the error models."""
    from hotdemo.train.errors2d import error_model_names

    return list(BASE_SETTINGS) + error_model_names()


def parse_noise(spec: str) -> List[str]:
    """The 2D settings of a ``--noise`` value: one name of :func:`noise_names`, a group of
    :data:`NOISE_GROUPS`, or several of these separated by commas; InputError listing the valid
    names otherwise."""
    from hotdemo.train.errors2d import error_model_names

    out: List[str] = []
    for part in [p.strip() for p in str(spec).split(",")]:
        if part == "both":
            names = list(BASE_SETTINGS)
        elif part == "models":
            names = error_model_names()
        elif part == "all":
            names = noise_names()
        elif part in noise_names():
            names = [part]
        else:
            raise InputError(f"unknown --noise {part!r}; valid: {', '.join(noise_names() + list(NOISE_GROUPS))} "
                             "(or several, comma-separated)")
        out += [n for n in names if n not in out]
    return out


def setting_label(noise: str) -> str:
    """The table / JSON label of a 2D setting (the first two as in earlier records)."""
    return {"clean": "clean projected 2D", "noisy": "detector-like 2D noise"}.get(noise, f"2D errors: {noise}")


def corrupt_2d(noise: str, px: np.ndarray, seed: int, si: int, ci: int, width: float, height: float,
               fps: float = 50.0) -> np.ndarray:
    """Pixels (T, J, 2) of one sequence and camera with the 2D setting ``noise`` applied, seeded
    by ``(seed, sequence index, camera index)`` (and the setting's name for the error models, so
    that each model's draws are its own)."""
    if noise == "clean":
        return px
    if noise == "noisy":
        rng = np.random.default_rng([seed, si, ci])
        return detector_noise(rng, px[None], AugmentConfig(**EVAL_NOISE))[0]
    from hotdemo.train.errors2d import ERROR_MODELS, apply_error_model

    k = list(ERROR_MODELS).index(noise) if noise in ERROR_MODELS else -1
    if k < 0:
        raise InputError(f"unknown 2D setting {noise!r}; valid: {', '.join(noise_names())}")
    rng = np.random.default_rng([seed, si, ci, 1000 + k])
    return apply_error_model(noise, rng, px[None], fps=fps, image_size=np.array([[width, height]], np.float64))[0]


def accel_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint acceleration error of sequences (T, J, 3), unit per frame squared (0 for T < 3)."""
    if pred.shape[-3] < 3:
        return 0.0
    ap = np.diff(pred, n=2, axis=-3)
    ag = np.diff(gt, n=2, axis=-3)
    return float(np.linalg.norm(ap - ag, axis=-1).mean())


# ----------------------------------------------------------------------------- evaluation
@dataclass
class EvalResult:
    """Per-action and overall errors (mm). ``rows[action] = {'mpjpe','p_mpjpe','mpjve','frames'}``."""

    setting: str
    rows: Dict[str, Dict[str, float]] = field(default_factory=dict)

    @property
    def average(self) -> Dict[str, float]:
        """Mean over actions (as published tables), plus the frame count."""
        keys = ("mpjpe", "p_mpjpe", "mpjve") + (("accel",) if all("accel" in r for r in self.rows.values()) else ())
        out = {k: float(np.mean([r[k] for r in self.rows.values()])) for k in keys}
        out["frames"] = float(sum(r["frames"] for r in self.rows.values()))
        return out

    def to_dict(self) -> dict:
        return {"setting": self.setting, "rows": self.rows, "average": self.average}


def evaluate(
    lifter: "Lifter",
    data: MotionData,
    cameras: Dict[str, List[Camera]],
    subjects: Sequence[str] = TEST_SUBJECTS,
    noise: Union[bool, str] = False,
    seed: int = 0,
    max_sequences: Optional[int] = None,
    progress=None,
    post: Optional["PostSettings"] = None,
) -> EvalResult:
    """MPJPE / P-MPJPE / MPJVE per action on ``subjects`` through their 4 real cameras, lifted by
    ``lifter`` (:class:`hotdemo.lift.lifter.Lifter`: its flip, windows, root handling) and
    post-processed by ``post`` (:class:`hotdemo.post.refine.PostSettings`; None: the defaults, as
    ``hotdemo run``), both through :func:`hotdemo.post.refine.lift_and_refine`.

    ``noise``: the 2D setting: "clean" (projected 2D; also False), "noisy" (the fixed detector-like
    noise ``EVAL_NOISE``; also True), or the name of a 2D error model of
    :mod:`hotdemo.train.errors2d` (at 50 fps, clamped to the camera's image); each sequence and
    camera seeded on its own (:func:`corrupt_2d`).
    ``max_sequences``: evaluate only every k-th sequence so that at most this many are used
    (quick checks during training). ``progress``: optional callable(done, total).
    """
    from hotdemo.post.refine import lift_and_refine

    seqs: List[SequenceInfo] = [s for s in data.subset(subjects) if s.subject in cameras]
    if max_sequences is not None and len(seqs) > max_sequences:
        seqs = seqs[:: int(np.ceil(len(seqs) / max_sequences))]
    noise = {False: "clean", True: "noisy"}.get(noise, noise) if isinstance(noise, bool) else str(noise)
    if noise not in noise_names():
        raise InputError(f"unknown 2D setting {noise!r}; valid: {', '.join(noise_names())}")
    sums: Dict[str, np.ndarray] = {}
    total = len(seqs) * 4
    done = 0
    for si, info in enumerate(seqs):
        world = data.sequence(info)
        for ci, cam in enumerate(cameras[info.subject]):
            x_cam = cam.world_to_camera(world).astype(np.float32)
            px = cam.project(x_cam).astype(np.float32)
            px = corrupt_2d(noise, px, seed, si, ci, cam.width, cam.height).astype(np.float32)
            gt = (x_cam - x_cam[:, :1]).astype(np.float64)
            pred = lift_and_refine(lifter, px, cam.width, cam.height, post).astype(np.float64)
            n = len(gt)
            s = sums.setdefault(info.action, np.zeros(6))
            s += np.array([mpjpe(pred, gt) * n, p_mpjpe(pred, gt) * n, mpjve(pred, gt) * (n - 1), n,
                           accel_error(pred, gt) * max(n - 2, 0), max(n - 2, 0)])
            done += 1
            if progress is not None:
                progress(done, total)
    res = EvalResult(setting_label(noise))
    for action in sorted(sums):
        s = sums[action]
        res.rows[action] = {"mpjpe": s[0] / s[3] * 1000, "p_mpjpe": s[1] / s[3] * 1000,
                            "mpjve": s[2] / max(s[3] - 1, 1) * 1000, "accel": s[4] / max(s[5], 1) * 1000,
                            "frames": float(s[3])}
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
