"""SimDR and TokenPose natively: checkpoints generated here in the official key layouts (random
weights, from the independent re-implementations of the official forwards in official_ref.py)
load through ``hotdemo.lift.registry.load_pose2d_model`` and give the official raw outputs to 1e-5;
family, variant, input size and split ratio come from the contents; the full top-down path gives
the official pipeline's keypoints on a real COCO image."""

import cv2
import numpy as np
import pytest
import torch

from hotdemo.core.errors import CheckpointError, InputError
from hotdemo.lift.registry import load_pose2d_model
from hotdemo.pose2d import HeatmapHead, SimCCHead, build_pose2d

from official_ref import SimDRPoseHRNet, TokenPoseRef, randomize

torch.set_num_threads(1)


def _save(model, path, wrap=None):
    sd = model.state_dict()
    if wrap == "dataparallel":
        sd = {"module." + k: v for k, v in sd.items()}
    elif wrap == "checkpoint":  # the official train loop's checkpoint.pth
        sd = {"epoch": 3, "state_dict": {"module." + k: v for k, v in sd.items()}, "perf": 0.1}
    torch.save(sd, path)
    return path


def _same(ours, ref, x):
    with torch.no_grad():
        a, b = ours(x), ref(x)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.shape == v.shape
        torch.testing.assert_close(u, v, atol=1e-5, rtol=1e-5)
    return max(float((u - v).abs().max()) for u, v in zip(a, b))


# (variant, reference options, expected variant text); heads as in the official COCO configs
TOKENPOSE = [
    ("S", dict(dim=64, depth=2, heads=8), "TokenPose-S 256x192"),
    ("B", dict(dim=64, depth=2, heads=8, base_channel=8), "TokenPose-B 256x192"),
    ("L", dict(dim=192, depth=1, heads=12, base_channel=8, hidden_heatmap_dim=384), "TokenPose-L/D3 256x192"),
]


@pytest.mark.parametrize("variant,opts,text", TOKENPOSE, ids=[t[0] for t in TOKENPOSE])
def test_tokenpose_equals_the_official_forward(variant, opts, text, tmp_path):
    ref = randomize(TokenPoseRef(variant, **opts), seed=1)
    path = _save(ref, tmp_path / "final_state.pth", wrap="dataparallel" if variant == "B" else None)
    ours = load_pose2d_model(path)
    assert ours.pose2d_info.variant == text and ours.pose2d_info.input_wh == (192, 256)
    x = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(2))
    _same(ours, ref, x)
    # the sine table we compute is the official one (the file's copy is loaded over it anyway)
    own = type(ours)(variant, **{k: v for k, v in ours.pose2d_info.arch.items() if k != "variant"})
    key = "features.pos_embedding" if variant == "S" else "transformer.pos_embedding"
    torch.testing.assert_close(own.state_dict()[key], ref.state_dict()[key], atol=1e-6, rtol=0)


def test_tokenpose_384x288_and_learnable_positions(tmp_path):
    ref = randomize(TokenPoseRef("B", image_size=(288, 384), patch_size=(4, 6), dim=64, depth=2, heads=8,
                                 base_channel=8, pos_embedding_type="learnable"), seed=3)
    ours = load_pose2d_model(_save(ref, tmp_path / "b.pth", wrap="checkpoint"))
    assert ours.pose2d_info.input_wh == (288, 384) and ours.pose2d_info.arch["pos_embedding"] == "learnable"
    assert ours.pose2d_info.arch["patch_wh"] == (4, 6)
    _same(ours, ref, torch.randn(1, 3, 384, 288))


@pytest.mark.parametrize("wh,k", [((192, 256), 2.0), ((288, 384), 1.5)])
def test_simdr_equals_the_official_forward(wh, k, tmp_path):
    ref = randomize(SimDRPoseHRNet(8, 17, wh, k), seed=4)
    path = _save(ref, tmp_path / "model_best.pth")
    ours = load_pose2d_model(path)
    assert ours.pose2d_info.input_wh == wh and ours.pose2d_info.split_ratio == k
    x = torch.randn(2, 3, wh[1], wh[0], generator=torch.Generator().manual_seed(5))
    _same(ours, ref, x)
    est = build_pose2d(str(path))
    assert isinstance(est.head, SimCCHead) and est.input_wh == wh and est.head.split_ratio == k
    with pytest.raises(InputError, match="sized for"):
        build_pose2d(str(path), input_wh=(wh[0] + 32, wh[1]))


def test_families_are_told_apart_and_unknown_layouts_listed(tmp_path):
    from hotdemo.pose2d.families.hrnet import HRNet

    hr = _save(HRNet(8), tmp_path / "a.pth")
    sd = _save(SimDRPoseHRNet(8, 17, (192, 256), 2.0), tmp_path / "b.pth")
    tp = _save(TokenPoseRef("S", dim=64, depth=1, heads=8), tmp_path / "c.pth")
    fams = [build_pose2d(str(p)).spec.family for p in (hr, sd, tp)]
    assert fams == ["hrnet", "simdr", "tokenpose"]
    assert isinstance(build_pose2d(str(tp)).head, HeatmapHead)
    torch.save({"backbone.stem.weight": torch.zeros(2)}, tmp_path / "d.pth")
    with pytest.raises(CheckpointError) as e:
        load_pose2d_model(tmp_path / "d.pth")
    assert all(f in str(e.value) for f in ("simdr:", "tokenpose:", "hrnet:"))


# ----------------------------------------------------------------------------- full top-down path

