"""2D keypoints: crop geometry, heatmap / SimCC decoding, the estimator's mapping back to pixels,
and the offline SimplePose model on a real frame."""

import cv2
import numpy as np
import pytest

from hotdemo.pose2d import (HeatmapHead, PoseEstimator, Runner, apply_affines, box_to_center_scale, crop_affines,
                            crop_images, decode_heatmaps, decode_simcc, flip_heatmaps, invert_affines)
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D
from hotdemo.core.skeletons import COCO17


def gaussian_maps(points, h=64, w=48, sigma=2.0):
    """(B, J, h, w) Gaussians centred at ``points`` (B, J, 2) in heatmap pixels."""
    points = np.asarray(points, np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = xs[None, None] - points[..., 0, None, None]
    dy = ys[None, None] - points[..., 1, None, None]
    return np.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2)).astype(np.float32)


@pytest.fixture
def peaks():
    rng = np.random.default_rng(0)
    return np.stack([rng.uniform(3, 44, (4, 17)), rng.uniform(3, 60, (4, 17))], axis=-1).astype(np.float32)


def test_dark_is_exact_on_gaussian_peaks(peaks):
    coords, scores = decode_heatmaps(gaussian_maps(peaks), "dark", blur_kernel=0)
    np.testing.assert_allclose(coords, peaks, atol=1e-3)
    assert scores.shape == (4, 17) and (scores > 0.85).all() and (scores <= 1).all()


def test_dark_with_blur_and_quarter_offset_are_subpixel(peaks):
    hm = gaussian_maps(peaks)
    dark, _ = decode_heatmaps(hm, "dark", blur_kernel=11)
    assert np.abs(dark - peaks).max() < 0.05
    quarter, _ = decode_heatmaps(hm, "quarter")
    argmax, _ = decode_heatmaps(hm, "argmax")
    assert np.abs(argmax - np.round(peaks)).max() == 0  # plain argmax is the nearest pixel
    # the quarter shift moves towards the true peak, never further than argmax
    assert np.abs(quarter - peaks).max() <= 0.5 + 1e-6
    assert np.abs(quarter - peaks).mean() < np.abs(argmax - peaks).mean()


def test_dark_at_the_border_falls_back_to_argmax():
    hm = gaussian_maps(np.array([[[0.0, 10.0], [47.0, 63.0]]]))
    coords, _ = decode_heatmaps(hm, "dark", blur_kernel=0)
    np.testing.assert_allclose(coords[0], [[0, 10], [47, 63]], atol=1e-6)


def test_simcc_argmax_divided_by_split_ratio():
    sx = np.zeros((2, 17, 384), np.float32)
    sy = np.zeros((2, 17, 512), np.float32)
    ix = np.arange(34).reshape(2, 17) * 7 + 5
    iy = np.arange(34).reshape(2, 17) * 11 + 3
    np.put_along_axis(sx, ix[..., None], 0.9, axis=2)
    np.put_along_axis(sy, iy[..., None], 0.6, axis=2)
    coords, scores = decode_simcc(sx, sy, split_ratio=2.0)
    np.testing.assert_allclose(coords[..., 0], ix / 2.0)
    np.testing.assert_allclose(coords[..., 1], iy / 2.0)
    np.testing.assert_allclose(scores, 0.6)


def test_simcc_refinement_is_exact_on_gaussian_vectors():
    true = np.array([[100.3, 17.8, 250.55]], np.float32)  # bins
    t = np.arange(384, dtype=np.float32)
    v = np.exp(-(t[None, None] - true[..., None]) ** 2 / (2 * 4.0 ** 2))
    coords, _ = decode_simcc(v, v, split_ratio=2.0, refine=True)
    np.testing.assert_allclose(coords[..., 0], true / 2, atol=1e-3)


