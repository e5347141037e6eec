"""Checkpoint loading/saving: official key layout, strict mismatch errors, config round trip."""

import os

import numpy as np
import pytest
import torch

from hotdemo.lift.checkpoint import (extract_state_dict, infer_config_from_state_dict, load_checkpoint, load_model,
                                save_checkpoint)
from hotdemo.core.errors import CheckpointError, WeightsError
from hotdemo.lift.lifter import Lifter
from hotdemo.lift.registry import build_model

torch.set_num_threads(1)

HOT = dict(frames=27, dim=32, depth=4, heads=8, token_num=9, layer_index=3)


def randomized(model):
    """Give every parameter random values so that a wrong mapping would show."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def official_file(tmp_path, model, wrap=None):
    """Save like the official training code under DataParallel: bare state dict, 'module.' keys."""
    sd = {"module." + k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "official.pth"
    torch.save(sd if wrap is None else {wrap: sd, "epoch": 7}, path)
    return path


@pytest.mark.parametrize("wrap", [None, "model_pos", "state_dict", "model"])
def test_official_layout_round_trip_strict(tmp_path, wrap):
    src = randomized(build_model("hot_mixste", **HOT))
    path = official_file(tmp_path, src, wrap)
    dst = build_model("hot_mixste", **HOT)
    report = load_checkpoint(dst, path, strict=True)
    assert report.ok
    x = torch.randn(1, 27, 17, 2)
    with torch.no_grad():
        assert torch.equal(src(x), dst.eval()(x))


@pytest.mark.parametrize("name", ["mixste", "hot_mixste", "tpc_mixste"])
def test_load_model_infers_size_from_official_state_dict(tmp_path, name):
    kw = dict(frames=27, dim=48, depth=3, heads=8, mlp_ratio=3.0)
    if name != "mixste":
        kw.update(token_num=9 if name == "hot_mixste" else 27 // 3, layer_index=1)
    src = randomized(build_model(name, **kw))
    path = official_file(tmp_path, src)
    cfg = infer_config_from_state_dict(name, torch.load(path))
    assert cfg["frames"] == 27 and cfg["dim"] == 48 and cfg["depth"] == 3 and cfg["mlp_ratio"] == 3.0
    over = {"layer_index": 1} if name != "mixste" else {}
    model = load_model(path, name, **over)
    x = torch.randn(2, 27, 17, 2)
    with torch.no_grad():
        assert torch.equal(src(x), model.eval()(x))


def test_missing_extra_and_misshaped_keys_are_listed(tmp_path):
    model = build_model("hot_mixste", **HOT)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    del sd["x_token"]
    sd["extra_head.weight"] = torch.zeros(3)
    sd["pos_embed_token"] = torch.zeros(1, 10, 32)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(build_model("hot_mixste", **HOT), sd)
    msg = str(e.value)
    assert "missing keys: x_token" in msg
    assert "unexpected keys: extra_head.weight" in msg
    assert "pos_embed_token [1, 10, 32] in checkpoint vs [1, 9, 32] in model" in msg
    rep = e.value.report
    assert rep.missing == ["x_token"] and rep.unexpected == ["extra_head.weight"]
    assert [k for k, _, _ in rep.mismatched] == ["pos_embed_token"]


def test_strict_failure_loads_nothing_and_non_strict_loads_the_rest():
    src = randomized(build_model("mixste", frames=27, dim=32, depth=2))
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    sd["Temporal_pos_embed"] = torch.zeros(1, 81, 32)
    dst = build_model("mixste", frames=27, dim=32, depth=2)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(CheckpointError, match="Temporal_pos_embed"):
        load_checkpoint(dst, sd)
    assert all(torch.equal(before[k], v) for k, v in dst.state_dict().items())
    rep = load_checkpoint(dst, sd, strict=False)
    assert [k for k, _, _ in rep.mismatched] == ["Temporal_pos_embed"]
    assert torch.equal(dst.state_dict()["head.1.weight"], src.state_dict()["head.1.weight"])
    assert torch.equal(dst.state_dict()["Temporal_pos_embed"], before["Temporal_pos_embed"])


def test_mixste_checkpoint_into_hot_model_lists_hot_keys():
    sd = build_model("mixste", frames=27, dim=32, depth=4).state_dict()
    with pytest.raises(CheckpointError, match="missing keys: .*pos_embed_token.*x_token") as e:
        load_checkpoint(build_model("hot_mixste", **HOT), sd)
    assert len(e.value.report.missing) == 10 and not e.value.report.unexpected


def test_save_checkpoint_stores_config_and_rebuilds(tmp_path):
    src = randomized(build_model("hot_mixste", **{**HOT, "pruning": "motion", "recovery": "linear"}))
    path = save_checkpoint(tmp_path / "sub" / "hot.pt", src, extra={"epoch": 4, "mpjpe_mm": 51.5})
    assert sorted(os.listdir(path.parent)) == ["hot.pt"]  # no temp file left behind
    obj = torch.load(path, weights_only=True)
    assert obj["model_name"] == "hot_mixste" and obj["epoch"] == 4
    assert obj["config"]["pruning"] == "motion" and obj["config"]["token_num"] == 9
    model = load_model(path)
    assert model.cfg == src.cfg
    x = torch.randn(1, 27, 17, 2)
    with torch.no_grad():
        assert torch.equal(src(x), model.eval()(x))
    with pytest.raises(CheckpointError, match="holds a hot_mixste model, not mixste"):
        load_model(path, "mixste")


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a PyTorch file"):
        load_model(bad, "hot_mixste")
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "nope.pth", "hot_mixste")
    with pytest.raises(CheckpointError, match="no state dict"):
        extract_state_dict({"epoch": 3})
    with pytest.raises(CheckpointError, match="not a known lifter checkpoint"):
        load_model({"x": torch.zeros(1)})


class _RunsCode:
    """Unpickling this would touch ``marker``: what a malicious checkpoint does with a real command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_official_training_files_with_numpy_values_and_args_load(tmp_path):
    # MotionAGFormer's (and HoT's MotionAGFormer / MotionBERT) training scripts save the best error
    # as a numpy float64, mmpose its dataset metadata as arrays, other scripts their argparse
    # arguments: a plain weights_only load refuses all three
    import argparse

    model = randomized(build_model("hot_mixste", **HOT))
    path = tmp_path / "best_epoch.pth.tr"
    torch.save({"epoch": 90, "lr": 2e-5, "optimizer": {}, "wandb_id": "x1",
                "model": {"module." + k: v for k, v in model.state_dict().items()},
                "min_mpjpe": np.float64(38.4), "args": argparse.Namespace(n_frames=27, lr=5e-4),
                "meta": {"dataset_meta": {"sigmas": np.array([0.026, 0.025], np.float32)}}}, path)
    with pytest.raises(Exception, match="Unsupported global"):
        torch.load(path, weights_only=True)  # why the reader needs its allow-list
    from hotdemo.lift.checkpoint import read_checkpoint

    obj = read_checkpoint(path)
    assert obj["min_mpjpe"] == np.float64(38.4) and obj["args"].n_frames == 27
    np.testing.assert_array_equal(obj["meta"]["dataset_meta"]["sigmas"], np.float32([0.026, 0.025]))
    loaded = load_model(path, "hot_mixste")
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_a_file_that_would_run_code_is_refused_naming_what_it_holds(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hook": _RunsCode(marker)}, path)
    with pytest.raises(WeightsError, match=r"evil\.pth: it holds a pickled `os\.makedirs`, which hotdemo does not unpickle") as e:
        load_model(path, "hot_mixste")
    assert "\n" not in str(e.value) and "weights_only" not in str(e.value)
    assert not marker.exists()


def test_a_damaged_download_is_named_as_such(tmp_path):
    good = tmp_path / "good.pth"
    torch.save(randomized(build_model("hot_mixste", **HOT)).state_dict(), good)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="damaged or incomplete"):
        load_model(cut, "hot_mixste")


