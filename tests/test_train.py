"""Training data pipeline, augmentations, losses, metrics and a tiny training run."""

import json

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hotdemo.core.camera import Camera
from hotdemo.core.skeletons import H36M32_TO_17
from hotdemo.train.augment import (AugmentConfig, detector_noise, flip_camera_frame, interpolate_missing, make_batch,
                                   scale_bones, virtual_cameras)
from hotdemo.train.data import action_of, clip_starts, load_motion, motion_from_positions, select_h36m17
from hotdemo.train.evaluate import mpjpe, mpjve, p_mpjpe
from hotdemo.train.losses import training_loss


# ----------------------------------------------------------------------------- synthetic data
def _pose32() -> np.ndarray:
    """A standing 32-joint pose (metres, z up) whose 17 selected joints form a plausible body."""
    p17 = np.array([
        [0, 0, 0.95], [-0.13, 0, 0.93], [-0.12, 0.02, 0.5], [-0.1, 0.05, 0.08], [0.13, 0, 0.93],
        [0.12, 0.02, 0.5], [0.1, 0.05, 0.08], [0, 0.02, 1.2], [0, 0.02, 1.45], [0, -0.02, 1.55],
        [0, 0.02, 1.68], [0.17, 0.02, 1.4], [0.2, 0.03, 1.12], [0.22, 0.0, 0.86], [-0.17, 0.02, 1.4],
        [-0.2, 0.03, 1.12], [-0.22, 0.0, 0.86]])
    p32 = np.zeros((32, 3))
    p32[list(H36M32_TO_17)] = p17
    return p32


def _walk(T: int, phase: float = 0.0) -> np.ndarray:
    """(T, 32, 3) a body moving forward with swinging limbs."""
    t = np.arange(T)[:, None, None] / 50.0
    base = _pose32()[None].repeat(T, 0)
    base[:, :, 0] += 0.8 * t[:, :, 0]
    swing = 0.15 * np.sin(2 * np.pi * 1.0 * t[:, :, 0] + phase)
    for j in (2, 3, 18, 19):  # right leg, left arm (32-joint indices)
        base[:, j, 1] += swing[:, 0]
    for j in (7, 8, 26, 27):
        base[:, j, 1] -= swing[:, 0]
    return base.astype(np.float32)


def _cameras() -> dict:
    def cam(az: float) -> Camera:
        # camera 4 m from the origin at height 1.5 m, looking at the origin horizontally
        pos = np.array([4 * np.cos(az), 4 * np.sin(az), 1.5])
        fwd = -pos * np.array([1, 1, 0]) / 4
        right = np.cross(fwd, [0, 0, 1.0])
        down = np.cross(fwd, right)
        R = np.stack([right, down, fwd], axis=1)  # camera-to-world columns
        q = np.roll(Rotation.from_matrix(R).as_quat(), 1)  # (x, y, z, w) -> (w, x, y, z)
        return Camera("c", np.array([1000.0, 1000.0]), np.array([500.0, 500.0]), np.zeros(3), np.zeros(2), 1000, 1000,
                      q, pos)
    cams = [cam(a) for a in (0.3, 1.9, 3.5, 5.0)]
    return {s: cams for s in ("S1", "S5", "S9")}


@pytest.fixture(scope="module")
def motion():
    return motion_from_positions({
        "S1": {"walking_1": _walk(120), "Directions 2": _walk(90, 1.0)},
        "S5": {"walkingdog_1": _walk(100, 2.0)},
        "S9": {"walking_1": _walk(80, 0.5)},
    })


# ----------------------------------------------------------------------------- data
def test_select_h36m17_picks_the_documented_joints():
    x = np.arange(32)[None, :, None].repeat(3, axis=2).astype(np.float32) * np.ones((4, 1, 1), np.float32)
    y = select_h36m17(x)
    assert y.shape == (4, 17, 3)
    np.testing.assert_array_equal(y[0, :, 0], [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27])
    assert select_h36m17(y) is y  # already 17 joints


def test_action_names_of_both_file_layouts():
    assert action_of("walkingdog_1") == action_of("WalkDog 1") == action_of("WalkDog") == "WalkDog"
    assert action_of("takingphoto_2") == action_of("Photo 1") == "Photo"
    assert action_of("sittingdown_2") == "SittingDown"


def test_load_motion_reads_official_layout_and_caches(tmp_path):
    p = tmp_path / "data_3d_h36m.npz"
    np.savez(p, positions_3d={"S1": {"Walking 1": _walk(30)}, "S9": {"Directions": _walk(20)}})
    d = load_motion(p, cache_dir=tmp_path / "cache")
    assert d.positions.shape == (50, 17, 3)
    assert [(s.subject, s.action, s.length) for s in d.sequences] == [("S1", "Walking", 30), ("S9", "Directions", 20)]
    assert list((tmp_path / "cache").glob("*.npz"))
    d2 = load_motion(p, cache_dir=tmp_path / "cache")  # from the cache
    np.testing.assert_array_equal(d2.positions, d.positions)
    np.testing.assert_allclose(d.sequence(d.sequences[1])[0], select_h36m17(_walk(20)[0]))


