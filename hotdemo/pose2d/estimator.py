"""The top-down 2D keypoint estimator: crops, batching, flip test and mapping back to pixels,
around any runner (execution) and head (decoding).

``pose(frames, boxes)``:

* ``frames``: sequence of RGB uint8 images (H, W, 3);
* ``boxes``: one (N_i, 4) float array of x1 y1 x2 y2 person boxes per frame (N_i may be 0);
* returns one ``(keypoints (N_i, J, 2) float32 pixels, scores (N_i, J) float32 in [0, 1])``
  per frame. The crops of all people in all frames go through the model in batches.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from hotdemo.pose2d.geometry import (PADDING, apply_affines, box_to_center_scale, check_geometry, crop_affines, crop_images,
                       invert_affines)
from hotdemo.pose2d.heads import Head
from hotdemo.pose2d.runners import Runner

PoseResult = Tuple[np.ndarray, np.ndarray]

__all__ = ["PoseEstimator", "PoseResult"]


class PoseEstimator:
    """``runner`` (crops -> raw outputs) + ``head`` (raw outputs -> keypoints) at ``input_wh``
    (model input width, height). ``spec``: the :class:`~hotdemo.pose2d.registry.Pose2DSpec` it
    was built from, if any. ``batch_size`` caps the crops per forward pass. ``geometry``: the crop
    convention (:mod:`~hotdemo.pose2d.geometry`); the head must map its outputs the same way."""

    def __init__(self, runner: Runner, head: Head, input_wh: Tuple[int, int], *, num_joints: int = 17,
                 flip_test: bool = False, batch_size: int = 32, padding: float = PADDING, spec=None,
                 geometry: str = "hrnet"):
        self.runner = runner
        self.head = head
        self.input_wh = (int(input_wh[0]), int(input_wh[1]))
        self.num_joints = int(num_joints)
        self.flip_test = bool(flip_test)
        self.batch_size = max(1, int(batch_size))
        self.padding = float(padding)
        self.spec = spec
        self.geometry = check_geometry(geometry)

    @property
    def kind(self) -> str:
        """The head's kind: ``"heatmap"`` or ``"simcc"``."""
        return self.head.kind

    def infer(self, crops: np.ndarray) -> Tuple[np.ndarray, ...]:
        """Raw outputs for (B, H, W, 3) crops, flip-averaged when ``flip_test``, before decoding."""
        head = self.head
        raw = head.prepare(self.runner(crops))
        head.check(raw)
        if self.flip_test:
            mirrored = head.prepare(self.runner(np.ascontiguousarray(crops[:, :, ::-1])))
            raw = head.average(raw, head.flip_back(mirrored, self.input_wh))
        return raw

    def predict_crops(self, crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(B, H, W, 3) RGB crops -> keypoints (B, J, 2) in crop pixels and scores (B, J)."""
        kps, scs = [], []
        for i in range(0, len(crops), self.batch_size):
            k, s = self.head.decode(self.infer(crops[i:i + self.batch_size]), self.input_wh)
            kps.append(k)
            scs.append(s)
        return np.concatenate(kps), np.concatenate(scs)

    def __call__(self, frames: Sequence[np.ndarray], boxes: Sequence[Optional[np.ndarray]]) -> List[PoseResult]:
        if len(frames) != len(boxes):
            raise ValueError(f"got {len(frames)} frames but {len(boxes)} box arrays")
        J = self.num_joints
        boxes = [np.asarray(b, np.float32).reshape(-1, 4)[:, :4] if b is not None and len(b)
                 else np.zeros((0, 4), np.float32) for b in boxes]
        counts = np.array([len(b) for b in boxes], np.int64)
        if counts.sum() == 0:
            return [(np.zeros((0, J, 2), np.float32), np.zeros((0, J), np.float32)) for _ in frames]
        allb = np.concatenate(boxes)
        frame_idx = np.repeat(np.arange(len(frames)), counts)
        W, H = self.input_wh
        center, size = box_to_center_scale(allb, W / H, self.padding, self.geometry)
        M = crop_affines(center, size, (W, H), self.geometry)
        crops = crop_images(frames, frame_idx, M, (W, H))
        kp, sc = self.predict_crops(crops)
        kp = apply_affines(invert_affines(M), kp)
        splits = np.cumsum(counts)[:-1]
        return list(zip(np.split(kp, splits), np.split(sc.astype(np.float32), splits)))

    def __repr__(self) -> str:
        name = self.spec.name if self.spec is not None else "?"
        return (f"PoseEstimator({name}: {type(self.runner).__name__} on {self.runner.device}, {self.head!r}, "
                f"input {self.input_wh[0]}x{self.input_wh[1]})")
