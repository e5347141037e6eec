"""The person detector backends behind one interface (:class:`Detector`).

* :class:`UltralyticsDetector`: YOLO (v8/11/...) through ultralytics; ``YOLO_OFFLINE=1`` is set
  (when the user has not set it) before ultralytics is imported so it never downloads or
  pip-installs anything. A ``.yaml`` model name builds the network with random weights
  (benchmarks only). On a CPU the network is exported to ONNX once (cached) and run by ONNX
  Runtime with ultralytics' pre- and post-processing re-done here: faster there, same boxes.
* :class:`DarknetDetector`: a Darknet ``.cfg`` + ``.weights`` pair through OpenCV 4's
  ``cv2.dnn.readNetFromDarknet`` (e.g. the offline Yolo-Fastest body model, one class, 320x320,
  or the official HoT demo's 80-class YOLOv3). Batched; plain resize by default (as AlexeyAB's
  Darknet), letterbox optional.

Which backend a ``--detector`` value names, and where its weights come from, is
:mod:`hotdemo.detect.detector`'s job (:func:`~hotdemo.detect.detector.build_detector`).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

from hotdemo.core.errors import InputError, WeightsError
from hotdemo.core.types import Detections

log = logging.getLogger("hotdemo")

#: the detector confidence threshold every backend and the pipeline default to
DEFAULT_CONF = 0.25
DARKNET_IOU = 0.55
ULTRALYTICS_IOU = 0.7

__all__ = ["Detector", "DarknetDetector", "UltralyticsDetector", "nms"]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, max_det: int = 300) -> np.ndarray:
    """Indices kept by non-maximum suppression (highest score first), at most ``max_det``.

    Every box is a candidate (OpenCV's ``top_k`` would cut the candidates, not the result)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), 0.0, float(iou))
    keep = np.asarray(keep, np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")][:max_det]


class Detector:
    """Base class: ``det(frames) -> list of (N_i, 5) float32 [x1, y1, x2, y2, score]``."""

    conf: float = DEFAULT_CONF
    iou: float = 0.45
    batch_size: int = 16

    def _detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        out: List[np.ndarray] = []
        for i in range(0, len(frames), self.batch_size):
            out.extend(self._detect(frames[i:i + self.batch_size]))
        return out

    def detections(self, frames: Sequence[np.ndarray], start_index: int = 0) -> List[Detections]:
        return [Detections(start_index + i, d[:, :4], d[:, 4]) for i, d in enumerate(self(frames))]


def _opencv_has_cuda() -> bool:
    """Whether this OpenCV build can run DNN on a CUDA GPU (the pip wheels cannot)."""
    try:
        return cv2.cuda.getCudaEnabledDeviceCount() > 0
    except (AttributeError, cv2.error):
        return False


def _empty() -> np.ndarray:
    return np.zeros((0, 5), np.float32)


class DarknetDetector(Detector):
    """Darknet YOLO via OpenCV DNN. Rows of the YOLO layers: cx cy w h (0-1), objectness,
    class scores; score = objectness x class score of ``person_class``."""

    def __init__(self, weights: str | os.PathLike, cfg: Optional[str | os.PathLike] = None, *,
                 conf: float = DEFAULT_CONF, iou: float = DARKNET_IOU, imgsz: Optional[int] = None,
                 letterbox: bool = False, person_class: int = 0, batch_size: int = 8,
                 device: str = "cpu"):
        weights = Path(weights)
        cfg = Path(cfg) if cfg else weights.with_suffix(".cfg")
        for p in (weights, cfg):
            if not p.is_file():
                raise WeightsError(f"Darknet file {p} does not exist (a .weights needs its .cfg beside it)")
        if not hasattr(cv2.dnn, "readNetFromDarknet"):
            raise WeightsError("this OpenCV cannot read Darknet models (OpenCV 5 removed it); install opencv-python<5")
        try:
            self.net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        except cv2.error as e:
            raise WeightsError(f"cannot load Darknet model {weights.name}: {e}") from None
        if str(device).startswith("cuda") and _opencv_has_cuda():
            try:
                self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
                self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)
            except cv2.error:
                pass
        text = cfg.read_text(errors="replace")
        w = re.search(r"^\s*width\s*=\s*(\d+)", text, re.M)
        h = re.search(r"^\s*height\s*=\s*(\d+)", text, re.M)
        self.input_wh = (imgsz, imgsz) if imgsz else (int(w.group(1)) if w else 416, int(h.group(1)) if h else 416)
        self.out_names = self.net.getUnconnectedOutLayersNames()
        self.conf, self.iou = conf, iou
        self.letterbox = letterbox
        self.person_class = person_class
        self.batch_size = batch_size

    def _blob(self, frames: Sequence[np.ndarray]):
        W, H = self.input_wh
        if not self.letterbox:
            blob = cv2.dnn.blobFromImages(list(frames), 1 / 255.0, (W, H), swapRB=False, crop=False)
            return blob, None
        imgs, params = [], []
        for f in frames:
            fh, fw = f.shape[:2]
            r = min(W / fw, H / fh)
            nw, nh = int(round(fw * r)), int(round(fh * r))
            canvas = np.full((H, W, 3), 128, np.uint8)
            dx, dy = (W - nw) // 2, (H - nh) // 2
            canvas[dy:dy + nh, dx:dx + nw] = cv2.resize(f, (nw, nh), interpolation=cv2.INTER_LINEAR)
            imgs.append(canvas)
            params.append((r, dx, dy))
        return cv2.dnn.blobFromImages(imgs, 1 / 255.0, (W, H), swapRB=False, crop=False), params

    def _detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        if len(frames) == 0:
            return []
        blob, lb = self._blob(frames)  # frames are RGB already, which Darknet wants
        self.net.setInput(blob)
        outs = self.net.forward(self.out_names)
        B = len(frames)
        rows = np.concatenate([o.reshape(B, -1, o.shape[-1]) for o in outs], axis=1)  # (B, R, 5 + C)
        c = 5 + self.person_class
        score = rows[..., 4] * rows[..., c] if rows.shape[-1] > 5 else rows[..., 4]
        W, H = self.input_wh
        result = []
        for b, f in enumerate(frames):
            fh, fw = f.shape[:2]
            m = score[b] >= self.conf
            if rows.shape[-1] > 6:  # multi-class: the person must be the best class
                m &= rows[b, :, 5:].argmax(axis=1) == self.person_class
            r = rows[b, m]
            s = score[b, m]
            if len(r) == 0:
                result.append(_empty())
                continue
            if lb is None:
                cx, cy, bw, bh = r[:, 0] * fw, r[:, 1] * fh, r[:, 2] * fw, r[:, 3] * fh
            else:
                k, dx, dy = lb[b]
                cx, cy = (r[:, 0] * W - dx) / k, (r[:, 1] * H - dy) / k
                bw, bh = r[:, 2] * W / k, r[:, 3] * H / k
            boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, fw)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, fh)
            keep = nms(boxes, s, self.iou)
            result.append(np.concatenate([boxes[keep], s[keep, None]], axis=1).astype(np.float32))
        return result


