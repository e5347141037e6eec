"""Runners: execute a 2D model on a batch of crops. A runner owns execution, device and input
normalisation; it knows nothing about what the outputs mean (that is the head's job).

``runner(crops)``: crops (B, H, W, 3) uint8 RGB -> tuple of float32 numpy arrays, the model's
outputs in order (one heatmap tensor, or the SimCC x and y vectors).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from hotdemo.core.errors import InputError, WeightsError

log = logging.getLogger("hotdemo")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

__all__ = ["Normalize", "Runner", "TorchRunner", "OnnxRunner", "IMAGENET_MEAN", "IMAGENET_STD"]


@dataclass(frozen=True)
class Normalize:
    """Input normalisation: ``(pixel - mean) / std`` per channel, with ``mean`` and ``std`` in
    the 0-255 pixel scale and in RGB order; ``bgr`` feeds the model BGR channels."""

    mean: Tuple[float, float, float] = tuple(255 * m for m in IMAGENET_MEAN)
    std: Tuple[float, float, float] = tuple(255 * s for s in IMAGENET_STD)
    bgr: bool = False

    def arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        """(a, b) of shape (1, 3, 1, 1) in the model's channel order: ``x * a + b``."""
        m = np.asarray(self.mean, np.float32)
        s = np.asarray(self.std, np.float32)
        if self.bgr:
            m, s = m[::-1], s[::-1]
        return (1.0 / s).reshape(1, 3, 1, 1), (-m / s).reshape(1, 3, 1, 1)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float32 normalised, model channel order."""
        x = crops[..., ::-1] if self.bgr else crops
        a, b = self.arrays()
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) * a + b


class Runner:
    """Base class. ``input_wh``: the input size the model is fixed to, or None if any."""

    input_wh: Optional[Tuple[int, int]] = None
    device: str = "cpu"

    def __call__(self, crops: np.ndarray) -> Tuple[np.ndarray, ...]:  # pragma: no cover - abstract
        raise NotImplementedError


def _as_tuple(out) -> Tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


class TorchRunner(Runner):
    """A ``torch.nn.Module`` taking (B, 3, H, W) normalised crops; outputs a tensor or a
    tuple / list of tensors. ``half`` (default: on CUDA) runs it in float16."""

    def __init__(self, model, normalize: Normalize = Normalize(), *, device: str = "cpu",
                 half: Optional[bool] = None):
        import torch

        self.torch = torch
        self._device = torch.device(device)
        self.device = str(self._device)
        self.half = (self._device.type == "cuda") if half is None else bool(half)
        self.model = model.to(self._device).eval()
        if self.half:
            self.model = self.model.half()
        self.normalize = normalize
        a, b = normalize.arrays()
        self._a = torch.from_numpy(a).to(self._device)
        self._b = torch.from_numpy(b).to(self._device)

    def __call__(self, crops: np.ndarray) -> Tuple[np.ndarray, ...]:
        torch = self.torch
        with torch.inference_mode():
            c = crops[..., ::-1] if self.normalize.bgr else crops
            x = torch.from_numpy(np.ascontiguousarray(c)).to(self._device).permute(0, 3, 1, 2).float()
            x = x * self._a + self._b
            if self.half:
                x = x.half()
            return tuple(o.float().cpu().numpy() for o in _as_tuple(self.model(x)))


class OnnxRunner(Runner):
    """An ONNX Runtime session. ``input_wh`` comes from the model's input shape when it is
    static. A model exported with a fixed batch size is run in slices of that size."""

    def __init__(self, path: "str | os.PathLike", normalize: Normalize = Normalize(), *, device: str = "cpu",
                 threads: Optional[int] = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX pose model {path} does not exist")
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.device = "cuda" if providers[0].startswith("CUDA") else "cpu"
        from hotdemo.core.device import onnx_session_options

        try:
            self.session = ort.InferenceSession(str(path), sess_options=onnx_session_options(threads),
                                                providers=providers)
        except Exception as e:
            raise WeightsError(f"cannot load ONNX model {path}: {str(e).splitlines()[0] if str(e) else e}") from None
        self.path = path
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        if len(shape) != 4:
            raise WeightsError(f"{path.name}: input {inp.name} has shape {shape}; expected (B, 3, H, W)")
        static = isinstance(shape[2], int) and isinstance(shape[3], int)
        self.input_wh = (int(shape[3]), int(shape[2])) if static else None
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.output_shapes = [tuple(o.shape) for o in self.session.get_outputs()]
        self.normalize = normalize

    def __call__(self, crops: np.ndarray) -> Tuple[np.ndarray, ...]:
        x = self.normalize(crops)
        fb = self.fixed_batch
        if fb is not None and fb != len(x):
            pad = (-len(x)) % fb
            if pad:
                x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
            parts = [self.session.run(None, {self.input_name: x[i:i + fb]}) for i in range(0, len(x), fb)]
            outs = [np.concatenate([p[k] for p in parts])[:len(crops)] for k in range(len(parts[0]))]
        else:
            outs = self.session.run(None, {self.input_name: x})
        return tuple(np.asarray(o, np.float32) for o in outs)


def check_input_wh(wh: Sequence[int], what: str = "input size") -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in wh)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be two integers (width, height), got {wh!r}") from None
    if w < 8 or h < 8:
        raise InputError(f"{what} {w}x{h} is too small")
    return w, h
