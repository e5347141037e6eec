"""Decoding raw 2D-model outputs into keypoints, and mirroring them back after a flip test.

* Heatmaps (B, J, h, w) -> (B, J, 2) heatmap pixels and (B, J) scores (:func:`decode_heatmaps`):
  ``"dark"`` is the DARK refinement exactly as the reference (Zhang et al. 2020, mmpose's
  ``refine_keypoints_dark``) does it: Gaussian blur of each map (zero border, rescaled to keep
  its maximum), log, then one Newton step from the integer maximum with central differences
  ``dx = (L[x+1] - L[x-1]) / 2``, ``dxx = (L[x+2] - 2 L[x] + L[x-2]) / 4``,
  ``dxy = (L[y+1,x+1] - L[y-1,x+1] - L[y+1,x-1] + L[y-1,x-1]) / 4``, applied only where
  ``1 < x < w-2`` and ``1 < y < h-2`` and the Hessian's determinant is not 0, whatever the size
  of the step. ``"quarter"`` moves 0.25 px towards the higher neighbour (the HRNet default);
  ``"argmax"`` is the integer maximum.
* SimCC / SimDR vectors (B, J, W*k), (B, J, H*k) -> (B, J, 2) input pixels (:func:`decode_simcc`).

Scores are the maxima clipped to [0, 1]: a joint whose map maximum is <= 0 gets score 0 (and
the unrefined argmax position), so downstream it is treated like any other undetected joint.
"""

from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from hotdemo.core.skeletons import COCO17

__all__ = ["decode_heatmaps", "decode_simcc", "blur_heatmaps", "flip_heatmaps", "flip_simcc",
           "flip_shift", "shift_last_axis", "flip_permutation", "softmax"]


