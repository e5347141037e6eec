"""Procedural Human3.6M-17 motion and a pinhole camera, for tests, benchmarks and demos.

No data files: a rigid skeleton (constant bone lengths) walking along a circle, built by
forward kinematics with swinging, bending and turning limbs, then seen by a tilted camera.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from hotdemo.core.skeletons import COCO17, H36M17
from hotdemo.core.types import Track2D, Track3D, VideoInfo


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def walking_h36m(T: int = 120, fps: float = 30.0, *, radius: float = 1.5, lap_s: float = 12.0,
                 centre: Tuple[float, float] = (0.0, 0.0), phase0: float = 0.0, stride: float = 1.0) -> np.ndarray:
    """(T, 17, 3) float64 Human3.6M-17 joints, metres, world frame z up, walking a circle.

    Local body axes: x = the person's right, y = forward, z = up. Constant bone lengths.
    ``stride`` scales the limb swing (0: standing in place, limbs still, ``radius=0`` to stay).
    """
    t = np.arange(T) / fps + phase0
    step = 2 * np.pi * 0.9 * t
    heading = 2 * np.pi * t / lap_s  # yaw of the body's forward axis
    pelvis = np.stack([centre[0] + radius * np.cos(heading), centre[1] + radius * np.sin(heading),
                       0.93 + 0.02 * np.cos(2 * step)], -1)
    # facing along the circle's tangent: forward = (-sin, cos) -> yaw = heading
    Rp = _rot_z(heading) @ _rot_y(0.06 * np.sin(step)) @ _rot_x(0.05 * np.sin(2 * step))
    Rs = Rp @ _rot_x(0.04 * np.sin(2 * step)) @ _rot_z(0.15 * np.sin(step))

    def apply(R, v):
        return np.einsum("tij,j->ti", R, np.asarray(v, float))

    def leg(hip, side, swing, bend):
        R1 = Rp @ _rot_x(swing) @ _rot_y(side * 0.05)
        knee = hip + apply(R1, [0, 0, -0.45])
        R2 = R1 @ _rot_x(-bend)
        return knee, knee + apply(R2, [0, 0, -0.44])

    def arm(sh, side, swing, bend, twist):
        R1 = Rs @ _rot_x(swing) @ _rot_y(side * (0.15 + 0.05 * np.sin(step))) @ _rot_z(twist)
        elbow = sh + apply(R1, [0, 0, -0.28])
        R2 = R1 @ _rot_x(bend)
        return elbow, elbow + apply(R2, [0, 0, -0.25])

    J = np.zeros((T, 17, 3))
    I = H36M17.index
    swing = 0.45 * stride * np.sin(step)
    rhip, lhip = pelvis + apply(Rp, [0.13, 0, 0]), pelvis + apply(Rp, [-0.13, 0, 0])
    rknee, rank = leg(rhip, 1, -swing, 0.15 + 0.55 * stride * np.clip(np.sin(step - np.pi / 2), 0, None))
    lknee, lank = leg(lhip, -1, swing, 0.15 + 0.55 * stride * np.clip(np.sin(step + np.pi / 2), 0, None))
    spine = pelvis + apply(Rs, [0, 0.0, 0.23])
    thorax = spine + apply(Rs, [0, 0.0, 0.25])
    neck = thorax + apply(Rs, [0, 0.06, 0.10])
    head = neck + apply(Rs, [0, -0.02, 0.12])
    rsh, lsh = thorax + apply(Rs, [0.16, 0, -0.02]), thorax + apply(Rs, [-0.16, 0, -0.02])
    relb, rwri = arm(rsh, 1, 0.5 * swing, 0.4 + 0.25 * np.sin(step), 0.3 * np.sin(step))
    lelb, lwri = arm(lsh, -1, -0.5 * swing, 0.4 - 0.25 * np.sin(step), -0.3 * np.sin(step))
    for name, v in [("pelvis", pelvis), ("right_hip", rhip), ("right_knee", rknee), ("right_ankle", rank),
                    ("left_hip", lhip), ("left_knee", lknee), ("left_ankle", lank), ("spine", spine),
                    ("thorax", thorax), ("neck_nose", neck), ("head", head), ("left_shoulder", lsh),
                    ("left_elbow", lelb), ("left_wrist", lwri), ("right_shoulder", rsh), ("right_elbow", relb),
                    ("right_wrist", rwri)]:
        J[:, I(name)] = v
    return J


def h36m_to_coco_world(J: np.ndarray) -> np.ndarray:
    """Approximate COCO-17 3D joints (..., 17, 3) from Human3.6M-17 ones (for synthetic 2D)."""
    H, C = H36M17.index, COCO17.index
    out = np.zeros(J.shape[:-2] + (17, 3))
    for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        out[..., C(n), :] = J[..., H(n), :]
    head, neck = J[..., H("head"), :], J[..., H("neck_nose"), :]
    lat = J[..., H("left_shoulder"), :] - J[..., H("right_shoulder"), :]
    lat = lat / np.linalg.norm(lat, axis=-1, keepdims=True)
    fwd = neck - J[..., H("thorax"), :]
    fwd = fwd - (fwd * lat).sum(-1, keepdims=True) * lat
    fwd[..., 2] = 0
    fwd = fwd / np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-9)
    face = 0.5 * (head + neck)
    out[..., C("nose"), :] = face + 0.09 * fwd
    out[..., C("left_eye"), :] = face + 0.07 * fwd + 0.035 * lat + [0, 0, 0.03]
    out[..., C("right_eye"), :] = face + 0.07 * fwd - 0.035 * lat + [0, 0, 0.03]
    out[..., C("left_ear"), :] = face + 0.075 * lat
    out[..., C("right_ear"), :] = face - 0.075 * lat
    return out


def look_at(cam_pos, target) -> np.ndarray:
    """Camera->world rotation (3, 3) of a camera at ``cam_pos`` looking at ``target`` (z-up world),
    columns = camera x (right), y (down), z (forward) in world coordinates."""
    fwd = np.asarray(target, float) - np.asarray(cam_pos, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd], axis=1)


def project(Xw: np.ndarray, R_cw: np.ndarray, cam_pos, f: float, W: int, H: int) -> np.ndarray:
    """World points (..., 3) -> pixels (..., 2) with a pinhole camera (principal point at the centre)."""
    Xc = (np.asarray(Xw) - cam_pos) @ R_cw
    return f * Xc[..., :2] / Xc[..., 2:3] + np.array([W / 2.0, H / 2.0])


def synthetic_scene(n_people: int = 2, T: int = 90, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                    tilt_deg: float = 20.0, distance: float = 6.0, noise_px: float = 0.0, seed: int = 0
                    ) -> Tuple[VideoInfo, List[Track2D], List[Track3D], List[np.ndarray], np.ndarray]:
    """People walking circles seen by a camera tilted down by ``tilt_deg``.

    Returns ``(info, tracks2d (COCO-17 pixels), tracks3d (root-relative camera-frame joints, no
    world), world_truth (list of (T, 17, 3)), R_cw (3, 3) camera->world, columns = camera axes)``.
    """
    rng = np.random.default_rng(seed)
    tilt = np.radians(tilt_deg)
    target = np.array([0.0, 0.0, 0.9])
    cam_pos = target + distance * np.array([0.0, -np.cos(tilt), np.sin(tilt)])
    R = look_at(cam_pos, target)
    f = 0.87 * max(width, height)
    info = VideoInfo(path="synthetic.mp4", width=width, height=height, fps=fps, frame_count=T)
    t2, t3, truth = [], [], []
    for k in range(n_people):
        cx = (k - (n_people - 1) / 2) * 2.2
        Jw = walking_h36m(T, fps, radius=0.6, centre=(cx, 0.0), phase0=1.7 * k)
        coco = h36m_to_coco_world(Jw)
        kp = project(coco, R, cam_pos, f, width, height)
        kp = kp + rng.normal(0, noise_px, kp.shape) if noise_px else kp
        scores = np.clip(0.9 - 0.1 * rng.random((T, 17)), 0, 1)
        scores[:, COCO17.index("left_ear")] = 0.15  # one faded joint to exercise the drawing
        lo, hi = kp.min(axis=1), kp.max(axis=1)
        pad = 0.08 * (hi - lo)
        boxes = np.concatenate([lo - pad, hi + pad], axis=1)
        frames = np.arange(T)
        t2.append(Track2D(k + 1, frames, kp.astype(np.float32), scores.astype(np.float32), boxes.astype(np.float32)))
        Jc = (Jw - cam_pos) @ R
        t3.append(Track3D(k + 1, frames, (Jc - Jc[:, :1]).astype(np.float32)))
        truth.append(Jw)
    return info, t2, t3, truth, R


def depth_scene(T: int = 60, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                places: Tuple[Tuple[float, float], ...] = ((0.3, 0.0), (-6.0, 22.0), (5.0, 14.0))
                ) -> Tuple[VideoInfo, List[Track2D], List[Track3D]]:
    """People at very different distances (a near main person and far ones, as in broadcast
    sport), seen by a level camera 4 m behind the first place. Returns ``(info, tracks2d (COCO-17
    pixels), tracks3d (root-relative camera-frame joints, no world))``; track IDs 1, 2, ...
    """
    cam = np.array([0.0, -4.0, 1.5])
    R = look_at(cam, np.array([0.0, 0.0, 1.0]))
    f = 0.87 * max(width, height)
    info = VideoInfo(path="synthetic.mp4", width=width, height=height, fps=fps, frame_count=T)
    t2, t3 = [], []
    for k, (cx, cy) in enumerate(places):
        Jw = walking_h36m(T, fps, radius=0.4, centre=(cx, cy), phase0=1.3 * k)
        kp = project(h36m_to_coco_world(Jw), R, cam, f, width, height)
        lo, hi = kp.min(axis=1), kp.max(axis=1)
        pad = 0.08 * (hi - lo)
        t2.append(Track2D(k + 1, np.arange(T), kp.astype(np.float32), np.full((T, 17), 0.9, np.float32),
                          np.concatenate([lo - pad, hi + pad], axis=1).astype(np.float32)))
        Jc = (Jw - cam) @ R
        t3.append(Track3D(k + 1, np.arange(T), (Jc - Jc[:, :1]).astype(np.float32)))
    return info, t2, t3
