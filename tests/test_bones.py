"""Constant bone lengths (hotdemo.post.bones) and where the lifter applies them."""

import numpy as np
import pytest

from hotdemo.post.bones import DEFAULT_DEPTH_WEIGHT, bone_vectors, closest_vector_of_length, fit_bone_lengths
from hotdemo.core.skeletons import H36M17

PARENTS = np.asarray(H36M17.parents)


def _cost(a, b, w):
    return (((a - b) ** 2) * np.array([1.0, 1.0, w])).sum(-1)


@pytest.mark.parametrize("w", [1.0, 0.2, 0.02])
def test_closest_vector_has_the_length_and_beats_every_other_vector_of_that_length(w):
    rng = np.random.default_rng(1)
    b = rng.normal(size=(40, 3))
    L = rng.uniform(0.2, 2.5, size=40)
    out = closest_vector_of_length(b, L, w)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), L, rtol=1e-12)
    # dense candidates on each sphere: none is closer in the weighted metric
    d = rng.normal(size=(20000, 3))
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    for i in range(len(b)):
        cand = d * L[i]
        assert _cost(out[i], b[i], w) <= _cost(cand, b[i], w).min() + 1e-12


def test_depth_weight_one_scales_along_the_bone_and_small_weights_change_mostly_depth():
    b = np.array([[0.3, -0.1, 0.05]])
    L = 0.5
    np.testing.assert_allclose(closest_vector_of_length(b, L, 1.0), b / np.linalg.norm(b) * L, rtol=1e-12)
    small = closest_vector_of_length(b, L, 0.01)[0]
    assert abs(small[2] - b[0, 2]) > 5 * np.abs(small[:2] - b[0, :2]).max()  # mostly the depth grew
    assert np.sign(small[2]) == np.sign(b[0, 2])  # towards the side the lifter chose
    # a zero vector has no direction: it stays zero; a bad weight is refused
    np.testing.assert_array_equal(closest_vector_of_length(np.zeros((1, 3)), 0.4, 0.2), np.zeros((1, 3)))
    with pytest.raises(ValueError):
        closest_vector_of_length(b, L, 0.0)


def _skeleton_track(T=60, seed=0):
    """A moving Human3.6M-17 skeleton with constant bone lengths: (T, 17, 3) metres, and its lengths."""
    rng = np.random.default_rng(seed)
    L = np.r_[0.0, rng.uniform(0.1, 0.45, 16)]
    t = np.linspace(0, 2 * np.pi, T)[:, None]
    dirs = rng.normal(size=(17, 3))[None] + 0.6 * np.sin(t[..., None] + rng.uniform(0, 6, (17, 1)))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    pose = np.zeros((T, 17, 3))
    pose[:, 0] = [0.1, -0.2, 4.0]
    for j, p in enumerate(PARENTS):
        if p >= 0:
            pose[:, j] = pose[:, p] + L[j] * dirs[:, j]
    return pose, L


def test_fit_holds_every_bone_at_its_median_and_keeps_the_root():
    truth, L = _skeleton_track()
    rng = np.random.default_rng(3)
    noisy = truth + rng.normal(scale=0.02, size=truth.shape) * np.array([0.3, 0.3, 1.0])
    noisy[:, 0] = truth[:, 0]
    out = fit_bone_lengths(noisy.astype(np.float32), PARENTS, sign_margin=0)
    assert out.dtype == np.float32 and out.shape == noisy.shape
    np.testing.assert_array_equal(out[:, 0], noisy[:, 0].astype(np.float32))
    lengths = np.linalg.norm(bone_vectors(out.astype(np.float64), PARENTS), axis=-1)[:, 1:]
    want = np.median(np.linalg.norm(bone_vectors(noisy, PARENTS), axis=-1), axis=0)[1:]
    np.testing.assert_allclose(lengths, np.broadcast_to(want, lengths.shape), atol=2e-6)
    # a track that already has constant lengths is left as it is
    np.testing.assert_allclose(fit_bone_lengths(truth, PARENTS), truth, atol=1e-12)
    # given lengths are used as they are
    got = fit_bone_lengths(noisy, PARENTS, lengths=L, sign_margin=0)
    np.testing.assert_allclose(np.linalg.norm(bone_vectors(got, PARENTS), axis=-1)[:, 1:],
                               np.broadcast_to(L[1:], (len(got), 16)), atol=1e-9)


def test_fit_undoes_depth_shortening_better_than_scaling_the_bone():
    """The lifter's typical fault: limbs pointing at the camera come out with too little depth.
    Holding the lengths (true ones, given) with a small depth weight restores most of the depth;
    scaling along the bone (weight 1) cannot, since it keeps the wrong direction."""
    truth, L = _skeleton_track(T=200, seed=4)
    short = truth.copy()
    b = bone_vectors(truth, PARENTS)
    b[..., 2] *= 0.6  # every bone's depth extent 40 % short
    for j, p in enumerate(PARENTS):
        if p >= 0:
            short[:, j] = short[:, p] + b[:, j]
    err = {w: np.linalg.norm(fit_bone_lengths(short, PARENTS, lengths=L, depth_weight=w) - truth, axis=-1).mean()
           for w in (1.0, 0.15, DEFAULT_DEPTH_WEIGHT)}
    before = np.linalg.norm(short - truth, axis=-1).mean()
    assert err[0.15] < 0.5 * before  # session 12's weight
    assert err[0.15] < 0.7 * err[1.0]
    # the default since issue #30 (0.5: safer with drifting 2D) trades some of that for safety
    assert err[DEFAULT_DEPTH_WEIGHT] < 0.8 * err[1.0] and err[DEFAULT_DEPTH_WEIGHT] < 0.75 * before


