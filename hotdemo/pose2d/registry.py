"""2D model specs, the family registry, and ``--pose2d NAME|FILE`` resolution.

A :class:`Pose2DSpec` declares a 2D model as data: family, input size, normalisation, channel
order, head (heatmap or SimCC with its split ratio), and where its weights come from.
:func:`build_pose2d` turns ``--pose2d`` into a :class:`~hotdemo.pose2d.estimator.PoseEstimator`:

* a name in :data:`POSE2D_SPECS` (default ``rtmpose_s_body7_256x192``, RTMPose-s run by ONNX
  Runtime; ``hrnet_w32_coco_256x192`` and the other RTMPose sizes are built in too);
* a ``.pth`` / ``.pt`` checkpoint: its family, architecture and input size are read from its
  contents (key names and tensor shapes; an mmpose / mmengine config stored in the file) by
  asking each family in :data:`FAMILIES` in turn; the file name is never parsed;
* a ``.onnx`` model: ONNX Runtime; the head from the output shapes, the input size from the
  input shape;
* a ``.json`` spec file: any :class:`Pose2DSpec` fields, with ``weights`` a path (relative to
  the JSON file) or a name; the way to give a size a checkpoint does not record.

Adding a 2D family = one model file (in ``hotdemo/models/``) exposing ``match_checkpoint(sd)``
-> :class:`CheckpointInfo` or None, ``build_from_arch(arch)`` -> ``nn.Module`` and
``convert_state_dict(sd)``, plus one :class:`Pose2DFamily` line in :data:`FAMILIES`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from hotdemo.core.paths import is_model_path
from hotdemo.core.errors import CheckpointError, InputError, WeightsError
from hotdemo.io.files import pickled_globals, safe_torch_load
from hotdemo.pose2d.estimator import PoseEstimator
from hotdemo.pose2d.geometry import GEOMETRIES, PADDING
from hotdemo.pose2d.heads import Head, HeatmapHead, SimCCHead
from hotdemo.pose2d.runners import IMAGENET_MEAN, IMAGENET_STD, Normalize, OnnxRunner, TorchRunner, check_input_wh

log = logging.getLogger("hotdemo")

DEFAULT_POSE2D = "rtmpose_s_body7_256x192"  # chosen with benchmarks/e2e.py (README)
_MEAN255 = tuple(round(255 * m, 3) for m in IMAGENET_MEAN)
_STD255 = tuple(round(255 * s, 3) for s in IMAGENET_STD)

__all__ = ["Pose2DSpec", "Pose2DFamily", "CheckpointInfo", "FAMILIES", "POSE2D_SPECS", "DEFAULT_POSE2D",
           "build_pose2d", "load_pose2d_model", "inspect_pose2d_checkpoint", "supported_layouts", "make_head"]


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
    """A 2D model family: the module implementing it and the checkpoint layout it reads.

    ``module`` exposes ``convert_state_dict(sd)``, ``match_checkpoint(sd)`` and
    ``build_from_arch(arch)``. ``default_input_wh``: used, with a warning, when neither the
    checkpoint nor a spec gives the input size."""

    name: str
    module: str
    layout: str
    default_input_wh: Optional[Tuple[int, int]] = None

    def impl(self):
        return importlib.import_module(self.module)


#: families asked in this order; the first whose ``match_checkpoint`` accepts a state dict wins
FAMILIES: Dict[str, Pose2DFamily] = {f.name: f for f in (
    Pose2DFamily("simdr", "hotdemo.pose2d.families.simdr",
                 "SimDR / SA-SimDR HRNet (leeyegy/SimDR pose_hrnet: HRNet keys, final_layer, mlp_head_x, "
                 "mlp_head_y)"),
    Pose2DFamily("tokenpose", "hotdemo.pose2d.families.tokenpose",
                 "TokenPose-S/B/L (leeyegy/TokenPose: features.* for S; pre_feature.* + transformer.* for B and L)"),
    Pose2DFamily("hrnet", "hotdemo.pose2d.families.hrnet",
                 "HRNet heatmaps (HRNet authors' pose_hrnet or mmpose td-hm_hrnet: conv1, transition1-3, "
                 "stage2-4, final_layer)", default_input_wh=(192, 256)),
    Pose2DFamily("rtmpose", "hotdemo.pose2d.families.rtmpose",
                 "RTMPose SimCC (mmpose rtmpose-t/s/m/l/x: backbone.stem/stage1-4 CSPNeXt, "
                 "head.final_layer/mlp/gau/cls_x/cls_y)"),
)}


#: built-in names for ``--pose2d``
POSE2D_SPECS: Dict[str, Pose2DSpec] = {s.name: s for s in (
    Pose2DSpec(
        name="hrnet_w32_coco_256x192", family="hrnet", input_wh=(192, 256), arch={"width": 32},
        weights="hrnet_w32_coco_256x192",
        url=("https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/"
             "td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth"),
        sha256="81c58e40", description="HRNet-W32 COCO-17 heatmaps, 256x192 (mmpose, COCO val AP 0.749)"),
)}

#: RTMPose (body7, COCO-17) as openmmlab publishes it for its SDK: ``end2end.onnx`` in a zip
#: (weights manifest), run by ONNX Runtime. Pre-processing as mmpose's RTMPose pipeline: RGB
#: (``bgr_to_rgb=True``), mean (123.675, 116.28, 103.53), std (58.395, 57.12, 57.375), box padded
#: 1.25 to the model's aspect, affine crop; decoding as ``get_simcc_maximum``: raw logits,
#: argmax / 2.0, score = min of the x and y maxima, location -1 where that is <= 0.
RTMPOSE_MEAN = (123.675, 116.28, 103.53)
RTMPOSE_STD = (58.395, 57.12, 57.375)
_RTMPOSE_HEAD = {"softmax": None, "score": "min", "invalid_at": -1.0}


def _rtmpose_specs():
    from hotdemo.io.weights import MANIFEST

    for size, (h, w) in (("t", (256, 192)), ("s", (256, 192)), ("m", (256, 192)), ("l", (256, 192)),
                         ("l", (384, 288)), ("x", (384, 288))):
        name = f"rtmpose_{size}_body7_{h}x{w}"
        ws = MANIFEST[name]
        yield Pose2DSpec(
            name=name, family="rtmpose", input_wh=(w, h), head="simcc", split_ratio=2.0, mean=RTMPOSE_MEAN,
            std=RTMPOSE_STD, channel_order="rgb", head_options=dict(_RTMPOSE_HEAD), arch={"size": size},
            weights=name, url=ws.url, sha256=ws.sha256, description=ws.description)


POSE2D_SPECS.update({s.name: s for s in _rtmpose_specs()})


def supported_layouts() -> str:
    return "; ".join(f"{f.name}: {f.layout}" for f in FAMILIES.values())


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


# ----------------------------------------------------------------------------- checkpoints

#: what ``--pose2d`` takes, for error messages
POSE2D_EXPECTED = (f"a 2D pose model: a built-in name ({DEFAULT_POSE2D}), an HRNet-style .pth/.pt checkpoint, "
                   "a top-down .onnx model (heatmap or SimCC) or a .json spec")


def _is_ultralytics_checkpoint(obj: Any) -> bool:
    """An ultralytics YOLO ``.pt`` (a pickled ``model`` object from the ultralytics package)."""
    if not isinstance(obj, Mapping):
        return False
    model = obj.get("model") or obj.get("ema")
    return type(model).__module__.split(".")[0] == "ultralytics" or {"train_args", "date", "version"} <= set(obj)


def _read(path: Path, trust: bool = False) -> Any:
    """A 2D checkpoint's contents, read without running code from it unless ``trust``
    (``--trust-checkpoint``); an ultralytics detector is recognised from the names it pickles,
    before anything is unpickled."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such 2D model file" if not path.exists() else f"{path} is not a file")
    if any(g.split(".")[0] == "ultralytics" for g in pickled_globals(path)):
        raise InputError(f"--pose2d {path}: an ultralytics YOLO checkpoint is a detector, give it to --detector; "
                         f"expected {POSE2D_EXPECTED}")
    try:
        obj = safe_torch_load(path, trust=trust)
    except WeightsError as e:
        raise CheckpointError(f"cannot read 2D checkpoint {e}") from None
    if _is_ultralytics_checkpoint(obj):
        raise InputError(f"--pose2d {path}: an ultralytics YOLO checkpoint is a detector, give it to --detector; "
                         f"expected {POSE2D_EXPECTED}")
    return obj