def test_clip_starts_cover_the_sequence():
    s = clip_starts(100, 27, 27)
    assert s[0] == 0 and s[-1] == 100 - 27 and (np.diff(s) <= 27).all()
    assert list(clip_starts(10, 27, 27)) == [0]


# ----------------------------------------------------------------------------- augmentations
def test_batch_shapes_and_targets(motion):
    rng = np.random.default_rng(0)
    x, y = make_batch(rng, motion, motion.subset(("S1", "S5")), _cameras(), 8, 27, AugmentConfig())
    assert x.shape == (8, 27, 17, 2) and y.shape == (8, 27, 17, 3)
    assert x.dtype == np.float32 and np.isfinite(x).all() and np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, :, 0], 0)  # root-relative
    assert (np.abs(x[..., 0]) <= 1.5).all()  # inside (or near) the image width


def test_batch_is_a_function_of_its_seed(motion):
    seqs = motion.subset(("S1", "S5"))
    a = make_batch(np.random.default_rng([7, 3]), motion, seqs, _cameras(), 4, 27, AugmentConfig())
    b = make_batch(np.random.default_rng([7, 3]), motion, seqs, _cameras(), 4, 27, AugmentConfig())
    np.testing.assert_array_equal(a[0], b[0])


def test_error_models_replace_the_noise_of_a_fraction_of_the_clips(motion):
    seqs = motion.subset(("S1", "S5"))
    base = dict(p_real_camera=1.0, p_noise=0.0, p_flip=0.0, p_bone_scale=0.0, p_speed=0.0)
    clean = make_batch(np.random.default_rng(5), motion, seqs, _cameras(), 16, 27, AugmentConfig(**base))[0]
    # off (the default): the model's name changes nothing and no extra numbers are drawn
    off = make_batch(np.random.default_rng(5), motion, seqs, _cameras(), 16, 27,
                     AugmentConfig(**base, error_model="truncation"))[0]
    np.testing.assert_array_equal(off, clean)
    # on for every clip with a static bias: each clip's error is constant over its frames
    on = make_batch(np.random.default_rng(5), motion, seqs, _cameras(), 16, 27,
                    AugmentConfig(**base, p_error_model=1.0, error_model="bias"))[0]
    err = on.astype(np.float64) - clean
    assert np.abs(err).mean() > 1e-3
    np.testing.assert_allclose(err, np.broadcast_to(err[:, :1], err.shape), atol=1e-5)
    half = make_batch(np.random.default_rng(5), motion, seqs, _cameras(), 16, 27,
                      AugmentConfig(**base, p_error_model=0.5, error_model="bias+jitter"))[0]
    hit = (np.abs(half - clean) > 1e-6).any(axis=(1, 2, 3))
    assert 0 < hit.sum() < 16


def test_clean_real_camera_batch_matches_projection(motion):
    cfg = AugmentConfig(p_real_camera=1.0, p_noise=0.0, p_flip=0.0, p_bone_scale=0.0, p_speed=0.0)
    x, y = make_batch(np.random.default_rng(1), motion, motion.subset(("S1",)), _cameras(), 6, 27, cfg)
    # (rigid camera transform: a bone that does not move in the synthetic walk keeps its length)
    bone = np.linalg.norm(y[:, :, 11] - y[:, :, 8], axis=-1)
    p17 = select_h36m17(_pose32())
    np.testing.assert_allclose(bone, np.linalg.norm(p17[11] - p17[8]), rtol=1e-4)
    assert (x[:, :, 10, 1] < x[:, :, 3, 1]).all()  # head above the right ankle (y down)


def test_virtual_cameras_keep_the_clip_in_the_image(motion):
    rng = np.random.default_rng(2)
    pos = np.stack([motion.positions[:27]] * 64)
    cam = virtual_cameras(rng, pos, AugmentConfig())
    assert (cam["x_cam"][..., 2] >= AugmentConfig().min_depth - 1e-5).all()
    px = cam["focal"][:, None, None] * cam["x_cam"][..., :2] / cam["x_cam"][..., 2:] + cam["center"][:, None, None]
    size = cam["size"][:, None, None]
    assert (px >= -1e-3).all() and (px <= size + 1e-3).all()
    # upright: head above the ankles in every image
    assert (px[..., 10, 1] < px[..., 3, 1]).mean() > 0.95
    assert len({tuple(s) for s in cam["size"]}) > 2  # several image shapes


def test_flip_twice_is_identity_and_mirrors():
    x = np.random.default_rng(3).normal(size=(2, 5, 17, 3)).astype(np.float32)
    f = flip_camera_frame(x, np.array([True, False]))
    np.testing.assert_array_equal(f[1], x[1])
    np.testing.assert_allclose(f[0, :, 4, 0], -x[0, :, 1, 0])  # left hip <- mirrored right hip
    np.testing.assert_allclose(flip_camera_frame(f, np.array([True, False])), x)


