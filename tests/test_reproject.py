"""hotdemo.post.reproject: the pinhole fit, the alignment to the 2D, the jitter and bias estimates, and
how the post step after the lifter (hotdemo.post.refine) uses them."""

import numpy as np
import pytest

from hotdemo.post import reproject as R

W, H = 1000.0, 1000.0


def _scene(T=200, seed=0, focal=1150.0):
    """Root-relative poses (T, 17, 3) metres moving smoothly, pelvis 4-5 m away, and their exact
    pinhole pixels (principal point at the image centre)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.3, (17, 3))
    base[0] = 0
    t = np.arange(T)[:, None, None] / 50.0
    rel = base[None] + 0.1 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6, (1, 17, 3)))
    rel[:, 0] = 0
    root = np.stack([0.3 * np.sin(t[:, 0, 0]), 0.1 + 0 * t[:, 0, 0], 4.5 + 0.5 * np.cos(t[:, 0, 0])], -1)
    cam = rel + root[:, None]
    px = focal * cam[..., :2] / cam[..., 2:3] + np.array([W, H]) / 2
    return rel, root, px, focal


def test_fit_camera_recovers_depth_over_focal_and_the_focal_length():
    rel, root, px, f = _scene()
    a, b = R.fit_camera(rel, px, W, H)
    np.testing.assert_allclose(a, root[:, 2] / f, rtol=1e-6)
    assert b == pytest.approx(1 / f, rel=1e-6)
    np.testing.assert_allclose(R.image_plane(rel, px, W, H, a, b), rel[..., :2], atol=1e-9)


def test_align_to_2d_restores_the_image_plane_from_exact_2d():
    rel, _, px, _ = _scene(seed=1)
    rng = np.random.default_rng(2)
    wrong = rel.copy()
    wrong[..., :2] += rng.normal(0, 0.02, wrong[..., :2].shape) + 0.01  # the lifter's x, y errors
    wrong[:, 0] = 0
    fixed = R.align_to_2d(wrong, px, W, H, np.ones(17), median_frames=1, sigma=0)
    assert np.abs(fixed - rel).mean() < 0.25 * np.abs(wrong - rel).mean()  # 1.9 against 11.3 mm
    np.testing.assert_array_equal(fixed[..., 2], wrong[..., 2])  # depths kept
    # weight 0 changes nothing; the root offset of a non-root-relative pose is kept
    same = R.align_to_2d(wrong + 0.5, px, W, H, np.zeros(17))
    np.testing.assert_allclose(same, wrong + 0.5, atol=1e-12)


def test_align_to_2d_filters_the_correction_in_time():
    """A one-frame glitch in the 2D does not reach the output (median filter)."""
    rel, _, px, _ = _scene(seed=3)
    glitch = px.copy()
    glitch[100, 13] += 80.0  # one wrist thrown 80 px off for one frame
    out = R.align_to_2d(rel, glitch, W, H, np.ones(17))
    raw = R.align_to_2d(rel, glitch, W, H, np.ones(17), median_frames=1, sigma=0)
    assert np.abs(raw[100, 13] - rel[100, 13]).max() > 0.05  # unfiltered it follows the glitch
    assert np.abs(out[100, 13] - rel[100, 13]).max() < 0.01


def test_jitter_measures_frame_noise_as_a_fraction_of_size():
    _, _, px, _ = _scene(T=600, seed=4)
    size = R.person_size(px)
    assert R.jitter(px).max() < 0.001  # smooth motion
    rng = np.random.default_rng(5)
    for sigma in (0.003, 0.01):
        j = R.jitter(px + rng.normal(0, sigma * size, px.shape))
        np.testing.assert_allclose(j, sigma, rtol=0.2)
    assert np.isnan(R.jitter(px[:2])).all()


def test_trust_2d_halves_at_its_setting_and_is_zero_for_short_tracks():
    _, _, px, _ = _scene(T=600, seed=6)
    noisy = px + np.random.default_rng(7).normal(0, 0.005 * R.person_size(px), px.shape)
    t = R.trust_2d(noisy, half_at=0.005)
    np.testing.assert_allclose(t, 0.5, atol=0.12)
    assert R.trust_2d(px).min() > 0.95
    assert not R.trust_2d(px[: R.MIN_FRAMES - 1]).any()


def test_static_offsets_finds_a_constant_2d_bias():
    rel, _, px, _ = _scene(seed=8)
    biased = px.copy()
    biased[:, 4] += [12.0, -7.0]  # a hip placed consistently off
    off = R.static_offsets(rel, biased, W, H)
    np.testing.assert_allclose(off[4], [12.0, -7.0], atol=1.5)
    assert np.abs(np.delete(off, 4, axis=0)).max() < 1.5


class _Count:
    """Wraps Lifter.model_output to count its runs."""

    def __init__(self, lifter):
        self.n, self.run = 0, lifter.model_output
        lifter.model_output = self

    def __call__(self, *a, **k):
        self.n += 1
        return self.run(*a, **k)


def test_lifter_lifts_again_only_when_the_2d_is_noisy_and_reports_progress_once():
    """Session 13's bias removal (debias_residual off): weighed by the 2D's jitter."""
    from hotdemo.lift.lifter import load_lifter
    from hotdemo.post.refine import PostSettings, debias, lift_and_refine

    kp = _scene(T=150, seed=9)[2].astype(np.float32)  # exact (noise-free) 2D
    w, h = int(W), int(H)
    size = R.person_size(kp)
    noisy = (kp + np.random.default_rng(0).normal(0, 0.01 * size, kp.shape)).astype(np.float32)
    lifter = load_lifter(None, device="cpu", allow_untrained=True)
    post = PostSettings(debias_residual=False)
    runs = _Count(lifter)
    for x, want in ((kp, 1), (noisy, 2)):
        runs.n, told = 0, []
        out = lift_and_refine(lifter, x, w, h, post, progress=told.append)
        assert runs.n == want and sum(told) == len(x) and out.shape == (len(x), 17, 3)
    assert debias(np.zeros((150, 17, 3)), kp, w, h, post) is kp  # trusted 2D: nothing to lift again
    off = load_lifter(None, device="cpu", allow_untrained=True)
    runs = _Count(off)
    lift_and_refine(off, noisy, w, h, PostSettings(reproject=False))
    assert runs.n == 1
    post.debias_2d = False  # the alignment without the bias removal: one model run
    runs = _Count(lifter)
    lift_and_refine(lifter, noisy, w, h, post)
    assert runs.n == 1


def test_bias_removal_by_the_low_frequency_trust_sees_a_bias_without_jitter():
    """The default (debias_residual): a joint placed consistently off, with no jitter at all, is
    found from the persisting residual and removed from the 2D; agreeing 2D is left as it is,
    also when it is noisy."""
    from hotdemo.post.refine import PostSettings, debias

    rel, _, px, _ = _scene(T=150, seed=13)
    assert PostSettings().debias_residual
    kp = px.astype(np.float32)
    assert debias(rel, kp, W, H) is kp  # the lifted pose agrees with the 2D
    noisy = (kp + np.random.default_rng(1).normal(0, 0.01 * R.person_size(kp), kp.shape)).astype(np.float32)
    assert np.abs(debias(rel, noisy, W, H) - noisy).max() < 0.5  # white noise is not a bias (px)
    biased = kp.copy()
    biased[:, 12] += [40.0, 25.0]  # an elbow ~0.18 m off, constant: no jitter to see
    assert R.trust_2d(biased).min() > 0.99
    fixed = debias(rel, biased, W, H)
    moved = (biased - fixed).mean(axis=0)  # (17, 2)
    assert np.linalg.norm(moved[12]) > 0.6 * np.linalg.norm([40.0, 25.0])
    assert np.abs(np.delete(moved, 12, axis=0)).max() < 2.0


def test_no_reproject_reaches_the_post_step():
    from hotdemo.pipeline import PipelineConfig, _post_settings

    assert _post_settings(PipelineConfig()).reproject is True
    assert _post_settings(PipelineConfig(reproject=False)).reproject is False


def test_agree_with_2d_is_the_base_at_weight_0_and_does_not_pass_2d_noise_on():
    from hotdemo.post.bones import fit_bone_lengths
    from hotdemo.core.skeletons import H36M17

    # a skeleton whose bones keep their lengths (0.1-0.45 m), every bone turning smoothly
    par = H36M17.parents
    rng = np.random.default_rng(10)
    T = 300
    t = np.arange(T)[:, None] / 50.0
    rel = np.zeros((T, 17, 3))
    for j in range(1, 17):
        ang = rng.uniform(0, 6, 2) + 0.8 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6, 2) * t + rng.uniform(0, 6, 2))
        d = np.stack([np.sin(ang[:, 0]) * np.cos(ang[:, 1]), np.cos(ang[:, 0]), np.sin(ang[:, 0]) * np.sin(ang[:, 1])], -1)
        rel[:, j] = rel[:, par[j]] + rng.uniform(0.1, 0.45) * d
    root = np.stack([0 * t[:, 0], 0 * t[:, 0], 4.5 + 0 * t[:, 0]], -1)
    cam = rel + root[:, None]
    px = 1150.0 * cam[..., :2] / cam[..., 2:3] + np.array([W, H]) / 2

    def fit(x):
        return fit_bone_lengths(x, par)

    lifted = rel.copy()  # the lifter's shape errors in the image plane, slowly varying, 2 cm
    lifted[..., :2] += 0.02 * np.sin(2 * np.pi * 0.3 * t[..., None] + rng.uniform(0, 6, (1, 17, 2)))
    lifted[:, 0] = 0
    np.testing.assert_array_equal(R.agree_with_2d(lifted, px, W, H, np.zeros(17), fit), fit(lifted))
    exact = R.agree_with_2d(lifted, px, W, H, np.ones(17), fit)
    # measured: 1.6 mm against 15.0 mm
    assert np.abs(exact - rel).mean() < 0.5 * np.abs(fit(lifted) - rel).mean()
    # 2D with frame-to-frame noise (0.3 % of the person's size): weighted as measured, the output
    # moves no more from frame to frame than without the agreement (acceleration within 10 %)
    noisy = px + np.random.default_rng(11).normal(0, 0.003 * R.person_size(px), px.shape)
    out = R.agree_with_2d(lifted, noisy, W, H, R.trust_2d(noisy), fit)

    def accel(x):
        return np.linalg.norm(np.diff(x, 2, axis=0), axis=-1).mean()

    # measured: 1.72 against 1.78 mm/frame^2 at a mean weight of 0.73
    assert accel(out) < 1.1 * accel(fit(lifted)) + 1e-4, (accel(out), accel(fit(lifted)))


def test_residual_trust_drops_where_a_slow_2d_error_persists_and_not_for_a_glitch():
    rel, _, px, _ = _scene(seed=11)
    lifted = rel.copy()
    lifted[..., :2] += np.random.default_rng(3).normal(0, 0.005, lifted[..., :2].shape)  # a good lifter
    lifted[:, 0] = 0
    ok = R.residual_trust(lifted, px, W, H, half_at=0.02)
    assert ok.shape == (200, 17) and ok[:, 1:].min() > 0.7
    bad = px.copy()
    bad[:, 13] += 20.0 * np.sin(np.arange(200) / 50.0)[:, None] + 50.0  # a wrist drifting 30-70 px off
    bad[100, 16] += 60.0  # and a one-frame glitch on the other wrist
    t = R.residual_trust(lifted, bad, W, H, half_at=0.02)
    assert t[:, 13].max() < 0.15
    assert t[100, 16] > 0.7  # low-passed: one frame does not count
    assert np.delete(t, [13, 16], axis=1)[:, 1:].min() > 0.6
    np.testing.assert_array_equal(R.residual_trust(lifted, bad, W, H, half_at=None), 1.0)


def test_lifter_keeps_its_own_x_y_where_the_2d_is_biased():
    from hotdemo.lift.lifter import load_lifter
    from hotdemo.post.refine import PostSettings, finish

    rel, _, px, _ = _scene(seed=12)
    lifted = rel.copy()
    lifted[..., :2] += 0.01  # the lifter's own error, which the agreement corrects
    lifted[:, 0] = 0
    bad = px.copy()
    bad[:, 15] += [45.0, -30.0]  # an elbow placed consistently off by ~0.2 m
    lifter = load_lifter(None, device="cpu", allow_untrained=True)
    err = {}
    for r in (None, 0.02):
        post = PostSettings.from_options(bones=False, smooth=False, trust_residual=r)
        out = finish(lifter, lifted, bad.astype(np.float32), W, H, settings=post)
        err[r] = np.linalg.norm(out - rel, axis=-1)  # (T, J)
    assert err[0.02][:, 15].mean() < 0.5 * err[None][:, 15].mean()  # the bias is not followed
    assert err[0.02][:, 15].mean() <= np.linalg.norm(lifted - rel, axis=-1)[:, 15].mean() + 0.005
    # where the 2D is right the lifter's own error is still corrected
    keep = [j for j in range(1, 17) if j != 15]
    assert err[0.02][:, keep].mean() < 0.6 * np.linalg.norm(lifted - rel, axis=-1)[:, keep].mean()
