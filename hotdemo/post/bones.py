"""Constant bone lengths for a lifted track (on by default in the post step, :mod:`hotdemo.post.refine`).

A person's bones do not change length during a clip, but a lifter's output does: where a limb
points towards or away from the camera its depth is ambiguous, and the lifter tends to shorten
it (sitting poses, thighs and shins towards the camera, suffer most). The 2D keypoints pin the
image-plane components of each bone far better than its depth.

:func:`fit_bone_lengths` therefore

1. takes each bone's length to be its median over the track's frames (the lifter's own
   estimate of this person; no body model or reference skeleton is used), and
2. moves every bone vector ``b = child - parent`` of every frame to that length by the smallest
   change, where a change in depth (camera z) costs ``depth_weight`` times a change in the image
   plane (x, y):

   ``b* = argmin (b' - b)^T C (b' - b)  subject to  |b'| = L,   C = diag(1, 1, w)``.

   With a Lagrange multiplier ``mu``: ``b*_i = c_i b_i / (c_i + mu)``; the global minimum has
   ``mu > -min(c) = -w``, where ``|b*(mu)|`` falls monotonically from infinity, so ``mu`` is the
   unique root of ``|b*(mu)| = L`` there, found by bisection. ``w = 1`` scales each bone along its
   own direction; a small ``w`` keeps x and y and mostly solves for the depth.
3. where the fit would give a bone much more depth than the lifter did (``|raw depth| / |fitted
   depth|`` under ``sign_margin``), fades the change out towards the raw bone in proportion. A
   lifter that cannot tell whether a limb points towards or away from the camera predicts a
   depth near zero and a short bone; lengthening it would pick the sign from noise, which on
   real video flips from frame to frame (forearms of small, fast players jumped from frame to
   frame without this);
4. rebuilds the joints from the root outwards (parents before children), so the root stays put.

``python benchmarks/bone_lengths.py`` measures the fit's effect (MPJPE, P-MPJPE; clean and noisy
2D) with the shipped lifter and the defaults :data:`DEFAULT_DEPTH_WEIGHT` and
:data:`DEFAULT_SIGN_MARGIN`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

#: cost of a depth change relative to an image-plane change in :func:`fit_bone_lengths`; chosen
#: with benchmarks/bone_lengths.py and benchmarks/noise_models.py on the training subjects (a
#: smaller weight made the fit alone worse than the raw lifter with slowly drifting 2D)
DEFAULT_DEPTH_WEIGHT = 0.5
#: fade-out of the fit where a bone's raw depth is under this fraction of its fitted depth
DEFAULT_SIGN_MARGIN = 0.5
_BISECTION_STEPS = 60
_CHUNK = 4096  # frames fitted at a time


def bone_vectors(pose: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """(T, J, 3) joints -> (T, J, 3) vectors parent -> joint (zero for the root, parent -1)."""
    par = np.asarray(parents)
    b = pose - pose[:, np.maximum(par, 0)]
    b[:, par < 0] = 0.0
    return b


def closest_vector_of_length(b: np.ndarray, length: np.ndarray, depth_weight: float) -> np.ndarray:
    """The vectors of length ``length`` nearest to ``b`` in the metric diag(1, 1, depth_weight).

    ``b`` (..., 3), ``length`` broadcastable to ``b.shape[:-1]``; float64 out. A zero vector stays
    zero (it has no direction to keep)."""
    w = float(depth_weight)
    if not 0.0 < w <= 1.0:
        raise ValueError(f"depth_weight must be in (0, 1], got {depth_weight}")
    b = np.asarray(b, np.float64)
    L = np.broadcast_to(np.asarray(length, np.float64), b.shape[:-1])
    c = np.array([1.0, 1.0, w])
    norm = np.linalg.norm(b, axis=-1)
    ok = (norm > 1e-12) & (L > 0)
    Ls = np.where(ok, L, 1.0)
    b_in, b = b, np.where(ok[..., None], b, 1.0)  # placeholders where there is nothing to fit
    norm = np.where(ok, norm, np.sqrt(3.0))
    # |b*(mu)| is decreasing on (-w, inf); at mu = max(|b| / L - 1, 0) it is <= L (every c_i <= 1)
    lo = np.full(b.shape[:-1], -w)
    hi = np.maximum(norm / Ls - 1.0, 0.0)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        n = np.linalg.norm(c * b / (c + mid[..., None]), axis=-1)
        longer = n > Ls
        lo = np.where(longer, mid, lo)
        hi = np.where(longer, hi, mid)
    out = c * b / (c + hi[..., None])
    # exact length (bisection leaves ~1e-16; also covers a bone with no depth at all, whose optimum
    # may lie at mu = -w)
    n = np.linalg.norm(out, axis=-1, keepdims=True)
    out = out * np.where(n > 0, Ls[..., None] / np.maximum(n, 1e-300), 0.0)
    return np.where(ok[..., None], out, b_in)


def fit_bone_lengths(pose: np.ndarray, parents: Sequence[int], lengths: Optional[np.ndarray] = None,
                     depth_weight: float = DEFAULT_DEPTH_WEIGHT,
                     sign_margin: float = DEFAULT_SIGN_MARGIN) -> np.ndarray:
    """One track's joints (T, J, 3), camera frame (z = depth), with every bone held at one length.

    ``parents``: each joint's parent (-1 for the root); every parent must come before its
    children (true of :data:`hotdemo.core.skeletons.H36M17`). ``lengths`` (J,): the bone lengths
    to hold (entry j: joint j to its parent; the root's is ignored); default: each bone's median
    over the frames. ``sign_margin``: 0 holds every bone at its length; above 0, bones whose raw
    depth is under that fraction of the fitted depth are fitted only partly (module docstring).
    Returns the same dtype, the root joint unchanged."""
    pose = np.asarray(pose)
    par = np.asarray(parents)
    if pose.ndim != 3 or pose.shape[1:] != (len(par), 3):
        raise ValueError(f"expected joints of shape (T, {len(par)}, 3), got {pose.shape}")
    if any(p >= j for j, p in enumerate(par)):
        raise ValueError("every parent must come before its children")
    if len(pose) == 0:
        return pose.copy()
    b = bone_vectors(pose.astype(np.float64), par)
    L = np.median(np.linalg.norm(b, axis=-1), axis=0) if lengths is None else np.asarray(lengths, np.float64)
    if L.shape != (len(par),):
        raise ValueError(f"expected {len(par)} bone lengths, got shape {L.shape}")
    out = np.empty_like(pose)
    for s in range(0, len(pose), _CHUNK):  # bounded temporaries on long tracks
        bc = b[s: s + _CHUNK]
        nb = closest_vector_of_length(bc, L[None, :], depth_weight)
        if sign_margin > 0:
            # depth added to a bone whose own depth is small has an unreliable sign: fade the fit
            # out as |raw depth| / |fitted depth| falls below the margin
            r = np.abs(bc[..., 2]) / np.maximum(np.abs(nb[..., 2]), 1e-12)
            a = np.clip(r / sign_margin, 0.0, 1.0)[..., None]
            nb = bc + a * (nb - bc)
        chunk = pose[s: s + _CHUNK].astype(np.float64)
        for j, p in enumerate(par):
            if p >= 0:
                chunk[:, j] = chunk[:, p] + nb[:, j]
        out[s: s + _CHUNK] = chunk
    return out
