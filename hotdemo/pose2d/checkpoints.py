"""Reading 2D checkpoints: which family, which architecture and input size, and the model with
its weights loaded.

A ``.pth`` / ``.pt`` file is read by :func:`hotdemo.io.torchfile.safe_torch_load` (no code runs
unless ``trust``), its state dict found by :func:`~hotdemo.io.torchfile.unwrap_state_dict`, and
each family in :data:`~hotdemo.pose2d.registry.FAMILIES` asked in turn whether it reads it; the
file name is never parsed. An mmpose / mmengine config stored in the file gives the input size
where the weights do not.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from hotdemo.core.errors import CheckpointError, WeightsError
from hotdemo.io.torchfile import load_state_dict_strict, safe_torch_load, unwrap_state_dict
from hotdemo.pose2d.registry import FAMILIES, supported_layouts
from hotdemo.pose2d.sniff import refuse_detector_checkpoint, refuse_detector_object
from hotdemo.pose2d.spec import CheckpointInfo, Pose2DFamily

__all__ = ["read_pose2d_file", "inspect_pose2d_checkpoint", "build_and_load", "load_pose2d_model"]


def read_pose2d_file(path: Path, trust: bool = False) -> Any:
    """A 2D checkpoint's contents, read without running code from it unless ``trust``
    (``--trust-checkpoint``); an ultralytics detector is recognised from the names it pickles,
    before anything is unpickled."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such 2D model file" if not path.exists() else f"{path} is not a file")
    refuse_detector_checkpoint(path)
    try:
        obj = safe_torch_load(path, trust=trust)
    except WeightsError as e:
        raise CheckpointError(f"cannot read 2D checkpoint {e}") from None
    refuse_detector_object(obj, path)
    return obj


_SIZE_PATTERNS = (r"input_size\s*=\s*[\(\[]\s*(\d+)\s*,\s*(\d+)", r"image_size\s*=\s*[\(\[]\s*(\d+)\s*,\s*(\d+)")


def _input_wh_from_meta(obj: Any) -> Optional[Tuple[int, int]]:
    """The input size an mmpose / mmcv / mmengine checkpoint's stored config gives, if any
    (``codec = dict(..., input_size=(192, 256))`` or ``image_size=[192, 256]``: width first)."""
    if not isinstance(obj, Mapping):
        return None
    meta = obj.get("meta")
    if not isinstance(meta, Mapping):
        return None
    for key in ("cfg", "config"):
        text = meta.get(key)
        if isinstance(text, str):
            for pat in _SIZE_PATTERNS:
                m = re.search(pat, text)
                if m:
                    return int(m.group(1)), int(m.group(2))
    return None


def _state_dict(obj: Any, name: str) -> Dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{name}: not a state dict (a mapping of tensor names)")
    try:
        return unwrap_state_dict(obj)
    except CheckpointError:
        raise CheckpointError(f"{name}: holds no tensors; supported 2D layouts: {supported_layouts()}") from None


def inspect_pose2d_checkpoint(obj: Any, name: str = "checkpoint") -> Tuple[Pose2DFamily, CheckpointInfo, Dict]:
    """(family, info, converted state dict) of a loaded checkpoint object; CheckpointError naming
    the supported layouts if no family recognises it."""
    sd = _state_dict(obj, name)
    for fam in FAMILIES.values():
        conv = fam.convert(sd)
        info = fam.match(conv)
        if info is not None:
            if info.input_wh is None:
                wh = _input_wh_from_meta(obj)
                if wh is not None:
                    info = dataclasses.replace(info, input_wh=wh)
            return fam, info, conv
    some = ", ".join(list(sd)[:3])
    raise CheckpointError(f"{name}: unknown 2D checkpoint layout (keys {some}, ...); supported: {supported_layouts()}")


def build_and_load(fam: Pose2DFamily, info: CheckpointInfo, sd: Mapping, name: str):
    """The family's model for ``info`` with ``sd`` loaded (every model key present and of the
    right shape, BatchNorm counters optional; keys the model lacks are ignored), in eval mode."""
    model = fam.build(dict(info.arch))
    load_state_dict_strict(model, sd, where=f"{name}: ", what=info.variant, allow_unexpected=True,
                           optional=lambda k: k.endswith("num_batches_tracked"))
    return model.eval()


def load_pose2d_model(path: "str | os.PathLike", *, trust_checkpoint: bool = False):
    """The PyTorch module a 2D checkpoint (any layout in :data:`FAMILIES`) was trained as, with its
    weights loaded, in eval mode. Its forward takes the official input tensor (B, 3, H, W) and
    returns the official outputs (heatmaps, or the SimCC x and y vectors).
    ``model.pose2d_info`` is the :class:`CheckpointInfo` read from the file. ``trust_checkpoint``:
    unpickle a file that holds more than tensors (runs code from it; see :func:`read_pose2d_file`)."""
    path = Path(path).expanduser()
    obj = read_pose2d_file(path, trust_checkpoint)
    fam, info, sd = inspect_pose2d_checkpoint(obj, path.name)
    model = build_and_load(fam, info, sd, path.name)
    model.pose2d_info = info
    return model
