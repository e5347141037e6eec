"""--smooth none|gaussian|one-euro: the filters, their options and the pipeline's use of them."""

import numpy as np
import pytest

from hotdemo.core.errors import InputError
from hotdemo.post.smooth import check_smooth, one_euro, smooth_joints


def _jitter(x):
    return float(np.abs(np.diff(x, 2, axis=0)).mean())


def _lag(y, ref, fps):
    """Delay (frames) of y behind ref, from the best integer shift."""
    errs = [np.abs(y[s:] - ref[: len(ref) - s]).mean() for s in range(0, 15)]
    return int(np.argmin(errs))


def test_check_smooth_names_defaults_and_errors():
    assert check_smooth("gaussian") == ("gaussian", 1.0)
    assert check_smooth("One_Euro", 0.5) == ("one-euro", 0.5)
    assert check_smooth("none")[0] == "none"
    with pytest.raises(InputError, match="none, gaussian, one-euro"):
        check_smooth("kalman")
    with pytest.raises(InputError, match="positive"):
        check_smooth("one-euro", 0)


def test_one_euro_smooths_slow_motion_and_follows_fast_motion():
    fps = 50.0
    t = np.arange(400) / fps
    rng = np.random.default_rng(0)
    slow = 0.3 * np.sin(2 * np.pi * 0.3 * t)
    noisy = slow + rng.normal(0, 0.01, len(t))
    y = one_euro(noisy[:, None], fps, min_cutoff=1.0)[:, 0]
    assert _jitter(y) < 0.25 * _jitter(noisy)  # jitter removed
    assert np.abs(y - slow)[50:].max() < 0.1  # follows the motion (with some lag at 1 Hz)
    assert np.array_equal(one_euro(np.ones((10, 3)), fps), np.ones((10, 3)))  # constant stays
    # a fast ramp (2 m/s): the speed term raises the cut-off, so the lag is smaller than with beta = 0
    ramp = 2.0 * t
    lag_adaptive = _lag(one_euro(ramp[:, None], fps, 1.0)[:, 0], ramp, fps)
    lag_fixed = _lag(one_euro(ramp[:, None], fps, 1.0, beta=0.0)[:, 0], ramp, fps)
    assert lag_adaptive < lag_fixed and lag_adaptive <= 3


def test_smooth_joints_methods():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(0, 0.01, (100, 17, 3)), axis=0).astype(np.float32)
    assert np.array_equal(smooth_joints(x, "none", None, 30.0), x)
    g = smooth_joints(x, "gaussian", 2.0, 30.0)
    e = smooth_joints(x, "one-euro", 1.0, 30.0)
    assert g.shape == e.shape == x.shape and g.dtype == np.float32
    assert _jitter(g) < 0.5 * _jitter(x) and _jitter(e) < 0.8 * _jitter(x)


def test_gaussian_lives_here_and_the_dispatcher_runs_it():
    from hotdemo.post.smooth import gaussian_smooth

    x = np.cumsum(np.random.default_rng(2).normal(0, 0.01, (60, 17, 3)), axis=0).astype(np.float32)
    g = gaussian_smooth(x, 1.5)
    assert g.dtype == np.float32 and _jitter(g) < 0.5 * _jitter(x)
    np.testing.assert_array_equal(smooth_joints(x, "gaussian", 1.5, 30.0), g)
    assert gaussian_smooth(x, 0) is x


def test_post_settings_take_the_smoothing_as_the_lifter_did():
    from hotdemo.post.refine import PostSettings

    assert PostSettings().smooth_sigma == 1.0 and PostSettings.from_options(smooth=2.5).smooth_sigma == 2.5
    assert PostSettings.from_options(smooth=False).smooth_method == "none"
    assert PostSettings.from_options(smooth="one-euro").smooth_param == 2.0
    s = PostSettings()
    s.smooth_sigma = 0.0
    assert s.smooth_method == "none" and s.smooth_sigma == 0.0
    s.smooth_sigma = 3.0
    assert (s.smooth_method, s.smooth_param) == ("gaussian", 3.0)
    with pytest.raises(InputError):
        PostSettings(smooth_method="kalman")


def test_pipeline_applies_the_chosen_filter(tmp_path, monkeypatch):
    import hotdemo.lift.lifter
    from hotdemo.pipeline import PipelineConfig, _load_lifter, _post_settings, lift_keypoints_file
    from hotdemo.core.synthetic import synthetic_scene

    # the post step gets the Gaussian's sigma, and no Gaussian for none / one-euro
    for method, param, expect in (("gaussian", None, 1.0), ("gaussian", 2.5, 2.5), ("none", None, 0.0),
                                  ("one-euro", 2.0, 0.0)):
        assert _post_settings(PipelineConfig(smooth_method=method, smooth_param=param)).smooth_sigma == expect
    assert _post_settings(PipelineConfig(smooth=False)).smooth_method == "none"  # lift --no-smooth
    with pytest.raises(InputError):  # a bad filter fails before the lifter is loaded
        _load_lifter(PipelineConfig(smooth_method="kalman"), "cpu")

    # one-euro runs after the lifter, at the clip's frame rate
    info, t2, _, _, _ = synthetic_scene(1, 60, noise_px=3.0)
    np.savez(tmp_path / "k.npz", keypoints=t2[0].keypoints, scores=t2[0].scores, width=info.width,
             height=info.height, fps=30.0)
    lifter = hotdemo.lift.lifter.load_lifter(None, device="cpu")  # the shipped weights
    out = {}
    for method in ("none", "one-euro"):
        cfg = PipelineConfig(device="cpu", smooth_method=method, smooth_param=2.0, exports=("npz",))
        r = lift_keypoints_file(tmp_path / "k.npz", tmp_path / method, cfg, lifter=lifter)
        out[method] = np.load(r.outputs[0])["joints_3d_camera"]
    assert _jitter(out["one-euro"]) < 0.95 * _jitter(out["none"])  # the walk itself accelerates a lot
    assert np.abs(out["one-euro"][:, 0]).max() == 0  # still root-relative
