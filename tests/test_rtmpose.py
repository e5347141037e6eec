"""RTMPose (CSPNeXt + RTMCC head): architecture, mmpose checkpoint layout, ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hotdemo.models.rtmpose import (RTMPOSE_SIZES, _randomise_norms, build_rtmpose, export_rtmpose_onnx,
                                    load_rtmpose, random_rtmpose_onnx)

# parameter counts (M) in mmpose's RTMPose README (projects/rtmpose, body7 models)
PUBLISHED_PARAMS = {("t", (192, 256)): 3.34, ("s", (192, 256)): 5.47, ("m", (192, 256)): 13.59,
                    ("l", (192, 256)): 27.66, ("m", (288, 384)): 13.72, ("l", (288, 384)): 27.79,
                    ("x", (288, 384)): 49.43}


@pytest.mark.parametrize("size,wh", list(PUBLISHED_PARAMS))
def test_parameter_count_matches_mmpose(size, wh):
    n = sum(p.numel() for p in build_rtmpose(size, wh).parameters()) / 1e6
    assert abs(n - PUBLISHED_PARAMS[(size, wh)]) < 0.006


def test_state_dict_uses_mmpose_key_names():
    keys = set(build_rtmpose("s").state_dict())
    # names as in mmpose's TopdownPoseEstimator(CSPNeXt, RTMCCHead) state dicts
    for k in ("backbone.stem.0.conv.weight", "backbone.stem.2.bn.running_var",
              "backbone.stage1.0.conv.weight", "backbone.stage1.1.main_conv.conv.weight",
              "backbone.stage1.1.short_conv.bn.weight", "backbone.stage1.1.final_conv.conv.weight",
              "backbone.stage1.1.blocks.0.conv1.conv.weight",
              "backbone.stage1.1.blocks.0.conv2.depthwise_conv.conv.weight",
              "backbone.stage1.1.blocks.0.conv2.pointwise_conv.bn.bias",
              "backbone.stage1.1.attention.fc.weight", "backbone.stage1.1.attention.fc.bias",
              "backbone.stage4.1.conv1.conv.weight", "backbone.stage4.1.conv2.conv.weight",
              "backbone.stage4.2.blocks.0.conv1.conv.weight",
              "head.final_layer.weight", "head.final_layer.bias", "head.mlp.0.g", "head.mlp.1.weight",
              "head.gau.uv.weight", "head.gau.o.weight", "head.gau.gamma", "head.gau.beta", "head.gau.ln.g",
              "head.gau.res_scale.scale", "head.cls_x.weight", "head.cls_y.weight"):
        assert k in keys, k
    # no biases where mmpose has none, no relative-position bias (use_rel_bias=False)
    assert not any(k.endswith(("conv.bias", "uv.bias", "o.bias", "cls_x.bias", "gau.w")) for k in keys
                   if "attention" not in k)


def test_output_shapes_and_stage_depths():
    m = build_rtmpose("m").eval()
    with torch.no_grad():
        x, y = m(torch.randn(2, 3, 256, 192))
    assert x.shape == (2, 17, 384) and y.shape == (2, 17, 512)
    # deepen 0.67: 2, 4, 4, 2 CSPNeXt blocks; widen 0.75: 768 channels into the head
    assert [len(getattr(m.backbone, f"stage{i}")[-1].blocks) for i in range(1, 5)] == [2, 4, 4, 2]
    assert m.head.final_layer.in_channels == 768 and m.head.final_layer.kernel_size == (7, 7)
    assert RTMPOSE_SIZES["s"] == (0.33, 0.5)


@pytest.mark.parametrize("size,wh", [("s", (192, 256)), ("t", (288, 384))])
def test_mmpose_checkpoint_loads_natively(tmp_path, size, wh):
    torch.manual_seed(1)
    ref = build_rtmpose(size, wh)
    _randomise_norms(ref)
    ref.eval()
    # mmpose / mmengine layout: {'meta': ..., 'state_dict': {'backbone.*', 'head.*'}}
    path = tmp_path / "rtmpose.pth"
    torch.save({"meta": {"mmpose_version": "1.1.0"}, "state_dict": ref.state_dict()}, path)
    m = load_rtmpose(path)
    assert m.cfg.input_wh == wh and m.cfg.split_ratio == 2.0 and m.cfg.widen == RTMPOSE_SIZES[size][1]
    x = torch.randn(2, 3, wh[1], wh[0])
    with torch.no_grad():
        a, b = ref(x)
        c, d = m(x)
    assert torch.equal(a, c) and torch.equal(b, d)


def test_not_an_rtmpose_checkpoint_is_refused(tmp_path):
    path = tmp_path / "x.pth"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(64, 3, 3, 3)}}, path)
    with pytest.raises(ValueError, match="not an RTMPose"):
        load_rtmpose(path)


def test_onnx_export_has_the_sdk_signature_and_matches_torch(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    m = build_rtmpose("s")
    _randomise_norms(m)
    m.eval()
    p = export_rtmpose_onnx(m, tmp_path / "end2end.onnx")
    assert [q.name for q in tmp_path.iterdir()] == ["end2end.onnx"]  # no temporary file left
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.name == "input" and inp.shape[1:] == [3, 256, 192] and not isinstance(inp.shape[0], int)
    outs = sess.get_outputs()
    assert [o.name for o in outs] == ["simcc_x", "simcc_y"]
    assert [o.shape[1:] for o in outs] == [[17, 384], [17, 512]]
    x = np.random.default_rng(0).standard_normal((3, 3, 256, 192)).astype(np.float32)
    sx, sy = sess.run(None, {"input": x})
    with torch.no_grad():
        tx, ty = m(torch.from_numpy(x))
    assert np.abs(sx - tx.numpy()).max() < 1e-4 and np.abs(sy - ty.numpy()).max() < 1e-4


def test_random_onnx_is_cached(tmp_path):
    p = random_rtmpose_onnx("t", cache_dir=tmp_path)
    mtime = p.stat().st_mtime_ns
    assert random_rtmpose_onnx("t", cache_dir=tmp_path) == p and p.stat().st_mtime_ns == mtime
