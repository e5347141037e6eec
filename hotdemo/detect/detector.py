"""Person detection: which detector a ``--detector`` value names, built behind one interface.

A :class:`Detector` is called on a batch of frames::

    det = build_detector("yolo11n")            # or a Darknet ".weights" path
    boxes = det(frames)  # frames: sequence of RGB uint8 (H, W, 3)
    # -> list, one (N_i, 5) float32 array per frame: x1 y1 x2 y2 score (pixels), sorted by score

Only people are returned (COCO class 0, or the single class of a one-class model).
:meth:`Detector.detections` wraps the same result in :class:`hotdemo.core.types.Detections`.

This module resolves the spec (a built-in name, whose weights come from
:func:`hotdemo.io.weights.resolve`, or a file, checked to be a detector at all) and builds one
of the backends of :mod:`hotdemo.detect.backends` (:class:`UltralyticsDetector`,
:class:`DarknetDetector`), which it re-exports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from hotdemo.core.errors import InputError, WeightsError
from hotdemo.core.paths import is_model_path
from hotdemo.detect.backends import (DEFAULT_CONF, DARKNET_IOU, DETECTOR_RUNTIMES, ULTRALYTICS_IOU, DarknetDetector,  # noqa: F401
                                     Detector, UltralyticsDetector, nms)

DEFAULT_DETECTOR = "yolo11n"

__all__ = ["Detector", "DarknetDetector", "UltralyticsDetector", "build_detector", "nms"]


#: what ``--detector`` takes, for error messages
DETECTOR_EXPECTED = ("a detector: a built-in name (yolo11n), an ultralytics YOLO .pt/.onnx file, or a Darknet "
                     ".weights file with its .cfg beside it")
#: file types ultralytics loads as a detector (a folder export, e.g. OpenVINO, is passed as is)
_ULTRALYTICS_SUFFIXES = (".pt", ".onnx", ".torchscript", ".engine", ".mlpackage", ".tflite", ".pb")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def onnx_output_shapes(path: Path) -> List[tuple]:
    """The output shapes of an ONNX model (symbolic dimensions as strings); InputError when
    the file is not an ONNX model."""
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: not a readable ONNX model ({first})") from None
    return [tuple(o.shape) for o in sess.get_outputs()]


def check_detector_file(p: Path) -> None:
    """One-line InputError when ``p`` is clearly not a person detector (a video, an image, a
    2D pose model); what ``--detector`` expects is named."""
    from hotdemo.io.video import VIDEO_EXTENSIONS

    low = p.name.lower()
    if low.endswith(VIDEO_EXTENSIONS):
        raise InputError(f"--detector {p}: this is a video, not a detector; expected {DETECTOR_EXPECTED}")
    if low.endswith(_IMAGE_SUFFIXES):
        raise InputError(f"--detector {p}: this is an image, not a detector; expected {DETECTOR_EXPECTED}")
    if low.endswith(".pth"):
        raise InputError(f"--detector {p}: a .pth checkpoint is a 2D pose model (HRNet), give it to --pose2d; "
                         f"expected {DETECTOR_EXPECTED}")
    if low.endswith(".onnx"):
        shapes = onnx_output_shapes(p)
        # YOLO exports have one (B, 4 + classes, anchors) output; a top-down pose model has
        # (B, J, h, w) heatmaps or two SimCC (B, J, bins) outputs
        if len(shapes) != 1 or len(shapes[0]) != 3:
            kind = ("a top-down 2D pose model (heatmap outputs), give it to --pose2d"
                    if any(len(s) == 4 for s in shapes) else
                    "a 2D pose model (SimCC outputs), give it to --pose2d" if len(shapes) == 2 else
                    "not a YOLO detector")
            raise InputError(f"--detector {p}: an ONNX model with outputs {shapes}: {kind}; expected {DETECTOR_EXPECTED}")
        return
    if not low.endswith(_ULTRALYTICS_SUFFIXES + (".weights", ".yaml", ".yml")):
        raise InputError(f"--detector {p}: unknown detector file type {p.suffix or '(none)'!r}; expected {DETECTOR_EXPECTED}")


def manifest_name(spec: Optional[str]) -> Optional[str]:
    """The weights-manifest file that :func:`build_detector` would fetch for ``spec``, or None
    when ``spec`` is a local file (or not a built-in name)."""
    spec = spec or DEFAULT_DETECTOR
    low = spec.lower()
    if is_model_path(spec, is_name=_is_yolo_name):
        return None
    if not low.startswith("yolo"):
        return None
    return spec if low.endswith(".pt") else spec + ".pt"


def _is_yolo_name(spec: str) -> bool:
    """A built-in ultralytics name: ``yolo11n``, ``yolo11n.pt``, ... (fetched by name)."""
    return spec.lower().startswith("yolo") and Path(spec).suffix.lower() in ("", ".pt")


def build_detector(spec: Optional[str] = None, *, device: str = "cpu", conf: float = DEFAULT_CONF,
                   iou: Optional[float] = None, imgsz: Optional[int] = None, weights_dir: Optional[str] = None,
                   threads: Optional[int] = None, **opts) -> Detector:
    """Build a person detector.

    * ``None`` / ``"yolo11n"`` / any ``yolo*`` built-in name / a ``.pt`` path -> ultralytics,
      weights through :func:`hotdemo.io.weights.resolve` (a ``.yaml`` -> random weights);
    * a ``.weights`` path -> Darknet with the ``.cfg`` of the same stem beside it (pass
      ``letterbox=True`` for pjreddie-style models).

    ``imgsz`` is the network's input size; None picks the model's own (ultralytics 640, Darknet
    the size in its ``.cfg``).

    ``iou`` is the NMS overlap threshold; None picks the backend's default (ultralytics 0.7,
    Darknet 0.55: people who stand close or hug overlap by about 0.5, and a lower threshold
    deletes one of them).

    ultralytics models take ``runtime`` (:class:`UltralyticsDetector`: ONNX Runtime on the CPU
    by default) and ``threads`` (ONNX Runtime's threads; None: its default).
    """
    spec = spec or DEFAULT_DETECTOR
    low = spec.lower()
    if imgsz is not None and (imgsz < 32 or imgsz % 32):
        raise InputError(f"detector input size {imgsz} must be a multiple of 32 (e.g. 320, 416, 640)")
    if low.endswith(".weights"):
        p = Path(spec).expanduser()
        if not p.is_file():
            raise InputError(f"{spec}: no such Darknet weights file")
        return DarknetDetector(p, conf=conf, iou=DARKNET_IOU if iou is None else iou, device=device,
                               imgsz=imgsz or opts.pop("darknet_imgsz", None), **opts)
    iou = ULTRALYTICS_IOU if iou is None else iou
    imgsz = imgsz or 640
    opts["threads"] = threads
    if low.endswith((".yaml", ".yml")):
        return UltralyticsDetector(spec, device=device, conf=conf, iou=iou, imgsz=imgsz, **opts)
    p = Path(spec).expanduser()
    if p.is_file():
        check_detector_file(p)
        return UltralyticsDetector(p, device=device, conf=conf, iou=iou, imgsz=imgsz, **opts)
    if is_model_path(spec, is_name=_is_yolo_name):
        raise InputError(f"{spec}: no such file")
    if not low.startswith("yolo"):
        raise InputError(f"unknown detector {spec!r}: give a YOLO name (e.g. yolo11n), a .pt file, or a "
                         f"Darknet .weights file with its .cfg beside it")
    name = spec if low.endswith(".pt") else spec + ".pt"
    try:
        from hotdemo.io.weights import resolve
    except ImportError:
        raise WeightsError(f"cannot fetch {name}: the weights manager (hotdemo.io.weights) is unavailable") from None
    return UltralyticsDetector(Path(resolve(name, weights_dir=weights_dir)), device=device, conf=conf, iou=iou,
                               imgsz=imgsz, **opts)
