"""The floor and the feet: the floor plane from the feet in contact, foot contacts per foot and
frame (height above the floor and horizontal speed), holding a foot in place during a contact
by moving the whole body (foot skate removed), and the foot skate left (a measure).
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from hotdemo.core.skeletons import H36M17

_ANKLES = (H36M17.index("left_ankle"), H36M17.index("right_ankle"))
#: foot contact: ankle at most this high above the floor (m) and at most this fast horizontally (m/s)
CONTACT_HEIGHT = 0.10
CONTACT_SPEED = 0.35


def _horizontal_speed(p: np.ndarray, fps: float, up: np.ndarray) -> np.ndarray:
    if len(p) < 2:
        return np.zeros(len(p))
    v = np.gradient(p, axis=0) * fps
    v = v - (v @ up)[:, None] * up
    return np.linalg.norm(v, axis=-1)


def fit_floor(feet: np.ndarray, up0: np.ndarray, *, min_spread: float = 0.6, max_tilt_deg: float = 20.0
              ) -> Tuple[np.ndarray, float, bool]:
    """(up (3,), floor offset: ``up . x = offset`` on the floor, whether the feet changed up) from
    foot points in contact (N, 3), camera frame. The plane's normal replaces ``up0`` when the
    points spread at least ``min_spread`` m in two directions and it is within ``max_tilt_deg``;
    when they spread along one line only (a walk across), ``up0`` is made perpendicular to it."""
    up = np.asarray(up0, np.float64) / np.linalg.norm(up0)
    feet = feet[np.isfinite(feet).all(-1)]
    if len(feet) < 3:
        return up, float(np.median(feet @ up)) if len(feet) else 0.0, False
    used = False
    c = feet.mean(0)
    q = feet - c
    evals, evecs = np.linalg.eigh(q.T @ q / len(q))
    if math.sqrt(max(evals[1], 0.0)) < min_spread / 2 <= math.sqrt(max(evals[2], 0.0)):
        # the feet trace a line (a walk across): the floor contains it, so up is perpendicular to it
        d = evecs[:, 2]
        u2 = up - (up @ d) * d
        if np.linalg.norm(u2) > 0.5:
            up, used = u2 / np.linalg.norm(u2), True
    elif math.sqrt(max(evals[1], 0.0)) >= min_spread / 2:
        n = evecs[:, 0]
        n = n if n @ up > 0 else -n
        # a robust refit: the points within 5 cm of the plane
        for _ in range(3):
            dist = (feet - c) @ n
            keep = np.abs(dist - np.median(dist)) < 0.05
            if keep.sum() < 3:
                break
            c = feet[keep].mean(0)
            qq = feet[keep] - c
            n2 = np.linalg.eigh(qq.T @ qq)[1][:, 0]
            n = n2 if n2 @ up > 0 else -n2
        if math.degrees(math.acos(np.clip(n @ up, -1, 1))) <= max_tilt_deg:
            up, used = n, True
    return up, float(np.median(feet @ up)), used


def contacts_of(feet_world: np.ndarray, fps: float, *, height: float = CONTACT_HEIGHT,
                speed: float = CONTACT_SPEED, min_frames: int = 3) -> np.ndarray:
    """(T, 2) bool: each foot (left, right ankle; (T, 2, 3) world, z up) on the floor and still:
    at most ``height`` above it and at most ``speed`` m/s horizontally, in runs of at least
    ``min_frames``; one-frame breaks closed."""
    T = len(feet_world)
    out = np.zeros((T, 2), bool)
    if T == 0:
        return out
    up = np.array([0.0, 0.0, 1.0])
    for k in range(2):
        p = feet_world[:, k]
        c = (p[:, 2] <= height) & (_horizontal_speed(p, fps, up) <= speed)
        for t in range(1, T - 1):  # close one-frame breaks
            if not c[t] and c[t - 1] and c[t + 1]:
                c[t] = True
        t = 0
        while t < T:  # drop runs shorter than min_frames
            if c[t]:
                e = t
                while e < T and c[e]:
                    e += 1
                if e - t < min_frames:
                    c[t:e] = False
                t = e
            else:
                t += 1
        out[:, k] = c
    return out


def remove_foot_skate(joints: np.ndarray, contacts: np.ndarray, *, sigma: float = 1.5) -> np.ndarray:
    """(T, 17, 3) world joints moved horizontally, as a whole, so that a foot in contact stays where
    its contact began: the offset ``D_t`` is the mean over the feet in contact of how far each has
    slid since its contact started (in corrected coordinates), held between contacts, smoothed
    with ``sigma`` frames. Heights are not changed."""
    from scipy.ndimage import gaussian_filter1d

    J = np.asarray(joints, np.float64)
    T = len(J)
    if T == 0 or not contacts.any():
        return J.copy()
    D = np.zeros((T, 2))
    anchor = [None, None]
    for t in range(T):
        prev = D[t - 1] if t else np.zeros(2)
        offs = []
        for k, a in enumerate(_ANKLES):
            if contacts[t, k]:
                if anchor[k] is None:
                    anchor[k] = J[t, a, :2] - prev
                offs.append(J[t, a, :2] - anchor[k])
            else:
                anchor[k] = None
        D[t] = np.mean(offs, axis=0) if offs else prev
    if T > 2 and sigma > 0:
        D = gaussian_filter1d(D, sigma, axis=0, mode="nearest")
    out = J.copy()
    out[..., :2] -= D[:, None]
    return out


def foot_skate_mm(joints_world: np.ndarray, contacts: np.ndarray) -> float:
    """Mean horizontal displacement (mm per frame) of the feet over frames where they are in
    contact in two consecutive frames; NaN without such frames."""
    J = np.asarray(joints_world, np.float64)
    steps = []
    for k, a in enumerate(_ANKLES):
        both = contacts[1:, k] & contacts[:-1, k]
        if both.any():
            d = np.linalg.norm(J[1:, a, :2] - J[:-1, a, :2], axis=-1)[both]
            steps.append(d)
    return float(np.concatenate(steps).mean() * 1000) if steps else float("nan")