def blur_heatmaps(hm: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK's modulation: blur each (h, w) map with a ``kernel`` x ``kernel`` Gaussian (sigma from
    OpenCV's rule, 2.0 for 11) over a zero border, then rescale it to its original maximum."""
    if kernel % 2 != 1:
        raise ValueError(f"blur kernel must be odd, got {kernel}")
    B, J, h, w = hm.shape
    flat = np.ascontiguousarray(hm.reshape(B * J, h, w).transpose(1, 2, 0), dtype=np.float32)
    peak = flat.max(axis=(0, 1), keepdims=True)
    # cv2 handles at most 512 channels per call; BORDER_CONSTANT = the reference's zero padding
    chunks = [cv2.GaussianBlur(np.ascontiguousarray(flat[..., i:i + 512]), (kernel, kernel), 0,
                               borderType=cv2.BORDER_CONSTANT).reshape(h, w, -1)
              for i in range(0, flat.shape[2], 512)]
    blurred = np.concatenate(chunks, axis=2)
    bpeak = blurred.max(axis=(0, 1), keepdims=True)
    ratio = np.divide(peak, bpeak, out=np.ones_like(peak), where=bpeak != 0)
    return (blurred * ratio).transpose(2, 0, 1).reshape(B, J, h, w)


def decode_heatmaps(hm: np.ndarray, method: str = "dark", blur_kernel: int = 11) -> Tuple[np.ndarray, np.ndarray]:
    """Heatmaps (B, J, h, w) -> coordinates (B, J, 2) in heatmap pixels and scores (B, J).

    ``method``: ``"dark"`` (``blur_kernel`` odd, 0 or 1 = no blur), ``"quarter"`` or ``"argmax"``
    (see the module docstring). Scores are the maxima clipped to [0, 1].
    """
    hm = np.asarray(hm, np.float32)
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must be (B, J, h, w), got shape {hm.shape}")
    B, J, h, w = hm.shape
    flat = hm.reshape(B, J, -1)
    idx = flat.argmax(axis=2)
    scores = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    y = idx // w
    x = idx % w
    coords = np.stack([x, y], axis=-1).astype(np.float32)
    live = scores > 0
    bi, ji = np.meshgrid(np.arange(B), np.arange(J), indexing="ij")
    if method == "argmax":
        pass
    elif method == "quarter":
        inside = live & (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
        xc, yc = np.clip(x, 1, max(w - 2, 1)), np.clip(y, 1, max(h - 2, 1))
        dx = hm[bi, ji, yc, np.minimum(xc + 1, w - 1)] - hm[bi, ji, yc, xc - 1]
        dy = hm[bi, ji, np.minimum(yc + 1, h - 1), xc] - hm[bi, ji, yc - 1, xc]
        coords[..., 0] += np.where(inside, np.sign(dx) * 0.25, 0)
        coords[..., 1] += np.where(inside, np.sign(dy) * 0.25, 0)
    elif method == "dark":
        m = blur_heatmaps(hm, blur_kernel) if blur_kernel and blur_kernel > 1 else hm
        L = np.log(np.maximum(m, 1e-10))
        ok = live & (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2)
        if ok.any():
            xc, yc = np.clip(x, 2, max(w - 3, 2)), np.clip(y, 2, max(h - 3, 2))

            def at(dy: int, dx: int) -> np.ndarray:
                return L[bi, ji, np.clip(yc + dy, 0, h - 1), np.clip(xc + dx, 0, w - 1)]

            c = at(0, 0)
            gx = 0.5 * (at(0, 1) - at(0, -1))
            gy = 0.5 * (at(1, 0) - at(-1, 0))
            hxx = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
            hyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
            hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
            det = hxx * hyy - hxy * hxy
            ok &= det != 0
            safe = np.where(ok, det, 1.0)
            # offset = -H^-1 g with H^-1 = [[hyy, -hxy], [-hxy, hxx]] / det
            coords[..., 0] += np.where(ok, -(hyy * gx - hxy * gy) / safe, 0)
            coords[..., 1] += np.where(ok, -(hxx * gy - hxy * gx) / safe, 0)
    else:
        raise ValueError(f"unknown heatmap decoding {method!r}; use dark, quarter or argmax")
    return coords, np.clip(scores, 0.0, 1.0)


def softmax(v: np.ndarray, axis: int = -1) -> np.ndarray:
    v = np.asarray(v, np.float32)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def decode_simcc(sx: np.ndarray, sy: np.ndarray, split_ratio: float, refine: bool = False,
                 score: str = "min", invalid_at: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """SimCC / SimDR vectors (B, J, Wk), (B, J, Hk) -> (B, J, 2) input pixels and (B, J) scores.

    Coordinate = argmax / ``split_ratio``; with ``refine`` a parabola through the log of the
    peak and its two neighbours gives the sub-bin offset (exact for a Gaussian peak). Score =
    the ``"min"`` (mmpose, SA-SimDR) or ``"max"`` (SimDR) of the two maxima, clipped to [0, 1].
    ``invalid_at``: where that score is <= 0, both bins are set to this value before the
    division (mmpose's ``get_simcc_maximum`` uses -1).
    """
    out = []
    vals = []
    for v in (np.asarray(sx, np.float32), np.asarray(sy, np.float32)):
        i = v.argmax(axis=2)
        val = np.take_along_axis(v, i[..., None], axis=2)[..., 0]
        pos = i.astype(np.float32)
        if refine and v.shape[2] >= 3:
            n = v.shape[2]
            lo = np.clip(i - 1, 0, n - 1)
            hi = np.clip(i + 1, 0, n - 1)
            la, lc, lb = (np.log(np.maximum(np.take_along_axis(v, k[..., None], axis=2)[..., 0], 1e-10))
                          for k in (lo, i, hi))
            den = la - 2 * lc + lb
            ok = (i > 0) & (i < n - 1) & (den < -1e-12)
            off = np.where(ok, 0.5 * (la - lb) / np.where(ok, den, 1.0), 0.0)
            pos = pos + np.clip(off, -0.5, 0.5)
        out.append(pos / split_ratio)
        vals.append(val)
    if score not in ("min", "max"):
        raise ValueError(f"SimCC score must be 'min' or 'max', got {score!r}")
    s = np.minimum(*vals) if score == "min" else np.maximum(*vals)
    coords = np.stack(out, axis=-1).astype(np.float32)
    if invalid_at is not None:
        coords[s <= 0] = np.float32(invalid_at) / np.float32(split_ratio)
    return coords, np.clip(s, 0.0, 1.0)


# ----------------------------------------------------------------------------- flip test

def flip_permutation(num_joints: int) -> np.ndarray:
    """Left/right joint swap for ``num_joints`` (COCO-17; identity for other layouts)."""
    return COCO17.flip_permutation if num_joints == 17 else np.arange(num_joints)


def shift_last_axis(a: np.ndarray, shift: float) -> np.ndarray:
    """``out[..., j] = a[..., j - shift]`` with linear interpolation, edges clamped."""
    n = a.shape[-1]
    i0 = int(np.floor(shift))
    frac = float(shift - i0)
    j = np.arange(n)
    lo = a[..., np.clip(j - i0, 0, n - 1)]
    if frac < 1e-6:
        return lo
    hi = a[..., np.clip(j - i0 - 1, 0, n - 1)]
    return (1 - frac) * lo + frac * hi


def flip_shift(input_w: int, output_w: int) -> float:
    """Exact offset between a reversed output axis and the mirrored input, in output bins.

    Mirroring the input maps crop pixel x to ``W - 1 - x``; reversing an output of ``n`` bins
    (bin u <-> input pixel ``u * W / n``) maps bin u to ``n - 1 - u``. The two differ by
    ``(W - 1) * n / W - (n - 1)`` bins: 0.75 for heatmaps 192 -> 48 (the references round it to
    1), -1 for SimCC at split ratio 2 (SimDR shifts by -1 too).
    """
    return (input_w - 1) * output_w / input_w - (output_w - 1)


def flip_heatmaps(hm: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Heatmaps of mirrored crops -> heatmaps in the unmirrored frame: reverse x, swap left and
    right joints, then move by ``shift`` heatmap pixels (linear interpolation)."""
    out = hm[:, flip_permutation(hm.shape[1]), :, ::-1]
    if shift:
        out = shift_last_axis(out, shift)
    return np.ascontiguousarray(out, dtype=np.float32)


def flip_simcc(sx: np.ndarray, sy: np.ndarray, shift: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """SimCC vectors of mirrored crops -> unmirrored: reverse x (then move it by ``shift`` bins),
    swap left and right joints in both."""
    perm = flip_permutation(sx.shape[1])
    x = sx[:, perm, ::-1]
    if shift:
        x = shift_last_axis(x, shift)
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(sy[:, perm], dtype=np.float32)