# ----------------------------------------------------------------------------- one reader, every layout
def _train_config(**model):
    from hotdemo.train.trainer import TrainConfig

    return TrainConfig(run_dir="r", **model).to_dict()


def test_old_trainer_last_pt_reads_its_config_not_reinferred(tmp_path):
    """Regression: a last.pt trained with layer_index 1 (depth 2) failed with "layer_index must be in
    [1, depth=2), got 3" because its config was re-inferred from shapes (layer_index default 3)."""
    from hotdemo.lift.checkpoint import read_lifter_checkpoint
    from hotdemo.lift.lifter import load_lifter

    src = randomized(build_model("hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1,
                                 drop_path=0.0))
    opt = torch.optim.AdamW(src.parameters())
    # the trainer's last.pt as commit 44c625c writes it (the lead's running job): no model name or config
    torch.save({"model": src.state_dict(), "optimizer": opt.state_dict(), "step": 3, "best": 1.0, "elapsed": 2.0,
                "config": _train_config(model="hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3,
                                        layer_index=1)}, tmp_path / "last.pt")
    ck = read_lifter_checkpoint(tmp_path / "last.pt")
    assert (ck.family, ck.kind, ck.root, ck.output) == ("hot_mixste", "trainer", "subtract", "metres")
    assert ck.config == src.cfg.to_dict() and ck.meta["step"] == 3
    lifter = load_lifter(str(tmp_path / "last.pt"), device="cpu")
    assert lifter.root == "subtract" and lifter.model.cfg.layer_index == 1
    kp = np.random.default_rng(0).uniform(100, 500, (20, 17, 2)).astype(np.float32)
    want = Lifter(src, device="cpu", root="subtract").lift_sequence(kp, 1000, 600)
    np.testing.assert_array_equal(lifter.lift_sequence(kp, 1000, 600), want)


