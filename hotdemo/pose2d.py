"""Top-down 2D keypoints (COCO-17): crops, model backends and decoding.

One interface, :class:`PoseEstimator`, called as ``pose(frames, boxes)``:

* ``frames``: sequence of RGB uint8 images (H, W, 3);
* ``boxes``: one (N_i, 4) float array of x1 y1 x2 y2 person boxes per frame (N_i may be 0);
* returns one ``(keypoints (N_i, 17, 2) float32 pixels, scores (N_i, 17) float32 in [0, 1])``
  per frame. The crops of all people in all frames go through the model in batches.

Steps: box -> centre/size with 1.25 padding and the model's aspect ratio
(:func:`box_to_center_scale`), affine crop (:func:`crop_affines`, ``cv2.warpAffine``), optional
flip test, then decoding back to image pixels with one of the two families:

* heatmaps (B, J, h, w): argmax + sub-pixel refinement, either DARK (second-order Taylor
  expansion of the log heatmap, Zhang et al. 2020) or the classic quarter-pixel shift towards
  the higher neighbour (:func:`decode_heatmaps`);
* SimCC / SimDR 1-D vectors (B, J, W*k) and (B, J, H*k): argmax divided by the split ratio
  ``k`` (:func:`decode_simcc`).

Backends: native PyTorch HRNet (W32/W48, authors' or mmpose checkpoints; the default is
HRNet-W32 COCO 256x192 from the weights manifest) and ONNX Runtime (heatmap or SimCC outputs,
e.g. RTMPose exports or the offline SimplePose model).

Coordinate convention (the same as HRNet / mmpose): the crop maps the box centre to the
input pixel ``(W/2, H/2)`` and heatmap pixel ``x`` to input pixel ``x * W / w``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .errors import InputError, WeightsError
from .skeletons import COCO17

log = logging.getLogger("hotdemo")

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
DEFAULT_POSE2D = "hrnet_w32_coco_256x192"
PADDING = 1.25

PoseResult = Tuple[np.ndarray, np.ndarray]

__all__ = [
    "PoseEstimator", "TorchHeatmapPose", "OnnxPose", "build_pose2d",
    "box_to_center_scale", "crop_affines", "crop_images", "decode_heatmaps", "decode_simcc",
]


# ----------------------------------------------------------------------------- geometry

def box_to_center_scale(boxes: np.ndarray, aspect: float, padding: float = PADDING) -> Tuple[np.ndarray, np.ndarray]:
    """(N, 4) x1 y1 x2 y2 -> centres (N, 2) and crop sizes (N, 2) = (w, h) in pixels.

    The box is grown to the model's aspect ratio ``aspect`` = input width / height (never
    shrunk), then multiplied by ``padding``.
    """
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    center = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    wide = w > aspect * h
    h = np.where(wide, w / aspect, h)
    w = np.where(wide, w, h * aspect)
    return center, np.stack([w, h], axis=1) * padding


def crop_affines(center: np.ndarray, size: np.ndarray, out_wh: Tuple[int, int]) -> np.ndarray:
    """(N, 2, 3) affine matrices mapping image pixels to crop pixels (no rotation).

    The box of ``size`` around ``center`` maps onto the ``out_wh`` crop, its centre onto
    ``(W/2, H/2)``. Invert with :func:`invert_affines`.
    """
    W, H = out_wh
    s = np.stack([W / size[:, 0], H / size[:, 1]], axis=1).astype(np.float64)
    M = np.zeros((len(center), 2, 3), np.float64)
    M[:, 0, 0] = s[:, 0]
    M[:, 1, 1] = s[:, 1]
    M[:, 0, 2] = W / 2 - s[:, 0] * center[:, 0]
    M[:, 1, 2] = H / 2 - s[:, 1] * center[:, 1]
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


# ----------------------------------------------------------------------------- decoding

def _gaussian_blur_maps(hm: np.ndarray, kernel: int) -> np.ndarray:
    """Blur every map, keeping each map's maximum (as DARK does)."""
    B, J, h, w = hm.shape
    flat = hm.reshape(B * J, h, w).transpose(1, 2, 0)  # (h, w, B*J): one cv2 call for all
    peak = flat.max(axis=(0, 1), keepdims=True)
    # cv2 handles at most 512 channels per call
    chunks = [cv2.GaussianBlur(np.ascontiguousarray(flat[..., i:i + 512]), (kernel, kernel), 0,
                               borderType=cv2.BORDER_CONSTANT)
              for i in range(0, flat.shape[2], 512)]
    blurred = np.concatenate(chunks, axis=2).reshape(h, w, -1) if chunks else flat
    bpeak = np.maximum(blurred.max(axis=(0, 1), keepdims=True), 1e-10)
    blurred = blurred * (peak / bpeak)
    return blurred.transpose(2, 0, 1).reshape(B, J, h, w)


