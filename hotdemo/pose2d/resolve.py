"""``--pose2d NAME|FILE`` resolution: :func:`build_pose2d` turns it into a
:class:`~hotdemo.pose2d.estimator.PoseEstimator`:

* a name in :data:`~hotdemo.pose2d.registry.POSE2D_SPECS` (default ``rtmpose_s_body7_256x192``,
  RTMPose-s run by ONNX Runtime; ``hrnet_w32_coco_256x192`` and the other RTMPose sizes are
  built in too);
* a ``.pth`` / ``.pt`` checkpoint: its family, architecture and input size are read from its
  contents (:mod:`hotdemo.pose2d.checkpoints`); the file name is never parsed;
* a ``.onnx`` model: ONNX Runtime (:mod:`hotdemo.pose2d.onnx_estimator`);
* a ``.json`` spec file: any :class:`~hotdemo.pose2d.spec.Pose2DSpec` fields, with ``weights`` a
  path (relative to the JSON file) or a name; the way to give a size a checkpoint does not
  record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Mapping, Optional, Tuple

from hotdemo.core.paths import is_model_path
from hotdemo.core.errors import CheckpointError, InputError
from hotdemo.pose2d.checkpoints import build_and_load, inspect_pose2d_checkpoint, read_pose2d_file
from hotdemo.pose2d.estimator import PoseEstimator
from hotdemo.pose2d.geometry import PADDING
from hotdemo.pose2d.onnx_estimator import onnx_estimator
from hotdemo.pose2d.registry import FAMILIES, POSE2D_SPECS
from hotdemo.pose2d.runners import TorchRunner, check_input_wh
from hotdemo.pose2d.sniff import refuse_darknet_name
from hotdemo.pose2d.spec import DEFAULT_POSE2D, Pose2DSpec, make_head

log = logging.getLogger("hotdemo")

__all__ = ["build_pose2d", "manifest_name", "spec_from_checkpoint", "spec_from_json"]


# ----------------------------------------------------------------------------- resolution

def spec_from_checkpoint(path: Path, input_wh: Optional[Tuple[int, int]], base: Optional[Pose2DSpec] = None,
                          trust: bool = False):
    obj = read_pose2d_file(path, trust)
    fam, info, sd = inspect_pose2d_checkpoint(obj, path.name)
    if base is not None and base.family != fam.name:
        raise CheckpointError(f"{path.name}: a {fam.name} checkpoint ({info.variant}), but the spec says {base.family}")
    if base is not None and base.arch:  # what the weights cannot tell (e.g. attention heads)
        info = dataclasses.replace(info, arch={**dict(info.arch), **dict(base.arch)})
    model = build_and_load(fam, info, sd, path.name)
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


def spec_from_json(path: Path) -> Pose2DSpec:
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
                s = spec_from_json(p)
            elif low.endswith((".weights", ".cfg")):
                refuse_darknet_name(text)
            elif low.endswith(".onnx"):
                return onnx_estimator(_resolve_weights(text, weights_dir), spec=None, device=device,
                                      input_wh=input_wh, heatmap_decoding=heatmap_decoding,
                                      flip_align=flip_align, threads=threads, **onnx_opts, **est_opts)
            elif low.endswith((".pth", ".pt")):
                path = _resolve_weights(text, weights_dir)
                s, model = spec_from_checkpoint(path, input_wh, trust=trust_checkpoint)
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
        return onnx_estimator(path, spec=s.replace(family="onnx"), device=device, input_wh=input_wh,
                              heatmap_decoding=heatmap_decoding, flip_align=flip_align, threads=threads,
                              **onnx_opts, **est_opts)
    if s.family not in FAMILIES:
        raise InputError(f"{s.name}: unknown 2D family {s.family!r}; known: {', '.join(FAMILIES)}, onnx")
    s, model = spec_from_checkpoint(path, input_wh, base=s, trust=trust_checkpoint)
    return _torch_estimator(s, model, device, half, heatmap_decoding, flip_align, est_opts)


def _torch_estimator(s: Pose2DSpec, model, device, half, heatmap_decoding, flip_align, est_opts) -> PoseEstimator:
    runner = TorchRunner(model, s.normalize(), device=device, half=half)
    head = make_head(s, decoding=heatmap_decoding, flip_align=flip_align)
    return PoseEstimator(runner, head, s.input_wh, num_joints=s.num_joints, spec=s, geometry=s.crop_geometry(),
                         **est_opts)



_spec_from_json = spec_from_json  # the old private name (hotdemo.batch imports it)
