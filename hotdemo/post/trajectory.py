"""People who move: every person's root trajectory in one world frame, from a static camera.

The lifter gives root-relative 3D poses in the camera frame. With a pinhole camera (principal
point at the image centre, focal length ``f`` pixels) the root's position follows from the pose
and its 2D keypoints: for joint ``j`` with root-relative position ``X_j`` and pixel ``u_j``,

    u_j - c = f (X_j,xy + R_xy) / (X_j,z + R_z)
    =>  f R_x - (u_j,x - c_x) R_z = (u_j,x - c_x) X_j,z - f X_j,x      (and the same in y)

which is linear in the root ``R`` (:func:`root_positions`: weighted least squares per frame,
with confident joints only, none near the image border (truncation), and a robust reweighting).

Pipeline of :func:`fit_scene` (all people of a clip together):

1. **Focal length**, one for the clip, shared by everybody: ``--fov`` if given, else the
   video's 35 mm-equivalent focal length where its metadata holds one, else fitted: the ``f``
   whose root fits reproject the poses best (over people and frames, robust), with a weak prior
   at a 60 degree horizontal field of view (:func:`fit_focal`).
2. **Root per frame** in the camera frame, smoothed without lag (zero-phase): the viewing ray
   lightly, the depth more (:func:`smooth_root`); frames without enough joints are interpolated.
3. **One floor for everybody**: up from the bodies (:func:`hotdemo.post.world.body_up`), replaced by
   the normal of the plane through the feet in contact when those spread over enough floor; the
   floor height from the feet in contact. World frame as :mod:`hotdemo.post.world` documents it: z up,
   floor z = 0, x = the camera's right on the floor, y = its viewing direction on the floor;
   origin below the people's mean root position over the clip. Height is not snapped per frame:
   a jump rises, a sitter sinks.
4. **Foot contacts** per foot and frame (height above the floor and horizontal speed), and during
   a contact the foot is held in place by moving the whole body (:func:`remove_foot_skate`).

Shapes: poses (T, 17, 3) metres root-relative camera frame (Human3.6M-17), keypoints (T, 17, 2)
pixels in the same joint order, scores (T, 17) in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from hotdemo.core.skeletons import H36M17

_ANKLES = (H36M17.index("left_ankle"), H36M17.index("right_ankle"))
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
#: foot contact: ankle at most this high above the floor (m) and at most this fast horizontally (m/s)
CONTACT_HEIGHT = 0.10
CONTACT_SPEED = 0.35


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


# ---------------------------------------------------------------- floor, world, contacts
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


@dataclass
class ScenePerson:
    """One person placed in the world: ``joints_world`` (T, 17, 3), ``root_cam`` (T, 3) camera-frame
    root, ``contacts`` (T, 2) bool (left, right foot), ``residual_px`` (T,) root-fit residual."""

    joints_world: np.ndarray
    root_cam: np.ndarray
    contacts: np.ndarray
    residual_px: np.ndarray = field(default_factory=lambda: np.zeros(0))


def fit_scene(poses: Sequence[np.ndarray], kps: Sequence[np.ndarray], scores: Sequence[Optional[np.ndarray]],
              width: float, height: float, fps: float, *, focal_px: Optional[float] = None,
              focal_source: str = "fitted", skate: bool = True) -> Tuple[List[ScenePerson], SceneCamera]:
    """Every person in one world frame (module docstring). ``focal_px`` given (``--fov``, metadata)
    or None (fitted). Returns the people in input order and the camera."""
    from hotdemo.post.world import body_up, rotation_from_up

    fps = float(fps or 25.0)
    weights = [joint_weights(u, s, width, height) for u, s in zip(kps, scores)]
    if focal_px is None:
        focal_px, focal_source = fit_focal(poses, kps, weights, width, height), "fitted"
    roots, resids = [], []
    for X, u, w in zip(poses, kps, weights):
        r, res = root_positions(X, u, w, width, height, focal_px)
        if not np.isfinite(r).any():  # no frame to fit: put them at a typical distance, centred
            r = np.tile([0.0, 0.0, 4.0], (len(X), 1))
        roots.append(smooth_root(r, fps))
        resids.append(res)
    absolute = [np.asarray(X, np.float64) + R[:, None] for X, R in zip(poses, roots)]
    stacked = np.concatenate([np.asarray(X, np.float64) for X in poses]) if poses else np.zeros((0, 17, 3))
    up = body_up(stacked) if len(stacked) else np.array([0.0, -1.0, 0.0])
    # feet in contact (first guess: the lower ankle of each frame, slow in 3D)
    feet = []
    for A in absolute:
        ank = A[:, list(_ANKLES)]  # (T, 2, 3)
        h = ank @ up
        low = ank[np.arange(len(A)), np.argmin(h, axis=1)]
        spd = np.linalg.norm(np.gradient(low, axis=0), axis=-1) * fps if len(low) > 1 else np.zeros(len(low))
        feet.append(low[spd < 0.5])
    feet_all = np.concatenate(feet) if feet else np.zeros((0, 3))
    up, floor, _ = fit_floor(feet_all, up)
    R = rotation_from_up(up)
    # world: z up with the floor at 0; origin below the people's mean root over the clip
    mean_root = np.concatenate(roots).mean(0) if roots else np.zeros(3)
    t = -(R @ mean_root)
    t[2] = -floor  # R's last row is up: z = up . x - floor, 0 on the floor
    people = []
    for A, Rt, res in zip(absolute, roots, resids):
        W = A @ R.T + t
        feet_w = W[:, list(_ANKLES)]
        c = contacts_of(feet_w, fps)
        if skate:
            W = remove_foot_skate(W, c)
        people.append(ScenePerson(W.astype(np.float32), Rt.astype(np.float32), c, res.astype(np.float32)))
    cam = SceneCamera(float(focal_px), int(width), int(height), R, t, focal_source)
    return people, cam


# ---------------------------------------------------------------- measures (benchmarks, tests)
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


def _rigid_fit(pred: np.ndarray, gt: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, mean of pred, mean of gt): ``(x - mp) @ R + mg`` is the rotation + translation (no scale)
    that best fits the points ``pred`` (..., 3) to ``gt`` (Kabsch)."""
    P, G = pred.reshape(-1, 3), gt.reshape(-1, 3)
    mp, mg = P.mean(0), G.mean(0)
    U, _, Vt = np.linalg.svd((P - mp).T @ (G - mg))
    S = np.eye(3)
    S[2, 2] = np.sign(np.linalg.det(U @ Vt))
    return U @ S @ Vt, mp, mg