def test_old_trainer_best_pt_runs_with_subtract_root(tmp_path):
    """Regression: a trainer's best.pt (no root_mode, as 44c625c writes it) was lifted with the official
    demo's root handling 'zero' although the trainer supervises root-subtracted output."""
    from hotdemo.lift.lifter import load_lifter

    src = randomized(build_model("hot_mixste", frames=9, dim=16, depth=2, heads=2, token_num=3, layer_index=1))
    save_checkpoint(tmp_path / "best.pt", src, extra={"step": 3, "val_mpjpe_mm": 9.0, "note": "x",
                                                       "train_config": _train_config(model="hot_mixste")})
    lifter = load_lifter(str(tmp_path / "best.pt"), device="cpu")
    assert lifter.root == "subtract"
    kp = np.random.default_rng(1).uniform(100, 500, (20, 17, 2)).astype(np.float32)
    got = lifter.lift_sequence(kp, 1000, 600)
    zero = Lifter(src, device="cpu", root="zero").lift_sequence(kp, 1000, 600)
    sub = Lifter(src, device="cpu", root="subtract").lift_sequence(kp, 1000, 600)
    np.testing.assert_array_equal(got, sub)
    assert np.abs(got - zero).max() > 1e-3  # the two handlings differ on these weights


@pytest.mark.parametrize("name", ["mixste", "hot_mixste", "tpc_mixste", "motionbert", "hot_motionbert", "mhformer",
                                  "tpc_mhformer"])
def test_official_files_read_with_the_familys_conventions(tmp_path, name):
    from hotdemo.lift.checkpoint import read_lifter_checkpoint
    from hotdemo.lift.registry import get_spec

    spec = get_spec(name)
    src = randomized(build_model(name, **spec.tiny))
    path = official_file(tmp_path, src, "model_pos" if "motionbert" in name else None)
    # mixste / tpc_mixste and mhformer / tpc_mhformer have the same keys: the family must be named
    pairs = {"mixste": "tpc_mixste", "tpc_mixste": "mixste", "mhformer": "tpc_mhformer", "tpc_mhformer": "mhformer"}
    family = name if name in pairs else None
    unseen = {k: spec.tiny[k] for k in ("heads", "layer_index") if k in spec.tiny}  # not in the shapes
    ck = read_lifter_checkpoint(path, family, **unseen)
    assert (ck.family, ck.kind, ck.root, ck.output) == (name, "official", spec.root, spec.output)
    model = ck.build().eval()
    x = torch.randn(2, src.cfg.frames, 17, spec.input_channels)
    with torch.no_grad():
        torch.testing.assert_close(model(x), src(x), rtol=0, atol=0)
    if name in pairs:
        with pytest.raises(CheckpointError, match=f"fit .*{pairs[name]}.*; say which"):
            read_lifter_checkpoint(path)


def test_shipped_file_reads_with_subtract_root():
    from hotdemo.lift.checkpoint import read_lifter_checkpoint
    from hotdemo.lift.lifter import default_weights_path

    path = default_weights_path()
    if not path.is_file():
        pytest.skip(f"no shipped weights at {path}")
    ck = read_lifter_checkpoint(path)
    assert (ck.family, ck.kind, ck.root, ck.output) == ("hot_mixste", "hotdemo", "subtract", "metres")
    assert ck.build().cfg.to_dict() == ck.config


def test_one_torch_file_reader_for_2d_and_3d(tmp_path):
    """hotdemo.io.torchfile: the containers official trainings save, nested, with DataParallel
    prefixes, all unwrap to the same state dict; the strict load names every bad key."""
    from hotdemo.io import files, torchfile
    from hotdemo.io.torchfile import load_state_dict_strict, unwrap_state_dict

    assert files.safe_torch_load is torchfile.safe_torch_load and files.pickled_globals is torchfile.pickled_globals
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    sd = m.state_dict()
    dp = {f"module.{k}": v for k, v in sd.items()}
    for obj in (sd, dp, {"state_dict": dp, "meta": {"epoch": 3}}, {"model_pos": sd, "epoch": 9},
                {"model": {"state_dict": dp}}, {"net": sd}, {"model": sd, "optimizer": {"lr": 0.1}}):
        got = unwrap_state_dict(obj)
        assert list(got) == list(sd) and all(got[k] is sd[k] for k in sd)
    with pytest.raises(CheckpointError, match="f.pth: checkpoint holds no state dict"):
        unwrap_state_dict({"epoch": 3, "model": {"name": "x"}}, where="f.pth: ")

    bad = {k: v for k, v in sd.items() if k != "1.running_var"}
    bad["0.weight"] = torch.zeros(5, 3)
    bad["extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"does not match Sequential: missing keys: 1\.running_var; "
                                              r"unexpected keys: extra; shape mismatches: 0\.weight") as e:
        load_state_dict_strict(m, bad)
    assert e.value.report.missing == ["1.running_var"]
    # 2D files: keys the model lacks are ignored and BatchNorm counters optional
    ok = {k: v + 1 for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    report = load_state_dict_strict(m, {**ok, "aux_head.weight": torch.zeros(1)}, allow_unexpected=True,
                                    optional=lambda k: k.endswith("num_batches_tracked"))
    assert report.unexpected == ["aux_head.weight"] and not report.missing
    torch.testing.assert_close(m.state_dict()["0.weight"], ok["0.weight"])
