"""HRNet: the official W32 architecture, and loading checkpoints in the HRNet authors' and
mmpose's key layouts (files generated here with random weights)."""

import numpy as np
import pytest
import torch

from hotdemo.core.errors import CheckpointError, InputError, WeightsError
from hotdemo.pose2d.families.hrnet import HRNet, convert_state_dict, load_hrnet
from hotdemo.pose2d import HeatmapHead, TorchRunner, build_pose2d

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    """A random HRNet-W8 (same topology as W32/W48, far fewer parameters)."""
    torch.manual_seed(0)
    m = HRNet(width=8).eval()
    with torch.no_grad():  # non-trivial BN statistics, so a wrong mapping changes the output
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        y = m(x)
    return m, x, y


def test_w32_matches_the_official_architecture():
    torch.manual_seed(0)
    m = HRNet(width=32)
    assert sum(p.numel() for p in m.parameters()) == 28_536_113  # pose_hrnet_w32: 28.5M
    sd = m.state_dict()
    for k in ("conv1.weight", "layer1.0.downsample.0.weight", "transition1.1.0.0.weight",
              "transition3.3.0.0.weight", "stage3.3.fuse_layers.2.0.1.0.weight",
              "stage4.2.fuse_layers.0.3.0.weight", "final_layer.bias"):
        assert k in sd, k
    assert "stage4.2.fuse_layers.1.0.0.0.weight" not in sd  # the last module outputs one branch
    with torch.no_grad():
        assert m.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 17, 16, 16)


@pytest.mark.parametrize("layout", ["authors", "dataparallel", "mmpose0", "mmpose1"])
def test_loads_checkpoint_layouts(small, tmp_path, layout, caplog):
    m, x, y = small
    sd = m.state_dict()
    if layout == "authors":
        obj = sd
    elif layout == "dataparallel":
        obj = {"module." + k: v for k, v in sd.items()}
    else:
        head = "keypoint_head." if layout == "mmpose0" else "head."
        obj = {"state_dict": {(head + k if k.startswith("final_layer") else "backbone." + k): v
                              for k, v in sd.items()},
               "meta": {"epoch": 210, "dataset_meta": {"sigmas": np.full(17, 0.07, np.float32)}}}
    path = tmp_path / f"pose_hrnet_w8_{layout}_128x96.pth"
    torch.save(obj, path)
    loaded = load_hrnet(path)
    assert loaded.width == 8 and loaded.num_joints == 17
    assert "full unpickling" not in caplog.text  # numpy metadata loads by the safe route
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), y)


def test_build_pose2d_reads_width_from_contents_never_the_file_name(small, tmp_path, caplog):
    m, _, _ = small
    # a file named like a 384x288 W48 model still runs as what its contents say: W8, and the
    # HRNet default 256x192 (HRNet weights do not record an input size), with a warning
    path = tmp_path / "pose_hrnet_w48_384x288.pth"
    torch.save(m.state_dict(), path)
    with caplog.at_level("WARNING", logger="hotdemo"):
        est = build_pose2d(str(path))
    assert "does not record its input size" in caplog.text
    assert isinstance(est.runner, TorchRunner) and isinstance(est.head, HeatmapHead)
    assert est.input_wh == (192, 256) and est.runner.model.width == 8 and est.spec.family == "hrnet"
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    (kp, sc), = est([frame], [np.array([[40, 10, 100, 110]], np.float32)])
    assert kp.shape == (1, 17, 2) and sc.shape == (1, 17) and np.isfinite(kp).all()


def test_input_size_from_an_mmpose_config_in_the_file_or_a_json_spec(small, tmp_path):
    m, _, _ = small
    sd = m.state_dict()
    cfg = "codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)"
    obj = {"state_dict": {(("head." + k) if k.startswith("final_layer") else "backbone." + k): v
                          for k, v in sd.items()}, "meta": {"cfg": cfg}}
    torch.save(obj, tmp_path / "renamed.pth")
    assert build_pose2d(str(tmp_path / "renamed.pth")).input_wh == (96, 128)
    torch.save(sd, tmp_path / "plain.pth")
    (tmp_path / "w8.json").write_text('{"family": "hrnet", "weights": "plain.pth", "input_wh": [288, 384]}')
    est = build_pose2d(str(tmp_path / "w8.json"))
    assert est.input_wh == (288, 384) and est.spec.name == "w8" and est.runner.model.width == 8
    assert build_pose2d(str(tmp_path / "plain.pth"), input_wh=(144, 192)).input_wh == (144, 192)
    (tmp_path / "bad.json").write_text('{"family": "hrnet", "weights": "plain.pth", "size": [1, 2]}')
    with pytest.raises(InputError, match="unknown field"):
        build_pose2d(str(tmp_path / "bad.json"))


