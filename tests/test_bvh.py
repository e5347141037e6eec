import numpy as np
import pytest

from hotdemo.io.formats.bvh import WORLD_TO_BVH, read_bvh, write_bvh
from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.synthetic import walking_h36m


def _walk(T=150):
    # a full turn in 5 s while walking: the root rotates, limbs swing, bend and twist
    return walking_h36m(T, 30.0, radius=1.5, lap_s=5.0)


def test_forward_kinematics_of_the_file_reproduces_the_motion(tmp_path):
    J = _walk()
    path = write_bvh(tmp_path / "walk.bvh", J, 30.0)
    bvh = read_bvh(path)
    assert bvh.frame_time == pytest.approx(1 / 30.0, abs=1e-7)
    assert bvh.motion.shape[0] == len(J)
    P = bvh.h36m_world()
    err = np.linalg.norm(P - J, axis=-1)
    assert err.max() < 0.01  # 1 cm per joint (it is ~1e-5 m)
    # the motion really moves: root travels, limbs rotate relative to their parents
    assert np.ptp(J[:, 0, :2], axis=0).max() > 2.0
    rot_cols = bvh.motion[:, 3:]
    assert (np.ptp(rot_cols, axis=0) > 10).sum() > 10


def test_bvh_axes_are_y_up_metres(tmp_path):
    J = _walk(30)
    bvh = read_bvh(write_bvh(tmp_path / "a.bvh", J, 25.0))
    pos, _ = bvh.forward_kinematics()
    pelvis = pos[:, bvh.names.index("pelvis")]
    assert np.allclose(pelvis[:, 1], J[:, 0, 2], atol=1e-4)  # BVH Y = world z (up)
    assert np.allclose(pelvis[:, 2], -J[:, 0, 1], atol=1e-4)  # BVH Z = -world y
    assert np.allclose(WORLD_TO_BVH @ WORLD_TO_BVH.T, np.eye(3)) and np.linalg.det(WORLD_TO_BVH) == 1
    # rest pose: T-pose, legs down, left side +X, head up; lengths are the clip's bones
    off = {j.name: j.offset for j in bvh.joints}
    assert off["left_hip"][0] > 0 and off["right_hip"][0] < 0
    assert off["left_knee"][1] == pytest.approx(-0.45, abs=1e-5)
    assert off["left_elbow"][0] == pytest.approx(0.28, abs=1e-5)
    assert off["spine"][1] > 0


def test_non_rigid_poses_keep_every_bone_direction(tmp_path):
    rng = np.random.default_rng(0)
    J = _walk(60) + rng.normal(0, 0.01, (60, 17, 3))  # lifted poses are not rigid
    P = read_bvh(write_bvh(tmp_path / "n.bvh", J, 30.0)).h36m_world()
    par = np.array(H36M17.parents)
    d_in = J[:, 1:] - J[:, par[1:]]
    d_out = P[:, 1:] - P[:, par[1:]]
    cos = (d_in * d_out).sum(-1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.1
    # lengths are the medians: constant per bone in the file
    L = np.linalg.norm(d_out, axis=-1)
    assert np.ptp(L, axis=0).max() < 1e-4
    assert np.allclose(L[0], np.median(np.linalg.norm(d_in, axis=-1), axis=0), atol=1e-4)


def test_gaps_and_missing_frames_are_filled(tmp_path):
    J = _walk(20)
    frames = np.r_[np.arange(10, 20), np.arange(25, 35)]
    J[3] = np.nan
    bvh = read_bvh(write_bvh(tmp_path / "g.bvh", J, 30.0, frames=frames))
    assert bvh.motion.shape[0] == 35 - 10  # one line per video frame, first to last
    P = bvh.h36m_world()
    assert np.isfinite(P).all()
    assert np.allclose(P[3], P[2], atol=1e-4)  # NaN frame held from the previous one
    assert np.allclose(P[frames[-1] - 10], J[-1], atol=1e-3)


def test_reader_rejects_malformed_files(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n}\n"
                   "MOTION\nFrames: 2\nFrame Time: 0.1\n1 2 3\n")
    with pytest.raises(InputError, match="malformed"):
        read_bvh(bad)
    (tmp_path / "x.bvh").write_text("not a bvh")
    with pytest.raises(InputError):
        read_bvh(tmp_path / "x.bvh")