def test_box_to_center_scale_keeps_aspect_and_pads():
    boxes = np.array([[10, 20, 110, 70], [0, 0, 30, 200]], np.float32)  # wide, tall
    c, s = box_to_center_scale(boxes, aspect=0.75, padding=1.25)
    np.testing.assert_allclose(c, [[60, 45], [15, 100]])
    np.testing.assert_allclose(s[:, 0] / s[:, 1], 0.75, rtol=1e-6)
    # never shrinks the box
    assert (s[:, 0] >= (boxes[:, 2] - boxes[:, 0]) * 1.25 - 1e-4).all()
    assert (s[:, 1] >= (boxes[:, 3] - boxes[:, 1]) * 1.25 - 1e-4).all()


def test_affine_crop_round_trip():
    rng = np.random.default_rng(1)
    boxes = np.array([[100, 50, 180, 260], [300, 10, 420, 200]], np.float32)
    c, s = box_to_center_scale(boxes, 0.75)
    M = crop_affines(c, s, (192, 256))
    pts = rng.uniform([100, 50], [180, 260], (2, 17, 2)).astype(np.float32)
    back = apply_affines(invert_affines(M), apply_affines(M, pts))
    np.testing.assert_allclose(back, pts, atol=1e-3)
    # a bright pixel in the image lands where the matrix says, in the crop
    img = np.zeros((300, 480, 3), np.uint8)
    img[150, 140] = 255
    crops = crop_images([img], np.array([0, 0]), M, (192, 256))
    where = apply_affines(M[:1], np.array([[[140, 150]]], np.float32))[0, 0]
    y, x = np.unravel_index(crops[0, ..., 0].argmax(), crops[0, ..., 0].shape)
    assert abs(x - where[0]) <= 1.5 and abs(y - where[1]) <= 1.5


def test_flip_heatmaps_mirrors_and_swaps_sides():
    pts = np.zeros((1, 17, 2), np.float32)
    pts[0, :, 0] = np.linspace(5, 40, 17)
    pts[0, :, 1] = 30
    hm = gaussian_maps(pts)
    flipped = np.ascontiguousarray(hm[..., ::-1])  # what the model would see on a mirrored crop
    back = flip_heatmaps(flipped, shift=0.0)
    perm = COCO17.flip_permutation
    np.testing.assert_allclose(back, hm[:, perm])


class BlobRunner(Runner):
    """A stand-in 'model': every joint's heatmap is the crop's red channel sampled at every 4th
    pixel (heatmap pixel i <-> crop pixel 4 i, the HRNet training convention), so the decoded
    keypoint is wherever the bright blob is."""

    def __call__(self, crops):
        hm = crops[:, ::4, ::4, 0].astype(np.float32) / 255
        return (np.repeat(hm[:, None], 17, axis=1),)


def BlobPose(**kw):
    return PoseEstimator(BlobRunner(), HeatmapHead(), (192, 256), **kw)


@pytest.mark.parametrize("flip", [False, True])
def test_estimator_maps_keypoints_back_to_image_pixels(flip):
    H, W = 240, 320
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    blobs = [(101.3, 80.6), (250.7, 150.2)]
    frames = []
    for bx, by in blobs:
        red = 255 * np.exp(-((xs - bx) ** 2 + (ys - by) ** 2) / (2 * 6.0 ** 2))
        f = np.zeros((H, W, 3), np.uint8)
        f[..., 0] = red.astype(np.uint8)
        frames.append(f)
    boxes = [np.array([[70, 20, 140, 190]], np.float32),
             np.array([[200, 60, 300, 230], [0, 0, 10, 10]], np.float32)[:1]]
    est = BlobPose(flip_test=flip, batch_size=1)
    out = est(frames + [frames[0]], boxes + [np.zeros((0, 4))])
    assert [len(k) for k, _ in out] == [1, 1, 0]
    for (kp, sc), (bx, by) in zip(out[:2], blobs):
        assert kp.shape == (1, 17, 2) and sc.shape == (1, 17)
        np.testing.assert_allclose(kp[0], np.broadcast_to([bx, by], (17, 2)), atol=0.6)