def test_bone_scaling_keeps_root_and_scales_bones(motion):
    pos = np.stack([motion.positions[:10]] * 16)
    same = scale_bones(np.random.default_rng(0), pos, AugmentConfig(p_bone_scale=0.0))
    np.testing.assert_allclose(same, pos, atol=1e-6)
    cfg = AugmentConfig(p_bone_scale=1.0, global_scale=(1.2, 1.2), segment_scale=(1.0, 1.0), side_asymmetry=0.0)
    big = scale_bones(np.random.default_rng(0), pos, cfg)
    np.testing.assert_allclose(big[:, :, 0], pos[:, :, 0], atol=1e-6)
    thigh = lambda p: np.linalg.norm(p[:, :, 2] - p[:, :, 1], axis=-1)  # noqa: E731
    np.testing.assert_allclose(thigh(big), 1.2 * thigh(pos), rtol=1e-5)


def test_interpolate_missing_restores_a_linear_track():
    T = 12
    x = np.linspace(0, 11, T)[None, :, None, None].repeat(2, axis=2).repeat(2, axis=3).astype(np.float32)
    miss = np.zeros((1, T, 2), bool)
    miss[0, 3:7, 0] = True  # interior gap: linear interpolation is exact
    miss[0, :2, 1] = True  # gap at the start: the first valid value is held
    corrupted = np.where(miss[..., None], 1000.0, x).astype(np.float32)
    out = interpolate_missing(corrupted, miss)
    np.testing.assert_allclose(out[0, :, 0, 0], x[0, :, 0, 0], atol=1e-5)
    np.testing.assert_allclose(out[0, :2, 1, 0], [2.0, 2.0])


def test_detector_noise_scales_with_person_size():
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 1, (1, 200, 17, 2)).astype(np.float32)
    cfg = AugmentConfig(noise_sigma=(0.01, 0.01), offset_scale=(0, 0), p_gross=0, p_swap=0, p_lowconf=0)
    small = detector_noise(np.random.default_rng(5), base * 100, cfg) - base * 100
    large = detector_noise(np.random.default_rng(5), base * 400, cfg) - base * 400
    assert 3.0 < large.std() / small.std() < 5.0
    off = detector_noise(np.random.default_rng(5), base * 100, cfg, apply=np.array([False]))
    np.testing.assert_array_equal(off, base * 100)


# ----------------------------------------------------------------------------- metrics
def test_metrics_on_hand_made_cases():
    rng = np.random.default_rng(6)
    gt = rng.normal(size=(10, 17, 3))
    assert mpjpe(gt, gt) == 0 and p_mpjpe(gt, gt) < 1e-9 and mpjve(gt, gt) == 0
    # a known offset: every joint 3-4-0 away -> MPJPE 5; a constant offset has no velocity error
    off = gt + np.array([3.0, 4.0, 0.0])
    assert mpjpe(off, gt) == pytest.approx(5.0)
    assert mpjve(off, gt) == pytest.approx(0.0, abs=1e-9)
    assert p_mpjpe(off, gt) == pytest.approx(0.0, abs=1e-9)
    # a rigid rotation + scale + translation: P-MPJPE 0, MPJPE not
    a = 0.7
    R = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    moved = 1.3 * gt @ R.T + np.array([0.1, -0.2, 0.3])
    assert mpjpe(moved, gt) > 0.1
    assert p_mpjpe(moved, gt) == pytest.approx(0.0, abs=1e-7)
    # a reflection is not a rotation: Procrustes must not undo it
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, gt) > 0.05
    # velocity error of a known per-frame drift
    drift = gt + np.arange(10)[:, None, None] * np.array([0.0, 0.0, 2.0])
    assert mpjve(drift, gt) == pytest.approx(2.0)