def test_sign_margin_keeps_a_bone_of_unknown_depth_sign_from_flipping():
    """A forearm pointing at the camera that the lifter cannot place: short, depth near zero with a
    sign that flips between frames. Holding its length would make it jump from one side to the
    other every frame; with the sign margin it stays as the lifter left it, while a bone whose
    depth the lifter does give is still brought to its length."""
    T = 40
    pose = np.zeros((T, 17, 3))
    for j, p in enumerate(PARENTS):  # a plain skeleton: every bone 0.25 m along image x
        if p >= 0:
            pose[:, j] = pose[:, p] + [0.25, 0.0, 0.0]
    wrist, elbow, knee, hip = (H36M17.index(n) for n in ("left_wrist", "left_elbow", "left_knee", "left_hip"))
    # frames 25-39: the forearm at 0.05 m in the image, depth +-2 mm; the thigh short with clear depth
    pose[25:, wrist] = pose[25:, elbow] + np.c_[np.full(15, 0.05), np.zeros(15), 0.002 * (-1) ** np.arange(15)]
    thigh = np.array([0.1, 0.0, 0.15])  # 0.18 m long, depth 0.15 m; its length is 0.25 m elsewhere
    shift = pose[25:, knee] - (pose[25:, hip] + thigh)
    for j in range(17):  # move the thigh's descendants with the knee
        k = j
        while k > 0 and k != knee:
            k = PARENTS[k]
        if k == knee:
            pose[25:, j] -= shift
    step = {m: np.linalg.norm(np.diff(fit_bone_lengths(pose, PARENTS, sign_margin=m)[25:, wrist], axis=0), axis=-1).max()
            for m in (0.0, 0.5)}
    assert step[0.0] > 0.4  # the held length flips 0.24 m of depth from side to side
    assert step[0.5] < 0.02  # about as the lifter gave it (it moved 4 mm a frame)
    fit = fit_bone_lengths(pose, PARENTS)  # the defaults
    got = fit[25:, knee] - fit[25:, hip]
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 0.25, atol=1e-9)  # the thigh reaches its length
    assert (got[:, 2] > 0.15).all()  # by getting more of the depth the lifter gave it


def test_fit_checks_its_input():
    with pytest.raises(ValueError, match="shape"):
        fit_bone_lengths(np.zeros((5, 16, 3)), PARENTS)
    with pytest.raises(ValueError, match="parent"):
        fit_bone_lengths(np.zeros((5, 3, 3)), [-1, 2, 0])
    assert fit_bone_lengths(np.zeros((0, 17, 3)), PARENTS).shape == (0, 17, 3)


def test_lifter_applies_the_fit_by_default_and_not_when_turned_off():
    from hotdemo.lift.lifter import load_lifter
    from hotdemo.post.refine import PostSettings, lift_and_refine

    from hotdemo.core.paths import REPO_DIR
    from hotdemo.core.skeletons import coco_to_h36m

    d = np.load(REPO_DIR / "samples" / "walk_coco2d.npz")  # a synthetic walker's 2D keypoints
    kp = coco_to_h36m(d["keypoints"], d["scores"])[0][:120].astype(np.float32)
    lifter = load_lifter(None, device="cpu")
    on = PostSettings.from_options(smooth=False, reproject=False)
    off = PostSettings.from_options(smooth=False, bones=False, reproject=False)
    raw = lifter.model_output(kp, int(d["width"]), int(d["height"]))
    w, h = int(d["width"]), int(d["height"])
    a, b = lift_and_refine(lifter, kp, w, h, on), lift_and_refine(lifter, kp, w, h, off)
    np.testing.assert_allclose(b, raw - raw[:, :1], atol=1e-6)  # off: the model's output, root-relative
    np.testing.assert_allclose(a, fit_bone_lengths(b, PARENTS), atol=1e-6)  # on: the default fit of that
    la = np.linalg.norm(bone_vectors(a.astype(np.float64), PARENTS), axis=-1)[:, 1:]
    lb = np.linalg.norm(bone_vectors(b.astype(np.float64), PARENTS), axis=-1)[:, 1:]
    assert la.std(axis=0).mean() < 0.5 * lb.std(axis=0).mean()  # bone lengths vary far less
    with pytest.raises(ValueError):
        PostSettings.from_options(bones=1.5)
    with pytest.raises(ValueError):
        PostSettings(bone_depth_weight=1.5)


def test_no_bone_lengths_reaches_the_post_step():
    from hotdemo.pipeline import PipelineConfig, _post_settings
    from hotdemo.post.bones import DEFAULT_DEPTH_WEIGHT

    assert _post_settings(PipelineConfig()).bone_depth_weight == DEFAULT_DEPTH_WEIGHT
    assert _post_settings(PipelineConfig(bone_lengths=False)).bone_depth_weight == 0.0
