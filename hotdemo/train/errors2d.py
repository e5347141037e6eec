"""A family of 2D error models: the kinds of mistakes a real 2D keypoint detector makes, by name.

Every model corrupts clean 2D keypoints ``x2d`` (B, T, 17, 2) pixels (Human3.6M order) and is a
small vectorised NumPy function with an explicit ``numpy.random.Generator``, so a corrupted
batch is a pure function of its seed. Sizes are fractions of the person's size (the median over
frames of the larger side of the joints' bounding box, :func:`hotdemo.train.augment.person_size`),
time scales are in seconds and turned into frames with the clip's frame rate ``fps`` (a scalar or
one per clip), probabilities are per joint and frame unless said otherwise. ``severity`` (scalar
or (B,)) multiplies every size (not the probabilities): training draws it per clip.

Models (:data:`ERROR_MODELS`, parameters and defaults in each entry's ``params``):

* ``jitter`` - white Gaussian noise, independent per joint, frame and axis (``sigma``).
* ``drift-0.1s``, ``drift-0.5s``, ``drift-2s`` - temporally correlated errors: per joint and axis
  a stationary AR(1) (Ornstein-Uhlenbeck) process of standard deviation ``sigma`` whose
  autocorrelation falls to 1/e after ``tau`` seconds (``rho = exp(-1 / (tau fps))`` per frame).
  Slow drift has little frame-to-frame jitter: a trust measured by jitter does not see it.
* ``bias`` - a per-joint static offset, constant over the clip (``sigma``; times the per-joint
  profile :data:`hotdemo.train.augment.JOINT_OFFSET` / its mean when ``profile``).
* ``scale`` - whole-skeleton scale and aspect bias, constant over the clip: every frame's joints
  are scaled about their centre by ``s * a`` in x and ``s / a`` in y, ``log s ~ N(0, scale_sigma)``,
  ``log a ~ N(0, aspect_sigma)`` (a detector box that is consistently too large / too wide).
* ``outliers`` - gross one-frame errors: a joint thrown ``size`` (uniform range) away in a random
  direction for a single frame, with probability ``p``.
* ``swaps`` - left/right swaps of the legs or of the arms (equally likely) for runs of 1 to
  ``max_frames`` frames starting with probability ``p`` per frame.
* ``dropouts`` - occlusion: runs of 1 frame to ``max_s`` seconds per joint (starting with
  probability ``p``) where the detector lost the joint and the 2D stage repaired it by linear
  interpolation in time (:func:`hotdemo.train.augment.interpolate_missing`); with ``limb``, the
  whole limb (the joint and its children) drops out together.
* ``truncation`` - the person partly outside the image: a border (bottom with probability
  ``p_bottom``, else left or right) is placed ``cut`` (uniform range) of the side of the person's
  median bounding box (medians over frames of the joints' min and max) inside that box, and every joint beyond it is clamped onto it, as a detector places joints it
  cannot see at the border. Applied to a fraction ``p_clip`` of the clips; clamped to the image
  (``image_size``) too when given.
* ``mixed`` - all of them at once, at moderate sizes: bias, scale, 0.5 s and 2 s drift, jitter,
  outliers, swaps, dropouts, and truncation in a quarter of the clips.

:func:`apply_error_model` applies a model by name; :func:`error_model_names` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Union

import numpy as np
from scipy.signal import lfilter

from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import H36M17
from hotdemo.train.augment import ARMS, JOINT_OFFSET, LEGS, interpolate_missing, person_size

ArrayLike = Union[float, np.ndarray]


def _per_clip(v: ArrayLike, B: int) -> np.ndarray:
    """(B,) float array from a scalar or (B,) value."""
    return np.broadcast_to(np.asarray(v, np.float64), (B,)).astype(np.float64)


def _size(x2d: np.ndarray, severity: ArrayLike) -> np.ndarray:
    """(B, 1, 1, 1) person size in pixels times the severity."""
    B = x2d.shape[0]
    return (person_size(x2d) * _per_clip(severity, B))[:, None, None, None]


# ----------------------------------------------------------------------------- the models
def white_jitter(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
                 image_size: Optional[np.ndarray] = None, sigma: float = 0.01) -> np.ndarray:
    """Independent Gaussian noise of std ``sigma`` (fraction of person size) per joint, frame and axis."""
    return x2d + rng.normal(size=x2d.shape) * sigma * _size(x2d, severity)


def ar1_noise(rng: np.random.Generator, shape: tuple, rho: np.ndarray) -> np.ndarray:
    """Unit-variance stationary AR(1) noise of ``shape`` (B, T, ...) with per-clip coefficient
    ``rho`` (B,): ``n_0 ~ N(0, 1)``, ``n_t = rho n_{t-1} + sqrt(1 - rho^2) e_t``."""
    e = rng.normal(size=shape)
    out = np.empty(shape)
    for b in range(shape[0]):  # one filter per clip (its own frame rate), vectorised over frames/joints
        r = float(rho[b])
        w = e[b] * np.sqrt(max(1.0 - r * r, 0.0))
        w[0] = e[b, 0]
        out[b] = lfilter([1.0], [1.0, -r], w, axis=0)
    return out


def drift(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
          image_size: Optional[np.ndarray] = None, sigma: float = 0.02, tau: float = 0.5) -> np.ndarray:
    """Slowly drifting errors: AR(1) per joint and axis, std ``sigma`` (fraction of person size),
    correlation time ``tau`` seconds (autocorrelation ``exp(-lag / (tau fps))``)."""
    B = x2d.shape[0]
    rho = np.exp(-1.0 / (tau * _per_clip(fps, B)))
    return x2d + ar1_noise(rng, x2d.shape, rho) * sigma * _size(x2d, severity)


def static_bias(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
                image_size: Optional[np.ndarray] = None, sigma: float = 0.015, profile: bool = True) -> np.ndarray:
    """A per-joint offset constant over the clip, std ``sigma`` (fraction of person size) per axis,
    shaped by the per-joint profile :data:`JOINT_OFFSET` (normalised to mean 1) when ``profile``."""
    B, T, J, _ = x2d.shape
    prof = JOINT_OFFSET / JOINT_OFFSET.mean() if profile else np.ones(J)
    off = rng.normal(size=(B, 1, J, 2)) * prof[None, None, :, None] * sigma
    return x2d + off * _size(x2d, severity)


def scale_bias(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
               image_size: Optional[np.ndarray] = None, scale_sigma: float = 0.05,
               aspect_sigma: float = 0.05) -> np.ndarray:
    """Each clip's joints scaled about each frame's joint centroid by a constant ``s a`` in x and
    ``s / a`` in y (log-normal, ``scale_sigma`` / ``aspect_sigma`` times the severity)."""
    B = x2d.shape[0]
    sev = _per_clip(severity, B)
    s = np.exp(rng.normal(size=B) * scale_sigma * sev)
    a = np.exp(rng.normal(size=B) * aspect_sigma * sev)
    f = np.stack([s * a, s / a], -1)[:, None, None, :]  # (B, 1, 1, 2)
    c = x2d.mean(axis=2, keepdims=True)
    return c + (x2d - c) * f


def outliers(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
             image_size: Optional[np.ndarray] = None, p: float = 0.005,
             size: tuple = (0.1, 0.4)) -> np.ndarray:
    """Gross single-frame errors: with probability ``p`` per joint and frame the joint is moved by
    ``size`` (uniform, fraction of person size) in a random direction."""
    B, T, J, _ = x2d.shape
    hit = rng.random((B, T, J)) < p
    ang = rng.uniform(0, 2 * np.pi, (B, T, J))
    mag = rng.uniform(*size, (B, T, J)) * _size(x2d, severity)[..., 0]
    return x2d + (hit * mag)[..., None] * np.stack([np.cos(ang), np.sin(ang)], -1)


def _runs(rng: np.random.Generator, shape: tuple, p: float, max_len: int) -> np.ndarray:
    """Boolean (B, T, ...) mask of runs along axis 1: each entry starts a run with probability
    ``p``, of a length uniform in 1..max_len."""
    start = rng.random(shape) < p
    length = rng.integers(1, max(1, max_len) + 1, shape)
    T = shape[1]
    mask = np.zeros(shape, bool)
    for k in range(min(max_len, T)):  # over run offsets, not frames
        mask[:, k:] |= (start & (length > k))[:, :T - k]
    return mask


def _side_perm(group: tuple) -> np.ndarray:
    perm = np.arange(len(H36M17.parents))
    half = len(group) // 2
    perm[list(group[:half])] = group[half:]
    perm[list(group[half:])] = group[:half]
    return perm


def lr_swaps(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
             image_size: Optional[np.ndarray] = None, p: float = 0.005, max_frames: int = 10) -> np.ndarray:
    """Left/right swaps: runs of 1..``max_frames`` frames (starting with probability ``p`` per
    frame) where either the legs or the arms (equally likely per run) have their sides exchanged."""
    B, T, J, _ = x2d.shape
    on = _runs(rng, (B, T), p, max_frames)
    legs = rng.random((B, T)) < 0.5
    # one choice per run: the value at the run's first frame, carried along the run
    idx = np.where(on & ~np.concatenate([np.zeros((B, 1), bool), on[:, :-1]], 1), np.arange(T)[None], 0)
    idx = np.maximum.accumulate(idx, axis=1)
    legs = np.take_along_axis(legs, idx, axis=1)
    out = x2d.copy()
    for group, sel in ((LEGS, on & legs), (ARMS, on & ~legs)):
        out = np.where(sel[..., None, None], x2d[:, :, _side_perm(group)], out)
    return out


#: (17, 17) child mask: CHILDREN[j, k] = k is j or below j in the skeleton tree
def _descendants() -> np.ndarray:
    par = np.asarray(H36M17.parents)
    J = len(par)
    d = np.eye(J, dtype=bool)
    for k in range(J):
        i = par[k]
        while i >= 0:
            d[i, k] = True
            i = par[i]
    return d


DESCENDANTS = _descendants()


def dropouts(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
             image_size: Optional[np.ndarray] = None, p: float = 0.003, max_s: float = 0.5,
             limb: bool = True) -> np.ndarray:
    """Occlusion: runs of 1 frame .. ``max_s`` seconds (start probability ``p`` per joint and frame)
    where a joint (with ``limb``: the joint and every joint below it) is lost and repaired by
    linear interpolation in time. The root never drops out with ``limb`` (it would take all)."""
    B, T, J, _ = x2d.shape
    max_len = int(max(1, round(max_s * float(np.max(_per_clip(fps, B))))))
    miss = _runs(rng, (B, T, J), p, max_len)
    if limb:
        miss[..., 0] = False
        miss = (miss.astype(np.float32) @ DESCENDANTS.astype(np.float32)) > 0
    return interpolate_missing(x2d.astype(np.float64), miss)


def truncation(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
               image_size: Optional[np.ndarray] = None, p_clip: float = 1.0, cut: tuple = (0.1, 0.35),
               p_bottom: float = 0.5) -> np.ndarray:
    """The person partly out of the picture: in a fraction ``p_clip`` of the clips a border is
    placed ``cut`` (uniform) of the side of the person's median bounding box inside it
    (bottom with probability ``p_bottom``, else left or right) and joints beyond it are clamped
    onto it; then every clip is clamped to ``image_size`` (B, 2) (w, h) when given."""
    B = x2d.shape[0]
    out = x2d.astype(np.float64).copy()
    lo = np.median(x2d.min(axis=2), axis=1)  # (B, 2)
    hi = np.median(x2d.max(axis=2), axis=1)
    ext = hi - lo
    frac = rng.uniform(*cut, B) * np.minimum(_per_clip(severity, B), 1.0 / max(cut[1], 1e-9))
    side = np.where(rng.random(B) < p_bottom, 0, np.where(rng.random(B) < 0.5, 1, 2))  # bottom, left, right
    on = rng.random(B) < p_clip
    for b in np.flatnonzero(on):
        if side[b] == 0:  # image y grows downwards: the bottom border cuts the feet
            out[b, ..., 1] = np.minimum(out[b, ..., 1], hi[b, 1] - frac[b] * ext[b, 1])
        elif side[b] == 1:
            out[b, ..., 0] = np.maximum(out[b, ..., 0], lo[b, 0] + frac[b] * ext[b, 0])
        else:
            out[b, ..., 0] = np.minimum(out[b, ..., 0], hi[b, 0] - frac[b] * ext[b, 0])
    if image_size is not None:
        wh = np.asarray(image_size, np.float64).reshape(B, 1, 1, 2)
        out = np.clip(out, 0.0, wh - 1.0)
    return out


def mixed(rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0, severity: ArrayLike = 1.0,
          image_size: Optional[np.ndarray] = None, bias: float = 0.01, scale_sigma: float = 0.03,
          drift_fast: float = 0.01, drift_slow: float = 0.015, jitter: float = 0.005,
          p_outlier: float = 0.002, p_swap: float = 0.002, p_dropout: float = 0.002,
          p_truncation: float = 0.25) -> np.ndarray:
    """Everything at once, moderate: static bias (``bias``), scale/aspect (``scale_sigma``), 0.5 s
    drift (``drift_fast``) and 2 s drift (``drift_slow``), white ``jitter``, outliers, swaps and
    dropouts (their probabilities) and truncation in a fraction ``p_truncation`` of the clips.
    Truncation and dropouts come last (they act on the detector's output)."""
    kw = dict(fps=fps, severity=severity)
    x = scale_bias(rng, x2d, scale_sigma=scale_sigma, aspect_sigma=scale_sigma, **kw)
    x = x + (static_bias(rng, x2d, sigma=bias, **kw) - x2d)
    x = x + (drift(rng, x2d, sigma=drift_fast, tau=0.5, **kw) - x2d)
    x = x + (drift(rng, x2d, sigma=drift_slow, tau=2.0, **kw) - x2d)
    x = x + (white_jitter(rng, x2d, sigma=jitter, **kw) - x2d)
    x = outliers(rng, x, p=p_outlier, **kw)
    x = lr_swaps(rng, x, p=p_swap, **kw)
    x = truncation(rng, x, p_clip=p_truncation, image_size=image_size, **kw)
    return dropouts(rng, x, p=p_dropout, **kw)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class ErrorModel:
    """A named 2D error model: ``fn(rng, x2d, fps, severity, image_size, **params)``."""

    name: str
    fn: Callable[..., np.ndarray]
    params: Dict[str, object] = field(default_factory=dict)
    doc: str = ""


ERROR_MODELS: Dict[str, ErrorModel] = {m.name: m for m in [
    ErrorModel("jitter", white_jitter, {"sigma": 0.01}, "white Gaussian jitter, 0.01 of person size"),
    ErrorModel("drift-0.1s", drift, {"sigma": 0.02, "tau": 0.1}, "AR(1) drift, std 0.02, correlation time 0.1 s"),
    ErrorModel("drift-0.5s", drift, {"sigma": 0.02, "tau": 0.5}, "AR(1) drift, std 0.02, correlation time 0.5 s"),
    ErrorModel("drift-2s", drift, {"sigma": 0.02, "tau": 2.0}, "AR(1) drift, std 0.02, correlation time 2 s"),
    ErrorModel("bias", static_bias, {"sigma": 0.015, "profile": True},
               "per-joint static offset, std 0.015 on average over joints (joint profile)"),
    ErrorModel("scale", scale_bias, {"scale_sigma": 0.05, "aspect_sigma": 0.05},
               "whole-skeleton scale and aspect bias, log-std 0.05 each"),
    ErrorModel("outliers", outliers, {"p": 0.005, "size": (0.1, 0.4)}, "one-frame gross errors, p 0.005, 0.1-0.4"),
    ErrorModel("swaps", lr_swaps, {"p": 0.005, "max_frames": 10}, "left/right leg or arm swaps, runs of 1-10 frames"),
    ErrorModel("dropouts", dropouts, {"p": 0.003, "max_s": 0.5, "limb": True},
               "occluded limbs for up to 0.5 s, linearly interpolated"),
    ErrorModel("truncation", truncation, {"p_clip": 1.0, "cut": (0.1, 0.35), "p_bottom": 0.5},
               "a border 10-35 % into the person (bottom, left or right), joints clamped to it"),
    ErrorModel("mixed", mixed, {}, "all of the above at moderate sizes (truncation in 1/4 of the clips)"),
]}


def error_model_names() -> list:
    return list(ERROR_MODELS)


def get_error_model(name: str) -> ErrorModel:
    """The model called ``name``; InputError listing the valid names otherwise."""
    try:
        return ERROR_MODELS[name]
    except KeyError:
        raise InputError(f"unknown 2D error model {name!r}; known: {', '.join(ERROR_MODELS)}") from None


def apply_error_model(name: str, rng: np.random.Generator, x2d: np.ndarray, fps: ArrayLike = 50.0,
                      severity: ArrayLike = 1.0, image_size: Optional[np.ndarray] = None, **overrides) -> np.ndarray:
    """``x2d`` (B, T, 17, 2) pixels corrupted by the model ``name`` (its ``params``, then
    ``overrides``); float32."""
    m = get_error_model(name)
    x = np.asarray(x2d, np.float64)
    if x.ndim != 4 or x.shape[-1] != 2:
        raise ValueError(f"expected 2D keypoints (B, T, J, 2), got {x.shape}")
    out = m.fn(rng, x, fps=fps, severity=severity, image_size=image_size, **{**m.params, **overrides})
    return np.asarray(out, np.float32)
