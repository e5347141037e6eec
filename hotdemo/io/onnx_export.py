"""One way to turn a PyTorch network into ONNX bytes, for every exporter in hotdemo (the
detector's cached export in :mod:`hotdemo.detect.detector`, RTMPose's in :mod:`hotdemo.pose2d.families.rtmpose`)."""

from __future__ import annotations

import inspect
import io
import warnings
from typing import Dict, Sequence, Tuple

import torch


def onnx_bytes(model: torch.nn.Module, example: Tuple[torch.Tensor, ...], *, input_names: Sequence[str],
               output_names: Sequence[str], dynamic_axes: Dict[str, Dict[int, str]], opset: int) -> bytes:
    """``model`` exported with ``example`` inputs, as the bytes of an ONNX file.

    The TorchScript exporter is used (``dynamo=False`` where torch has that switch, torch >= 2.5):
    it handles the dynamic axes hotdemo asks for without ``onnxscript``. It does need the ``onnx``
    package (a runtime dependency of hotdemo for this reason). Its deprecation warnings are
    silenced; errors are not."""
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, buf, input_names=list(input_names), output_names=list(output_names),
                          dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True, **legacy)
    return buf.getvalue()
