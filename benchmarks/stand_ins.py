"""Stand-ins shared by the front-end benchmarks (``e2e.py``, ``pose2d.py``).

Random-weight models find nobody and give keypoints that mean nothing, so a benchmark that times
them wraps them: the wrapper runs the real network (paying its cost, timed) and returns what a
trained model would: boxes replayed from another detector on the same frame, keypoints laid out
inside each box.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def frame_key(frame: np.ndarray) -> bytes:
    return frame[::37, ::41].tobytes()


class TimedDetector:
    """Times the wrapped detector; with ``replay`` returns those boxes (keyed by frame content)."""

    def __init__(self, inner, replay=None):
        self.inner, self.replay, self.seconds, self.calls = inner, replay, 0.0, 0

    def __call__(self, frames):
        t = time.perf_counter()
        out = self.inner(frames)
        self.seconds += time.perf_counter() - t
        self.calls += len(frames)
        if self.replay is not None:
            out = [self.replay.get(frame_key(f), np.zeros((0, 5), np.float32)) for f in frames]
        return out


class TimedPose:
    """Times the wrapped 2D model; with ``synthetic`` returns box-filling keypoints, score 0.9."""

    def __init__(self, inner, synthetic=False):
        self.inner, self.synthetic, self.seconds, self.crops = inner, synthetic, 0.0, 0
        self.num_joints = inner.num_joints

    def __call__(self, frames, boxes):
        t = time.perf_counter()
        out = self.inner(frames, boxes)
        self.seconds += time.perf_counter() - t
        self.crops += sum(len(b) for b in boxes)
        if not self.synthetic:
            return out
        res = []
        u = np.linspace(0.1, 0.9, self.num_joints, dtype=np.float32)
        for b in boxes:
            b = np.asarray(b, np.float32).reshape(-1, 4)
            c, half = (b[:, :2] + b[:, 2:]) / 2, (b[:, 2:] - b[:, :2]) / 2 / 1.25  # its keypoint box = b
            kp = np.stack([c[:, None, 0] + half[:, None, 0] * (2 * u[None, ::-1] - 1) / 0.8,
                           c[:, None, 1] + half[:, None, 1] * (2 * u[None] - 1) / 0.8], axis=-1)
            res.append((kp.astype(np.float32), np.full((len(b), self.num_joints), 0.9, np.float32)))
        return res


def random_hrnet_checkpoint() -> str:
    """A random HRNet-W32 256x192 state dict in a temp file (made once), for the PyTorch 2D stack."""
    import torch

    from hotdemo.pose2d.families.hrnet import HRNet

    path = Path(tempfile.gettempdir()) / "hotdemo_bench_hrnet_w32_256x192.pth"
    if not path.exists():
        torch.save(HRNet(32).state_dict(), path)
    return str(path)