def test_unknown_layout_is_one_line_listing_the_supported_ones(tmp_path):
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError) as e:
        build_pose2d(str(tmp_path / "other.pth"))
    msg = str(e.value)
    assert "\n" not in msg and "unknown 2D checkpoint layout" in msg and "hrnet:" in msg
    with pytest.raises(InputError, match="unknown 2D pose model"):
        build_pose2d("no_such_model")


def test_bad_checkpoints_raise_clear_errors(small, tmp_path):
    m, _, _ = small
    sd = m.state_dict()
    trunc = {k: v for k, v in sd.items() if not k.startswith("stage4")}
    torch.save(trunc, tmp_path / "trunc.pth")
    with pytest.raises(CheckpointError, match="missing"):
        load_hrnet(tmp_path / "trunc.pth")
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not an HRNet"):
        load_hrnet(tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_hrnet(tmp_path / "junk.pth")
    with pytest.raises(WeightsError):
        load_hrnet(tmp_path / "absent.pth")


def test_convert_state_dict_drops_bookkeeping():
    sd = {"backbone.conv1.weight": torch.zeros(1), "keypoint_head.final_layer.bias": torch.zeros(1),
          "backbone.bn1.num_batches_tracked": torch.tensor(3)}
    assert set(convert_state_dict(sd)) == {"conv1.weight", "final_layer.bias"}


class _RunsCode:
    """Unpickling this creates ``marker``: what a malicious checkpoint does with a real command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.makedirs, (str(self.marker),))


def test_a_2d_checkpoint_that_holds_code_is_refused_unless_trusted(small, tmp_path, caplog):
    m, x, y = small
    marker = tmp_path / "code_ran"
    path = tmp_path / "pose_hrnet_w8_mmpose_trainstate.pth"
    torch.save({"state_dict": m.state_dict(), "meta": {"hook": _RunsCode(marker)}}, path)
    for load in (lambda: build_pose2d(str(path)), lambda: load_hrnet(path)):
        with pytest.raises(CheckpointError) as e:
            load()
        msg = str(e.value)
        assert "os.makedirs" in msg and "--trust-checkpoint" in msg and "\n" not in msg
        assert not marker.exists()  # nothing in the file ran
    with caplog.at_level("WARNING", logger="hotdemo"):
        est = build_pose2d(str(path), trust_checkpoint=True)
    assert marker.exists() and "--trust-checkpoint" in caplog.text  # it did run, and we said so
    with torch.no_grad():
        torch.testing.assert_close(est.runner.model(x), y)


def test_trust_checkpoint_reaches_the_2d_model_and_batch_says_so(tmp_path, monkeypatch, caplog):
    from typer.testing import CliRunner

    import hotdemo.frontend as frontend_mod
    from hotdemo.batch import config_fingerprint, run_batch
    from hotdemo.cli import _config, app
    from hotdemo.pipeline import PipelineConfig

    seen = []
    def fake_pose2d(*a, **k):
        seen.append(k["trust_checkpoint"])
        raise InputError("stop here")

    monkeypatch.setattr(frontend_mod, "build_pose2d", fake_pose2d)
    monkeypatch.setattr(frontend_mod, "build_detector", lambda *a, **k: None)
    monkeypatch.setattr("hotdemo.detect.detector.manifest_name", lambda spec: None)
    monkeypatch.setattr("hotdemo.pose2d.registry.manifest_name", lambda spec: None)
    from test_robustness import person_frames, write_video

    video = write_video(tmp_path / "v.mp4", person_frames(3))
    for extra, want in (([], False), (["--trust-checkpoint"], True)):
        CliRunner().invoke(app, ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained",
                                 "--pose2d", "x.pth"] + extra)
        assert seen[-1] is want
    assert _config({"trust_checkpoint": True, "export": "json"}).trust_checkpoint
    # batch: trusting is said up front, and does not change what a finished clip's fingerprint is
    cfg = PipelineConfig(trust_checkpoint=True, allow_untrained=True)
    assert config_fingerprint(cfg) == config_fingerprint(PipelineConfig(allow_untrained=True))
    (tmp_path / "clips").mkdir()
    write_video(tmp_path / "clips" / "a.mp4", person_frames(3))
    with caplog.at_level("WARNING", logger="hotdemo"):
        try:
            run_batch(tmp_path / "clips", tmp_path / "bo", config=cfg, verbose=False)
        except InputError:
            pass
    assert seen[-1] is True
    assert "--trust-checkpoint" in caplog.text and "runs code" in caplog.text
