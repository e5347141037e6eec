import numpy as np
import pytest

from hotdemo.core.skeletons import H36M17
from hotdemo.core.synthetic import look_at, synthetic_scene, walking_h36m
from hotdemo.core.types import Track2D, Track3D
from hotdemo.post.world import LEVEL_CAMERA, estimate_world_rotation, to_world

ANKLES = [H36M17.index("left_ankle"), H36M17.index("right_ankle")]


def _angle(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def _camera(tilt_deg, roll_deg):
    """Camera->world rotation (columns = camera axes) tilted down and rolled about its axis."""
    tilt = np.radians(tilt_deg)
    R = look_at([0, -5 * np.cos(tilt), 1 + 5 * np.sin(tilt)], [0, 0, 1.0])
    r = np.radians(roll_deg)
    roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return R @ roll


def _to_cam(Jw, R_cw):
    Jc = Jw @ R_cw  # world -> camera rotation is R_cw^T
    return (Jc - Jc[:, :1]).astype(np.float32)


@pytest.mark.parametrize("tilt,roll", [(30, 0), (20, 12), (-10, -8), (55, 5)])
def test_standing_person_is_upright_from_a_tilted_camera(tilt, roll):
    Jw = walking_h36m(60, radius=0.0, stride=0.0, lap_s=1e9)
    R_cw = _camera(tilt, roll)
    t = Track3D(1, np.arange(60), _to_cam(Jw, R_cw))
    R = estimate_world_rotation([t])
    true_up_cam = R_cw.T @ [0, 0, 1.0]
    assert _angle(R[2], true_up_cam) < 3.0
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-9) and np.linalg.det(R) > 0
    # heading: world +y is the camera's forward direction on the floor
    fwd_floor = R_cw[:, 2] * [1, 1, 0]
    assert _angle(R_cw @ R[1], fwd_floor) < 3.0
    (tw,) = to_world([t], R)
    zw = tw.joints_world[..., 2]
    assert np.allclose(zw.min(axis=1), 0, atol=1e-6)  # lowest joint of every frame on the floor
    assert np.abs(tw.joints_world[:, ANKLES, 2]).max() < 0.03  # both feet on the floor
    head = tw.joints_world[:, H36M17.index("head")]
    pelvis = tw.joints_world[:, 0]
    assert _angle((head - pelvis).mean(0), [0, 0, 1]) < 4.0
    assert 1.4 < head[:, 2].mean() < 2.0


def test_walking_people_from_a_tilted_camera():
    info, t2, t3, truth, R_cw = synthetic_scene(2, 120, tilt_deg=25)
    R = estimate_world_rotation(t3)
    assert _angle(R[2], R_cw.T @ [0, 0, 1.0]) < 5.0
    out = to_world(t3, R, t2, info, min_separation=0.7)
    assert [t.track_id for t in out] == [1, 2]
    for t, t_in in zip(out, t3):
        assert t.joints_world.shape == t_in.joints_cam.shape and t.joints_world.dtype == np.float32
        # rotation only (plus a translation per frame): limb lengths are preserved
        a, b = t.joints_world, t_in.joints_cam
        assert np.allclose(np.linalg.norm(a[:, 3] - a[:, 2], axis=-1), np.linalg.norm(b[:, 3] - b[:, 2], axis=-1), atol=1e-5)
        assert np.allclose(a[..., 2].min(axis=1), 0, atol=1e-6)
    # person 1 is left of person 2 in the image: also left (smaller world x) in the scene
    p1, p2 = (t.joints_world[:, 0, :2].mean(0) for t in out)
    assert p1[0] < p2[0]
    assert np.linalg.norm(p1 - p2) >= 0.7 - 1e-6


def test_people_too_close_are_pushed_apart_and_unknown_positions_form_a_row():
    info, t2, t3, _, _ = synthetic_scene(3, 30)
    # all boxes at the same place: placement must still separate them
    same = [Track2D(t.track_id, t.frames, t2[0].keypoints, t.scores, t2[0].boxes) for t in t2]
    out = to_world(t3, estimate_world_rotation(t3), same, info, min_separation=0.8)
    pos = np.array([t.joints_world[:, 0, :2].mean(0) for t in out])
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)[np.triu_indices(3, 1)]
    assert d.min() >= 0.8 - 1e-3
    row = to_world(t3, estimate_world_rotation(t3))  # no 2D: a row along x, centred
    xs = np.array([t.joints_world[:, 0, 0].mean() for t in row])
    assert np.all(np.diff(xs) > 0.9) and abs(xs.mean()) < 1e-6


def test_clip_grounding_and_bad_arguments():
    Jw = walking_h36m(40)
    t = Track3D(1, np.arange(40), _to_cam(Jw, _camera(20, 0)))
    R = estimate_world_rotation([t])
    (tw,) = to_world([t], R, ground="clip")
    low = tw.joints_world[..., 2].min(axis=1)
    assert abs(np.percentile(low, 1)) < 1e-5 and low.max() > 0.005  # one shift for the clip: it bobs
    with pytest.raises(ValueError):
        to_world([t], R, ground="nope")


def test_no_pose_gives_level_camera():
    assert np.allclose(estimate_world_rotation([]), LEVEL_CAMERA)
    assert to_world([], LEVEL_CAMERA) == []