def decode_heatmaps(hm: np.ndarray, method: str = "dark", blur_kernel: int = 11) -> Tuple[np.ndarray, np.ndarray]:
    """Heatmaps (B, J, h, w) -> coordinates (B, J, 2) in heatmap pixels and scores (B, J).

    ``method``: ``"dark"`` (Taylor expansion of the log of the (optionally Gaussian-blurred,
    ``blur_kernel`` odd, 0 = no blur) heatmap around the maximum; exact for a Gaussian peak),
    ``"quarter"`` (move 0.25 px towards the higher neighbour) or ``"argmax"``.
    Scores are the maxima, clipped to [0, 1].
    """
    hm = np.asarray(hm, np.float32)
    B, J, h, w = hm.shape
    flat = hm.reshape(B, J, -1)
    idx = flat.argmax(axis=2)
    scores = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    y = (idx // w).astype(np.int64)
    x = (idx % w).astype(np.int64)
    coords = np.stack([x, y], axis=-1).astype(np.float32)
    if method == "argmax" or h < 3 or w < 3:
        return coords, np.clip(scores, 0.0, 1.0)
    bi, ji = np.meshgrid(np.arange(B), np.arange(J), indexing="ij")
    if method == "quarter":
        p = np.pad(hm, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        yy, xx = y + 1, x + 1
        dx = p[bi, ji, yy, xx + 1] - p[bi, ji, yy, xx - 1]
        dy = p[bi, ji, yy + 1, xx] - p[bi, ji, yy - 1, xx]
        inside = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
        coords[..., 0] += np.where(inside, np.sign(dx) * 0.25, 0)
        coords[..., 1] += np.where(inside, np.sign(dy) * 0.25, 0)
    elif method == "dark":
        m = _gaussian_blur_maps(hm, blur_kernel) if blur_kernel and blur_kernel > 1 else hm
        L = np.log(np.maximum(m, 1e-10))
        L = np.pad(L, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        yy, xx = y + 1, x + 1

        def at(dy: int, dx: int) -> np.ndarray:
            return L[bi, ji, yy + dy, xx + dx]

        c = at(0, 0)
        gx = 0.5 * (at(0, 1) - at(0, -1))
        gy = 0.5 * (at(1, 0) - at(-1, 0))
        hxx = at(0, 1) - 2 * c + at(0, -1)
        hyy = at(1, 0) - 2 * c + at(-1, 0)
        hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
        det = hxx * hyy - hxy * hxy
        ok = (det > 1e-12) & (hxx < 0) & (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
        safe = np.where(ok, det, 1.0)
        ox = -(hyy * gx - hxy * gy) / safe
        oy = -(hxx * gy - hxy * gx) / safe
        ok &= (np.abs(ox) < 1.0) & (np.abs(oy) < 1.0)  # a real peak is within a pixel
        coords[..., 0] += np.where(ok, ox, 0)
        coords[..., 1] += np.where(ok, oy, 0)
    else:
        raise ValueError(f"unknown heatmap decoding {method!r}; use dark, quarter or argmax")
    return coords, np.clip(scores, 0.0, 1.0)


def decode_simcc(sx: np.ndarray, sy: np.ndarray, split_ratio: float, refine: bool = False
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """SimCC / SimDR vectors (B, J, Wk), (B, J, Hk) -> (B, J, 2) input pixels and (B, J) scores.

    Coordinate = argmax / ``split_ratio``; with ``refine`` a parabola through the log of the
    peak and its two neighbours gives the sub-bin offset (exact for a Gaussian peak). Score =
    min of the two maxima, clipped to [0, 1].
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
    return np.stack(out, axis=-1).astype(np.float32), np.clip(np.minimum(*vals), 0.0, 1.0)


# ----------------------------------------------------------------------------- estimators

class PoseEstimator:
    """Base class: crops, batching, flip test and mapping back to image pixels.

    Subclasses set ``input_wh`` (model input width, height) and implement :meth:`_infer`
    (crops (B, H, W, 3) uint8 RGB -> raw outputs) and :meth:`_decode` (raw -> (B, J, 2) in
    input-crop pixels and (B, J) scores). ``batch_size`` caps the crops per forward pass.
    """

    input_wh: Tuple[int, int] = (192, 256)
    num_joints: int = 17

    def __init__(self, *, flip_test: bool = False, batch_size: int = 32, padding: float = PADDING):
        self.flip_test = flip_test
        self.batch_size = max(1, int(batch_size))
        self.padding = padding

    # subclasses -------------------------------------------------------------
    def _infer(self, crops: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(self, raw) -> Tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _flip_back(self, raw):  # pragma: no cover - abstract
        """Raw outputs of mirrored crops -> raw outputs in the unmirrored frame."""
        raise NotImplementedError

    def _average(self, a, b):
        if isinstance(a, tuple):
            return tuple((x + y) / 2 for x, y in zip(a, b))
        return (a + b) / 2

    # public -----------------------------------------------------------------
    def predict_crops(self, crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(B, H, W, 3) RGB crops -> keypoints (B, J, 2) in crop pixels and scores (B, J)."""
        kps, scs = [], []
        for i in range(0, len(crops), self.batch_size):
            c = crops[i:i + self.batch_size]
            raw = self._infer(c)
            if self.flip_test:
                raw = self._average(raw, self._flip_back(self._infer(np.ascontiguousarray(c[:, :, ::-1]))))
            k, s = self._decode(raw)
            kps.append(k)
            scs.append(s)
        return np.concatenate(kps), np.concatenate(scs)

    def __call__(self, frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> List[PoseResult]:
        if len(frames) != len(boxes):
            raise ValueError(f"got {len(frames)} frames but {len(boxes)} box arrays")
        J = self.num_joints
        boxes = [np.asarray(b, np.float32).reshape(-1, 4)[:, :4] if b is not None and len(b)
                 else np.zeros((0, 4), np.float32) for b in boxes]
        counts = np.array([len(b) for b in boxes], np.int64)
        total = int(counts.sum())
        if total == 0:
            return [(np.zeros((0, J, 2), np.float32), np.zeros((0, J), np.float32)) for _ in frames]
        allb = np.concatenate(boxes)
        frame_idx = np.repeat(np.arange(len(frames)), counts)
        W, H = self.input_wh
        center, size = box_to_center_scale(allb, W / H, self.padding)
        M = crop_affines(center, size, (W, H))
        crops = crop_images(frames, frame_idx, M, (W, H))
        kp, sc = self.predict_crops(crops)
        kp = apply_affines(invert_affines(M), kp)
        splits = np.cumsum(counts)[:-1]
        return list(zip(np.split(kp, splits), np.split(sc.astype(np.float32), splits)))


def _shift_last_axis(a: np.ndarray, shift: float) -> np.ndarray:
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


def _flip_heatmaps(hm: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Mirror the heatmaps of mirrored crops back, swapping left/right joints.

    Mirroring the input maps crop pixel x to ``W_in - 1 - x`` but reversing a heatmap maps
    heatmap pixel u to ``w - 1 - u``; with heatmap pixel u <-> input pixel ``u * W_in / w`` the
    two grids differ by ``shift = (W_in - 1) * w / W_in - (w - 1)`` heatmap pixels (0.75 for
    192 -> 48), which is applied with linear interpolation (the HRNet reference rounds it to 1).
    """
    perm = COCO17.flip_permutation if hm.shape[1] == 17 else np.arange(hm.shape[1])
    out = hm[:, perm, :, ::-1]
    if shift:
        out = _shift_last_axis(out, shift)
    return np.ascontiguousarray(out, dtype=np.float32)


def _flip_shift(input_w: int, output_w: int) -> float:
    return (input_w - 1) * output_w / input_w - (output_w - 1)


class _HeatmapMixin:
    heatmap_decoding: str = "dark"
    blur_kernel: int = 11

    def _decode(self, raw):
        hm = raw
        coords, scores = decode_heatmaps(hm, self.heatmap_decoding, self.blur_kernel)
        W, H = self.input_wh
        coords[..., 0] *= W / hm.shape[3]
        coords[..., 1] *= H / hm.shape[2]
        return coords, scores

    def _flip_back(self, raw):
        return _flip_heatmaps(raw, _flip_shift(self.input_wh[0], raw.shape[3]))


class TorchHeatmapPose(_HeatmapMixin, PoseEstimator):
    """A PyTorch heatmap model (HRNet) taking ImageNet-normalised RGB (0-1) crops."""

    def __init__(self, model, input_wh: Tuple[int, int], *, device: str = "cpu", flip_test: bool = False,
                 batch_size: int = 32, heatmap_decoding: str = "dark", half: Optional[bool] = None):
        super().__init__(flip_test=flip_test, batch_size=batch_size)
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.half = (self.device.type == "cuda") if half is None else bool(half)
        self.model = model.to(self.device).eval()
        if self.half:
            self.model = self.model.half()
        self.input_wh = (int(input_wh[0]), int(input_wh[1]))
        self.num_joints = int(getattr(model, "num_joints", 17))
        self.heatmap_decoding = heatmap_decoding
        self._mean = torch.tensor(IMAGENET_MEAN * 255, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD * 255, device=self.device).view(1, 3, 1, 1)

    def _infer(self, crops: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device).permute(0, 3, 1, 2).float()
            x = (x - self._mean) / self._std
            if self.half:
                x = x.half()
            return self.model(x).float().cpu().numpy()


class OnnxPose(PoseEstimator):
    """ONNX Runtime top-down model with heatmap or SimCC outputs.

    Output kind is detected from the output shapes: one 4-D output -> heatmaps; two 3-D
    outputs -> SimCC x and y vectors (split ratio = vector length / input size).
    Normalisation: ``mean``/``std`` per RGB channel applied to pixel values in ``scale``
    (``"0-1"`` divides by 255 first, ``"0-255"`` does not); ``channel_order`` ``"rgb"`` or
    ``"bgr"``. Defaults: ImageNet mean/std in the scale matching the output kind
    (heatmap models such as SimplePose: 0-1; RTMPose SimCC exports: 0-255 values
    123.675/116.28/103.53, 58.395/57.12/57.375 — numerically the same normalisation).
    """

    def __init__(self, path: str | os.PathLike, *, device: str = "cpu", flip_test: bool = False,
                 batch_size: int = 32, input_wh: Optional[Tuple[int, int]] = None,
                 mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 scale: Optional[str] = None, channel_order: str = "rgb",
                 heatmap_decoding: str = "dark", simcc_refine: bool = False, threads: Optional[int] = None):
        super().__init__(flip_test=flip_test, batch_size=batch_size)
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX pose model {path} does not exist")
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        except Exception as e:
            raise WeightsError(f"cannot load ONNX model {path}: {e}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        if input_wh is None:
            if not (isinstance(shape[2], int) and isinstance(shape[3], int)):
                raise InputError(f"{path.name}: input size is dynamic; give input_wh=(W, H)")
            input_wh = (shape[3], shape[2])
        self.input_wh = (int(input_wh[0]), int(input_wh[1]))
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        outs = self.session.get_outputs()
        ranks = [len(o.shape) for o in outs]
        if ranks[0] == 4:
            self.kind = "heatmap"
            self.num_joints = int(outs[0].shape[1]) if isinstance(outs[0].shape[1], int) else 17
        elif len(outs) >= 2 and ranks[:2] == [3, 3]:
            self.kind = "simcc"
            self.num_joints = int(outs[0].shape[1]) if isinstance(outs[0].shape[1], int) else 17
        else:
            raise WeightsError(f"{path.name}: outputs {[o.shape for o in outs]} are neither heatmaps nor SimCC vectors")
        if scale is None:
            scale = "0-1" if self.kind == "heatmap" else "0-255"
        if scale not in ("0-1", "0-255"):
            raise ValueError("scale must be '0-1' or '0-255'")
        mul = 1.0 if scale == "0-1" else 255.0
        m = np.asarray(mean if mean is not None else IMAGENET_MEAN * mul, np.float32)
        s = np.asarray(std if std is not None else IMAGENET_STD * mul, np.float32)
        # fold everything into one multiply-add on 0-255 pixel values
        div = 255.0 if scale == "0-1" else 1.0
        self._a = (1.0 / (div * s)).reshape(1, 3, 1, 1).astype(np.float32)
        self._b = (-m / s).reshape(1, 3, 1, 1).astype(np.float32)
        self.bgr = channel_order.lower() == "bgr"
        self.heatmap_decoding = heatmap_decoding
        self.blur_kernel = 11
        self.simcc_refine = simcc_refine

    def _prep(self, crops: np.ndarray) -> np.ndarray:
        x = crops[..., ::-1] if self.bgr else crops
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)
        return x * self._a + self._b

    def _infer(self, crops: np.ndarray):
        x = self._prep(crops)
        if self.fixed_batch is not None and self.fixed_batch != len(x):
            fb = self.fixed_batch  # a model exported with a fixed batch: run it in slices
            pad = (-len(x)) % fb
            if pad:
                x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
            parts = [self.session.run(None, {self.input_name: x[i:i + fb]}) for i in range(0, len(x), fb)]
            outs = [np.concatenate([p[k] for p in parts])[:len(crops)] for k in range(len(parts[0]))]
        else:
            outs = self.session.run(None, {self.input_name: x})
        if self.kind == "heatmap":
            return np.asarray(outs[0], np.float32)
        return np.asarray(outs[0], np.float32), np.asarray(outs[1], np.float32)

    def _flip_back(self, raw):
        if self.kind == "heatmap":
            return _flip_heatmaps(raw, _flip_shift(self.input_wh[0], raw.shape[3]))
        sx, sy = raw
        perm = COCO17.flip_permutation if sx.shape[1] == 17 else np.arange(sx.shape[1])
        sx = _shift_last_axis(sx[:, perm, ::-1], _flip_shift(self.input_wh[0], sx.shape[2]))
        return np.ascontiguousarray(sx, dtype=np.float32), np.ascontiguousarray(sy[:, perm])

    def _decode(self, raw):
        W, H = self.input_wh
        if self.kind == "heatmap":
            coords, scores = decode_heatmaps(raw, self.heatmap_decoding, self.blur_kernel)
            coords[..., 0] *= W / raw.shape[3]
            coords[..., 1] *= H / raw.shape[2]
            return coords, scores
        sx, sy = raw
        return decode_simcc(sx, sy, sx.shape[2] / W, refine=self.simcc_refine)


# ----------------------------------------------------------------------------- factory

def _input_wh_from_name(name: str) -> Optional[Tuple[int, int]]:
    """``..._384x288...`` -> (288, 384): HRNet names give height x width."""
    import re

    m = re.search(r"(?<!\d)(\d{2,4})x(\d{2,4})(?!\d)", name)
    if not m:
        return None
    h, w = int(m.group(1)), int(m.group(2))
    return (w, h) if h >= w else (h, w)


def build_pose2d(spec: Optional[str] = None, *, device: str = "cpu", flip_test: bool = False,
                 weights_dir: Optional[str] = None, input_wh: Optional[Tuple[int, int]] = None,
                 batch_size: int = 32, **opts) -> PoseEstimator:
    """Build a 2D keypoint estimator from ``spec``.

    * ``None`` or ``"hrnet_w32_coco_256x192"`` (any manifest name): native HRNet from the
      weights manager (:func:`hotdemo.weights.resolve`);
    * a ``.pth`` / ``.pt`` path: HRNet with the width and joint count read from the checkpoint;
      input size from ``input_wh`` or the file name (``..._384x288`` -> W 288, H 384), else
      192x256;
    * a ``.onnx`` path: :class:`OnnxPose` (extra ``opts`` go to it: ``mean``, ``std``,
      ``scale``, ``channel_order``, ``heatmap_decoding``, ``simcc_refine``).
    """
    spec = spec or DEFAULT_POSE2D
    low = spec.lower()
    if low.endswith(".onnx"):
        p = Path(spec).expanduser()
        if not p.is_file():
            p = _resolve(spec, weights_dir)
        return OnnxPose(p, device=device, flip_test=flip_test, batch_size=batch_size, input_wh=input_wh, **opts)
    if low.endswith((".pth", ".pt")) or low.startswith("hrnet"):
        from .models.hrnet import load_hrnet

        p = Path(spec).expanduser()
        if not p.is_file():
            p = _resolve(spec, weights_dir)
        model = load_hrnet(p)
        wh = input_wh or _input_wh_from_name(p.name) or _input_wh_from_name(spec) or (192, 256)
        return TorchHeatmapPose(model, wh, device=device, flip_test=flip_test, batch_size=batch_size, **opts)
    raise InputError(f"unknown 2D pose model {spec!r}: give an HRNet .pth/.pt checkpoint, an .onnx "
                     f"model, or the built-in name {DEFAULT_POSE2D}")


def _resolve(name: str, weights_dir: Optional[str]) -> Path:
    looks_like_path = os.sep in name or name.startswith(".")
    if looks_like_path:
        raise InputError(f"{name}: no such file")
    try:
        from .weights import resolve
    except ImportError:
        raise WeightsError(f"cannot fetch {name}: the weights manager (hotdemo.weights) is unavailable") from None
    return Path(resolve(name, weights_dir=weights_dir))
