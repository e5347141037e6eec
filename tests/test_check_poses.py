"""tools/check_poses.py: the figures that the model card quotes for real videos (seams at window
borders, body size, uprightness) come out of an NPZ export as they should."""

import importlib.util
import subprocess
import sys

import numpy as np

from hotdemo.lift.lifter import window_starts
from hotdemo.core.paths import REPO_DIR

_spec = importlib.util.spec_from_file_location("check_poses", REPO_DIR / "tools" / "check_poses.py")
check_poses = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_poses)


def _standing(T, rng):
    """(T, 17, 3) camera-frame poses (y down) of a person standing still, and their world poses (z up)."""
    cam = np.zeros((T, 17, 3), np.float32)
    cam[:, 10, 1] = -0.7  # head 0.7 m above the pelvis
    cam[:, 1:10, 1] = np.linspace(0.4, -0.6, 9)
    cam += rng.normal(0, 0.002, cam.shape).astype(np.float32)
    cam[:, 0] = 0
    world = np.stack([cam[..., 0], cam[..., 2], -cam[..., 1]], axis=-1)
    return cam, world


def test_border_steps_are_the_window_edges():
    T, F = 100, 27
    mask = check_poses.border_frames(T, F, True)
    starts, _ = window_starts(T, F, True)
    assert mask.shape == (T - 1,)
    for s in starts[1:]:
        assert mask[s - 1]  # the step into a later window's first frame
    assert not mask[0] and mask.sum() <= 2 * len(starts)


def test_a_seam_shows_at_the_borders_only(tmp_path):
    rng = np.random.default_rng(0)
    T, F = 120, 27
    cam, world = _standing(T, rng)
    frames = np.arange(T)
    clean = check_poses.track_figures(frames, cam, world, F, True)
    assert 0.68 < clean["head_pelvis_m_median"] < 0.72 and clean["upright_fraction"] == 1.0
    starts, _ = window_starts(T, F, True)
    seamy = cam.copy()
    seamy[starts[2]:] += np.array([0.0, 0.0, 0.05], np.float32)  # a 5 cm jump entering window 2
    seamy[:, 0] = 0
    fig = check_poses.track_figures(frames, seamy, world, F, True)
    assert fig["max_step_mm_border"] > 40 and fig["max_step_mm_elsewhere"] < 20
    assert clean["max_step_mm_border"] < 20
    around, k = fig["steps_mm_around_max_border"], fig["max_border_step_index_in_steps_around"]
    assert fig["max_border_step_frame"] == starts[2] - 1 and around[k] > 40  # the jump itself ...
    assert len(around) == 7 and max(around[:k] + around[k + 1:]) < 20  # ... stands alone among its neighbours
    # the command line reads a hotdemo NPZ export's tables
    upside_down = world * np.array([1, 1, -1], np.float32)
    np.savez(tmp_path / "x.npz", track_ids=np.array([3, 4]), track_id_3d=np.repeat([3, 4], T),
             frames_3d=np.concatenate([frames, frames[::-1]]), joints_3d_camera=np.concatenate([cam, cam[::-1]]),
             joints_3d_world=np.concatenate([world, upside_down[::-1]]))
    r = subprocess.run([sys.executable, str(REPO_DIR / "tools" / "check_poses.py"), str(tmp_path / "x.npz"),
                        "--frames", str(F), "--json", str(tmp_path / "c.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "track 3:" in r.stdout and "upright 100 %" in r.stdout and "upright 0 %" in r.stdout
    assert "steps around the largest border step" in r.stdout
    r = subprocess.run([sys.executable, str(REPO_DIR / "tools" / "check_poses.py"), str(tmp_path / "nope.npz"),
                        "--frames", "27"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: no such file") and "Traceback" not in r.stderr
    (tmp_path / "text.npz").write_text("not an archive")
    np.savez(tmp_path / "other.npz", keypoints=np.zeros((3, 17, 2)))  # an NPZ, but not an export
    for bad in ("text.npz", "other.npz"):
        r = subprocess.run([sys.executable, str(REPO_DIR / "tools" / "check_poses.py"), str(tmp_path / bad),
                            "--frames", "27"], capture_output=True, text=True)
        assert r.returncode == 2 and "not a hotdemo NPZ export" in r.stderr and "Traceback" not in r.stderr
