"""Heads x runners: the same network run through PyTorch and through ONNX Runtime gives the same
keypoints through the same head, for heatmap and SimCC outputs; flip-back of SimCC vectors."""

import numpy as np
import pytest
import torch
from torch import nn

from hotdemo.pose2d import (HeatmapHead, Normalize, OnnxRunner, PoseEstimator, SimCCHead, TorchRunner,
                            build_pose2d, flip_simcc)
from hotdemo.core.skeletons import COCO17

torch.set_num_threads(1)
W, H = 48, 64


class TinyHeatmap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 17, 5, stride=4, padding=2)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


class TinySimCC(nn.Module):
    def __init__(self, k=2.0):
        super().__init__()
        self.conv = nn.Conv2d(3, 17, 5, stride=4, padding=2)
        self.mlp_x = nn.Linear(H * W // 16, int(W * k))
        self.mlp_y = nn.Linear(H * W // 16, int(H * k))

    def forward(self, x):
        f = self.conv(x).flatten(2)
        return self.mlp_x(f), self.mlp_y(f)


def _export(model, path, names):
    torch.onnx.export(model, torch.zeros(1, 3, H, W), str(path), input_names=["input"], output_names=names,
                      dynamic_axes={"input": {0: "b"}, **{n: {0: "b"} for n in names}}, dynamo=False)


@pytest.fixture(scope="module")
def crops():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (3, H, W, 3), dtype=np.uint8)


@pytest.mark.parametrize("kind", ["heatmap", "simcc"])
def test_torch_and_onnx_runners_agree_through_one_head(kind, crops, tmp_path):
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    model = (TinyHeatmap() if kind == "heatmap" else TinySimCC()).eval()
    path = tmp_path / f"tiny_{kind}.onnx"
    _export(model, path, ["heatmaps"] if kind == "heatmap" else ["simcc_x", "simcc_y"])
    norm = Normalize()
    tr, onx = TorchRunner(model, norm), OnnxRunner(path, norm)
    assert onx.input_wh == (W, H)
    a, b = tr(crops), onx(crops)
    assert len(a) == len(b) == (1 if kind == "heatmap" else 2)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-4)
    # (DARK on the flat maps of a random network takes Newton steps of 100s of px, amplifying
    # float noise, so the runner comparison decodes with the quarter-pixel rule)
    head = HeatmapHead("quarter") if kind == "heatmap" else SimCCHead(2.0)
    for flip in (False, True):
        ka, sa = PoseEstimator(tr, head, (W, H), flip_test=flip).predict_crops(crops)
        kb, sb = PoseEstimator(onx, head, (W, H), flip_test=flip).predict_crops(crops)
        np.testing.assert_allclose(ka, kb, atol=1e-3)
        np.testing.assert_allclose(sa, sb, atol=1e-4)
    # build_pose2d picks the head from the ONNX outputs and the size from its input
    est = build_pose2d(str(path))
    assert est.kind == kind and est.input_wh == (W, H) and isinstance(est.runner, OnnxRunner)
    if kind == "simcc":
        assert est.head.ratio(b, (W, H)) == 2.0


def test_simcc_flip_back_undoes_a_mirror_and_swaps_sides():
    n = W * 2
    x = np.zeros((1, 17, n), np.float32)
    y = np.zeros((1, 17, H * 2), np.float32)
    true_px = np.linspace(5, 40, 17)  # crop pixels
    for j, px in enumerate(true_px):
        x[0, j, int(round(px * 2))] = 1.0
        y[0, j, 10 + j] = 1.0
    # what the model would output on the mirrored crop: pixel p -> W - 1 - p, sides swapped
    perm = COCO17.flip_permutation
    xm = np.zeros_like(x)
    for j, px in enumerate(true_px):
        xm[0, perm[j], int(round((W - 1 - px) * 2))] = 1.0
    ym = y[:, perm]
    head = SimCCHead(2.0, flip_align="exact")
    bx, by = head.flip_back((xm, ym), (W, H))
    np.testing.assert_array_equal(bx.argmax(2), x.argmax(2))
    np.testing.assert_array_equal(by, y)
    rx, _ = flip_simcc(xm, ym, shift=0.0)
    assert (rx.argmax(2) - x.argmax(2) == 1).all()  # unaligned, a reversed vector is one bin off at k=2


def test_normalize_matches_the_reference_preprocessing():
    rng = np.random.default_rng(1)
    c = rng.integers(0, 255, (2, 8, 8, 3), dtype=np.uint8)
    ref = (c.astype(np.float32) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(Normalize()(c), ref.transpose(0, 3, 1, 2), atol=1e-5)
    bgr = Normalize(bgr=True)(c)
    np.testing.assert_allclose(bgr, ref[..., ::-1].transpose(0, 3, 1, 2), atol=1e-5)
