"""The camera and each person's root: the focal length (given or fitted) and the root position
per frame in the camera frame, from a static camera.

The lifter gives root-relative 3D poses in the camera frame. With a pinhole camera (principal
point at the image centre, focal length ``f`` pixels) the root's position follows from the pose
and its 2D keypoints: for joint ``j`` with root-relative position ``X_j`` and pixel ``u_j``,

    u_j - c = f (X_j,xy + R_xy) / (X_j,z + R_z)
    =>  f R_x - (u_j,x - c_x) R_z = (u_j,x - c_x) X_j,z - f X_j,x      (and the same in y)

which is linear in the root ``R`` (:func:`root_positions`: weighted least squares per frame,
with confident joints only, none near the image border (truncation), and a robust reweighting).
:func:`fit_focal` picks the ``f`` whose root fits reproject the poses best; :func:`smooth_root`
smooths the roots without lag. :func:`hotdemo.post.trajectory.fit_scene` puts it together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from hotdemo.core.skeletons import H36M17

#: default horizontal field of view (degrees) for the focal-length prior and when nothing is known
DEFAULT_FOV_DEG = 60.0
#: horizontal fields of view (degrees) the fitted focal length may have: from a long zoom to a wide
#: action camera (a fit outside them comes from 2D errors, not from the lens)
FOV_RANGE = (25.0, 100.0)
#: a joint closer than this fraction of the image size to its border is not used (truncation)
BORDER = 0.01
MIN_SCORE = 0.3
#: joints the 2D stage builds from other COCO joints (spine, thorax, neck, head: hotdemo.core.skeletons.coco_to_h36m)
#: and the lifter places by its own convention: they do not take part in the root fit
_BUILT = tuple(H36M17.index(n) for n in ("spine", "thorax", "neck_nose", "head"))


@dataclass(frozen=True)
class SceneCamera:
    """The fitted camera of a clip. ``rotation`` (3, 3) and ``translation`` (3,) map camera to world:
    ``X_world = rotation @ X_cam + translation`` (metres; the camera centre is at ``translation``).
    ``focal_source``: "fov" (given), "metadata" (the video's) or "fitted"."""

    focal_px: float
    width: int
    height: int
    rotation: np.ndarray
    translation: np.ndarray
    focal_source: str = "fitted"

    @property
    def fov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / (2 * self.focal_px)))

    def to_dict(self) -> dict:
        return {"focal_px": float(self.focal_px), "fov_deg": round(self.fov_deg, 2), "width": int(self.width),
                "height": int(self.height), "principal_point": [self.width / 2, self.height / 2],
                "rotation_cam_to_world": np.asarray(self.rotation, float).round(6).tolist(),
                "translation": np.asarray(self.translation, float).round(5).tolist(),
                "focal_source": self.focal_source}


def focal_from_fov(fov_deg: float, width: float) -> float:
    """Horizontal field of view (degrees) -> focal length in pixels."""
    if not 1.0 <= fov_deg <= 179.0:
        raise ValueError(f"the field of view must be in [1, 179] degrees, got {fov_deg}")
    return float(width / (2 * math.tan(math.radians(fov_deg) / 2)))


def focal_from_35mm(f35: float, width: float, height: float) -> float:
    """35 mm-equivalent focal length (mm, on the 43.27 mm diagonal) -> pixels of this image."""
    return float(f35 * math.hypot(width, height) / 43.27)


# ---------------------------------------------------------------- root per frame
def joint_weights(kp: np.ndarray, scores: Optional[np.ndarray], width: float, height: float) -> np.ndarray:
    """(T, J) weights: the score where it is >= MIN_SCORE, 0 for joints within BORDER of the image's
    edge or outside it (a truncated person's joints pile up there), 0 for non-finite ones and for
    the joints the 2D stage builds (:data:`_BUILT`)."""
    kp = np.asarray(kp, np.float64)
    w = np.ones(kp.shape[:2]) if scores is None else np.where(np.asarray(scores) >= MIN_SCORE, scores, 0.0)
    m = BORDER * max(width, height)
    inside = (kp[..., 0] > m) & (kp[..., 0] < width - m) & (kp[..., 1] > m) & (kp[..., 1] < height - m)
    w = np.where(inside & np.isfinite(kp).all(-1), w, 0.0)
    if w.shape[1] == 17:
        w[:, list(_BUILT)] = 0.0
    return w


def root_positions(pose: np.ndarray, kp: np.ndarray, weights: np.ndarray, width: float, height: float,
                   focal: float, *, min_joints: int = 6, iterations: int = 2) -> Tuple[np.ndarray, np.ndarray]:
    """(root (T, 3) camera frame metres, NaN where fewer than ``min_joints`` joints count; rms
    reprojection residual (T,) pixels) by weighted least squares (module docstring), with
    ``iterations`` robust reweightings (Cauchy, scale 3 x the frame's median residual)."""
    X = np.asarray(pose, np.float64)
    d = np.asarray(kp, np.float64) - np.array([width, height]) / 2.0
    T, J = X.shape[:2]
    w = np.asarray(weights, np.float64).copy()
    w[~np.isfinite(d).all(-1)] = 0.0
    d = np.nan_to_num(d)
    f = float(focal)
    # rows: [f, 0, -dx] R = dx Xz - f Xx ; [0, f, -dy] R = dy Xz - f Xy
    A = np.zeros((T, J, 2, 3))
    A[..., 0, 0] = f
    A[..., 1, 1] = f
    A[..., 0, 2] = -d[..., 0]
    A[..., 1, 2] = -d[..., 1]
    b = np.stack([d[..., 0] * X[..., 2] - f * X[..., 0], d[..., 1] * X[..., 2] - f * X[..., 1]], -1)
    root = np.full((T, 3), np.nan)
    res = np.full(T, np.nan)
    ww = w.copy()
    for it in range(iterations + 1):
        Aw = A * ww[..., None, None]
        M = np.einsum("tjki,tjkl->til", Aw, A) + 1e-9 * np.eye(3)
        v = np.einsum("tjki,tjk->ti", Aw, b)
        R = np.linalg.solve(M, v[..., None])[..., 0]
        P = X + R[:, None]
        z = np.maximum(P[..., 2], 1e-3)
        err = np.linalg.norm(d - f * P[..., :2] / z[..., None], axis=-1)  # (T, J) pixels
        if it < iterations:
            med = np.array([np.median(e[m > 0]) if (m > 0).any() else 1.0 for e, m in zip(err, w)])
            s = 3.0 * np.maximum(med, 0.5)[:, None]
            ww = w / (1.0 + (err / s) ** 2)
    ok = ((w > 0).sum(1) >= min_joints) & (R[:, 2] > 0.2)
    root[ok] = R[ok]
    wsum = np.maximum(w.sum(1), 1e-9)
    res[ok] = np.sqrt((w * err ** 2).sum(1) / wsum)[ok]
    return root, res


