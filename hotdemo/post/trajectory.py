"""People who move: every person's root trajectory in one world frame, from a static camera.

The lifter gives root-relative 3D poses in the camera frame; with a pinhole camera the root's
position follows from the pose and its 2D keypoints, linearly (:mod:`hotdemo.post.roots`).

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

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from hotdemo.post.floor import (_ANKLES, CONTACT_HEIGHT, CONTACT_SPEED, contacts_of, fit_floor,  # noqa: F401
                                foot_skate_mm, remove_foot_skate)
from hotdemo.post.roots import (BORDER, DEFAULT_FOV_DEG, FOV_RANGE, MIN_SCORE, SceneCamera, fit_focal,  # noqa: F401
                                focal_from_35mm, focal_from_fov, joint_weights, root_positions, smooth_root)


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
