"""The named 2D error models (hotdemo.train.errors2d): each one's statistics, measured from samples."""

import numpy as np
import pytest

from hotdemo.core.errors import InputError
from hotdemo.train.augment import ARMS, JOINT_OFFSET, LEGS, AugmentConfig, person_size
from hotdemo.train.errors2d import (DESCENDANTS, ERROR_MODELS, apply_error_model, error_model_names,
                                    get_error_model)

H = 200.0  # person size in pixels of the test skeletons


def _still(B: int, T: int, seed: int = 0) -> np.ndarray:
    """(B, T, 17, 2) a person standing still: random joints in a box of side H at (300, 200)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (1, 1, 17, 2)) * H
    base[..., 0, :] = 0.0
    base[..., 1, :] = H  # the box's sides are exactly H
    return np.broadcast_to(base + [300.0, 200.0], (B, T, 17, 2)).copy()


def _moving(B: int, T: int) -> np.ndarray:
    """A person whose joints move on different sinusoids (nothing linear in time)."""
    t = np.arange(T)[None, :, None, None]
    j = np.arange(17)[None, None, :, None]
    c = np.arange(2)[None, None, None, :]
    return _still(B, T) + 20.0 * np.sin(0.13 * t * (1 + 0.1 * j) + c)


def _autocorr(e: np.ndarray, lag: int) -> float:
    """Autocorrelation at ``lag`` frames of (B, T, J, 2) errors, pooled."""
    a, b = e[:, :-lag], e[:, lag:]
    return float((a * b).mean() / (e * e).mean())


def test_the_registry_has_every_model_of_the_issue_and_rejects_unknown_names():
    for name in ("jitter", "drift-0.1s", "drift-0.5s", "drift-2s", "bias", "scale", "outliers", "swaps",
                 "dropouts", "truncation", "mixed"):
        assert name in ERROR_MODELS and ERROR_MODELS[name].doc
    assert error_model_names() == list(ERROR_MODELS)
    with pytest.raises(InputError, match="known: jitter, drift-0.1s"):
        get_error_model("drift")


def test_white_jitter_has_its_sigma_and_no_memory():
    x = _still(8, 500)
    e = apply_error_model("jitter", np.random.default_rng(0), x) - x
    assert e.std() == pytest.approx(0.01 * H, rel=0.03)
    assert abs(_autocorr(e, 1)) < 0.02


@pytest.mark.parametrize("name, tau", [("drift-0.1s", 0.1), ("drift-0.5s", 0.5), ("drift-2s", 2.0)])
def test_drift_has_its_correlation_time_and_size(name, tau):
    fps = 50.0
    T = int(200 * tau * fps)  # 200 correlation times per clip
    x = _still(4, T)
    e = apply_error_model(name, np.random.default_rng(1), x, fps=fps).astype(np.float64) - x
    lag = int(round(tau * fps))
    # the autocorrelation falls to 1/e after tau seconds, and not after half or twice that
    assert _autocorr(e, lag) == pytest.approx(np.exp(-1), abs=0.06)
    assert _autocorr(e, max(1, lag // 2)) > 0.5
    assert _autocorr(e, 2 * lag) < 0.22
    assert e.std() == pytest.approx(0.02 * H, rel=0.1)


def test_drift_time_scale_follows_the_frame_rate():
    x = _still(4, 3000)
    e25 = apply_error_model("drift-0.5s", np.random.default_rng(2), x, fps=25.0) - x
    e100 = apply_error_model("drift-0.5s", np.random.default_rng(2), x, fps=100.0) - x
    assert _autocorr(e25, 12) == pytest.approx(np.exp(-1), abs=0.07)
    assert _autocorr(e100, 50) == pytest.approx(np.exp(-1), abs=0.07)


def test_static_bias_is_constant_over_time_and_follows_the_joint_profile():
    x = _moving(400, 30)
    e = apply_error_model("bias", np.random.default_rng(3), x).astype(np.float64) - x
    assert np.allclose(e, e[:, :1], atol=1e-3)  # constant over frames
    per_joint = e[:, 0].std(axis=(0, 2))  # (17,) over clips
    expect = 0.015 * H * JOINT_OFFSET / JOINT_OFFSET.mean()
    assert np.allclose(per_joint, expect, rtol=0.2)
    assert per_joint[10] > 2 * per_joint[3]  # head offset larger than ankle offset


def test_scale_bias_scales_the_skeleton_about_its_centre_by_one_factor_per_clip():
    x = _moving(300, 20)
    y = apply_error_model("scale", np.random.default_rng(4), x).astype(np.float64)
    c = x.mean(axis=2, keepdims=True)
    assert np.allclose(y.mean(axis=2, keepdims=True), c, atol=1e-3)
    f = (y - c)[..., 3, :] / (x - c)[..., 3, :]  # (B, T, 2) per-axis factor of one joint
    assert np.allclose(f, f[:, :1], atol=2e-3)  # the same in every frame (float32 output)
    log_sx, log_sy = np.log(f[:, 0, 0]), np.log(f[:, 0, 1])
    # log sx = log s + log a, log sy = log s - log a: each has std sqrt(2) * 0.05, and the
    # aspect part makes them differ
    assert np.std(log_sx) == pytest.approx(0.05 * np.sqrt(2), rel=0.2)
    assert np.std(log_sx - log_sy) == pytest.approx(2 * 0.05, rel=0.2)


def test_outliers_move_few_joints_far_for_one_frame():
    x = _still(20, 500)
    d = np.linalg.norm(apply_error_model("outliers", np.random.default_rng(5), x) - x, axis=-1)
    hit = d > 1e-3
    assert hit.mean() == pytest.approx(0.005, rel=0.15)
    assert d[hit].min() >= 0.1 * H - 1e-3 and d[hit].max() <= 0.4 * H + 1e-3


def test_swaps_exchange_left_and_right_legs_or_arms_for_short_runs():
    x = _moving(20, 400)
    y = apply_error_model("swaps", np.random.default_rng(6), x).astype(np.float64)
    changed = ~np.isclose(y, x, atol=1e-3).all(axis=-1)  # (B, T, J)
    legs = changed[..., list(LEGS)].any(-1)
    arms = changed[..., list(ARMS)].any(-1)
    assert legs.any() and arms.any()
    assert not changed[..., [0, 7, 8, 9, 10]].any()  # the centre line never moves
    # where the legs are swapped, each leg joint holds the other side's position exactly
    half = len(LEGS) // 2
    b, t = np.nonzero(legs)
    assert np.allclose(y[b, t][:, list(LEGS[:half])], x[b, t][:, list(LEGS[half:])], atol=1e-3)
    assert np.allclose(y[b, t][:, list(LEGS[half:])], x[b, t][:, list(LEGS[:half])], atol=1e-3)
    # runs are at most 10 frames long
    sw = legs | arms
    for clip in sw:
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, clip.astype(int), 0])))[::2]
        assert runs.max(initial=0) <= 20  # two runs may touch; one alone is at most 10
    assert 0.01 < sw.mean() < 0.05  # p 0.005 per frame, mean length 5.5


def test_dropouts_are_interpolated_and_take_the_limb_below_the_joint():
    x = _moving(10, 300)
    y = apply_error_model("dropouts", np.random.default_rng(7), x).astype(np.float64)
    changed = ~np.isclose(y, x, atol=1e-3).all(axis=-1)
    assert changed.mean() > 0.005
    assert not changed[..., 0].any()  # the root never drops out
    # every changed entry lies on the straight line between the nearest unchanged frames
    b, t, j = np.nonzero(changed)
    for bi, ti, ji in list(zip(b, t, j))[:200]:
        ok = np.flatnonzero(~changed[bi, :, ji])
        p, n = ok[ok < ti], ok[ok > ti]
        if len(p) == 0 or len(n) == 0:
            continue
        p, n = p[-1], n[0]
        w = (ti - p) / (n - p)
        assert np.allclose(y[bi, ti, ji], x[bi, p, ji] * (1 - w) + x[bi, n, ji] * w, atol=1e-2)
    # a dropped joint's children are dropped in the same frames (elbow -> wrist)
    assert np.all(changed[..., 16][changed[..., 15]])
    assert DESCENDANTS[15, 16] and not DESCENDANTS[16, 15]


def test_truncation_clamps_joints_to_a_border_inside_the_person_and_to_the_image():
    x = _moving(60, 50)
    size = np.tile([640.0, 420.0], (60, 1))
    y = apply_error_model("truncation", np.random.default_rng(8), x, image_size=size).astype(np.float64)
    assert (y >= 0).all() and (y[..., 0] <= 639).all() and (y[..., 1] <= 419).all()
    moved = ~np.isclose(y, x, atol=1e-3)
    assert moved.any(axis=(1, 2, 3)).all()  # every clip is cut (p_clip 1)
    for b in range(60):
        ax = int(np.argmax(moved[b].sum(axis=(0, 1))))
        vals = y[b, ..., ax][moved[b, ..., ax]]
        border = vals[0]
        assert np.allclose(vals, border, atol=1e-3)  # one border line per clip
        others = x[b, ..., ax][~moved[b, ..., ax]]
        # joints not moved lie on the inner side of the border
        below = (others <= border + 1e-3).all()  # clamped from above (bottom or right border)
        assert below or (others >= border - 1e-3).all()
        # the border lies cut = 0.1-0.35 of the median bounding box's side inside it
        lo, hi = np.median(x[b].min(axis=1), axis=0)[ax], np.median(x[b].max(axis=1), axis=0)[ax]
        cut = (hi - border) / (hi - lo) if below else (border - lo) / (hi - lo)
        assert 0.1 - 1e-4 <= cut <= 0.35 + 1e-4


def test_image_clamp_applies_to_a_person_leaving_the_picture():
    x = _still(1, 10) + [500.0, 0.0]  # the box reaches x = 1000 in a 900-wide image
    y = apply_error_model("truncation", np.random.default_rng(0), x, image_size=np.array([[900.0, 600.0]]),
                          p_clip=0.0)
    assert y[..., 0].max() == pytest.approx(899.0)
    assert np.allclose(y[x[..., 0] < 899], x[x[..., 0] < 899])


def test_mixed_is_reproducible_scales_with_severity_and_has_slow_errors():
    x = _moving(6, 1000)
    a = apply_error_model("mixed", np.random.default_rng(9), x)
    b = apply_error_model("mixed", np.random.default_rng(9), x)
    assert np.array_equal(a, b)
    e1 = np.median(np.abs(a - x))
    e2 = np.median(np.abs(apply_error_model("mixed", np.random.default_rng(9), x, severity=2.0) - x))
    assert e2 == pytest.approx(2 * e1, rel=0.15)
    assert np.abs(a - x).max() > 0.1 * H  # gross errors (outliers, swaps) are in it
    # without the rare events and the static part, the errors are correlated over half a
    # second: drift dominates the jitter (expected about 0.65 for the default sizes)
    smooth = apply_error_model("mixed", np.random.default_rng(9), x, p_outlier=0.0, p_swap=0.0, p_dropout=0.0,
                               p_truncation=0.0)
    e = (smooth - x).astype(np.float64)
    e = e - e.mean(axis=1, keepdims=True)
    assert 0.45 < _autocorr(e, 25) < 0.8


def test_training_applies_error_models_only_when_asked(tmp_path):
    from hotdemo.train.trainer import TrainConfig

    old = TrainConfig.from_dict({"augment": {"p_noise": 0.7}})  # a config written before the knob
    assert old.augment.p_error_model == 0.0
    with pytest.raises(InputError, match="unknown 2D error model"):
        AugmentConfig(p_error_model=0.5, error_model="mixed+wobble")
    assert person_size(_still(2, 3)) == pytest.approx([H, H])


# ----------------------------------------------------------------------------- evaluation settings
def test_parse_noise_takes_every_name_groups_and_lists():
    from hotdemo.train.evaluate import noise_names, parse_noise

    assert parse_noise("both") == ["clean", "noisy"]
    assert parse_noise("models") == error_model_names()
    assert parse_noise("all") == noise_names() == ["clean", "noisy"] + error_model_names()
    assert parse_noise("clean,mixed,clean") == ["clean", "mixed"]
    for name in noise_names():
        assert parse_noise(name) == [name]
    with pytest.raises(InputError, match="valid: clean, noisy, jitter.*mixed, both, models, all"):
        parse_noise("clean,wobble")


def test_both_clis_reject_an_unknown_noise_in_one_line_and_document_every_model(capsys):
    import re

    from typer.testing import CliRunner

    from hotdemo.cli import app
    from hotdemo.train.__main__ import main

    r = CliRunner().invoke(app, ["eval", "--noise", "wobble"])
    lines = [l for l in re.sub(r"\x1b\[[0-9;]*m", "", r.output).splitlines() if l.strip()]
    assert r.exit_code != 0 and len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert "drift-2s" in lines[0] and "mixed" in lines[0]
    assert main(["eval", "--noise", "drift"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown --noise 'drift'" in err[0] and "truncation" in err[0]
    # the help of both commands names every model (the lists are written out there)
    h1 = re.sub(r"\s+", " ", re.sub(r"\x1b\[[0-9;]*m", "", CliRunner().invoke(app, ["eval", "--help"], terminal_width=400).output))
    # python -m hotdemo.train eval --help: the same command, reached through the module's entry point
    from hotdemo.train.__main__ import main as train_main

    capsys.readouterr()
    try:
        train_main(["eval", "--help"])
    except SystemExit:
        pass
    h2 = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out).split())
    for name in error_model_names():
        assert name in h1 and name in h2, name


def test_evaluate_applies_the_named_model_seeded_per_sequence_and_camera(monkeypatch):
    """evaluate(noise=NAME) lifts corrupt_2d's pixels; each setting and camera has its own draws."""
    import hotdemo.train.evaluate  # noqa: F401 (the package exports a function of that name)
    import sys

    ev = sys.modules["hotdemo.train.evaluate"]

    px = _moving(1, 60)[0].astype(np.float32)
    a = ev.corrupt_2d("drift-2s", px, 0, 3, 1, 640, 480)
    assert np.array_equal(a, ev.corrupt_2d("drift-2s", px, 0, 3, 1, 640, 480))
    assert not np.allclose(a, ev.corrupt_2d("drift-2s", px, 0, 3, 2, 640, 480))
    assert not np.allclose(a - px, ev.corrupt_2d("drift-0.5s", px, 0, 3, 1, 640, 480) - px)
    assert np.array_equal(ev.corrupt_2d("clean", px, 0, 3, 1, 640, 480), px)
    assert ev.setting_label("noisy") == "detector-like 2D noise" and ev.setting_label("bias") == "2D errors: bias"
