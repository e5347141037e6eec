"""SimDR / SA-SimDR on HRNet (Li et al. 2021, "SimCC: a Simple Coordinate Classification
Perspective for Human Pose Estimation"), in the key layout of the official repository
(github.com/leeyegy/SimDR, ``lib/models/pose_hrnet.py`` with ``COORD_REPRESENTATION`` simdr or
sa-simdr): the HRNet backbone and ``final_layer`` 1x1 conv of :class:`~hotdemo.pose2d.families.hrnet.HRNet`,
the (B, J, H/4, W/4) maps flattened to (B, J, H*W/16), then ``mlp_head_x`` Linear -> W*k and
``mlp_head_y`` Linear -> H*k, with k the split ratio (2.0 in the 256x192 configs, 1.5 in the
384x288 SA-SimDR one, whose checkpoint scores 76.9 AP on COCO val by the authors' README).

Input: (B, 3, H, W) ImageNet-normalised RGB. Output: ``(x (B, J, W*k), y (B, J, H*k))`` logits.
The input size and k follow from the head shapes: ``mlp_head_x`` is (W k, H W / 16) and
``mlp_head_y`` (H k, H W / 16), so k^2 = W k * H k / (16 * H W / 16).
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Tuple

import torch
from torch import nn

from hotdemo.core.errors import CheckpointError
from hotdemo.pose2d.families.hrnet import HRNet, convert_state_dict as _hrnet_convert, width_from_state_dict
from hotdemo.pose2d.spec import CheckpointInfo, Pose2DFamily

__all__ = ["SimDRHRNet", "convert_state_dict", "match_checkpoint", "build_from_arch", "size_from_heads", "FAMILY"]


class SimDRHRNet(HRNet):
    """HRNet-W``width`` with SimDR x / y classification heads for a ``input_wh`` input at split
    ratio ``split_ratio``."""

    def __init__(self, width: int = 48, num_joints: int = 17, input_wh: Tuple[int, int] = (288, 384),
                 split_ratio: float = 1.5):
        super().__init__(width, num_joints)
        W, H = int(input_wh[0]), int(input_wh[1])
        self.input_wh, self.split_ratio = (W, H), float(split_ratio)
        head_input = (H // 4) * (W // 4)
        self.mlp_head_x = nn.Linear(head_input, int(W * split_ratio))
        self.mlp_head_y = nn.Linear(head_input, int(H * split_ratio))

    def forward(self, x: torch.Tensor):  # type: ignore[override]
        f = super().forward(x).flatten(2)  # (B, J, H/4 * W/4), row-major as rearrange 'b c (h w)'
        return self.mlp_head_x(f), self.mlp_head_y(f)


def convert_state_dict(sd: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``module.`` (DataParallel) prefixes stripped; names otherwise as in the official code."""
    return _hrnet_convert(sd)


def size_from_heads(wx: int, wy: int, head_input: int) -> Optional[Tuple[Tuple[int, int], float]]:
    """((W, H), k) from the head sizes W k, H k and H W / 16, or None if they are inconsistent."""
    if head_input <= 0:
        return None
    k = math.sqrt(wx * wy / (16.0 * head_input))
    for kk in (round(k * 4) / 4, round(k, 3)):  # published ratios are multiples of 0.25
        if kk <= 0:
            continue
        W, H = round(wx / kk), round(wy / kk)
        if int(W * kk) == wx and int(H * kk) == wy and (H // 4) * (W // 4) == head_input:
            return (W, H), float(kk)
    return None


def match_checkpoint(sd: Mapping[str, torch.Tensor]):
    if "mlp_head_x.weight" not in sd or "mlp_head_y.weight" not in sd or "transition1.0.0.weight" not in sd:
        return None
    width, joints = width_from_state_dict(sd)
    wx, n = sd["mlp_head_x.weight"].shape
    wy = sd["mlp_head_y.weight"].shape[0]
    found = size_from_heads(int(wx), int(wy), int(n))
    if found is None:
        raise CheckpointError(f"SimDR heads of sizes {wx}, {wy} on {n} inputs match no input size and split ratio")
    wh, k = found
    return CheckpointInfo(
        variant=f"SimDR HRNet-W{width} {wh[1]}x{wh[0]} k={k:g}",
        arch={"width": width, "num_joints": joints, "input_wh": wh, "split_ratio": k},
        head="simcc", num_joints=joints, input_wh=wh, split_ratio=k,
        # SA-SimDR's test path (the published 76.9 AP model): average the flip pair's logits,
        # softmax, argmax / k, score = min of the x and y maxima; the flipped x vector moved one
        # bin left as the official code does
        head_options={"softmax": "after", "score": "min", "flip_align": "reference"})


def build_from_arch(arch: Mapping) -> SimDRHRNet:
    return SimDRHRNet(int(arch.get("width", 48)), int(arch.get("num_joints", 17)),
                      tuple(arch.get("input_wh", (288, 384))), float(arch.get("split_ratio", 1.5)))


#: the family (no built-in names: give a checkpoint)
FAMILY = Pose2DFamily(
    name="simdr", match=match_checkpoint, build=build_from_arch, convert=convert_state_dict,
    layout="SimDR / SA-SimDR HRNet (leeyegy/SimDR pose_hrnet: HRNet keys, final_layer, mlp_head_x, mlp_head_y)")
