"""Output heads: what a 2D model's raw outputs mean, how to mirror them back, how to decode them.

A head never runs a model. Raw outputs are always a tuple of numpy arrays, as a runner returns
them: ``(heatmaps (B, J, h, w),)`` for :class:`HeatmapHead`, ``(x (B, J, W*k), y (B, J, H*k))``
for :class:`SimCCHead`. The estimator calls, per batch of crops::

    raw = head.prepare(runner(crops))                       # e.g. a softmax per vector
    if flip test: raw = head.average(raw, head.flip_back(head.prepare(runner(mirrored)), input_wh))
    keypoints, scores = head.decode(raw, input_wh)          # (B, J, 2) crop pixels, (B, J) in [0, 1]
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from hotdemo.pose2d.decode import decode_heatmaps, decode_simcc, flip_heatmaps, flip_shift, flip_simcc, softmax

Raw = Tuple[np.ndarray, ...]

__all__ = ["Head", "HeatmapHead", "SimCCHead", "FLIP_ALIGN"]

#: flip alignment: "exact" shifts a reversed output by the exact sub-bin offset
#: (:func:`~hotdemo.pose2d.decode.flip_shift`), "reference" by the whole bin the reference code
#: uses (HRNet / mmpose heatmaps +1, SimDR -1), "none" not at all.
FLIP_ALIGN = ("exact", "reference", "none")


class Head:
    """Base class; see the module docstring for the call order."""

    kind: str = ""
    num_outputs: int = 1

    def prepare(self, raw: Raw) -> Raw:
        return raw

    def average(self, a: Raw, b: Raw) -> Raw:
        return tuple((x + y) * 0.5 for x, y in zip(a, b))

    def flip_back(self, raw: Raw, input_wh: Tuple[int, int]) -> Raw:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, raw: Raw, input_wh: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def check(self, raw: Raw) -> None:
        if len(raw) < self.num_outputs:
            raise ValueError(f"a {self.kind} head needs {self.num_outputs} model outputs, got {len(raw)}")


def _shift(align: str, input_w: int, n: int, reference: float) -> float:
    if align == "exact":
        return flip_shift(input_w, n)
    if align == "reference":
        return reference
    if align == "none":
        return 0.0
    raise ValueError(f"unknown flip alignment {align!r}; use one of {', '.join(FLIP_ALIGN)}")


class HeatmapHead(Head):
    """Heatmaps (B, J, h, w); heatmap pixel u <-> input pixel ``u * W / w``.

    ``decoding``: ``"dark"`` (default), ``"quarter"`` or ``"argmax"``; ``blur_kernel`` for DARK;
    ``flip_align``: see :data:`FLIP_ALIGN` (reference = HRNet's / mmpose's 1-pixel shift).
    ``geometry="pixel"`` (TokenPose; see :mod:`~hotdemo.pose2d.geometry`): heatmap pixel
    ``(u, v)`` is input pixel ``(u a, (H-1)/2 + (v - (h-1)/2) a)`` with ``a = (W-1)/(w-1)``,
    as its ``transform_preds`` maps the heatmap; a reversed heatmap is then the mirrored input's
    exactly, and the reference (TokenPose) does not shift it either.
    """

    kind = "heatmap"

    def __init__(self, decoding: str = "dark", blur_kernel: int = 11, flip_align: str = "exact",
                 geometry: str = "hrnet"):
        from hotdemo.pose2d.geometry import check_geometry

        if decoding not in ("dark", "quarter", "argmax"):
            raise ValueError(f"unknown heatmap decoding {decoding!r}; use dark, quarter or argmax")
        _shift(flip_align, 2, 1, 0.0)
        self.decoding, self.blur_kernel, self.flip_align = decoding, int(blur_kernel), flip_align
        self.geometry = check_geometry(geometry)

    def flip_back(self, raw: Raw, input_wh: Tuple[int, int]) -> Raw:
        hm = raw[0]
        if self.geometry == "pixel":
            shift = 0.0
        else:
            shift = _shift(self.flip_align, input_wh[0], hm.shape[3], 1.0)
        return (flip_heatmaps(hm, shift),) + tuple(raw[1:])

    def decode(self, raw: Raw, input_wh: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        hm = raw[0]
        coords, scores = decode_heatmaps(hm, self.decoding, self.blur_kernel)
        W, H = input_wh
        h, w = hm.shape[2], hm.shape[3]
        if self.geometry == "pixel":
            a = (W - 1) / max(w - 1, 1)
            coords[..., 0] *= a
            coords[..., 1] = (H - 1) / 2 + (coords[..., 1] - (h - 1) / 2) * a
        else:
            coords[..., 0] *= W / w
            coords[..., 1] *= H / h
        return coords, scores

    def __repr__(self) -> str:
        extra = ", geometry='pixel'" if self.geometry == "pixel" else ""
        return f"HeatmapHead(decoding={self.decoding!r}, flip_align={self.flip_align!r}{extra})"


class SimCCHead(Head):
    """SimCC / SimDR 1-D classification vectors x (B, J, W*k) and y (B, J, H*k).

    ``split_ratio`` k: None = vector length / input size. ``softmax``: ``None`` (use the raw
    values, as mmpose / RTMPose do), ``"each"`` (softmax every output, then average the flip
    pair: SimDR) or ``"after"`` (average the logits, then softmax: SA-SimDR). ``score``:
    ``"min"`` or ``"max"`` of the x and y maxima. ``refine``: sub-bin parabola refinement.
    ``flip_align``: see :data:`FLIP_ALIGN` (reference = SimDR's 1-bin shift to the left).
    ``invalid_at``: bin given to a joint whose score is <= 0 (mmpose / RTMPose: -1; None: keep
    the argmax).
    """

    kind = "simcc"
    num_outputs = 2

    def __init__(self, split_ratio: Optional[float] = None, *, softmax: Optional[str] = None,
                 score: str = "min", refine: bool = False, flip_align: str = "exact",
                 invalid_at: Optional[float] = None):
        if softmax not in (None, "each", "after"):
            raise ValueError(f"SimCC softmax must be None, 'each' or 'after', got {softmax!r}")
        if score not in ("min", "max"):
            raise ValueError(f"SimCC score must be 'min' or 'max', got {score!r}")
        _shift(flip_align, 2, 1, 0.0)
        self.split_ratio = None if split_ratio is None else float(split_ratio)
        self.softmax, self.score, self.refine, self.flip_align = softmax, score, bool(refine), flip_align
        self.invalid_at = None if invalid_at is None else float(invalid_at)

    def prepare(self, raw: Raw) -> Raw:
        if self.softmax == "each":
            return softmax(raw[0]), softmax(raw[1])
        return raw[0], raw[1]

    def flip_back(self, raw: Raw, input_wh: Tuple[int, int]) -> Raw:
        sx, sy = raw[0], raw[1]
        return flip_simcc(sx, sy, _shift(self.flip_align, input_wh[0], sx.shape[2], -1.0))

    def ratio(self, raw: Raw, input_wh: Tuple[int, int]) -> float:
        return self.split_ratio if self.split_ratio is not None else raw[0].shape[2] / input_wh[0]

    def decode(self, raw: Raw, input_wh: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        sx, sy = raw[0], raw[1]
        if self.softmax == "after":
            sx, sy = softmax(sx), softmax(sy)
        return decode_simcc(sx, sy, self.ratio(raw, input_wh), refine=self.refine, score=self.score,
                            invalid_at=self.invalid_at)

    def __repr__(self) -> str:
        return f"SimCCHead(split_ratio={self.split_ratio}, softmax={self.softmax!r}, score={self.score!r})"