def _official_affine(center, scale, out_wh, inv=False, pixel=False):
    """utils.transforms.get_affine_transform, rotation 0: three point pairs (centre, centre + (0, -w/2),
    a third at 90 degrees) -> cv2.getAffineTransform. ``pixel``: TokenPose's version, with
    (src_w - 1), (dst_w - 1) and the output centre at ((W-1)/2, (H-1)/2) (HRNet / SimDR: without -1)."""
    d1 = 1.0 if pixel else 0.0
    src_w = scale[0] * 200.0
    dst_w, dst_h = out_wh
    src_dir = np.array([0, (src_w - d1) * -0.5], np.float32)
    dst_dir = np.array([0, (dst_w - d1) * -0.5], np.float32)
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + src_dir
    dst[0] = [(dst_w - d1) * 0.5, (dst_h - d1) * 0.5]
    dst[1] = dst[0] + dst_dir
    for a in (src, dst):
        d = a[0] - a[1]
        a[2] = a[1] + np.array([-d[1], d[0]], np.float32)
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def _official_pipeline(model, frame, boxes, out_wh, decode, pixel=False, flip=None):
    """Box (x, y, w, h) -> _xywh2cs (pixel_std 200, aspect fix, x1.25; TokenPose's centre is
    x + (w - 1) / 2, HRNet's and SimDR's x + w / 2) -> warpAffine -> ToTensor + Normalize -> model
    (``flip``: also on the mirrored input, ``flip(raw, raw_mirrored)`` combines them) -> ``decode``
    (coordinates and the size they are in) -> transform_preds (the inverse affine for that size)."""
    W, H = out_wh
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    out = []
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        d1 = 1.0 if pixel else 0.0
        center = np.array([x1 + (w - d1) * 0.5, y1 + (h - d1) * 0.5], np.float32)
        if w > W / H * h:
            h = w / (W / H)
        elif w < W / H * h:
            w = h * (W / H)
        scale = np.array([w / 200.0, h / 200.0], np.float32) * 1.25
        trans = _official_affine(center, scale, out_wh, pixel=pixel)
        crop = cv2.warpAffine(frame, trans, (W, H), flags=cv2.INTER_LINEAR)
        t = torch.from_numpy(((crop.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1)[None].copy())
        with torch.no_grad():
            raw = model(t)
            if flip is not None:
                raw = flip(raw, model(t.flip(3)))
        coords, size = decode(raw)  # (J, 2) in the pixels of `size` (input or heatmap)
        inv = _official_affine(center, scale, size, inv=True, pixel=pixel)
        out.append(np.c_[coords, np.ones(len(coords))] @ inv.T)
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="module")
def coco_frame():
    from hotdemo.core.paths import shared_dir
    from hotdemo.pose2d.evaluate import load_coco_keypoints

    sh = shared_dir()
    if sh is None or not (sh / "data/coco-keypoints/test_coco.json").is_file():
        pytest.skip("../shared/data/coco-keypoints is absent")
    im = load_coco_keypoints(sh / "data/coco-keypoints/test_coco.json")[-1]  # 5 people
    return im.rgb(), im.boxes


def test_simdr_full_path_gives_the_official_keypoints(coco_frame, tmp_path):
    frame, boxes = coco_frame
    ref = randomize(SimDRPoseHRNet(8, 17, (192, 256), 2.0), seed=6)
    est = build_pose2d(str(_save(ref, tmp_path / "s.pth")))

    def decode(raw):  # SA-SimDR test path without flip: softmax, argmax / k
        x, y = (r.softmax(dim=2)[0] for r in raw)
        return np.stack([x.argmax(1).numpy() / 2.0, y.argmax(1).numpy() / 2.0], axis=1), (192, 256)

    want = _official_pipeline(ref, frame, boxes, (192, 256), decode)
    (got, _), = est([frame], [boxes])
    np.testing.assert_allclose(got, want, atol=1e-2)


@pytest.mark.parametrize("flip", [False, True], ids=["plain", "flip"])
def test_tokenpose_full_path_gives_the_official_keypoints(coco_frame, tmp_path, flip):
    """TokenPose's own pipeline: pixel-centred transforms (centre x + (w-1)/2, (W-1)/(S-1) scale,
    heatmap mapped back with the heatmap-size transform), DARK, flip test without a shift."""
    from hotdemo.pose2d.decode import flip_permutation
    from test_pose2d_accuracy import reference_dark

    frame, boxes = coco_frame
    ref = randomize(TokenPoseRef("S", dim=64, depth=2, heads=8), seed=7)
    est = build_pose2d(str(_save(ref, tmp_path / "t.pth")), heatmap_decoding="dark", flip_test=flip)
    assert est.geometry == "pixel" and est.head.geometry == "pixel"

    def decode(raw):  # get_final_preds with POST_PROCESS (DARK, blur 11), in heatmap pixels
        kps, _ = reference_dark(raw[0].numpy())
        return kps, (48, 64)

    def flip_back(raw, mirrored):  # function.py validate: flip_back (reverse x, swap pairs), no shift
        return (raw + mirrored.flip(3)[:, flip_permutation(17)]) * 0.5

    want = _official_pipeline(ref, frame, boxes, (192, 256), decode, pixel=True, flip=flip_back if flip else None)
    (got, _), = est([frame], [boxes])
    np.testing.assert_allclose(got, want, atol=1e-2)
    if not flip:  # HRNet's conventions instead would be off by more than half a pixel here
        hr = _official_pipeline(ref, frame, boxes, (192, 256), lambda r: (reference_dark(r[0].numpy())[0] * 4, (192, 256)))
        assert np.abs(got - hr).max() > 0.5