def fit_focal(poses: Sequence[np.ndarray], kps: Sequence[np.ndarray], weights: Sequence[np.ndarray],
              width: float, height: float, *, prior_fov: float = DEFAULT_FOV_DEG, max_frames: int = 300,
              flat: float = 1.03) -> float:
    """One focal length (pixels) for every person of a clip: the ``f`` whose root fits reproject the
    poses best, the mean squared residual relative to each person's 2D size over their frames (the
    worst 10 % of frames left out), searched over the horizontal fields of view of :data:`FOV_RANGE`.
    Where that cost hardly changes with ``f`` (the best under ``flat`` x the worst: people far away
    show no perspective), the focal length of ``prior_fov``. Up to ``max_frames`` frames a person."""
    f0 = focal_from_fov(prior_fov, width)
    subs = []
    for X, u, w in zip(poses, kps, weights):
        if not len(X):
            continue
        idx = np.linspace(0, len(X) - 1, min(len(X), max_frames)).astype(int)
        uu = np.where(w[idx, :, None] > 0, u[idx], np.nan)
        seen = np.isfinite(uu).any(axis=(1, 2))
        size = float(np.median(np.nanmax(uu[seen], 1) - np.nanmin(uu[seen], 1), axis=0).max()) if seen.any() else 1.0
        subs.append((X[idx], u[idx], w[idx], max(size, 1.0)))
    if not subs:
        return f0

    def cost(f: float) -> float:
        tot, n = 0.0, 0
        for X, u, w, size in subs:
            _, res = root_positions(X, u, w, width, height, f, iterations=1)
            r = np.sort((res[np.isfinite(res)] / size) ** 2)
            r = r[: max(1, int(0.9 * len(r)))] if len(r) else r
            tot += float(r.sum())
            n += len(r)
        return tot / max(n, 1)

    lo_f, hi_f = focal_from_fov(FOV_RANGE[1], width), focal_from_fov(FOV_RANGE[0], width)
    grid = np.exp(np.linspace(math.log(lo_f), math.log(hi_f), 25))
    costs = np.array([cost(f) for f in grid])
    if not np.isfinite(costs).all() or costs.min() <= 0 or costs.max() < flat * costs.min():
        return f0
    k = int(np.argmin(costs))
    lo, hi = math.log(grid[max(k - 1, 0)]), math.log(grid[min(k + 1, len(grid) - 1)])
    for _ in range(14):  # golden-section refinement around the best grid point
        a, b = lo + 0.382 * (hi - lo), lo + 0.618 * (hi - lo)
        if cost(math.exp(a)) < cost(math.exp(b)):
            hi = b
        else:
            lo = a
    return float(math.exp((lo + hi) / 2))


def _interp_nan(x: np.ndarray) -> np.ndarray:
    """Fill NaN rows of (T, D) by linear interpolation in time (held at the ends)."""
    x = np.array(x, np.float64)
    ok = np.isfinite(x).all(-1)
    if ok.all() or not ok.any():
        return x
    t = np.arange(len(x))
    for k in range(x.shape[1]):
        x[~ok, k] = np.interp(t[~ok], t[ok], x[ok, k])
    return x


def smooth_root(root: np.ndarray, fps: float, *, ray_sigma_s: float = 0.03, depth_sigma_s: float = 0.15
                ) -> np.ndarray:
    """Zero-phase smoothing of root positions (T, 3): the viewing ray ``R_xy / R_z`` with sigma
    ``ray_sigma_s`` seconds (the 2D pins it), the depth (median over 5 frames, then Gaussian) with
    ``depth_sigma_s`` (depth from the body's size is noisier); NaN frames interpolated first."""
    from scipy.ndimage import gaussian_filter1d, median_filter

    R = _interp_nan(root)
    if not np.isfinite(R).all():
        return R
    z = np.log(np.maximum(R[:, 2], 1e-3))
    ray = R[:, :2] / np.exp(z)[:, None]
    fps = float(fps or 25.0)
    if len(R) >= 5:
        z = median_filter(z, size=5, mode="nearest")
    z = gaussian_filter1d(z, max(depth_sigma_s * fps, 1e-3), mode="nearest")
    ray = gaussian_filter1d(ray, max(ray_sigma_s * fps, 1e-3), axis=0, mode="nearest")
    zz = np.exp(z)
    return np.concatenate([ray * zz[:, None], zz[:, None]], -1)
