"""RTMPose (CSPNeXt + RTMCC head): architecture, mmpose checkpoint layout, ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hotdemo.pose2d.families.rtmpose import (RTMPOSE_SIZES, _randomise_norms, build_rtmpose, export_rtmpose_onnx,
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


# ----------------------------------------------------------------------------- top-down path vs mmpose's steps

def _mmpose_reference(session, frame_rgb: np.ndarray, boxes: np.ndarray, input_wh=(192, 256)):
    """mmpose's RTMPose inference written out step by step (bbox_xyxy2cs with padding 1.25,
    _fix_aspect_ratio, get_warp_matrix from three points, warpAffine, PoseDataPreprocessor's
    RGB mean/std, get_simcc_maximum, split ratio 2, back to the image by centre and scale)."""
    import cv2

    W, H = input_wh
    out_k, out_s = [], []
    for x1, y1, x2, y2 in boxes:
        center = np.array([(x1 + x2) * 0.5, (y1 + y2) * 0.5], np.float32)
        scale = np.array([x2 - x1, y2 - y1], np.float32) * 1.25
        aspect = W / H
        w, h = scale
        scale = np.array([w, w / aspect] if w > h * aspect else [h * aspect, h], np.float32)
        src = np.zeros((3, 2), np.float32)
        dst = np.zeros((3, 2), np.float32)
        src[0] = center
        src[1] = center + np.array([0.0, scale[0] * -0.5])
        dst[0] = [W * 0.5, H * 0.5]
        dst[1] = dst[0] + np.array([0.0, W * -0.5])
        for m in (src, dst):
            d = m[0] - m[1]
            m[2] = m[1] + np.array([-d[1], d[0]])
        M = cv2.getAffineTransform(src, dst)
        bgr = frame_rgb[..., ::-1]  # mmpose loads BGR and its data preprocessor swaps to RGB
        crop = cv2.warpAffine(bgr, M, (W, H), flags=cv2.INTER_LINEAR)
        rgb = crop[..., ::-1].astype(np.float32)
        x = ((rgb - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375]))
        x = x.transpose(2, 0, 1)[None].astype(np.float32)
        sx, sy = session.run(None, {"input": x})
        sx, sy = sx.reshape(17, -1), sy.reshape(17, -1)
        locs = np.stack([sx.argmax(1), sy.argmax(1)], -1).astype(np.float32)
        vx, vy = sx.max(1), sy.max(1)
        vals = np.where(vx > vy, vy, vx)
        locs[vals <= 0] = -1
        kp = locs / 2.0
        kp = kp / np.array([W, H]) * scale + center - 0.5 * scale
        out_k.append(kp)
        out_s.append(vals)
    return np.array(out_k), np.array(out_s)


def test_rtmpose_top_down_path_matches_mmpose_steps():
    import onnxruntime as ort

    from hotdemo.pose2d import POSE2D_SPECS, build_pose2d

    path = random_rtmpose_onnx("s")
    spec = POSE2D_SPECS["rtmpose_s_body7_256x192"].replace(weights=str(path))
    est = build_pose2d(spec, threads=2)
    rng = np.random.default_rng(3)
    frame = cv2_blur(rng.integers(0, 256, (480, 640, 3), np.uint8))
    boxes = np.array([[100, 50, 300, 400], [20.5, 30.25, 90.75, 300.5], [400, 200, 630, 260], [300, 10, 330, 470]],
                     np.float32)
    (kp, sc), = est([frame], [boxes])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rk, rs = _mmpose_reference(sess, frame, boxes)
    assert kp.shape == (4, 17, 2) and sc.shape == (4, 17)
    close = np.abs(kp - rk).max(axis=2) < 1e-3
    assert close.mean() >= 0.97, np.abs(kp - rk).max()  # a near-tie argmax may flip on a 1-LSB crop difference
    np.testing.assert_allclose(sc[close], np.clip(rs[close], 0, 1), atol=1e-4)


def cv2_blur(img):
    import cv2

    return cv2.GaussianBlur(img, (0, 0), 3)


def test_rtmpose_pth_resolves_through_the_registry(tmp_path):
    from hotdemo.pose2d import build_pose2d, load_pose2d_model

    torch.manual_seed(2)
    ref = build_rtmpose("t")
    _randomise_norms(ref)
    path = tmp_path / "rtmpose-t_simcc-body7.pth"
    torch.save({"meta": {}, "state_dict": ref.state_dict()}, path)
    m = load_pose2d_model(path)
    assert m.pose2d_info.variant == "RTMPose-t 256x192" and m.pose2d_info.head == "simcc"
    est = build_pose2d(str(path))
    assert est.kind == "simcc" and est.input_wh == (192, 256) and est.head.invalid_at == -1.0
    assert est.runner.normalize.mean == (123.675, 116.28, 103.53)


def test_default_2d_model_is_rtmpose_and_hrnet_stays_selectable():
    from hotdemo.pose2d import DEFAULT_POSE2D, POSE2D_SPECS

    assert DEFAULT_POSE2D.startswith("rtmpose_")
    s = POSE2D_SPECS[DEFAULT_POSE2D]
    assert s.head == "simcc" and s.split_ratio == 2.0 and s.channel_order == "rgb"
    assert s.mean == (123.675, 116.28, 103.53) and s.std == (58.395, 57.12, 57.375)
    assert "hrnet_w32_coco_256x192" in POSE2D_SPECS
    from hotdemo.io.weights import MANIFEST

    for n in ("t", "s", "m", "l"):
        assert f"rtmpose_{n}_body7_256x192" in POSE2D_SPECS and f"rtmpose_{n}_body7_256x192" in MANIFEST
