"""Top-down crop geometry: person box -> centre and size -> affine crop, and back.

Two coordinate conventions (``geometry``):

* ``"hrnet"`` (HRNet, SimDR, mmpose): box centre ``x1 + w / 2``; the crop maps it to input pixel
  ``(W/2, H/2)`` with scale ``W / S`` (S: the padded box width); heatmap pixel ``u`` is input pixel
  ``u * W / w``.
* ``"pixel"`` (TokenPose's official transforms, from DARK's code base): pixel-centred, box centre
  ``x1 + (w - 1) / 2``, mapped to ``((W-1)/2, (H-1)/2)`` with scale ``(W - 1) / (S - 1)``; heatmap
  pixel ``u`` is input pixel ``u (W - 1) / (w - 1)`` (see :class:`~hotdemo.pose2d.heads.HeatmapHead`).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

PADDING = 1.25

#: crop conventions; see the module docstring
GEOMETRIES = ("hrnet", "pixel")

__all__ = ["PADDING", "GEOMETRIES", "box_to_center_scale", "crop_affines", "invert_affines", "apply_affines", "crop_images"]



def check_geometry(geometry: str) -> str:
    if geometry not in GEOMETRIES:
        raise ValueError(f"unknown crop geometry {geometry!r}; use one of {', '.join(GEOMETRIES)}")
    return geometry


def box_to_center_scale(boxes: np.ndarray, aspect: float, padding: float = PADDING,
                        geometry: str = "hrnet") -> Tuple[np.ndarray, np.ndarray]:
    """(N, 4) x1 y1 x2 y2 -> centres (N, 2) and crop sizes (N, 2) = (w, h) in pixels.

    The box is grown to the model's aspect ratio ``aspect`` = input width / height (never
    shrunk), then multiplied by ``padding``. ``geometry="pixel"``: the centre is half a pixel
    up and left (``x1 + (w - 1) / 2``, as TokenPose's ``_xywh2cs``).
    """
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    center = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    if check_geometry(geometry) == "pixel":
        center = center - np.float32(0.5)
    w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    wide = w > aspect * h
    h = np.where(wide, w / aspect, h)
    w = np.where(wide, w, h * aspect)
    return center, np.stack([w, h], axis=1) * padding


def crop_affines(center: np.ndarray, size: np.ndarray, out_wh: Tuple[int, int],
                 geometry: str = "hrnet") -> np.ndarray:
    """(N, 2, 3) affine matrices mapping image pixels to crop pixels (no rotation).

    The box of ``size`` around ``center`` maps onto the ``out_wh`` crop, its centre onto
    ``(W/2, H/2)``; with ``geometry="pixel"`` onto ``((W-1)/2, (H-1)/2)`` with the scale
    ``(W - 1) / (size_w - 1)`` on both axes (TokenPose's ``get_affine_transform``). Invert
    with :func:`invert_affines`.
    """
    W, H = out_wh
    size = np.asarray(size, np.float64).reshape(-1, 2)
    center = np.asarray(center, np.float64).reshape(-1, 2)
    if check_geometry(geometry) == "pixel":
        sx = (W - 1) / np.maximum(size[:, 0] - 1, 1e-6)
        s = np.stack([sx, sx], axis=1)
        cw, ch = (W - 1) / 2, (H - 1) / 2
    else:
        s = np.stack([W / size[:, 0], H / size[:, 1]], axis=1)
        cw, ch = W / 2, H / 2
    M = np.zeros((len(center), 2, 3), np.float64)
    M[:, 0, 0] = s[:, 0]
    M[:, 1, 1] = s[:, 1]
    M[:, 0, 2] = cw - s[:, 0] * center[:, 0]
    M[:, 1, 2] = ch - s[:, 1] * center[:, 1]
    return M


def invert_affines(M: np.ndarray) -> np.ndarray:
    """Inverse of (N, 2, 3) axis-aligned scale + translation matrices."""
    inv = np.zeros_like(M)
    inv[:, 0, 0] = 1.0 / M[:, 0, 0]
    inv[:, 1, 1] = 1.0 / M[:, 1, 1]
    inv[:, 0, 2] = -M[:, 0, 2] / M[:, 0, 0]
    inv[:, 1, 2] = -M[:, 1, 2] / M[:, 1, 1]
    return inv


def apply_affines(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply (N, 2, 3) matrices to (N, J, 2) points."""
    return (np.einsum("nij,nkj->nki", M[:, :, :2], pts) + M[:, None, :, 2]).astype(np.float32)


def crop_images(frames: Sequence[np.ndarray], frame_idx: np.ndarray, M: np.ndarray,
                out_wh: Tuple[int, int]) -> np.ndarray:
    """(N, H, W, 3) uint8 crops: crop ``n`` is ``frames[frame_idx[n]]`` warped by ``M[n]``."""
    W, H = out_wh
    out = np.empty((len(M), H, W, 3), np.uint8)
    for n in range(len(M)):  # one cv2 call per person; the warp itself is vectorised C
        cv2.warpAffine(frames[frame_idx[n]], M[n], (W, H), dst=out[n], flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return out
