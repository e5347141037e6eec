"""What a 2D model and a 2D family are, as data: :class:`Pose2DSpec`, :class:`CheckpointInfo`,
:class:`Pose2DFamily`, and :func:`make_head`.

Every family file (``hotdemo/pose2d/families/*.py``) imports this module, never the registry
(:mod:`hotdemo.pose2d.registry`), so the families and the registry do not import each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from hotdemo.core.errors import InputError
from hotdemo.pose2d.geometry import GEOMETRIES
from hotdemo.pose2d.heads import Head, HeatmapHead, SimCCHead
from hotdemo.pose2d.runners import IMAGENET_MEAN, IMAGENET_STD, Normalize, check_input_wh

DEFAULT_POSE2D = "rtmpose_s_body7_256x192"  # chosen with benchmarks/e2e.py (docs/benchmarks.md)
_MEAN255 = tuple(round(255 * m, 3) for m in IMAGENET_MEAN)
_STD255 = tuple(round(255 * s, 3) for s in IMAGENET_STD)

#: what ``--pose2d`` takes, for error messages
POSE2D_EXPECTED = (f"a 2D pose model: a built-in name ({DEFAULT_POSE2D}), an HRNet-style .pth/.pt checkpoint, "
                   "a top-down .onnx model (heatmap or SimCC) or a .json spec")

__all__ = ["Pose2DSpec", "CheckpointInfo", "Pose2DFamily", "make_head", "DEFAULT_POSE2D", "POSE2D_EXPECTED"]


@dataclass(frozen=True)
class Pose2DSpec:
    """A 2D keypoint model declared as data.

    ``input_wh``: model input (width, height). ``mean`` / ``std``: per RGB channel in the 0-255
    pixel scale. ``head``: ``"heatmap"`` or ``"simcc"``; ``split_ratio``: SimCC bins per pixel
    (None = from the output length). ``head_options``: keywords for the head class
    (:class:`HeatmapHead`: ``decoding``, ``blur_kernel``, ``flip_align``; :class:`SimCCHead`:
    ``softmax``, ``score``, ``refine``, ``flip_align``). ``arch``: the family's constructor
    options. ``weights``: a weights-manifest name or a file path; ``url`` / ``sha256`` where the
    authors publish them. ``geometry``: the crop convention (:mod:`~hotdemo.pose2d.geometry`:
    ``"hrnet"`` or ``"pixel"``, TokenPose's); None = the family's (read from a checkpoint), else hrnet.
    """

    name: str
    family: str
    input_wh: Tuple[int, int]
    head: str = "heatmap"
    split_ratio: Optional[float] = None
    num_joints: int = 17
    mean: Tuple[float, float, float] = _MEAN255
    std: Tuple[float, float, float] = _STD255
    channel_order: str = "rgb"
    head_options: Mapping[str, Any] = field(default_factory=dict)
    arch: Mapping[str, Any] = field(default_factory=dict)
    weights: Optional[str] = None
    url: Optional[str] = None
    sha256: Optional[str] = None
    description: str = ""
    geometry: Optional[str] = None

    def crop_geometry(self) -> str:
        return self.geometry or "hrnet"

    def normalize(self) -> Normalize:
        return Normalize(tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std),
                         bgr=self.channel_order.lower() == "bgr")

    def replace(self, **changes) -> "Pose2DSpec":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "spec") -> "Pose2DSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        d = dict(d)
        if "input_size" in d and "input_wh" not in d:
            d["input_wh"] = d.pop("input_size")
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for req in ("family", "input_wh"):
            if req not in d:
                raise InputError(f"{where}: field {req!r} is required")
        d.setdefault("name", Path(where).stem)
        d["input_wh"] = check_input_wh(d["input_wh"], f"{where}: input_wh")
        for k in ("mean", "std"):
            if k in d:
                d[k] = tuple(float(v) for v in d[k])
        if d.get("geometry") not in (None,) + GEOMETRIES:
            raise InputError(f"{where}: unknown geometry {d['geometry']!r}; known: {', '.join(GEOMETRIES)}")
        return cls(**d)


@dataclass(frozen=True)
class CheckpointInfo:
    """What a family reads from a state dict: its constructor options (``arch``), head, joints,
    and the input size when the weights determine it (None when they do not, as for a
    fully convolutional HRNet)."""

    variant: str
    arch: Mapping[str, Any]
    head: str = "heatmap"
    num_joints: int = 17
    input_wh: Optional[Tuple[int, int]] = None
    split_ratio: Optional[float] = None
    head_options: Mapping[str, Any] = field(default_factory=dict)
    geometry: str = "hrnet"


@dataclass(frozen=True)
class Pose2DFamily:
    """A 2D model family, defined in its own file next to the model code.

    ``layout``: the checkpoint layout it reads, for error messages and listings.
    ``convert(sd)``: the file's state dict in the model's names (prefixes mapped, BatchNorm
    counters and auxiliary heads dropped). ``match(sd)``: a :class:`CheckpointInfo` for a
    converted state dict of this family, else None. ``build(arch)``: the model (random weights)
    for ``CheckpointInfo.arch``. ``default_input_wh``: used, with a warning, when neither the
    checkpoint nor a spec gives the input size. ``presets``: the built-in ``--pose2d`` names of
    this family (:class:`Pose2DSpec`)."""

    name: str
    layout: str
    match: Callable[[Mapping[str, Any]], Optional[CheckpointInfo]]
    build: Callable[[Mapping[str, Any]], Any]
    convert: Callable[[Mapping[str, Any]], Dict[str, Any]] = dict
    default_input_wh: Optional[Tuple[int, int]] = None
    presets: Tuple[Pose2DSpec, ...] = ()

    def __post_init__(self) -> None:
        for s in self.presets:
            if s.family != self.name:
                raise ValueError(f"2D family {self.name}: preset {s.name} says family {s.family!r}")


def make_head(spec: Pose2DSpec, **overrides) -> Head:
    opts = {**dict(spec.head_options), **{k: v for k, v in overrides.items() if v is not None}}
    if spec.head == "heatmap":
        allowed = {"decoding", "blur_kernel", "flip_align"}
        return HeatmapHead(geometry=spec.crop_geometry(), **{k: v for k, v in opts.items() if k in allowed})
    if spec.crop_geometry() != "hrnet":
        raise InputError(f"{spec.name}: geometry {spec.geometry!r} is for heatmap heads only")
    if spec.head == "simcc":
        allowed = {"softmax", "score", "refine", "flip_align", "invalid_at"}
        return SimCCHead(spec.split_ratio, **{k: v for k, v in opts.items() if k in allowed})
    raise InputError(f"{spec.name}: unknown head {spec.head!r}; use heatmap or simcc")
