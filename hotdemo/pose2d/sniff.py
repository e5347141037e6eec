"""Telling a detector's file from a 2D model's before it is read: ``--pose2d`` given an
ultralytics YOLO ``.pt`` or a Darknet ``.weights`` / ``.cfg`` gets a one-line redirect to
``--detector`` instead of an unpickling error or a shape error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from hotdemo.core.errors import InputError
from hotdemo.io.torchfile import pickled_globals
from hotdemo.pose2d.spec import POSE2D_EXPECTED

__all__ = ["is_ultralytics_checkpoint", "refuse_detector_checkpoint", "refuse_detector_object",
           "refuse_darknet_name"]


def is_ultralytics_checkpoint(obj: Any) -> bool:
    """An ultralytics YOLO ``.pt`` (a pickled ``model`` object from the ultralytics package)."""
    if not isinstance(obj, Mapping):
        return False
    model = obj.get("model") or obj.get("ema")
    return type(model).__module__.split(".")[0] == "ultralytics" or {"train_args", "date", "version"} <= set(obj)


def _detector(path) -> InputError:
    return InputError(f"--pose2d {path}: an ultralytics YOLO checkpoint is a detector, give it to --detector; "
                      f"expected {POSE2D_EXPECTED}")


def refuse_detector_checkpoint(path: Path) -> None:
    """InputError when ``path`` pickles ultralytics objects (read without unpickling)."""
    if any(g.split(".")[0] == "ultralytics" for g in pickled_globals(path)):
        raise _detector(path)


def refuse_detector_object(obj: Any, path: Path) -> None:
    """InputError when a loaded checkpoint object is an ultralytics one."""
    if is_ultralytics_checkpoint(obj):
        raise _detector(path)


def refuse_darknet_name(text: str) -> None:
    """InputError when ``text`` names a Darknet file (``.weights`` / ``.cfg``)."""
    if Path(text).name.lower().endswith((".weights", ".cfg")):
        raise InputError(f"--pose2d {text}: a Darknet file is a detector, give the .weights file to "
                         f"--detector; expected {POSE2D_EXPECTED}")
