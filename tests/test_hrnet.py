"""HRNet: the official W32 architecture, and loading checkpoints in the HRNet authors' and
mmpose's key layouts (files generated here with random weights)."""

import numpy as np
import pytest
import torch

from hotdemo.errors import CheckpointError, WeightsError
from hotdemo.models.hrnet import HRNet, convert_state_dict, load_hrnet
from hotdemo.pose2d import TorchHeatmapPose, _input_wh_from_name, build_pose2d

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
def test_loads_checkpoint_layouts(small, tmp_path, layout):
    m, x, y = small
    sd = m.state_dict()
    if layout == "authors":
        obj = sd
    elif layout == "dataparallel":
        obj = {"module." + k: v for k, v in sd.items()}
    else:
        head = "keypoint_head." if layout == "mmpose0" else "head."
        obj = {"state_dict": {(head + k if k.startswith("final_layer") else "backbone." + k): v
                              for k, v in sd.items()}, "meta": {"epoch": 210}}
    path = tmp_path / f"pose_hrnet_w8_{layout}_128x96.pth"
    torch.save(obj, path)
    loaded = load_hrnet(path)
    assert loaded.width == 8 and loaded.num_joints == 17
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), y)


def test_build_pose2d_reads_width_and_input_size(small, tmp_path):
    m, _, _ = small
    assert _input_wh_from_name("pose_hrnet_w48_384x288.pth") == (288, 384)
    path = tmp_path / "pose_hrnet_w8_128x96.pth"
    torch.save(m.state_dict(), path)
    est = build_pose2d(str(path))
    assert isinstance(est, TorchHeatmapPose) and est.input_wh == (96, 128) and est.model.width == 8
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    (kp, sc), = est([frame], [np.array([[40, 10, 100, 110]], np.float32)])
    assert kp.shape == (1, 17, 2) and sc.shape == (1, 17) and np.isfinite(kp).all()


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