def rigid_align(pred: np.ndarray, gt: np.ndarray, fit_on: Optional[slice] = None) -> np.ndarray:
    """``pred`` (T, ..., 3) moved by the rotation + translation (no scale) that best fits
    ``pred[fit_on]`` to ``gt[fit_on]`` (default: all of it)."""
    s = slice(None) if fit_on is None else fit_on
    Rm, mp, mg = _rigid_fit(pred[s], gt[s])
    return ((pred.reshape(-1, 3) - mp) @ Rm + mg).reshape(pred.shape)


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, segment: int = 100) -> Tuple[float, float]:
    """(W-MPJPE, WA-MPJPE) in mm over ``segment``-frame segments of world joints (T, J, 3): each
    segment aligned rigidly on its first two frames (W) or on the whole segment (WA), as the EMDB
    protocol of WHAM / GVHMR."""
    w, wa, n = 0.0, 0.0, 0
    for s in range(0, len(pred) - segment + 1, segment):
        p, g = pred[s:s + segment], gt[s:s + segment]
        w += np.linalg.norm(rigid_align(p, g, fit_on=slice(0, 2)) - g, axis=-1).mean()
        wa += np.linalg.norm(rigid_align(p, g) - g, axis=-1).mean()
        n += 1
    return (w / n * 1000, wa / n * 1000) if n else (float("nan"), float("nan"))


__all__ = ["SceneCamera", "ScenePerson", "fit_scene", "root_positions", "fit_focal", "smooth_root", "fit_floor",
           "contacts_of", "remove_foot_skate", "foot_skate_mm", "w_mpjpe", "rigid_align", "focal_from_fov",
           "focal_from_35mm", "joint_weights"]


# ---------------------------------------------------------------- a moving camera
class BackgroundMotion:
    """Notices a moving camera (pan, handheld) from the background: every ``every``-th frame,
    corners outside the people's boxes are tracked (OpenCV pyramidal Lucas-Kanade, on a copy
    ``width`` pixels wide) to the next such frame; a pair whose median corner motion exceeds
    ``threshold`` of the image width per frame counts as moving. :meth:`moving` is True when more
    than ``fraction`` of the pairs moved (a single camera cut or a passing crowd does not)."""

    def __init__(self, every: int = 3, width: int = 320, threshold: float = 0.003, fraction: float = 0.1):
        self.every, self.width, self.threshold, self.fraction = int(every), int(width), float(threshold), float(fraction)
        self._prev = None  # (gray, points, frame index)
        self.pairs = 0
        self.moved = 0

    def add(self, index: int, frame_rgb: np.ndarray, boxes: np.ndarray) -> None:
        import cv2

        if index % self.every:
            return
        h, w = frame_rgb.shape[:2]
        s = self.width / float(w)
        gray = cv2.cvtColor(cv2.resize(frame_rgb, (self.width, max(2, int(round(h * s))))), cv2.COLOR_RGB2GRAY)
        mask = np.full(gray.shape, 255, np.uint8)
        for b in np.asarray(boxes, np.float64).reshape(-1, 4) * s:
            x1, y1, x2, y2 = (int(round(v)) for v in b)
            mask[max(y1 - 4, 0):max(y2 + 4, 0), max(x1 - 4, 0):max(x2 + 4, 0)] = 0
        if self._prev is not None:
            pg, pts, pi = self._prev
            if pts is not None and len(pts) >= 8:
                nxt, st, _ = cv2.calcOpticalFlowPyrLK(pg, gray, pts, None, winSize=(15, 15), maxLevel=2)
                ok = st.reshape(-1) == 1
                if ok.sum() >= 8:
                    # Ignore points that moved into a person's box now.
                    motion = np.median(np.linalg.norm((nxt - pts).reshape(-1, 2)[ok], axis=1))
                    self.pairs += 1
                    if motion / self.width / max(index - pi, 1) > self.threshold:
                        self.moved += 1
        pts = cv2.goodFeaturesToTrack(gray, maxCorners=150, qualityLevel=0.01, minDistance=7, mask=mask)
        self._prev = (gray, pts, index)

    def moving(self) -> bool:
        return self.pairs >= 3 and self.moved > self.fraction * self.pairs

    def summary(self) -> str:
        return f"the background moved in {self.moved} of {self.pairs} sampled frame pairs"
