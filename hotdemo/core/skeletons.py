"""Skeleton definitions as data, and the COCO-17 to Human3.6M-17 conversion.

A :class:`Skeleton` holds joint names, the kinematic parent of each joint, the drawing
edges and the left/right joint pairs. Two skeletons are used in hotdemo:

* ``COCO17``: the 17 COCO keypoints that 2D detectors produce (image coordinates).
* ``H36M17``: the 17 Human3.6M joints that the lifters consume and produce.

Arrays that hold joints always carry their format alongside (see :mod:`hotdemo.core.types`),
so the two orders cannot be mixed up silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: Tuple[str, ...]
    parents: Tuple[int, ...]  # parent joint index, -1 for the root
    edges: Tuple[Tuple[int, int], ...]  # pairs drawn as bones
    left: Tuple[int, ...]  # joints on the subject's left side
    right: Tuple[int, ...]  # their mirror joints, pairwise with ``left``

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, name: str) -> int:
        return self.joint_names.index(name)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints: ``flipped = x[..., perm, :]``."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def edge_side(self, edge: Tuple[int, int]) -> str:
        """'left', 'right' or 'center' for colouring a bone."""
        a, b = edge
        if a in self.left or b in self.left:
            return "left"
        if a in self.right or b in self.right:
            return "right"
        return "center"


def _edges_from_parents(parents: Tuple[int, ...]) -> Tuple[Tuple[int, int], ...]:
    return tuple((p, j) for j, p in enumerate(parents) if p >= 0)


COCO17 = Skeleton(
    name="coco17",
    joint_names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    # a tree rooted at the nose, only used for traversal; drawing uses ``edges``
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    edges=(
        (0, 1), (0, 2), (1, 3), (2, 4),
        (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
        (5, 11), (6, 12), (11, 12),
        (11, 13), (13, 15), (12, 14), (14, 16),
    ),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
)

_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
H36M17 = Skeleton(
    name="h36m17",
    joint_names=(
        "pelvis", "right_hip", "right_knee", "right_ankle",
        "left_hip", "left_knee", "left_ankle",
        "spine", "thorax", "neck_nose", "head",
        "left_shoulder", "left_elbow", "left_wrist",
        "right_shoulder", "right_elbow", "right_wrist",
    ),
    parents=_H36M_PARENTS,
    edges=_edges_from_parents(_H36M_PARENTS),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
)

SKELETONS: Dict[str, Skeleton] = {s.name: s for s in (COCO17, H36M17)}

# Human3.6M's 32-joint motion-capture skeleton -> the 17 joints every H36M lifter uses.
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


def get_skeleton(name: str) -> Skeleton:
    try:
        return SKELETONS[name]
    except KeyError:
        raise ValueError(f"unknown joint format {name!r}; known: {', '.join(SKELETONS)}") from None


def coco_to_h36m(xy: np.ndarray, scores: np.ndarray | None = None):
    """Convert COCO-17 2D keypoints to Human3.6M-17.

    ``xy``: (..., 17, 2) pixels in COCO order; ``scores``: (..., 17) or None.
    Returns ``(xy_h36m (..., 17, 2), scores_h36m (..., 17) or None)``.

    Joints that both formats share (hips, knees, ankles, shoulders, elbows, wrists) are
    copied. The others are built as in the official HoT / MHFormer demos, whose lifters were
    trained on Human3.6M joints and expect this construction (facts, re-derived here):

    * pelvis = mean(left_hip, right_hip)
    * thorax = S + (nose - S) / 3 with S = mean(shoulders); then its y is raised by
      2/3 of (mean(eye y) - nose y)
    * spine = mean(shoulders, hips); then its x is pushed away from mean(pelvis x, thorax x)
      by 0.3 times their difference
    * head: x = mean(eyes, ears x); y = eye_l.y + eye_r.y - nose.y
    * neck_nose = nose moved a quarter of the way towards mean(shoulders)

    The score of a built joint is the minimum of the scores it was built from.
    """
    xy = np.asarray(xy, dtype=np.float32)
    if xy.shape[-2:] != (17, 2):
        raise ValueError(f"expected COCO keypoints of shape (..., 17, 2), got {xy.shape}")
    out = np.zeros_like(xy)
    H, C = H36M17.index, COCO17.index
    copy = {
        "right_hip": "right_hip", "right_knee": "right_knee", "right_ankle": "right_ankle",
        "left_hip": "left_hip", "left_knee": "left_knee", "left_ankle": "left_ankle",
        "left_shoulder": "left_shoulder", "left_elbow": "left_elbow", "left_wrist": "left_wrist",
        "right_shoulder": "right_shoulder", "right_elbow": "right_elbow", "right_wrist": "right_wrist",
    }
    for h, c in copy.items():
        out[..., H(h), :] = xy[..., C(c), :]
    nose = xy[..., C("nose"), :]
    sh = xy[..., [C("left_shoulder"), C("right_shoulder")], :].mean(axis=-2)
    hips = xy[..., [C("left_hip"), C("right_hip")], :].mean(axis=-2)
    eye_y = xy[..., [C("left_eye"), C("right_eye")], 1]
    pelvis = hips
    thorax = sh + (nose - sh) / 3.0
    thorax[..., 1] -= (eye_y.mean(axis=-1) - nose[..., 1]) * 2.0 / 3.0
    spine = (sh + hips) / 2.0
    spine_x = spine[..., 0] + 0.3 * (spine[..., 0] - (pelvis[..., 0] + (sh + (nose - sh) / 3.0)[..., 0]) / 2.0)
    spine = np.stack([spine_x, spine[..., 1]], axis=-1)
    head_x = xy[..., 1:5, 0].mean(axis=-1)
    head_y = eye_y.sum(axis=-1) - nose[..., 1]
    neck = nose - (nose - sh) / 4.0
    out[..., H("pelvis"), :] = pelvis
    out[..., H("thorax"), :] = thorax
    out[..., H("spine"), :] = spine
    out[..., H("head"), :] = np.stack([head_x, head_y], axis=-1)
    out[..., H("neck_nose"), :] = neck
    if scores is None:
        return out, None
    s = np.asarray(scores, dtype=np.float32)
    so = np.zeros(s.shape[:-1] + (17,), dtype=np.float32)
    for h, c in copy.items():
        so[..., H(h)] = s[..., C(c)]
    ls, rs, lh, rh = (s[..., C(n)] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    so[..., H("pelvis")] = np.minimum(lh, rh)
    so[..., H("spine")] = np.minimum.reduce([ls, rs, lh, rh])
    so[..., H("thorax")] = np.minimum.reduce([ls, rs, s[..., C("nose")], s[..., C("left_eye")], s[..., C("right_eye")]])
    so[..., H("neck_nose")] = np.minimum.reduce([ls, rs, s[..., C("nose")]])
    so[..., H("head")] = s[..., 0:5].min(axis=-1)
    return out, so