#: ``runtime`` values of :class:`UltralyticsDetector`
DETECTOR_RUNTIMES = ("auto", "torch", "onnxruntime")
#: ONNX opset of the exported YOLO network
_YOLO_OPSET = 17


class UltralyticsDetector(Detector):
    """ultralytics YOLO, person class only. ``model``: a local ``.pt`` path or a ``.yaml``
    architecture (random weights), or any file ultralytics loads (``.onnx``, ...).

    ``runtime``: ``torch`` runs ultralytics' own predictor (frames converted RGB -> BGR for it);
    ``onnxruntime`` exports the network once (ultralytics' export head, dynamic input size;
    cached under ``$HOTDEMO_HOME/onnx`` for a ``.pt``) and runs it in ONNX Runtime with the same
    pre- and post-processing as ultralytics' predictor, re-done here: minimal letterbox to a
    multiple of 32 (grey 114), best class must be person, NMS, boxes back to the frame; on a
    CPU that is faster than ultralytics' own PyTorch run. ``auto``: onnxruntime on the CPU for
    ``.pt`` / ``.yaml`` models, torch otherwise (GPU: ultralytics' fp16).
    """

    def __init__(self, model: str | os.PathLike, *, device: str = "cpu", conf: float = DEFAULT_CONF,
                 iou: float = ULTRALYTICS_IOU, imgsz: int = 640, batch_size: int = 16, half: Optional[bool] = None,
                 runtime: str = "auto", threads: Optional[int] = None):
        if runtime not in DETECTOR_RUNTIMES:
            raise InputError(f"detector runtime must be one of {', '.join(DETECTOR_RUNTIMES)}, got {runtime!r}")
        os.environ.setdefault("YOLO_OFFLINE", "1")  # offline unless the user chose otherwise (as the CLI)
        os.environ.setdefault("YOLO_VERBOSE", "False")
        try:
            from ultralytics import YOLO
        except ImportError as e:  # pragma: no cover - a dependency
            raise WeightsError(f"ultralytics is not installed: {e}") from None
        try:
            self.model = YOLO(str(model), task="detect")
        except Exception as e:
            raise WeightsError(f"cannot load YOLO model {model}: {e}") from None
        self.device = device
        self.conf, self.iou, self.imgsz = conf, iou, imgsz
        self.batch_size = batch_size
        self.half = str(device).startswith("cuda") if half is None else half
        exportable = str(model).lower().endswith((".pt", ".yaml", ".yml"))
        chosen = runtime
        if runtime == "auto":
            chosen = "onnxruntime" if exportable and not str(device).startswith("cuda") else "torch"
        if chosen == "onnxruntime" and not exportable:
            raise InputError(f"{model}: the onnxruntime detector runtime needs a .pt or .yaml YOLO model")
        self.session = None
        if chosen == "onnxruntime":
            try:
                self.session = self._onnx_session(Path(model), threads)
            except Exception as e:  # noqa: BLE001 - a model the exporter cannot handle
                why = str(e).splitlines()[0] if str(e) else type(e).__name__
                if runtime != "auto":
                    raise e if isinstance(e, WeightsError) else WeightsError(
                        f"cannot export {model} to ONNX: {why}") from None
                log.warning("%s: running the detector in PyTorch (the ONNX export failed: %s)", Path(model).name, why)
                chosen = "torch"
        self.runtime = chosen

    # ------------------------------------------------------------------ ONNX Runtime
    def _export(self) -> bytes:
        """The network as ONNX: ultralytics' export-mode head (one (B, 4 + classes, anchors)
        output, boxes as cx cy w h in input pixels), anchors computed for any input size."""
        import copy

        import torch

        from hotdemo.io.onnx_export import onnx_bytes

        net = copy.deepcopy(self.model.model).float().eval()
        net = net.fuse() if hasattr(net, "fuse") else net
        for m in net.modules():
            if hasattr(m, "anchors") and hasattr(m, "export"):  # the Detect head
                m.export, m.dynamic, m.format = True, True, "onnx"
        return onnx_bytes(net, (torch.zeros(1, 3, 384, 640),), input_names=["images"], output_names=["output0"],
                          dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                                        "output0": {0: "batch", 2: "anchors"}}, opset=_YOLO_OPSET)

    def _onnx_session(self, model: Path, threads: Optional[int]):
        import onnxruntime as ort

        data = None
        cached = None
        if model.suffix.lower() == ".pt" and model.is_file():
            import ultralytics

            from hotdemo.io.weights import sha256_file, weights_cache_dir

            cached = (weights_cache_dir().parent / "onnx" /
                      f"{model.stem}-{sha256_file(model)[:16]}-ultralytics{ultralytics.__version__}-opset{_YOLO_OPSET}.onnx")
            if cached.is_file():
                data = cached.read_bytes()
        if data is None:
            data = self._export()
            if cached is not None:
                from hotdemo.core.errors import OutputError
                from hotdemo.io.files import atomic_write

                try:
                    atomic_write(cached, lambda f: f.write(data), mkdir=True)
                except OutputError as e:  # a read-only cache: export again next time
                    log.info("could not cache the exported detector: %s", e)
        from hotdemo.core.device import onnx_session_options

        try:
            return ort.InferenceSession(data, sess_options=onnx_session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - a damaged cache file
            raise WeightsError(f"cannot run the exported detector{f' {cached}' if cached else ''}: "
                               f"{str(e).splitlines()[0] if str(e) else e} (delete it to export again)") from None

    def _letterbox(self, frame: np.ndarray):
        """ultralytics' predictor letterbox for a PyTorch model: scale to fit ``imgsz``, pad
        to the next multiple of 32 (grey 114), centred. Returns the image, gain and padding."""
        h, w = frame.shape[:2]
        r = min(self.imgsz / h, self.imgsz / w)
        nw, nh = int(round(w * r)), int(round(h * r))
        dw, dh = (self.imgsz - nw) % 32 / 2, (self.imgsz - nh) % 32 / 2
        img = frame if (nw, nh) == (w, h) else cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
        left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
        img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
        return img, r, (left, top)

    def _detect_onnx(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        out = []
        for f in frames:  # one at a time: frames of a batch may differ in size
            img, r, (px, py) = self._letterbox(f)
            x = np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32) * np.float32(1 / 255)
            pred = self.session.run(None, {"images": x})[0][0]  # (4 + classes, anchors)
            cls = pred[4:]
            best = cls.argmax(0)
            score = cls[0]
            keep = (best == 0) & (score > self.conf)  # the person class must be the box's best class
            if not keep.any():
                out.append(_empty())
                continue
            cx, cy, bw, bh = pred[:4, keep]
            xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
            s = score[keep]
            k = nms(xyxy, s, self.iou)
            xyxy = (xyxy[k] - np.float32([px, py, px, py])) / np.float32(r)
            h, w = f.shape[:2]
            xyxy = np.clip(xyxy, 0, np.float32([w, h, w, h]))
            out.append(np.concatenate([xyxy, s[k, None]], axis=1).astype(np.float32))
        return out

    # ------------------------------------------------------------------ ultralytics
    def _detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        if len(frames) == 0:
            return []
        if self.session is not None:
            return self._detect_onnx(frames)
        bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
        res = self.model.predict(bgr, classes=[0], conf=self.conf, iou=self.iou, imgsz=self.imgsz,
                                 device=self.device, half=self.half, verbose=False, batch=len(bgr))
        out = []
        for r in res:
            b = r.boxes
            if b is None or len(b) == 0:
                out.append(_empty())
                continue
            xyxy = b.xyxy.cpu().numpy().astype(np.float32)
            s = b.conf.cpu().numpy().astype(np.float32)
            order = np.argsort(-s, kind="stable")
            out.append(np.concatenate([xyxy[order], s[order, None]], axis=1))
        return out
