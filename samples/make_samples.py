"""Make the small sample inputs in samples/ (our own synthetic data, no third-party content).

    python samples/make_samples.py

writes ``samples/walk_coco2d.npz``: a procedurally animated person walking in a circle, seen by a
pinhole camera, as COCO-17 2D keypoints in pixels — the plain-NPZ input of ``hotdemo lift``:

    keypoints (T, 17, 2) float32 pixels, scores (T, 17) float32, width, height, fps, joint_format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FPS = 30.0
T = 300  # 10 s: longer than one 243-frame window, so window blending is exercised
W, H = 1280, 720


def walking_coco3d(t: np.ndarray) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) in metres, world frame z up, of a person walking a 3 m circle."""
    n = len(t)
    phase = 2 * np.pi * 0.9 * t  # steps per second / 2
    heading = 2 * np.pi * t / 10.0  # one lap in 10 s
    pelvis = np.stack([1.5 * np.sin(heading), 1.5 - 1.5 * np.cos(heading), 0.95 + 0.02 * np.cos(2 * phase)], -1)
    fwd = np.stack([np.cos(heading), np.sin(heading), np.zeros(n)], -1)
    left = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], -1)
    up = np.array([0.0, 0.0, 1.0])

    def limb(root, swing, bend, l1, l2, bend_sign):
        # thigh/upper arm swings forward by `swing`, shin/forearm bends by `bend`
        d1 = -np.cos(swing)[:, None] * up + np.sin(swing)[:, None] * fwd
        a2 = swing + bend_sign * bend
        d2 = -np.cos(a2)[:, None] * up + np.sin(a2)[:, None] * fwd
        mid = root + l1 * d1
        return mid, mid + l2 * d2

    j = np.zeros((n, 17, 3))
    hip_w, sh_w = 0.11, 0.19
    lhip, rhip = pelvis + hip_w * left, pelvis - hip_w * left
    neck = pelvis + 0.52 * up
    lsh, rsh = neck + sh_w * left - 0.03 * up, neck - sh_w * left - 0.03 * up
    head = neck + 0.2 * up + 0.04 * fwd
    swing = 0.45 * np.sin(phase)
    knee_bend = 0.6 * np.clip(np.sin(phase + np.pi / 2), 0, None)
    lknee, lankle = limb(lhip, swing, knee_bend, 0.45, 0.44, -1)
    rknee, rankle = limb(rhip, -swing, 0.6 * np.clip(np.sin(phase - np.pi / 2), 0, None), 0.45, 0.44, -1)
    lelb, lwri = limb(lsh, -0.6 * swing, 0.3 + 0.2 * np.sin(phase), 0.28, 0.26, 1)
    relb, rwri = limb(rsh, 0.6 * swing, 0.3 - 0.2 * np.sin(phase), 0.28, 0.26, 1)
    j[:, 0] = head + 0.09 * fwd - 0.03 * up
    j[:, 1], j[:, 2] = head + 0.07 * fwd + 0.035 * left, head + 0.07 * fwd - 0.035 * left
    j[:, 3], j[:, 4] = head + 0.075 * left, head - 0.075 * left
    j[:, 5], j[:, 6], j[:, 7], j[:, 8], j[:, 9], j[:, 10] = lsh, rsh, lelb, relb, lwri, rwri
    j[:, 11], j[:, 12], j[:, 13], j[:, 14], j[:, 15], j[:, 16] = lhip, rhip, lknee, rknee, lankle, rankle
    return j


def project(X: np.ndarray, cam_pos, look_at, f: float) -> np.ndarray:
    """Pinhole projection of world points (..., 3) to pixels (..., 2); camera x right, y down, z forward."""
    z = np.asarray(look_at, float) - cam_pos
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    Xc = (X - cam_pos) @ np.stack([x, y, z], 1)
    return f * Xc[..., :2] / Xc[..., 2:3] + np.array([W / 2, H / 2])


def main() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(T) / FPS
    j3 = walking_coco3d(t)
    kp = project(j3, cam_pos=np.array([0.0, -5.0, 1.6]), look_at=[0.0, 1.5, 0.9], f=1100.0)
    kp += rng.normal(0, 1.0, kp.shape)  # a detector's pixel jitter
    scores = np.clip(rng.normal(0.85, 0.08, kp.shape[:2]), 0.05, 1.0)
    out = Path(__file__).resolve().parent / "walk_coco2d.npz"
    np.savez_compressed(
        out, keypoints=kp.astype(np.float32), scores=scores.astype(np.float32),
        width=W, height=H, fps=FPS, joint_format="coco17",
    )
    print(f"wrote {out} ({T} frames, {W}x{H}, {FPS} fps)")


if __name__ == "__main__":
    main()