def test_no_boxes_anywhere_gives_empty_results():
    est = BlobPose()
    out = est([np.zeros((10, 10, 3), np.uint8)] * 2, [np.zeros((0, 4)), []])
    assert [k.shape for k, _ in out] == [(0, 17, 2), (0, 17, 2)]


# ---------------------------------------------------------------------------- real model

@pytest.fixture(scope="module")
def indoor_frame():
    from hotdemo.core.paths import shared_dir

    sh = shared_dir()
    if sh is None:
        pytest.skip("../shared is absent")
    cap = cv2.VideoCapture(str(sh / "videos/two_people_indoor.mp4"))
    ok, bgr = cap.read()
    assert ok
    return sh, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_simplepose_on_real_people(indoor_frame):
    from hotdemo.detect.detector import build_detector
    from hotdemo.pose2d import build_pose2d

    sh, frame = indoor_frame
    det = build_detector(str(sh / OFFLINE_DETECTOR))
    boxes = det([frame])[0][:, :4]
    assert len(boxes) == 2
    pose = build_pose2d(str(sh / OFFLINE_POSE2D))
    assert pose.kind == "heatmap" and pose.input_wh == (192, 256) and isinstance(pose.head, HeatmapHead)
    (kp, sc), = pose([frame], [boxes])
    assert kp.shape == (2, 17, 2)
    for k, s, b in zip(kp, sc, boxes):
        w, h = b[2] - b[0], b[3] - b[1]
        ok = s > 0.3
        assert ok.sum() >= 12
        inside = ((k[:, 0] >= b[0] - 0.1 * w) & (k[:, 0] <= b[2] + 0.1 * w)
                  & (k[:, 1] >= b[1] - 0.1 * h) & (k[:, 1] <= b[3] + 0.1 * h))
        assert inside[ok].all()
        y = k[:, 1]
        head = y[:5][s[:5] > 0.3].mean()
        hips = y[[11, 12]].mean()
        ankles = y[[15, 16]].mean()
        assert head < y[[5, 6]].mean() < hips < y[[13, 14]].mean() < ankles
    # batching the two crops gives the one-by-one answer
    (kp1, _), = pose([frame], [boxes[:1]])
    np.testing.assert_allclose(kp1[0], kp[0], atol=1e-3)


def test_real_camera_cut_starts_new_tracks_and_a_whip_pan_does_not_cut(indoor_frame):
    """basketball.mp4 ends in a fast pan (not a cut), so the cut is made here: its first 40
    frames followed by 20 frames of the indoor clip, scaled to the same size, in memory only."""
    from hotdemo.frontend import build_frontend
    from hotdemo.io.video import iter_frames

    sh, _ = indoor_frame
    fe = build_frontend(str(sh / OFFLINE_DETECTOR),
                        str(sh / OFFLINE_POSE2D))
    ball = list(iter_frames(sh / "videos/basketball.mp4"))
    h, w = ball[0].shape[:2]
    indoor = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
              for _, f in zip(range(20), iter_frames(sh / "videos/two_people_indoor.mp4"))]
    spliced = ball[:40] + indoor
    out = []
    for s in range(0, len(spliced), 8):
        out += fe.process(spliced[s:s + 8], s)
    assert fe.tracker.cuts == [40]
    before = {int(t) for fp in out[:40] for t in fp.track_ids}
    after = {int(t) for fp in out[40:] for t in fp.track_ids}
    assert before and len(after) == 2  # the two indoor people
    assert not before & after  # nobody keeps an ID across the cut
    # the end of basketball.mp4 (a blurred whip pan) is camera motion, not a cut
    fe.reset()
    for s in range(240, len(ball), 8):
        fe.process(ball[s:s + 8], s)
    assert fe.tracker.cuts == []
