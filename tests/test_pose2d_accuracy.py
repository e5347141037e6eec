"""Accuracy on real people and reference-exact decoding.

* DARK against an independent, loop-by-loop transcription of the published algorithm (mmpose's
  ``gaussian_blur`` + ``refine_keypoints_dark``), on a trained model's heatmaps of real COCO people
  and on synthetic trained-looking maps (anisotropic, noisy, two-peaked, at borders, all <= 0);
* a map whose maximum is <= 0 gives score 0, and the pipeline repairs it like any low-score joint;
* OKS AP / PCK@0.2 of the offline SimplePose model on the 12 annotated COCO val people, through
  both runners, with bounds (see benchmarks/pose2d_accuracy.py for the full table).
"""

import itertools

import cv2
import numpy as np
import pytest

from hotdemo.pose2d import HeatmapHead, OnnxRunner, PoseEstimator, TorchRunner, decode_heatmaps


# ----------------------------------------------------------------------------- reference DARK

def reference_dark(heatmaps, kernel=11):
    """Written from the DARK paper / mmpose's codecs.utils (one person, maps (K, H, W)), loops and
    np.linalg.inv as there: get the maximum, blur every map over a zero border keeping its
    maximum, log, one Newton step where 1 < x < W-2 and 1 < y < H-2 and det != 0."""
    hm = heatmaps.astype(np.float32).copy()
    K, H, W = hm.shape
    flat = hm.reshape(K, -1)
    idx = flat.argmax(1)
    vals = flat.max(1)
    kps = np.stack([idx % W, idx // W], -1).astype(np.float32)
    kps[vals <= 0] = -1
    border = (kernel - 1) // 2
    for k in range(K):
        origin_max = np.max(hm[k])
        dr = np.zeros((H + 2 * border, W + 2 * border), np.float32)
        dr[border:-border, border:-border] = hm[k].copy()
        dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
        hm[k] = dr[border:-border, border:-border].copy()
        with np.errstate(invalid="ignore"):  # an all-zero map gives nan here, as in the reference
            hm[k] *= origin_max / np.max(hm[k])
    np.maximum(hm, 1e-10, out=hm)
    np.log(hm, out=hm)
    for k in range(K):
        x, y = kps[k].astype(int)
        if 1 < x < W - 2 and 1 < y < H - 2:
            dx = 0.5 * (hm[k, y, x + 1] - hm[k, y, x - 1])
            dy = 0.5 * (hm[k, y + 1, x] - hm[k, y - 1, x])
            dxx = 0.25 * (hm[k, y, x + 2] - 2 * hm[k, y, x] + hm[k, y, x - 2])
            dxy = 0.25 * (hm[k, y + 1, x + 1] - hm[k, y - 1, x + 1] - hm[k, y + 1, x - 1] + hm[k, y - 1, x - 1])
            dyy = 0.25 * (hm[k, y + 2, x] - 2 * hm[k, y, x] + hm[k, y - 2, x])
            hess = np.array([[dxx, dxy], [dxy, dyy]])
            if dxx * dyy - dxy ** 2 != 0:
                kps[k] += (-np.linalg.inv(hess) @ np.array([dx, dy])).astype(np.float32)
    return kps, vals


def _compare(maps, atol=1e-4):
    ours, scores = decode_heatmaps(maps, "dark", 11)
    for b in range(len(maps)):
        ref, vals = reference_dark(maps[b])
        live = vals > 0
        np.testing.assert_allclose(ours[b][live], ref[live], atol=atol, rtol=1e-5)
        np.testing.assert_allclose(scores[b], np.clip(vals, 0, 1), atol=1e-6)
        assert (scores[b][~live] == 0).all()
    return ours


def trained_looking_maps(seed=0, B=6, J=17, h=64, w=48, empty=True):
    """Anisotropic, rotated Gaussians (sigma 1.5-3.5) of amplitude 0.1-1 with a weaker second
    peak, plus noise; some peaks within two pixels of a border; some maps entirely <= 0."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((B, J, h, w), np.float32)
    for b, j in itertools.product(range(B), range(J)):
        for amp, (cx, cy) in ((rng.uniform(0.1, 1), rng.uniform([-1, -1], [w, h])),
                              (rng.uniform(0, 0.4), rng.uniform([0, 0], [w, h]))):
            sx, sy, th = rng.uniform(1.5, 3.5), rng.uniform(1.5, 3.5), rng.uniform(0, np.pi)
            u = (xs - cx) * np.cos(th) + (ys - cy) * np.sin(th)
            v = -(xs - cx) * np.sin(th) + (ys - cy) * np.cos(th)
            out[b, j] += amp * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
        out[b, j] += rng.normal(0, 0.01, (h, w))
    if empty:
        out[0, :3] = -np.abs(out[0, :3])  # a model's "nobody here": no positive response at all
        out[1, 4] = 0.0
    return out


def test_dark_matches_the_reference_on_trained_looking_maps():
    maps = trained_looking_maps()
    ours = _compare(maps)
    # unlike the old guard (|step| < 1 px, else the bare argmax), large steps are kept
    argmax, _ = decode_heatmaps(maps, "argmax")
    assert (np.abs(ours - argmax) >= 1).any()


def test_dark_matches_the_reference_on_a_trained_models_heatmaps(coco):
    images, model = coco
    est = PoseEstimator(OnnxRunner(model), HeatmapHead(), (192, 256))
    from hotdemo.pose2d import box_to_center_scale, crop_affines, crop_images

    frames = [im.rgb() for im in images]
    idx = np.concatenate([[i] * len(im.boxes) for i, im in enumerate(images)])
    c, s = box_to_center_scale(np.concatenate([im.boxes for im in images]), 0.75)
    crops = crop_images(frames, idx, crop_affines(c, s, (192, 256)), (192, 256))
    maps = np.concatenate([est.infer(crops[i:i + 1])[0] for i in range(len(crops))])
    _compare(maps)


def test_nonpositive_maximum_gives_score_zero_and_is_repaired_downstream():
    from hotdemo.detect.assemble import to_h36m
    from hotdemo.core.types import Track2D

    maps = np.repeat(trained_looking_maps(B=1, seed=3, empty=False), 3, axis=0)  # three frames of one person
    maps[1, 9] = -0.5  # frame 1, left wrist: no response at all
    coords, scores = decode_heatmaps(maps, "dark")
    assert scores[1, 9] == 0 and np.isfinite(coords).all()
    assert (scores[[0, 2], 9] > 0).all() and (scores[1, 10:] > 0).all()
    kp = coords * 4
    kp[2, 9] += 6.0  # the wrist moves between frames 0 and 2
    track = Track2D(1, np.arange(3), kp.astype(np.float32), scores, np.tile([0, 0, 200, 260], (3, 1)).astype(np.float32))
    # the joint is interpolated in time like any low-score joint, never taken from the argmax of
    # an empty map; its score stays 0 for the lifter
    h = to_h36m(track, min_score=0.0 + 1e-6)
    lwrist = 13  # H36M-17 left wrist
    np.testing.assert_allclose(h.keypoints[1, lwrist], (kp[0, 9] + kp[2, 9]) / 2, atol=1e-4)
    assert h.scores[1, lwrist] == 0


# ----------------------------------------------------------------------------- real people

@pytest.fixture(scope="module")
def coco():
    from hotdemo.core.paths import OFFLINE_POSE2D, shared_dir
    from hotdemo.pose2d.evaluate import load_coco_keypoints

    sh = shared_dir()
    if sh is None or not (sh / "data/coco-keypoints/test_coco.json").is_file():
        pytest.skip("../shared/data/coco-keypoints is absent")
    return (load_coco_keypoints(sh / "data/coco-keypoints/test_coco.json"),
            sh / OFFLINE_POSE2D)


def test_simplepose_oks_ap_on_coco_people_through_both_runners(coco):
    import torch

    from hotdemo.pose2d.evaluate import evaluate_estimator

    images, model = coco
    assert sum(len(i.boxes) for i in images) == 12
    onnx = OnnxRunner(model)

    class Wrapped(torch.nn.Module):  # the same trained network behind the PyTorch runner
        def forward(self, x):
            a = x.numpy()
            return torch.from_numpy(np.concatenate([onnx.session.run(None, {onnx.input_name: a[i:i + 1]})[0]
                                                    for i in range(len(a))]))

    res = {}
    for name, runner in (("onnx", onnx), ("torch", TorchRunner(Wrapped()))):
        for dec in ("dark", "argmax"):
            for flip in (False, True):
                est = PoseEstimator(runner, HeatmapHead(dec), (192, 256), flip_test=flip)
                res[name, dec, flip] = evaluate_estimator(est, images)
    for key in res:  # the runners agree
        assert res[key]["mean_err_px"] == pytest.approx(res[("onnx",) + key[1:]]["mean_err_px"], abs=1e-3)
    # measured: AP 0.599 (dark), 0.664 (dark + flip), mean OKS 0.803 / 0.821, PCK@0.2 0.867 / 0.901
    # (COCO val AP of this model: 0.518 with detected boxes)
    dark, dark_flip = res["onnx", "dark", False], res["onnx", "dark", True]
    assert dark["ap"] > 0.55 and dark["pck"] > 0.83 and dark["mean_oks"] > 0.78
    assert dark_flip["ap"] > 0.62 and dark_flip["mean_oks"] > dark["mean_oks"] + 0.01
    # sub-pixel decoding beats the bare argmax on real people
    assert dark["mean_err_px"] < res["onnx", "argmax", False]["mean_err_px"] - 0.2
    assert dark["mean_oks"] > res["onnx", "argmax", False]["mean_oks"] + 0.01
