"""Root trajectories in one floor frame: exact math on synthetic cameras, the focal length, a walk
across and a jump, feet contacts and skating, a moving camera noticed, and every export carrying it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo.cli import app
from hotdemo.core.synthetic import look_at, walking_h36m
from hotdemo.post.trajectory import (BackgroundMotion, contacts_of, fit_focal, fit_scene, focal_from_fov, foot_skate_mm,
                                joint_weights, remove_foot_skate, root_positions, w_mpjpe)

W, H, FPS = 1280, 720, 30.0


def camera(distance=6.0, tilt_deg=12.0):
    t = np.radians(tilt_deg)
    target = np.array([0.0, 0.0, 0.9])
    cam = target + distance * np.array([0.0, -np.cos(t), np.sin(t)])
    return look_at(cam, target), cam


def pinhole(Jc, f):
    return Jc[..., :2] / Jc[..., 2:3] * f + np.array([W, H]) / 2


def walk_across(T=150, speed=1.1, start=-2.5, jump=None):
    """H36M-17 world joints of someone walking along world x (facing +x), optionally jumping."""
    J = walking_h36m(T, FPS, radius=0.0, lap_s=1e9)
    J = J - J[:1, :1] * [1, 1, 0]
    J = J @ np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]]).T
    J[..., 0] += start + speed * np.arange(T)[:, None] / FPS
    if jump is not None:
        a, b = jump
        J[a:b, :, 2] += 0.3 * np.sin(np.linspace(0, np.pi, b - a))[:, None]
    return J


def test_the_root_is_exact_from_an_exact_pose_and_its_pinhole_projection():
    R, cam = camera()
    J = walk_across()
    Jc = (J - cam) @ R
    f = 1000.0
    kp = pinhole(Jc, f)
    w = joint_weights(kp, None, W, H)
    root, res = root_positions(Jc - Jc[:, :1], kp, w, W, H, f)
    assert np.abs(root - Jc[:, 0]).max() < 1e-6 and res.max() < 1e-6
    # a wrong focal length: the depth scales with it, and the fit no longer reprojects exactly
    root2, res2 = root_positions(Jc - Jc[:, :1], kp, w, W, H, 1.2 * f)
    assert np.median(res2) > 0.05 and abs(np.median(root2[:, 2] / Jc[:, 0, 2]) - 1.2) < 0.05


def test_the_focal_length_is_found_from_the_perspective_of_the_body():
    R, cam = camera(distance=4.0)
    for f in (700.0, 1000.0, 1600.0):
        Jc = (walk_across() - cam) @ R
        kp = pinhole(Jc, f)
        got = fit_focal([Jc - Jc[:, :1]], [kp], [joint_weights(kp, None, W, H)], W, H)
        assert abs(got / f - 1) < 0.02, (f, got)


def test_truncated_and_unsure_joints_do_not_pull_the_root():
    R, cam = camera(distance=3.0)
    Jc = (walk_across(start=-0.8, speed=0.5) - cam) @ R  # in the picture all along
    f, Hc = 1000.0, 380  # a frame that cuts the person at the shins
    kp = Jc[..., :2] / Jc[..., 2:3] * f + np.array([W, Hc]) / 2
    assert (kp[:, [3, 6], 1] > Hc).all() and (kp[:, [2, 5], 1] < Hc - 20).all()
    kp[..., 1] = np.minimum(kp[..., 1], Hc - 1)  # a 2D model puts the cut-off ankles at the border
    scores = np.full(kp.shape[:2], 0.9)
    scores[:, 13] = 0.1  # an unsure wrist, wrong by 80 px
    kp[:, 13] += 80
    w = joint_weights(kp, scores, W, Hc)
    assert (w[:, [3, 6, 13]] == 0).all()
    root, _ = root_positions(Jc - Jc[:, :1], kp, w, W, Hc, f)
    naive, _ = root_positions(Jc - Jc[:, :1], kp, np.ones_like(w), W, Hc, f, iterations=0)
    err = np.linalg.norm(root - Jc[:, 0], axis=-1)
    assert err.max() < 0.01 and np.linalg.norm(naive - Jc[:, 0], axis=-1).mean() > 0.05  # 7 cm for all joints


def test_a_walk_across_moves_on_the_floor_and_a_jump_rises():
    R, cam = camera()
    J = walk_across(jump=(60, 80))
    Jc = (J - cam) @ R
    kp = pinhole(Jc, 1000.0)
    # the synthetic gait's feet slide (its stride does not match its speed): geometry without the skate fix
    (p,), sc = fit_scene([Jc - Jc[:, :1]], [kp], [None], W, H, FPS, skate=False)
    assert abs(sc.focal_px / 1000.0 - 1) < 0.02 and sc.focal_source == "fitted"
    pel = p.joints_world[:, 0]
    assert abs((pel[-1, 0] - pel[0, 0]) - (J[-1, 0, 0] - J[0, 0, 0])) < 0.05  # walked 4.5 m along x
    # the pelvis height follows the truth (its bob included), not snapped to the floor; offset: the
    # floor is put at the ankles in contact (hotdemo's convention), the truth's are a few cm above it
    off = pel[:55, 2] - J[:55, 0, 2]
    assert np.ptp(off) < 0.02 and abs(off.mean() + J[:55, [3, 6], 2].min(1).mean()) < 0.05
    assert pel[70, 2] - pel[50, 2] > 0.25  # the jump rises
    assert np.abs(sc.rotation[2] - R.T @ [0, 0, 1]).max() < 0.02  # up: the true one
    assert w_mpjpe(p.joints_world.astype(np.float64), J, 100)[1] < 30
    # the camera maps the fitted camera-frame roots onto the world ones
    np.testing.assert_allclose(p.root_cam @ sc.rotation.T + sc.translation, pel, atol=0.02)


def test_two_people_share_one_focal_length_and_keep_their_distance():
    R, cam = camera()
    A, B = walk_across(start=-2.5), walk_across(start=0.5, speed=-0.8)
    B[..., 1] += 2.0  # two metres further away
    poses, kps = [], []
    for J in (A, B):
        Jc = (J - cam) @ R
        poses.append(Jc - Jc[:, :1])
        kps.append(pinhole(Jc, 900.0))
    (pa, pb), sc = fit_scene(poses, kps, [None, None], W, H, FPS, skate=False)
    assert abs(sc.focal_px / 900.0 - 1) < 0.02
    d = pb.joints_world[:, 0, :2] - pa.joints_world[:, 0, :2]
    np.testing.assert_allclose(d, B[:, 0, :2] - A[:, 0, :2], atol=0.08)


def test_contacts_and_foot_skating():
    T = 60
    J = np.zeros((T, 17, 3))
    J[..., 2] = 0.5
    J[:, 6] = [0.0, 0.0, 0.02]  # left ankle planted
    J[:, 3, 0] = np.linspace(0, 1.5, T)  # right ankle swinging forward, off the floor
    J[:, 3, 2] = 0.3
    c = contacts_of(J[:, [6, 3]], FPS)
    assert c[:, 0].all() and not c[:, 1].any()
    slid = J.copy()
    slid[:, :, 0] += np.linspace(0, 0.3, T)[:, None]  # the whole body (and the planted foot) slides 30 cm
    assert foot_skate_mm(slid, c) > 4.0
    fixed = remove_foot_skate(slid, c, sigma=0)
    assert foot_skate_mm(fixed, c) < 0.1
    np.testing.assert_allclose(fixed[..., 2], slid[..., 2])  # heights untouched
    np.testing.assert_allclose(fixed - fixed[:, :1], slid - slid[:, :1], atol=1e-9)  # the pose untouched


def test_a_moving_camera_is_noticed_and_a_static_one_is_not():
    rng = np.random.default_rng(0)
    texture = (rng.random((400, 900, 3)) * 255).astype(np.uint8)
    import cv2

    texture = cv2.GaussianBlur(texture, (0, 0), 2)
    static, panning = BackgroundMotion(), BackgroundMotion()
    for i in range(60):
        person = np.array([[100 + 3 * i, 100, 160 + 3 * i, 300]], np.float32)  # a person walking: masked out
        frame = texture[:360, :640].copy()
        frame[100:300, 100 + 3 * i:160 + 3 * i] = 255
        static.add(i, frame, person)
        panning.add(i, np.ascontiguousarray(texture[:360, 4 * i:4 * i + 640]), np.zeros((0, 4)))
    assert not static.moving() and panning.moving()
    assert "of" in panning.summary()


def _cli(args):
    r = CliRunner().invoke(app, args)
    return r, re.sub(r"\x1b\[[0-9;]*m", "", r.output)


@pytest.fixture()
def walk_npz(tmp_path):
    """A plain 2D keypoints NPZ (COCO-17) of the walk across, for hotdemo lift."""
    from hotdemo.core.synthetic import h36m_to_coco_world

    R, cam = camera()
    coco = (h36m_to_coco_world(walk_across()) - cam) @ R
    kp = pinhole(coco, 1000.0).astype(np.float32)
    p = tmp_path / "walk.npz"
    np.savez(p, keypoints=kp, scores=np.full(kp.shape[:2], 0.9, np.float32), width=W, height=H, fps=FPS,
             joint_format="coco17")
    return p


def test_every_export_carries_the_trajectory(tmp_path, walk_npz):
    from hotdemo.io.formats.bvh import read_bvh
    from hotdemo.io.formats.csv_file import read_csv
    from hotdemo.io.formats.keypoints import load_export

    out = tmp_path / "o"
    r, text = _cli(["lift", str(walk_npz), "-o", str(out), "--export", "json,npz,csv,bvh,trc,gltf", "--fov", "65"])
    assert r.exit_code == 0, text
    doc = json.loads((out / "walk.json").read_text())
    cam = doc["camera"]
    assert cam["focal_source"] == "fov" and abs(cam["focal_px"] - focal_from_fov(65, W)) < 1e-6
    p3 = doc["tracks"][0]["pose_3d"]
    assert len(p3["root_world"]) == len(p3["frames"]) and len(p3["contacts"][0]) == 2
    assert p3["root_world"][-1][0] - p3["root_world"][0][0] > 3.0  # walked across
    d = load_export(out / "walk.npz")
    t3 = d.tracks3d[0]
    assert t3.root_cam is not None and t3.contacts is not None and t3.contacts.dtype == bool
    np.testing.assert_allclose(t3.joints_world[:, 0], np.asarray(p3["root_world"]), atol=1e-3)
    csv = read_csv(out / "walk.csv")
    ank = (csv["skeleton"] == "h36m17") & np.isin(csv["joint"], ["left_ankle", "right_ankle"])
    assert np.isin(csv["contact"][ank], [0, 1]).all() and np.isnan(csv["contact"][~ank]).all()
    bvh = read_bvh(next(out.glob("*.bvh")))
    assert bvh.motion[-1, 0] - bvh.motion[0, 0] > 3.0  # the root's Xposition moves
    trc = next(out.glob("*.trc")).read_text().splitlines()
    assert len(trc) > 10


def test_trajectory_none_keeps_people_in_place(tmp_path, walk_npz):
    r, text = _cli(["lift", str(walk_npz), "-o", str(tmp_path / "o"), "--export", "json", "--trajectory", "none"])
    assert r.exit_code == 0, text
    doc = json.loads((tmp_path / "o" / "walk.json").read_text())
    p3 = doc["tracks"][0]["pose_3d"]
    assert doc["camera"] is None and p3["root_world"] is None and p3["contacts"] is None
    jw = np.asarray(p3["joints_world"])
    assert np.abs(jw[:, 0, :2]).max() < 1e-6  # in place
    r, text = _cli(["lift", str(walk_npz), "-o", str(tmp_path / "p"), "--trajectory", "sideways"])
    assert r.exit_code == 2 and text.startswith("error: unknown --trajectory 'sideways'")