def _state_dict(obj: Any, name: str) -> Dict[str, Any]:
    import torch

    while isinstance(obj, Mapping):
        for key in ("state_dict", "model", "net"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
        else:
            break
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{name}: not a state dict (a mapping of tensor names)")
    sd = {str(k): v for k, v in obj.items() if torch.is_tensor(v)}
    if not sd:
        raise CheckpointError(f"{name}: holds no tensors; supported 2D layouts: {supported_layouts()}")
    return sd


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


def inspect_pose2d_checkpoint(obj: Any, name: str = "checkpoint") -> Tuple[Pose2DFamily, CheckpointInfo, Dict]:
    """(family, info, converted state dict) of a loaded checkpoint object; CheckpointError naming
    the supported layouts if no family recognises it."""
    sd = _state_dict(obj, name)
    for fam in FAMILIES.values():
        impl = fam.impl()
        conv = impl.convert_state_dict(sd)
        info = impl.match_checkpoint(conv)
        if info is not None:
            if info.input_wh is None:
                wh = _input_wh_from_meta(obj)
                if wh is not None:
                    info = dataclasses.replace(info, input_wh=wh)
            return fam, info, conv
    some = ", ".join(list(sd)[:3])
    raise CheckpointError(f"{name}: unknown 2D checkpoint layout (keys {some}, ...); supported: {supported_layouts()}")


def _build_and_load(fam: Pose2DFamily, info: CheckpointInfo, sd: Mapping, name: str):
    model = fam.impl().build_from_arch(dict(info.arch))
    want = model.state_dict()
    missing = [k for k in want if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointError(f"{name}: not a complete {info.variant} checkpoint; {len(missing)} keys missing, "
                              f"e.g. {missing[0]}")
    bad = [k for k in want if k in sd and tuple(sd[k].shape) != tuple(want[k].shape)]
    if bad:
        raise CheckpointError(f"{name}: shape mismatch for {bad[0]}: {tuple(sd[bad[0]].shape)} in the file, "
                              f"{tuple(want[bad[0]].shape)} in {info.variant}")
    model.load_state_dict({k: sd[k] for k in want if k in sd}, strict=False)
    return model.eval()


def load_pose2d_model(path: "str | os.PathLike", *, trust_checkpoint: bool = False):
    """The PyTorch module a 2D checkpoint (any layout in :data:`FAMILIES`) was trained as, with its
    weights loaded, in eval mode. Its forward takes the official input tensor (B, 3, H, W) and
    returns the official outputs (heatmaps, or the SimCC x and y vectors).
    ``model.pose2d_info`` is the :class:`CheckpointInfo` read from the file. ``trust_checkpoint``:
    unpickle a file that holds more than tensors (runs code from it; see :func:`_read`)."""
    path = Path(path).expanduser()
    obj = _read(path, trust_checkpoint)
    fam, info, sd = inspect_pose2d_checkpoint(obj, path.name)
    model = _build_and_load(fam, info, sd, path.name)
    model.pose2d_info = info
    return model


# ----------------------------------------------------------------------------- resolution

def _spec_from_checkpoint(path: Path, input_wh: Optional[Tuple[int, int]], base: Optional[Pose2DSpec] = None,
                          trust: bool = False):
    obj = _read(path, trust)
    fam, info, sd = inspect_pose2d_checkpoint(obj, path.name)
    if base is not None and base.family != fam.name:
        raise CheckpointError(f"{path.name}: a {fam.name} checkpoint ({info.variant}), but the spec says {base.family}")
    if base is not None and base.arch:  # what the weights cannot tell (e.g. attention heads)
        info = dataclasses.replace(info, arch={**dict(info.arch), **dict(base.arch)})
    model = _build_and_load(fam, info, sd, path.name)
    wh = input_wh or (base.input_wh if base is not None else None)
    if info.input_wh is not None and wh is not None and tuple(wh) != tuple(info.input_wh) and info.head == "simcc":
        raise InputError(f"{path.name}: its SimCC head is sized for {info.input_wh[0]}x{info.input_wh[1]} input, "
                         f"not {wh[0]}x{wh[1]}")
    wh = wh or info.input_wh
    if wh is None:
        wh = fam.default_input_wh
        log.warning("%s: the checkpoint does not record its input size; using %dx%d (give a .json spec with "
                    "input_wh to change it)", path.name, wh[0], wh[1])
    if base is not None:
        # the weights decide the head; a spec's head_options refine it
        spec = base.replace(input_wh=tuple(wh), arch=dict(info.arch), num_joints=info.num_joints, head=info.head,
                            split_ratio=info.split_ratio, geometry=base.geometry or info.geometry,
                            head_options={**dict(info.head_options), **dict(base.head_options)})
    else:
        spec = Pose2DSpec(name=path.stem, family=fam.name, input_wh=tuple(wh), head=info.head,
                          split_ratio=info.split_ratio, num_joints=info.num_joints, arch=dict(info.arch),
                          head_options=dict(info.head_options), weights=str(path), geometry=info.geometry,
                          description=f"{info.variant} from {path.name}")
    return spec, model


def _spec_from_json(path: Path) -> Pose2DSpec:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the 2D model spec ({e})") from None
    if not isinstance(d, Mapping):
        raise InputError(f"{path}: a 2D model spec must be a JSON object")
    spec = Pose2DSpec.from_dict(d, where=str(path))
    if spec.weights and not Path(spec.weights).is_absolute() and (path.parent / spec.weights).exists():
        spec = spec.replace(weights=str(path.parent / spec.weights))
    return spec


def _onnx_estimator(path: Path, *, spec: Optional[Pose2DSpec], device: str, input_wh, threads=None,
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


def _names_onnx(name: str) -> bool:
    """True when ``name`` is a weights-manifest entry that resolves to an ONNX file."""
    from hotdemo.io.weights import get_spec

    w = get_spec(str(name))
    return w is not None and w.local_name.lower().endswith(".onnx")


def _resolve_weights(name: str, weights_dir: Optional[str]) -> Path:
    p = Path(name).expanduser()
    if p.is_file():
        return p
    if is_model_path(name):
        raise InputError(f"{name}: no such file")
    from hotdemo.io.weights import resolve

    return Path(resolve(name, weights_dir=weights_dir))


def manifest_name(spec: "Optional[str | Pose2DSpec]") -> Optional[str]:
    """The weights-manifest name that :func:`build_pose2d` would fetch for ``spec``, or None
    when it names local files."""
    s = spec if isinstance(spec, Pose2DSpec) else None
    if s is None:
        text = str(spec or DEFAULT_POSE2D).strip()
        s = POSE2D_SPECS.get(text) or POSE2D_SPECS.get(text.lower())
    if s is None or not s.weights:
        return None
    w = str(s.weights)
    return None if is_model_path(w, is_name=_is_weights_name) else w


def _is_weights_name(name: str) -> bool:
    from hotdemo.io.weights import get_spec

    return get_spec(name) is not None


def build_pose2d(spec: "Optional[str | Pose2DSpec]" = None, *, device: str = "cpu", flip_test: bool = False,
                 weights_dir: Optional[str] = None, input_wh: Optional[Tuple[int, int]] = None,
                 batch_size: int = 32, padding: float = PADDING, heatmap_decoding: Optional[str] = None,
                 flip_align: Optional[str] = None, half: Optional[bool] = None, threads: Optional[int] = None,
                 trust_checkpoint: bool = False, **onnx_opts) -> PoseEstimator:
    """A 2D keypoint estimator for ``spec``: a :class:`Pose2DSpec`, a name in
    :data:`POSE2D_SPECS`, or a ``.pth`` / ``.pt`` / ``.onnx`` / ``.json`` file (see the module
    docstring). ``input_wh`` overrides the input size; ``heatmap_decoding`` (dark, quarter,
    argmax) and ``flip_align`` (exact, reference, none) override the head's options. ONNX-only
    options: ``mean``, ``std`` (in ``scale`` units, ``"0-1"`` or ``"0-255"``), ``scale``,
    ``channel_order``, ``simcc_refine``. ``threads``: ONNX Runtime's intra-op threads (None: its
    default, the machine's cores); PyTorch models use the process-wide ``torch.set_num_threads``.
    ``trust_checkpoint``: a ``.pth`` that holds more than tensors is unpickled fully, which runs
    code from it (``--trust-checkpoint``); otherwise it is refused with a one-line reason.
    """
    if input_wh is not None:
        input_wh = check_input_wh(input_wh)
    est_opts = dict(flip_test=flip_test, batch_size=batch_size, padding=padding)
    if isinstance(spec, Pose2DSpec):
        s: Optional[Pose2DSpec] = spec
    else:
        text = str(spec or DEFAULT_POSE2D).strip()
        s = POSE2D_SPECS.get(text) or POSE2D_SPECS.get(text.lower())
        if s is None:
            p = Path(text).expanduser()
            low = p.name.lower()
            if low.endswith(".json"):
                if not p.is_file():
                    raise InputError(f"{text}: no such 2D model spec file")
                s = _spec_from_json(p)
            elif low.endswith((".weights", ".cfg")):
                raise InputError(f"--pose2d {text}: a Darknet file is a detector, give the .weights file to "
                                 f"--detector; expected {POSE2D_EXPECTED}")
            elif low.endswith(".onnx"):
                return _onnx_estimator(_resolve_weights(text, weights_dir), spec=None, device=device,
                                       input_wh=input_wh, heatmap_decoding=heatmap_decoding,
                                       flip_align=flip_align, threads=threads, **onnx_opts, **est_opts)
            elif low.endswith((".pth", ".pt")):
                path = _resolve_weights(text, weights_dir)
                s, model = _spec_from_checkpoint(path, input_wh, trust=trust_checkpoint)
                return _torch_estimator(s, model, device, half, heatmap_decoding, flip_align, est_opts)
            else:
                raise InputError(f"unknown 2D pose model {text!r}: give a built-in name ({', '.join(POSE2D_SPECS)}), "
                                 f"a .pth/.pt checkpoint, an .onnx model or a .json spec")
    if not s.weights:
        raise InputError(f"{s.name}: the spec names no weights")
    if onnx_opts and s.family != "onnx" and not str(s.weights).lower().endswith(".onnx") and \
            not _names_onnx(s.weights):
        raise TypeError(f"options {', '.join(sorted(onnx_opts))} apply to ONNX models only")
    path = _resolve_weights(s.weights, weights_dir)
    if onnx_opts and s.family != "onnx" and path.suffix.lower() != ".onnx":
        raise TypeError(f"options {', '.join(sorted(onnx_opts))} apply to ONNX models only")
    if s.family == "onnx" or path.suffix.lower() == ".onnx":
        return _onnx_estimator(path, spec=s.replace(family="onnx"), device=device, input_wh=input_wh,
                               heatmap_decoding=heatmap_decoding, flip_align=flip_align, threads=threads, **onnx_opts, **est_opts)
    if s.family not in FAMILIES:
        raise InputError(f"{s.name}: unknown 2D family {s.family!r}; known: {', '.join(FAMILIES)}, onnx")
    s, model = _spec_from_checkpoint(path, input_wh, base=s, trust=trust_checkpoint)
    return _torch_estimator(s, model, device, half, heatmap_decoding, flip_align, est_opts)


def _torch_estimator(s: Pose2DSpec, model, device, half, heatmap_decoding, flip_align, est_opts) -> PoseEstimator:
    runner = TorchRunner(model, s.normalize(), device=device, half=half)
    head = make_head(s, decoding=heatmap_decoding, flip_align=flip_align)
    return PoseEstimator(runner, head, s.input_wh, num_joints=s.num_joints, spec=s, geometry=s.crop_geometry(),
                         **est_opts)


def spec_names() -> Sequence[str]:
    return list(POSE2D_SPECS)

