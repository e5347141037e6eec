"""Joint angles (--export angles): synthetic poses with known angles, continuity, files."""

import sys

import numpy as np
import pytest

from hotdemo.post.angles import ANGLE_NAMES, joint_angles, read_angles_csv, write_angles
from hotdemo.core.errors import HotdemoError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track3D, VideoInfo


def _d(deg):  # a unit vector in the sagittal (y, z) plane, ``deg`` forward from straight down
    a = np.radians(deg)
    return np.array([0.0, np.sin(a), -np.cos(a)])


def _rz(deg):
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])


def posed(knee=0.0, hip=0.0, elbow=0.0, abd=0.0, flex=0.0, lean=0.0, heading=0.0):
    """Human3.6M-17 world joints (17, 3) of a person with the given angles (degrees), facing the
    camera (world -y) turned ``heading`` degrees counter-clockwise; lean is forward."""
    J = np.zeros((17, 3))
    i = H36M17.index
    pel = np.array([0.0, 0.0, 1.0])
    up = np.array([0.0, np.sin(np.radians(lean)), np.cos(np.radians(lean))])  # trunk, leaning forward (+y)
    J[i("pelvis")] = pel
    for k, n in ((0.25, "spine"), (0.5, "thorax"), (0.6, "neck_nose"), (0.75, "head")):
        J[i(n)] = pel + k * up
    # the sagittal plane of the pelvis is tilted with the trunk: rotate local directions by lean about x
    c, s = np.cos(np.radians(lean)), np.sin(np.radians(lean))
    Rx = np.array([[1, 0, 0], [0, c, s], [0, -s, c]])  # maps straight-down to -up
    for side, sx in (("left", -1.0), ("right", 1.0)):
        h = pel + [0.13 * sx, 0, 0]
        J[i(f"{side}_hip")] = h
        J[i(f"{side}_knee")] = h + 0.45 * (Rx @ _d(hip))
        J[i(f"{side}_ankle")] = J[i(f"{side}_knee")] + 0.45 * (Rx @ _d(hip - knee))
        sh = J[i("thorax")] + [0.18 * sx, 0, 0]
        J[i(f"{side}_shoulder")] = sh
        a, f = np.radians(abd), np.radians(flex)
        arm = np.array([sx * np.sin(a) * np.cos(f), np.sin(f), -np.cos(a) * np.cos(f)])
        arm = Rx @ arm
        J[i(f"{side}_elbow")] = sh + 0.3 * arm
        # forearm: bend the elbow forward, in the plane of the arm and the trunk's forward
        fwd = Rx @ np.array([0.0, 1.0, 0.0])
        n = fwd - np.dot(fwd, arm) * arm
        n /= np.linalg.norm(n)
        e = np.radians(elbow)
        J[i(f"{side}_wrist")] = J[i(f"{side}_elbow")] + 0.25 * (np.cos(e) * arm + np.sin(e) * n)
    # facing -y: turn the +y-facing body by 180 degrees, then by the heading
    return (J - pel) @ _rz(180 + heading).T + pel


def _one(**kw):
    a = joint_angles(posed(**kw)[None])
    return {k: float(v[0]) for k, v in a.items()}


def test_known_leg_arm_and_trunk_angles():
    a = _one(knee=40, hip=30, elbow=60, abd=70, heading=25)
    for side in ("left", "right"):
        assert a[f"knee_flexion_{side}"] == pytest.approx(40, abs=1e-6)
        assert a[f"hip_flexion_{side}"] == pytest.approx(30, abs=1e-6)
        assert a[f"elbow_flexion_{side}"] == pytest.approx(60, abs=1e-6)
        assert a[f"shoulder_abduction_{side}"] == pytest.approx(70, abs=1e-6)
        assert a[f"shoulder_flexion_{side}"] == pytest.approx(0, abs=1e-6)
    assert a["trunk_lean"] == pytest.approx(0, abs=1e-6)
    assert a["pelvis_rotation"] == pytest.approx(25, abs=1e-6)
    assert a["shoulder_rotation"] == pytest.approx(25, abs=1e-6)
    assert a["trunk_twist"] == pytest.approx(0, abs=1e-6)