def test_evaluation_lifts_through_the_lifter(motion):
    """hotdemo eval's figures are those of hotdemo.lift.lifter.Lifter on the projected pixels (one path)."""
    from hotdemo.lift.lifter import Lifter
    from hotdemo.lift.registry import build_model
    from hotdemo.post.refine import lift_and_refine
    from hotdemo.train.evaluate import evaluate

    torch.manual_seed(0)
    lifter = Lifter(build_model("hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1),
                    device="cpu", root="subtract")
    cams = _cameras()
    res = evaluate(lifter, motion, cams, subjects=("S9",), max_sequences=1)
    info = motion.subset(["S9"])[0]
    world = motion.sequence(info)
    errs, n = [], 0
    for cam in cams["S9"]:
        x_cam = cam.world_to_camera(world)
        pred = lift_and_refine(lifter, cam.project(x_cam).astype(np.float32), cam.width, cam.height)
        errs.append(mpjpe(pred.astype(np.float64), x_cam - x_cam[:, :1]) * len(x_cam))
        n += len(x_cam)
    (row,) = res.rows.values()
    assert row["frames"] == n
    assert row["mpjpe"] == pytest.approx(sum(errs) / n * 1000, rel=1e-6)


# ----------------------------------------------------------------------------- training
def test_losses_are_zero_for_perfect_prediction():
    y = torch.randn(2, 9, 17, 3)
    out = training_loss(y, y)
    assert float(out["w_mpjpe"]) == 0 and float(out["velocity"]) == 0
    assert float(training_loss(y + 0.1, y)["w_mpjpe"]) > 0


def test_two_step_training_lowers_the_loss_and_resumes(tmp_path, motion):
    from hotdemo.lift.checkpoint import load_model
    from hotdemo.lift.registry import build_model
    from hotdemo.train.trainer import TrainConfig, train

    cfg = TrainConfig(run_dir=str(tmp_path / "run"), model="hot_mixste", frames=9, dim=16, depth=2, heads=2,
                      token_num=3, layer_index=1, batch_size=8, lr=3e-3, warmup_steps=1, steps=2, threads=1,
                      val_every=0, checkpoint_every=1, log_every=1, train_subjects=("S1", "S5"), val_subjects=("S9",),
                      augment=AugmentConfig(p_noise=0.0))
    cams = _cameras()
    # the loss on the step-0 batch, with the initial weights
    torch.manual_seed(cfg.seed)
    init = build_model(cfg.model, **cfg.model_kwargs())
    x, y = make_batch(np.random.default_rng([cfg.seed, 0]), motion, motion.subset(cfg.train_subjects), cams,
                      cfg.batch_size, cfg.frames, cfg.augment)

    def loss_of(m):
        m.eval()
        with torch.no_grad():
            p = m(torch.from_numpy(x))
            return float(training_loss(p - p[:, :, :1], torch.from_numpy(y))["loss"])

    before = loss_of(init)
    summary = train(cfg, data=motion, cameras=cams, log=lambda s: None)
    assert summary["step"] == 2
    trained = load_model(tmp_path / "run" / "best.pt")
    assert loss_of(trained) < before
    rows = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert rows[0].startswith("step,lr,loss") and len(rows) == 3
    assert json.loads((tmp_path / "run" / "config.json").read_text())["frames"] == 9
    # resume: a longer schedule continues from step 2
    logs = []
    cfg.steps = 3
    summary = train(cfg, data=motion, cameras=cams, log=logs.append)
    assert summary["step"] == 3 and any("resumed" in s and "step 2" in s for s in logs)
    # the run's final weights export as a lifter file
    from hotdemo.train.commands import export_weights

    final = load_model(export_weights(tmp_path / "run" / "last.pt", tmp_path / "final.pt"))
    assert final.cfg.frames == 9 and final.cfg.token_num == 3


def test_a_run_stopped_after_a_validation_resumes_with_its_best(tmp_path, motion):
    """A run killed between a validation and the next checkpoint must not forget the best
    quick-val MPJPE (else best.pt is overwritten by a worse model after the resume)."""
    from hotdemo.train.trainer import TrainConfig, train

    cfg = TrainConfig(run_dir=str(tmp_path / "run"), model="hot_mixste", frames=9, dim=16, depth=2, heads=2,
                      token_num=3, layer_index=1, batch_size=4, steps=3, threads=1, val_every=2, val_sequences=1,
                      checkpoint_every=1, log_every=1, train_subjects=("S1",), val_subjects=("S9",),
                      augment=AugmentConfig(p_noise=0.0))

    class Killed(Exception):
        pass

    def log(msg):
        if msg.startswith("step=3 "):  # the step after the validation, before its checkpoint
            raise Killed

    with pytest.raises(Killed):
        train(cfg, data=motion, cameras=_cameras(), log=log)
    state = torch.load(tmp_path / "run" / "last.pt", map_location="cpu", weights_only=False)
    val = (tmp_path / "run" / "val_log.csv").read_text().splitlines()
    assert state["step"] == 2 and len(val) == 2
    assert state["best"] == pytest.approx(float(val[1].split(",")[1]), abs=0.01)
    logs = []
    train(cfg, data=motion, cameras=_cameras(), log=logs.append)
    assert any("resumed" in s and "step 2" in s and "inf" not in s for s in logs)


def test_export_writes_half_precision_lifter(tmp_path, motion):
    from hotdemo.lift.checkpoint import load_model, read_checkpoint, save_checkpoint
    from hotdemo.lift.registry import build_model
    from hotdemo.train.commands import export_weights

    m = build_model("hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1)
    save_checkpoint(tmp_path / "best.pt", m, extra={"step": 5})
    dst = export_weights(tmp_path / "best.pt", tmp_path / "w.pt", extra={"eval": {"mpjpe_mm": 1.0}})
    obj = read_checkpoint(dst)
    assert obj["model_name"] == "hot_mixste" and obj["eval"]["mpjpe_mm"] == 1.0 and obj["step"] == 5
    assert all(v.dtype == torch.float16 for v in obj["state_dict"].values() if v.is_floating_point())
    loaded = load_model(dst).float()
    x = torch.randn(1, 9, 17, 2)
    m.eval(), loaded.eval()
    with torch.no_grad():
        assert torch.allclose(m(x), loaded(x), atol=2e-2)


def test_export_stores_the_evaluations_of_that_checkpoint(tmp_path):
    """``python -m hotdemo.train export RUN/last.pt DST --eval clean.json --eval noisy.json`` puts the
    averages of `hotdemo eval --json` into the file; records of another checkpoint or broken ones are
    refused with one line, and no file is written."""
    import json

    from hotdemo.lift.checkpoint import read_checkpoint, save_checkpoint
    from hotdemo.lift.registry import build_model
    from hotdemo.train.__main__ import main
    from hotdemo.train.commands import evaluation_record
    from hotdemo.train.evaluate import EvalResult

    m = build_model("hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1)
    ck = tmp_path / "last.pt"
    save_checkpoint(ck, m, extra={"step": 7})

    def record(path, setting, mpjpe, checkpoint=ck):
        res = EvalResult(setting, {"Walking": {"mpjpe": mpjpe, "p_mpjpe": mpjpe - 5, "mpjve": 2.0, "frames": 10.0},
                                   "Sitting": {"mpjpe": mpjpe + 10, "p_mpjpe": mpjpe, "mpjve": 1.0, "frames": 30.0}})
        path.write_text(json.dumps(evaluation_record([res], checkpoint=str(checkpoint), lifter="hot_mixste",
                                                     subjects=["S9", "S11"], flip=True, smooth=True, root="subtract",
                                                     output="metres", max_sequences=None)))
        return str(path)

    clean = record(tmp_path / "c.json", "clean projected 2D", 40.0)
    noisy = record(tmp_path / "n.json", "detector-like 2D noise", 50.0)
    dst = tmp_path / "w.pt"
    assert main(["export", str(ck), str(dst), "--eval", clean, "--eval", noisy]) == 0
    ev = read_checkpoint(dst)["eval"]
    assert ev["clean projected 2D"]["mpjpe"] == 45.0 and ev["detector-like 2D noise"]["p_mpjpe"] == 47.5
    assert ev["clean projected 2D"]["frames"] == 40.0
    assert ev["subjects"] == ["S9", "S11"] and ev["sequences"] == "all" and "NOT directly comparable" in ev["note"]

    other = record(tmp_path / "o.json", "clean projected 2D", 30.0, checkpoint=tmp_path / "other.pt")
    broken = tmp_path / "b.json"
    broken.write_text("{}")
    for bad in (other, str(broken)):
        dst2 = tmp_path / "w2.pt"
        assert main(["export", str(ck), str(dst2), "--eval", bad]) == 2
        assert not dst2.exists()


def test_init_from_starts_a_new_run_from_trained_weights(tmp_path, motion):
    from hotdemo.lift.checkpoint import CheckpointError, load_model
    from hotdemo.train.trainer import TrainConfig, train

    small = dict(model="hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1, batch_size=4,
                 warmup_steps=1, threads=1, val_every=0, log_every=1, train_subjects=("S1",), val_subjects=("S9",))
    cams = _cameras()
    train(TrainConfig(run_dir=str(tmp_path / "a"), steps=2, **small), data=motion, cameras=cams, log=lambda s: None)
    a = load_model(tmp_path / "a" / "best.pt")
    # zero steps from the run's last.pt: the new run's weights are exactly the old ones
    logs = []
    train(TrainConfig(run_dir=str(tmp_path / "b"), steps=0, init_from=str(tmp_path / "a" / "last.pt"), **small),
          data=motion, cameras=cams, log=logs.append)
    b = load_model(tmp_path / "b" / "best.pt")
    assert any("initialised from" in s for s in logs)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    # a trainer's last.pt is also readable as a lifter checkpoint (hotdemo eval --checkpoint run/last.pt)
    c = load_model(tmp_path / "a" / "last.pt")
    assert all(torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    # weights of another size are refused, naming the mismatch
    with pytest.raises(CheckpointError, match="does not match"):
        train(TrainConfig(run_dir=str(tmp_path / "c"), steps=1, init_from=str(tmp_path / "a" / "best.pt"),
                          **{**small, "dim": 32}), data=motion, cameras=cams, log=lambda s: None)


def test_init_resample_stretches_a_short_window_model_to_a_longer_one(tmp_path, motion):
    """--init-from --init-resample: a 9-frame model starts a 27-frame run (the shipped 27 -> 81 route)."""
    from hotdemo.lift.checkpoint import CheckpointError, load_model
    from hotdemo.train.trainer import TrainConfig, train

    small = dict(model="hot_mixste", dim=16, depth=2, heads=2, layer_index=1, batch_size=4, warmup_steps=1,
                 threads=1, val_every=0, log_every=1, train_subjects=("S1",), val_subjects=("S9",))
    cams = _cameras()
    train(TrainConfig(run_dir=str(tmp_path / "a"), steps=1, frames=9, token_num=3, **small), data=motion,
          cameras=cams, log=lambda s: None)
    a = load_model(tmp_path / "a" / "best.pt").state_dict()
    long = dict(frames=27, token_num=9, **small)
    # without --init-resample the other window length is refused
    with pytest.raises(CheckpointError, match="Temporal_pos_embed"):
        train(TrainConfig(run_dir=str(tmp_path / "b"), steps=0, init_from=str(tmp_path / "a" / "best.pt"), **long),
              data=motion, cameras=cams, log=lambda s: None)
    logs = []
    train(TrainConfig(run_dir=str(tmp_path / "c"), steps=0, init_from=str(tmp_path / "a" / "best.pt"),
                      init_resample=True, **long), data=motion, cameras=cams, log=logs.append)
    c = load_model(tmp_path / "c" / "best.pt").state_dict()
    assert any("resampled Temporal_pos_embed, pos_embed_token, x_token" in s for s in logs), logs
    for k, v in a.items():
        if k in ("Temporal_pos_embed", "x_token", "pos_embed_token"):
            n = c[k].shape[1]
            assert c[k].shape == (1, 3 * v.shape[1], v.shape[2])
            # end points kept, and every old sample sits on the stretched line at its place
            assert torch.allclose(c[k][:, 0], v[:, 0]) and torch.allclose(c[k][:, -1], v[:, -1])
            pos = torch.linspace(0, n - 1, v.shape[1]).round().long()  # exact for 9 -> 27 only at the ends
            mid = (c[k][:, pos] - v).abs().max()
            assert mid < (v[:, 1:] - v[:, :-1]).abs().max() + 1e-6
        else:
            assert torch.equal(v, c[k]), k  # every other weight is carried over unchanged


def test_config_file_then_command_line_options(tmp_path):
    from hotdemo.core.errors import InputError
    from hotdemo.train.__main__ import _parser
    from hotdemo.train.commands import build_train_config

    data, cams = tmp_path / "d.npz", tmp_path / "cameras.json"
    data.write_bytes(b"x"), cams.write_text("{}")
    base = tmp_path / "config.json"
    base.write_text(json.dumps({"model": "mixste", "dim": 64, "steps": 500, "run_dir": "ignored",
                                "augment": {"p_flip": 0.1, "p_noise": 0.2}}))
    args = vars(_parser().parse_args(["train", "--config", str(base), "--run-dir", str(tmp_path / "r"),
                                      "--data", str(data), "--steps", "7", "--aug-p-noise", "0.9"]))
    cfg = build_train_config(args)
    assert cfg.model == "mixste" and cfg.dim == 64  # from the file
    assert cfg.steps == 7 and cfg.run_dir == str(tmp_path / "r")  # the command line wins
    assert cfg.augment.p_flip == 0.1 and cfg.augment.p_noise == 0.9
    assert cfg.depth == 4 and cfg.cameras == str(cams)  # defaults; cameras found beside the data
    base.write_text(json.dumps({"dimension": 64}))
    with pytest.raises(InputError, match="unknown training config keys: dimension"):
        build_train_config(args)
    base.write_text("{not json")
    with pytest.raises(InputError, match="cannot read the training config"):
        build_train_config(args)


def test_sdpa_math_kernel_gives_the_same_step_and_is_the_cpu_default(motion):
    from hotdemo.lift.registry import build_model, get_spec
    from hotdemo.train.__main__ import _parser
    from hotdemo.train.losses import LOSSES
    from hotdemo.train.trainer import TrainConfig, attention_kernel, model_step

    torch.manual_seed(0)
    model = build_model("hot_mixste", frames=9, dim=32, depth=2, heads=4, token_num=3, layer_index=1)
    spec = get_spec("hot_mixste")
    x, y = make_batch(np.random.default_rng(3), motion, motion.subset(("S1", "S5")), _cameras(), 4, 9, AugmentConfig())
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step(ctx):
        torch.manual_seed(1)  # the same dropout masks for both
        model.zero_grad(set_to_none=True)
        with ctx:
            loss = model_step(model, spec, x, y, LOSSES[spec.loss])["loss"]
            loss.backward()
        return float(loss.detach()), torch.cat([p.grad.flatten() for p in model.parameters()])

    loss0, grad0 = step(attention_kernel(torch.device("cpu"), False))
    loss1, grad1 = step(attention_kernel(torch.device("cpu"), None))
    assert loss1 == pytest.approx(loss0, rel=1e-5)
    assert torch.allclose(grad1, grad0, rtol=1e-4, atol=1e-6)

    # default: the math kernel on the CPU only (the flags SDPA's dispatcher reads)
    flash = torch.backends.cuda.flash_sdp_enabled
    with attention_kernel(torch.device("cpu"), None):
        assert torch.backends.cuda.math_sdp_enabled() and not flash()
    with attention_kernel(torch.device("cuda"), None):
        assert flash()
    assert flash()
    assert TrainConfig().sdpa_math is None
    args = vars(_parser().parse_args(["train", "--no-sdpa-math"]))
    assert args["sdpa_math"] is False


def test_optimizer_step_is_the_trainers_step_and_bf16_autocast_stays_close(tmp_path, motion):
    from hotdemo.core.errors import InputError
    from hotdemo.lift.registry import build_model, get_spec
    from hotdemo.train.__main__ import _parser
    from hotdemo.train.losses import LOSSES
    from hotdemo.train.trainer import TrainConfig, model_step, optimizer_step, train

    spec = get_spec("hot_mixste")
    x, y = make_batch(np.random.default_rng(3), motion, motion.subset(("S1", "S5")), _cameras(), 4, 9, AugmentConfig())
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def fresh():
        torch.manual_seed(0)
        m = build_model("hot_mixste", frames=9, dim=32, depth=2, heads=4, token_num=3, layer_index=1)
        return m, torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1)

    # by hand: forward + loss, backward, clipping, AdamW
    ref, opt = fresh()
    torch.manual_seed(1)
    loss = model_step(ref, spec, x, y, LOSSES[spec.loss])["loss"]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
    opt.step()
    results = {}
    for autocast in (None, "bf16"):
        m, opt = fresh()
        torch.manual_seed(1)
        losses = optimizer_step(m, spec, opt, x, y, LOSSES[spec.loss], grad_clip=1.0, sdpa_math=False, autocast=autocast)
        assert losses["loss"].dtype == torch.float32  # the loss in float32 under autocast too
        results[autocast] = (float(losses["loss"]), m)
    assert results[None][0] == pytest.approx(float(loss.detach()), rel=1e-5)
    for a, b in zip(results[None][1].parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    # bfloat16 (8 mantissa bits): the same loss to about 1 %, and the step moved the weights alike
    assert results["bf16"][0] != results[None][0]  # it did run in reduced precision
    assert results["bf16"][0] == pytest.approx(results[None][0], rel=0.03)
    start, _ = fresh()
    with torch.no_grad():
        d32 = torch.cat([(p - q).flatten() for p, q in zip(results[None][1].parameters(), start.parameters())])
        d16 = torch.cat([(p - q).flatten() for p, q in zip(results["bf16"][1].parameters(), start.parameters())])
    assert float(torch.nn.functional.cosine_similarity(d32, d16, dim=0)) > 0.9
    with pytest.raises(InputError, match="unknown autocast 'fp8'"):
        optimizer_step(m, spec, opt, x, y, LOSSES[spec.loss], autocast="fp8")
    # reachable from the command line and the config; a bad value fails before a run folder is made
    assert vars(_parser().parse_args(["train", "--autocast", "bf16"]))["autocast"] == "bf16"
    assert TrainConfig().autocast is None
    with pytest.raises(InputError, match="unknown autocast"):
        train(TrainConfig(run_dir=str(tmp_path / "r"), autocast="fp16"), data=motion, cameras=_cameras())
    assert not (tmp_path / "r").exists()


def test_training_device_choice(tmp_path, motion):
    from hotdemo.core.device import resolve_device  # the one rule for every command (tests/test_fileio.py)
    from hotdemo.core.errors import InputError
    from hotdemo.train.trainer import TrainConfig, train

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu-ish")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            resolve_device("cuda")
    # the trainer resolves its device through the same rule, before it makes the run folder
    with pytest.raises(InputError, match="unknown device"):
        train(TrainConfig(run_dir=str(tmp_path / "r"), device="tpu-ish"), data=motion, cameras=_cameras())
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_training_and_evaluation_run_on_the_gpu(tmp_path, motion):
    from hotdemo.lift.checkpoint import load_model
    from hotdemo.train.trainer import TrainConfig, train

    cfg = TrainConfig(run_dir=str(tmp_path / "g"), model="hot_mixste", frames=9, dim=16, depth=2, heads=2,
                      token_num=3, layer_index=1, batch_size=8, steps=3, warmup_steps=1, val_every=0,
                      checkpoint_every=1, train_subjects=("S1",), val_subjects=("S9",), device="cuda")
    logs = []
    summary = train(cfg, data=motion, cameras=_cameras(), log=logs.append)
    assert summary["step"] == 3 and any("device cuda" in s for s in logs)
    assert load_model(tmp_path / "g" / "best.pt").cfg.frames == 9  # saved on the CPU, loads anywhere
    cfg.steps = 4  # resuming moves the optimizer state back to the GPU
    assert train(cfg, data=motion, cameras=_cameras(), log=logs.append)["step"] == 4


@pytest.mark.parametrize("family", ["mixste", "hot_mixste", "tpc_mixste", "motionbert", "hot_motionbert", "mhformer",
                                    "tpc_mhformer"])
def test_every_family_trains_with_its_loss_and_writes_family_config_and_root(tmp_path, motion, family):
    from hotdemo.lift.checkpoint import read_checkpoint, read_lifter_checkpoint
    from hotdemo.lift.registry import build_model, get_spec
    from hotdemo.train.losses import LOSSES
    from hotdemo.train.trainer import TrainConfig, model_step, train

    spec = get_spec(family)
    cfg = TrainConfig(run_dir=str(tmp_path / "run"), model=family, frames=9, dim=16, depth=3, heads=2, token_num=3,
                      layer_index=1, batch_size=8, lr=3e-3, warmup_steps=1, steps=2, threads=1, val_every=2,
                      val_sequences=1, checkpoint_every=1, log_every=1, train_subjects=("S1", "S5"),
                      val_subjects=("S9",), augment=AugmentConfig(p_noise=0.0))
    cams = _cameras()
    torch.manual_seed(cfg.seed)
    init = build_model(family, **cfg.model_kwargs())
    x, y = make_batch(np.random.default_rng([cfg.seed, 0]), motion, motion.subset(cfg.train_subjects), cams,
                      cfg.batch_size, cfg.frames, cfg.augment)

    def loss_of(m):
        m.eval()
        with torch.no_grad():
            return float(model_step(m, spec, torch.from_numpy(x), torch.from_numpy(y), LOSSES[spec.loss])["loss"])

    before = loss_of(init)
    train(cfg, data=motion, cameras=cams, log=lambda s: None)
    for f in ("best.pt", "last.pt"):
        obj = read_checkpoint(tmp_path / "run" / f)
        assert obj["model_name"] == family and obj["root_mode"] == "subtract" and obj["output_units"] == "metres"
        ck = read_lifter_checkpoint(tmp_path / "run" / f)
        assert ck.config == init.cfg.to_dict() and (ck.root, ck.output) == ("subtract", "metres")
    assert loss_of(read_lifter_checkpoint(tmp_path / "run" / "last.pt").build()) < before


def test_training_data_is_not_looked_for_beside_the_checkout(tmp_path, monkeypatch):
    """No ../shared is assumed: without --data and without $HOTDEMO_SHARED, a one-line error
    that names both ways (even on a machine where ../shared exists beside the checkout)."""
    from typer.testing import CliRunner

    from hotdemo.cli import app
    from hotdemo.core.errors import InputError
    from hotdemo.train.commands import build_train_config, resolve_inputs

    monkeypatch.delenv("HOTDEMO_SHARED", raising=False)
    with pytest.raises(InputError) as ei:
        build_train_config({"run_dir": str(tmp_path / "r")})
    assert "--data" in str(ei.value) and "HOTDEMO_SHARED" in str(ei.value)
    r = CliRunner().invoke(app, ["train", "--run-dir", str(tmp_path / "r")])
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:") and "--data" in lines[0]
    r = CliRunner().invoke(app, ["eval", "--max-sequences", "1"])
    assert r.exit_code == 2 and "HOTDEMO_SHARED" in r.output and "Traceback" not in r.output
    # $HOTDEMO_SHARED pointing at a folder without the data: said so
    monkeypatch.setenv("HOTDEMO_SHARED", str(tmp_path))
    with pytest.raises(InputError, match="has no data/h36m/data_3d_h36m_expmap.npz"):
        resolve_inputs(None, None)
    # ... and with the data there, it is the default
    d = tmp_path / "data" / "h36m"
    d.mkdir(parents=True)
    (d / "data_3d_h36m_expmap.npz").write_bytes(b"x")
    (d / "cameras.json").write_text("{}")
    assert resolve_inputs(None, None) == (d / "data_3d_h36m_expmap.npz", d / "cameras.json")


def test_comparison_table_reads_trainer_and_eval_outputs(tmp_path, motion):
    """tools/gpu_compare.sh's table: real trainer summaries and real evaluation records, two seeds."""
    from hotdemo.lift.checkpoint import load_model
    from hotdemo.lift.lifter import Lifter
    from hotdemo.train.__main__ import main
    from hotdemo.train.commands import evaluation_record
    from hotdemo.train.compare import format_comparison, read_comparison
    from hotdemo.train.evaluate import evaluate
    from hotdemo.train.trainer import TrainConfig, train

    cams = _cameras()
    for seed in (1, 2):
        for model in ("mixste", "hot_mixste"):
            run = tmp_path / f"{model}_s{seed}"
            cfg = TrainConfig(run_dir=str(run), model=model, frames=9, dim=16, depth=2, heads=2, token_num=3,
                              layer_index=1, batch_size=4, steps=1, threads=1, val_every=0, seed=seed,
                              train_subjects=("S1", "S5"), val_subjects=("S9",))
            m = train(cfg, data=motion, cameras=cams, log=lambda s: None)
            assert m["step"] == 1
            lifter = Lifter(load_model(run / "last.pt"), device="cpu", root="subtract", output="metres")
            res = evaluate(lifter, motion, cams, subjects=("S9",))
            (tmp_path / f"{model}_s{seed}.eval.json").write_text(
                json.dumps(evaluation_record([res], checkpoint=str(run / "last.pt"))))
    got = read_comparison(tmp_path)
    assert sorted(got) == ["hot_mixste", "mixste"]
    assert [r["seed"] for r in got["mixste"]] == [1, 2]
    ev = json.loads((tmp_path / "hot_mixste_s2.eval.json").read_text())
    assert got["hot_mixste"][1]["mpjpe"] == ev["results"][0]["average"]["mpjpe"] > 0
    text = format_comparison(got)
    d = [got["hot_mixste"][i]["mpjpe"] - got["mixste"][i]["mpjpe"] for i in range(2)]
    assert f"hot_mixste - mixste per seed: {d[0]:+.1f}, {d[1]:+.1f} mm" in text
    assert main(["compare", str(tmp_path), "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["mixste"][0]["seed"] == 1
    assert main(["compare", str(tmp_path / "r_empty")]) == 2  # nothing there: one-line error
