"""Top-down 2D keypoints (COCO-17): specs, runners, heads, crops and decoding.

* :mod:`.spec` — :class:`Pose2DSpec` (a 2D model declared as data), :class:`Pose2DFamily`
  and :class:`CheckpointInfo`; :mod:`.families` — one file per family (model, checkpoint
  matcher, presets); :mod:`.registry` — :data:`FAMILIES` (one line per family) and the
  built-in names :data:`POSE2D_SPECS`; :mod:`.checkpoints` — reading 2D checkpoints;
  :mod:`.resolve` — :func:`build_pose2d`, which resolves ``--pose2d NAME|FILE``
  (:mod:`.onnx_estimator` for ``.onnx`` files, :mod:`.sniff` to redirect detector files);
* :mod:`.runners` — :class:`TorchRunner` (a PyTorch module) and :class:`OnnxRunner` (an ONNX
  Runtime session): execution, device, input normalisation;
* :mod:`.heads` — :class:`HeatmapHead` and :class:`SimCCHead`: flip-back and decoding;
* :mod:`.estimator` — :class:`PoseEstimator` = runner x head: crops, batches, flip test,
  mapping back to image pixels;
* :mod:`.geometry` and :mod:`.decode` — the crop affines and the decoders (DARK as the
  reference computes it, SimCC argmax / split ratio).

Coordinate convention (the same as HRNet / mmpose): the crop maps the box centre to the
input pixel ``(W/2, H/2)`` and output bin ``u`` to input pixel ``u * W / n`` (``n`` = the
output width: heatmap pixels or SimCC bins).
"""

from hotdemo.pose2d.decode import decode_heatmaps, decode_simcc, flip_heatmaps, flip_shift, flip_simcc
from hotdemo.pose2d.estimator import PoseEstimator, PoseResult
from hotdemo.pose2d.geometry import (PADDING, apply_affines, box_to_center_scale, crop_affines, crop_images,
                       invert_affines)
from hotdemo.pose2d.heads import FLIP_ALIGN, Head, HeatmapHead, SimCCHead
from hotdemo.pose2d.checkpoints import inspect_pose2d_checkpoint, load_pose2d_model
from hotdemo.pose2d.registry import FAMILIES, POSE2D_SPECS, supported_layouts
from hotdemo.pose2d.resolve import build_pose2d
from hotdemo.pose2d.spec import DEFAULT_POSE2D, CheckpointInfo, Pose2DFamily, Pose2DSpec, make_head
from hotdemo.pose2d.runners import IMAGENET_MEAN, IMAGENET_STD, Normalize, OnnxRunner, Runner, TorchRunner

__all__ = [
    "PoseEstimator", "PoseResult", "Runner", "TorchRunner", "OnnxRunner", "Normalize", "Head", "HeatmapHead",
    "SimCCHead", "FLIP_ALIGN", "Pose2DSpec", "Pose2DFamily", "CheckpointInfo", "FAMILIES", "POSE2D_SPECS",
    "DEFAULT_POSE2D", "build_pose2d", "load_pose2d_model", "inspect_pose2d_checkpoint", "make_head",
    "supported_layouts", "box_to_center_scale", "crop_affines", "crop_images", "invert_affines",
    "apply_affines", "decode_heatmaps", "decode_simcc", "flip_heatmaps", "flip_simcc", "flip_shift",
    "PADDING", "IMAGENET_MEAN", "IMAGENET_STD",
]
