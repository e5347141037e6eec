"""Camera geometry: quaternions, world <-> camera, projection with distortion, screen coordinates."""

import json

import numpy as np
import pytest

from hotdemo.core.camera import (camera_to_world, image_coordinates, load_cameras, normalize_screen_coordinates, project,
                            qrot, quat_to_matrix, world_to_camera)
from hotdemo.core.errors import InputError

# A camera 1 m above the floor at world (0, -5, 1) m, looking along world +y, upright:
# camera x = world x, camera y (down) = world -z, camera z (forward) = world +y.
# Camera-to-world rotation = rotation by -90 degrees about x: q = (cos -45deg, sin -45deg, 0, 0).
Q = np.array([np.cos(-np.pi / 4), np.sin(-np.pi / 4), 0.0, 0.0])
T = np.array([0.0, -5.0, 1.0])


def test_qrot_quarter_turn_about_z():
    q = np.array([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(qrot(q, np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-7)
    np.testing.assert_allclose(qrot(q, np.array([0.0, 1, 0])), [-1, 0, 0], atol=1e-7)


def test_world_to_camera_known_point():
    # world point (0.5, 0, 2): X - t = (0.5, 5, 1) -> camera (0.5 right, -1 = 1 m above, 5 ahead)
    x = world_to_camera(np.array([0.5, 0.0, 2.0]), Q, T)
    np.testing.assert_allclose(x, [0.5, -1.0, 5.0], atol=1e-6)
    # same as the explicit matrix R^T (X - t)
    R = quat_to_matrix(Q)
    np.testing.assert_allclose(x, R.T @ (np.array([0.5, 0.0, 2.0]) - T), atol=1e-6)


def test_camera_world_round_trip_batched():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(4, 1, 1, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    t = rng.normal(size=(4, 1, 1, 3))
    x = rng.normal(size=(4, 5, 17, 3))
    xc = world_to_camera(x, q, t)
    assert xc.shape == x.shape
    np.testing.assert_allclose(camera_to_world(xc, q, t), x, atol=1e-5)
    # rotation preserves distances between joints
    np.testing.assert_allclose(np.linalg.norm(xc[..., 1, :] - xc[..., 0, :], axis=-1),
                               np.linalg.norm(x[..., 1, :] - x[..., 0, :], axis=-1), rtol=1e-5)


def test_project_pinhole_known_point():
    px = project(np.array([0.5, -1.0, 5.0]), focal=[1000, 1000], center=[500, 400])
    np.testing.assert_allclose(px, [600.0, 200.0], atol=1e-4)


def test_project_with_distortion_known_point():
    # u = (0.1, -0.2), r2 = 0.05; radial 1 + 0.1 * 0.05 = 1.005
    x = np.array([0.5, -1.0, 5.0])
    np.testing.assert_allclose(project(x, [1000, 1000], [500, 400], radial=[0.1, 0, 0]), [600.5, 199.0], atol=1e-3)
    # tangential p = (0.01, 0.02): p.u = -0.003; u_d = u * 1.002 + p * r2 = (0.1007, -0.1994)
    np.testing.assert_allclose(project(x, [1000, 1000], [500, 400], radial=[0.1, 0, 0], tangential=[0.01, 0.02]),
                               [600.7, 200.6], atol=1e-3)


def test_project_broadcasts_per_clip_intrinsics():
    x = np.tile(np.array([0.5, -1.0, 5.0]), (2, 3, 17, 1))
    f = np.array([[1000.0, 1000.0], [2000.0, 2000.0]])[:, None, None]
    c = np.array([[500.0, 400.0], [0.0, 0.0]])[:, None, None]
    px = project(x, f, c)
    np.testing.assert_allclose(px[0, 0, 0], [600, 200], atol=1e-4)
    np.testing.assert_allclose(px[1, 2, 16], [200, -400], atol=1e-4)


def test_screen_normalisation_round_trip_and_corners():
    w, h = 1920.0, 1080.0
    corners = np.array([[0.0, 0.0], [w, h], [w / 2, h / 2]])
    n = normalize_screen_coordinates(corners, w, h)
    np.testing.assert_allclose(n, [[-1, -h / w], [1, h / w], [0, 0]], atol=1e-6)
    pts = np.random.default_rng(1).uniform(0, 2000, (3, 7, 17, 2))
    sizes_w = np.array([640.0, 1080.0, 1000.0])[:, None, None]
    sizes_h = np.array([480.0, 1920.0, 1002.0])[:, None, None]
    back = image_coordinates(normalize_screen_coordinates(pts, sizes_w, sizes_h), sizes_w, sizes_h)
    np.testing.assert_allclose(back, pts, rtol=1e-5, atol=1e-3)


def test_load_cameras_converts_mm_and_skips_empty(tmp_path):
    intr = {"id": "c0", "center": [500, 500], "focal_length": [1000, 1000], "radial_distortion": [0, 0, 0],
            "tangential_distortion": [0, 0], "res_w": 1000, "res_h": 1000}
    ext = {"orientation": list(Q), "translation": [0, -5000, 1000]}
    p = tmp_path / "cameras.json"
    p.write_text(json.dumps({"intrinsics": [intr] * 4, "extrinsics": {"S1": [ext] * 4, "S2": [{}] * 4}}))
    cams = load_cameras(p)
    assert list(cams) == ["S1"] and len(cams["S1"]) == 4
    c = cams["S1"][0]
    np.testing.assert_allclose(c.translation, T)
    np.testing.assert_allclose(c.project(c.world_to_camera(np.array([0.5, 0.0, 2.0]))), [600, 300], atol=1e-3)
    with pytest.raises(InputError):
        load_cameras(tmp_path / "missing.json")


@pytest.mark.shared
def test_real_cameras_see_subject_upright(shared):
    from hotdemo.train.data import load_motion

    cams = load_cameras(shared / "data" / "h36m" / "cameras.json")
    assert set(cams) >= {"S1", "S5", "S6", "S7", "S8", "S9", "S11"}
    data = load_motion(shared / "data" / "h36m" / "data_3d_h36m_expmap.npz")
    info = next(s for s in data.sequences if s.subject == "S9" and s.action == "Walking")
    world = data.sequence(info)[::50]
    for c in cams["S9"]:
        xc = c.world_to_camera(world)
        assert (xc[..., 2] > 1.0).all()  # in front of the camera
        px = c.project(xc)
        assert (px >= 0).all() and (px[..., 0] <= c.width).all() and (px[..., 1] <= c.height).all()
        # standing: head (10) above ankles (3, 6) in the image (y down)
        assert (px[:, 10, 1] < px[:, 3, 1]).all() and (px[:, 10, 1] < px[:, 6, 1]).all()
