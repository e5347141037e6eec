"""Equivalence figures for the native 2D families: the largest absolute difference between our
modules' raw outputs and the independent re-implementations of the official forwards
(tests/official_ref.py), with identical random weights saved in the official key layouts and
loaded through ``hotdemo.lift.registry.load_pose2d_model``. The tests assert <= 1e-5; this prints the
figures, at the official sizes (slow on a CPU: TokenPose-L/D24 and SimDR-W48 are full size).

    python benchmarks/pose2d_equivalence.py            # full-size official configs
    python benchmarks/pose2d_equivalence.py --small    # the reduced configs the tests use

Against the official code itself (github leeyegy/TokenPose and leeyegy/SimDR, full size, and the
top-down keypoints): tests/reference/check_official_pose2d.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from official_ref import SimDRPoseHRNet, TokenPoseRef, compare_state_dict_reading, randomize  # noqa: E402

FULL = {
    "TokenPose-S-v1 256x192": lambda: TokenPoseRef("S", dim=192, depth=12, heads=8),
    "TokenPose-B 256x192": lambda: TokenPoseRef("B", dim=192, depth=12, heads=8, base_channel=32),
    "TokenPose-L/D24 256x192": lambda: TokenPoseRef("L", dim=192, depth=8, heads=12, base_channel=48,
                                                    hidden_heatmap_dim=384),
    "SimDR HRNet-W32 256x192 k=2": lambda: SimDRPoseHRNet(32, 17, (192, 256), 2.0),
    "SA-SimDR HRNet-W48 384x288 k=1.5": lambda: SimDRPoseHRNet(48, 17, (288, 384), 1.5),
}
SMALL = {
    "TokenPose-S (dim 64, depth 2)": lambda: TokenPoseRef("S", dim=64, depth=2, heads=8),
    "TokenPose-B (W8, dim 64, depth 2)": lambda: TokenPoseRef("B", dim=64, depth=2, heads=8, base_channel=8),
    "TokenPose-L (W8, 3x1 layers)": lambda: TokenPoseRef("L", dim=192, depth=1, heads=12, base_channel=8,
                                                         hidden_heatmap_dim=384),
    "SimDR HRNet-W8 256x192 k=2": lambda: SimDRPoseHRNet(8, 17, (192, 256), 2.0),
    "SimDR HRNet-W8 384x288 k=1.5": lambda: SimDRPoseHRNet(8, 17, (288, 384), 1.5),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (SMALL if args.small else FULL).items():
            ref = randomize(make(), seed=0)
            ours, b, diff = compare_state_dict_reading(ref, Path(tmp) / "official.pth", batch=2)
            scale = max(float(v.abs().max()) for v in b)
            print(f"{name:36s} read as {ours.pose2d_info.variant:32s} max |ours - official| = {diff:.2e} "
                  f"(outputs up to {scale:.2f})")


if __name__ == "__main__":
    main()
