"""Heatmap decoding against the reference: our DARK (``decode_heatmaps(..., "dark")``) and the
previous decoder (before commit 023311c: 1-px second differences, ``0 < x < w-1``, steps of 1 px
or more dropped for the bare argmax) against an independent loop-by-loop transcription of mmpose's
``refine_keypoints_dark`` (``tests/test_pose2d_accuracy.reference_dark``), on

* the offline SimplePose model's heatmaps of the 12 annotated COCO val people (GT boxes;
  ../shared/data/coco-keypoints), and
* synthetic trained-looking maps (``tests/test_pose2d_accuracy.trained_looking_maps``).

    python benchmarks/pose2d_decoders.py

Joints whose map has no positive value are left out (score 0: repaired downstream).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hotdemo.core.paths import OFFLINE_POSE2D, shared_dir  # noqa: E402
from hotdemo.pose2d import (HeatmapHead, OnnxRunner, PoseEstimator, box_to_center_scale, crop_affines,  # noqa: E402
                            crop_images, decode_heatmaps)
from hotdemo.pose2d.decode import blur_heatmaps  # noqa: E402
from hotdemo.pose2d.evaluate import load_coco_keypoints  # noqa: E402
from test_pose2d_accuracy import reference_dark, trained_looking_maps  # noqa: E402


def previous_dark(hm: np.ndarray, blur_kernel: int = 11) -> np.ndarray:
    """The decoder hotdemo had before (hotdemo/pose2d.py at 023311c^), for this comparison only."""
    hm = np.asarray(hm, np.float32)
    B, J, h, w = hm.shape
    idx = hm.reshape(B, J, -1).argmax(axis=2)
    y, x = idx // w, idx % w
    coords = np.stack([x, y], axis=-1).astype(np.float32)
    bi, ji = np.meshgrid(np.arange(B), np.arange(J), indexing="ij")
    L = np.pad(np.log(np.maximum(blur_heatmaps(hm, blur_kernel), 1e-10)), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")

    def at(dy, dx):
        return L[bi, ji, y + 1 + dy, x + 1 + dx]

    c = at(0, 0)
    gx, gy = 0.5 * (at(0, 1) - at(0, -1)), 0.5 * (at(1, 0) - at(-1, 0))
    hxx, hyy = at(0, 1) - 2 * c + at(0, -1), at(1, 0) - 2 * c + at(-1, 0)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy * hxy
    ok = (det > 1e-12) & (hxx < 0) & (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    safe = np.where(ok, det, 1.0)
    ox, oy = -(hyy * gx - hxy * gy) / safe, -(hxx * gy - hxy * gx) / safe
    ok &= (np.abs(ox) < 1.0) & (np.abs(oy) < 1.0)
    coords[..., 0] += np.where(ok, ox, 0)
    coords[..., 1] += np.where(ok, oy, 0)
    return coords


def report(name: str, maps: np.ndarray) -> None:
    ref = np.stack([reference_dark(m)[0] for m in maps])
    live = np.stack([reference_dark(m)[1] for m in maps]) > 0
    ours, _ = decode_heatmaps(maps, "dark", 11)
    prev = previous_dark(maps)
    d_ours = np.abs(ours - ref).max(axis=-1)[live]
    d_prev = np.abs(prev - ref).max(axis=-1)[live]
    print(f"{name}: {live.sum()} joints")
    print(f"  ours     vs reference: max {d_ours.max():.2e} heatmap px")
    print(f"  previous vs reference: {(d_prev > 1e-3).sum()} joints differ by > 1e-3 px, "
          f"max {d_prev.max():.2f} heatmap px")


def main() -> None:
    sh = shared_dir()
    if sh is None:
        sys.exit("needs ../shared (the COCO images and the SimplePose model)")
    images = load_coco_keypoints(sh / "data/coco-keypoints/test_coco.json")
    est = PoseEstimator(OnnxRunner(sh / OFFLINE_POSE2D), HeatmapHead(),
                        (192, 256))
    frames = [im.rgb() for im in images]
    idx = np.concatenate([[i] * len(im.boxes) for i, im in enumerate(images)])
    c, s = box_to_center_scale(np.concatenate([im.boxes for im in images]), 0.75)
    crops = crop_images(frames, idx, crop_affines(c, s, (192, 256)), (192, 256))
    maps = np.concatenate([est.infer(crops[i:i + 1])[0] for i in range(len(crops))])
    report(f"SimplePose heatmaps of {len(crops)} COCO people", maps)
    report("synthetic trained-looking maps", trained_looking_maps())


if __name__ == "__main__":
    main()
