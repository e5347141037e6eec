"""A :class:`~hotdemo.pose2d.estimator.PoseEstimator` for a top-down ``.onnx`` model run by ONNX
Runtime: the head (heatmap or SimCC) from the output shapes, the input size from the input
shape (or a spec / ``input_wh`` where it is dynamic), the normalisation from a spec or options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from hotdemo.core.errors import InputError
from hotdemo.pose2d.estimator import PoseEstimator
from hotdemo.pose2d.runners import OnnxRunner
from hotdemo.pose2d.spec import POSE2D_EXPECTED, Pose2DSpec, make_head

__all__ = ["onnx_estimator"]


def onnx_estimator(path: Path, *, spec: Optional[Pose2DSpec], device: str, input_wh, threads=None,
                   mean=None, std=None, scale: Optional[str] = None, channel_order: Optional[str] = None,
                   heatmap_decoding: Optional[str] = None, simcc_refine: Optional[bool] = None,
                   flip_align: Optional[str] = None, **est_opts) -> PoseEstimator:
    if scale not in (None, "0-1", "0-255"):
        raise InputError("scale must be '0-1' or '0-255'")
    mul = 255.0 if scale == "0-1" else 1.0
    base = spec or Pose2DSpec(name=path.stem, family="onnx", input_wh=(0, 0), weights=str(path))
    changes: Dict[str, Any] = {}
    if mean is not None:
        changes["mean"] = tuple(float(v) * mul for v in mean)
    if std is not None:
        changes["std"] = tuple(float(v) * mul for v in std)
    if channel_order is not None:
        changes["channel_order"] = channel_order
    base = base.replace(**changes)
    runner = OnnxRunner(path, base.normalize(), device=device, threads=threads)
    shapes = runner.output_shapes
    if len(shapes[0]) == 4:
        head_kind = "heatmap"
    elif len(shapes) >= 2 and len(shapes[0]) == 3 and len(shapes[1]) == 3:
        head_kind = "simcc"
    else:
        looks = "; a single (B, C, N) output is a YOLO detector's, give it to --detector" if (
            len(shapes) == 1 and len(shapes[0]) == 3) else ""
        raise InputError(f"{path}: outputs {shapes} are neither heatmaps (B, J, h, w) nor SimCC vectors{looks}; "
                         f"expected {POSE2D_EXPECTED}")
    wh = input_wh or (base.input_wh if spec is not None else None) or runner.input_wh
    if wh is None:
        raise InputError(f"{path.name}: input size is dynamic; give input_wh=(W, H) or a .json spec")
    J = shapes[0][1] if isinstance(shapes[0][1], int) else base.num_joints
    s = base.replace(input_wh=tuple(int(v) for v in wh), head=spec.head if spec else head_kind, num_joints=int(J))
    if s.head != head_kind:
        raise InputError(f"{path.name}: the spec says a {s.head} head but the model outputs {head_kind}")
    head = make_head(s, decoding=heatmap_decoding, refine=simcc_refine, flip_align=flip_align)
    return PoseEstimator(runner, head, s.input_wh, num_joints=s.num_joints, spec=s, geometry=s.crop_geometry(),
                         **est_opts)