def test_signs_flexion_extension_and_lean():
    a = _one(flex=100, hip=-15)  # arms forward and up, thighs behind
    assert a["shoulder_flexion_left"] == pytest.approx(100, abs=1e-6)
    assert np.isnan(a["shoulder_abduction_right"])  # arm points along the frontal plane's normal
    assert _one(flex=60)["shoulder_abduction_right"] == pytest.approx(0, abs=1e-6)
    assert a["hip_flexion_right"] == pytest.approx(-15, abs=1e-6)
    a = _one(lean=20, heading=-60)  # the whole body tilted forward, thighs along the pelvis
    assert a["trunk_lean"] == pytest.approx(20, abs=1e-6)
    assert a["trunk_lean_forward"] == pytest.approx(20, abs=1e-6)
    assert a["trunk_lean_sideways"] == pytest.approx(0, abs=1e-6)
    assert a["hip_flexion_left"] == pytest.approx(0, abs=1e-6)  # thigh along the (tilted) pelvis
    assert a["pelvis_rotation"] == pytest.approx(-60, abs=1e-6)
    a = _one(abd=-10)  # arm across the body
    assert a["shoulder_abduction_left"] == pytest.approx(-10, abs=1e-6)


def test_angles_are_continuous_through_turns_and_overhead():
    T = 200
    heading = np.linspace(0, 720, T)  # two full turns to the left
    flex = np.linspace(150, 210, T)  # arms forward through overhead to behind the head
    J = np.stack([posed(heading=h, flex=f) for h, f in zip(heading, flex)])
    a = joint_angles(J)
    np.testing.assert_allclose(a["pelvis_rotation"], heading, atol=1e-6)  # no 360 jumps
    np.testing.assert_allclose(a["shoulder_flexion_right"], flex, atol=1e-6)  # 179 -> 181, not -179
    for k in ANGLE_NAMES:
        assert np.nanmax(np.abs(np.diff(a[k]))) < 10, k


def test_csv_and_plot_files(tmp_path):
    pytest.importorskip("matplotlib")
    T = 30
    J = np.stack([posed(knee=k) for k in np.linspace(0, 90, T)]).astype(np.float32)
    J[4] = np.nan
    t = Track3D(3, np.arange(10, 10 + T), J - J[:, :1], joints_world=J)
    info = VideoInfo("clip.mp4", 640, 360, 30.0, 40)
    paths = write_angles(tmp_path, "clip", info, [t])
    assert [p.name for p in paths] == ["clip_angles.csv", "clip_angles_track3.png"]
    c = read_angles_csv(paths[0])
    assert list(c)[:3] == ["frame", "time_s", "track_id"] and tuple(list(c)[3:]) == ANGLE_NAMES
    assert c["frame"].tolist() == list(range(10, 40)) and (c["track_id"] == 3).all()
    np.testing.assert_allclose(c["time_s"], np.arange(10, 40) / 30.0, atol=1e-4)
    expect = np.linspace(0, 90, T)
    expect[4] = np.nan
    np.testing.assert_allclose(c["knee_flexion_left"], expect, atol=0.01)
    png = paths[1].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_missing_matplotlib_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    J = posed()[None].astype(np.float32)
    t = Track3D(1, np.arange(1), J - J[:, :1], joints_world=J)
    with pytest.raises(HotdemoError, match=r"pip install 'hotdemo\[plot\]'"):
        write_angles(tmp_path, "clip", VideoInfo("c.mp4", 64, 64, 30.0, 1), [t])
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_limb_angles_restart_in_range_after_an_undefined_stretch():
    # the arm is raised sideways through overhead (100 -> 200 degrees of abduction, continuous),
    # then points straight forward (abduction undefined), then is raised sideways again from
    # the side: after the gap abduction restarts at 0, not shifted by 360 by the unwrapping
    flex = np.concatenate([np.zeros(40), np.full(10, 90.0), np.zeros(30)])
    abd = np.concatenate([np.linspace(100, 200, 40), np.zeros(10), np.linspace(0, 80, 30)])
    J = np.stack([posed(flex=f, abd=a) for f, a in zip(flex, abd)])
    a = joint_angles(J)["shoulder_abduction_right"]
    np.testing.assert_allclose(a[:40], abd[:40], atol=1e-6)
    assert np.isnan(a[40:50]).all()
    np.testing.assert_allclose(a[50:], abd[50:], atol=1e-6)
