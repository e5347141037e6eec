"""Every option of ``run``, ``batch``, ``lift`` and ``live``, declared once.

:data:`OPTIONS` is the table: each :class:`Opt` has its CLI flags, type, default, help, the
commands that take it, and the :class:`~hotdemo.pipeline.PipelineConfig` field it sets
(``"detect.conf"``). Defaults of settings are read from the config classes
(:mod:`hotdemo.config`); Typer shows them, so no help text spells one. :func:`command` makes a
command's Typer signature from the table, and :func:`build_config` turns its parsed values into
the config, checking them (InputError).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import MISSING, dataclass, fields
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, Tuple, Union

import typer

from hotdemo.config import GROUPS, TRAJECTORIES, PipelineConfig
from hotdemo.core.errors import InputError
from hotdemo.detect.detector import DARKNET_IOU, DEFAULT_DETECTOR, ULTRALYTICS_IOU
from hotdemo.io.formats import EXPORT_FORMATS, parse_formats

__all__ = ["Opt", "OPTIONS", "command", "build_config", "opt", "options_of", "RUN", "BATCH", "LIFT", "LIVE", "DOCTOR"]

RUN, BATCH, LIFT, LIVE, DOCTOR = "run", "batch", "lift", "live", "doctor"
JOBS = frozenset((RUN, BATCH, LIFT))  # the commands that write exports
VIDEO = frozenset((RUN, BATCH))  # ... from videos
ALL = frozenset((RUN, BATCH, LIFT, LIVE))
MODELS2D = frozenset((RUN, BATCH, LIVE))  # the commands with the 2D stages
CHECKED = MODELS2D | {DOCTOR}  # ... and doctor, which checks their models


_UNSET = object()  # Opt.default not given: the config field's


def default_of(path: str) -> Any:
    """The default of a config field, ``"detect.conf"`` -> 0.25."""
    group, name = path.split(".")
    f = next(f for f in fields(GROUPS[group]) if f.name == name)
    return f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]


@dataclass(frozen=True)
class Opt:
    """One CLI option (or argument). ``help`` may be a dict: command -> its help there.
    ``field``: the config field it sets (None: the command uses it itself); ``convert`` turns the
    parsed value into the field's value (e.g. ``--no-flip`` -> ``flip=False``) or checks it;
    ``default``: when not given, the field's default; ``extra``: more typer.Option keywords."""

    name: str
    flags: Tuple[str, ...]
    type: Any
    help: Union[str, Mapping[str, str]]
    commands: FrozenSet[str]
    field: Optional[str] = None
    default: Any = _UNSET
    convert: Optional[Callable[[Any], Any]] = None
    argument: bool = False
    extra: Mapping[str, Any] = dc_field(default_factory=dict)

    def default_value(self) -> Any:
        if self.default is not _UNSET:
            return self.default
        if self.argument:
            return ...
        return default_of(self.field) if self.field else None

    def help_for(self, cmd: str) -> str:
        return self.help if isinstance(self.help, str) else self.help[cmd]

    def parameter(self, cmd: str) -> inspect.Parameter:
        if self.argument:
            info = typer.Argument(..., help=self.help_for(cmd), show_default=False, **self.extra)
        else:
            info = typer.Option(self.default_value(), *self.flags, help=self.help_for(cmd), **self.extra)
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=self.type)


def _flag(value: bool) -> bool:
    return not value


def _choice(name: str, choices: Tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        v = value.strip().lower()
        if v not in choices:
            raise InputError(f"unknown {name} {v!r}; choose from {', '.join(choices)}")
        return v
    return check


def _spin(value: float) -> float:
    if not math.isfinite(value):
        raise InputError(f"--spin must be a finite number of degrees per second (0 for a fixed view), got {value}")
    return value


def _view(value: str) -> str:
    from hotdemo.render.render import VIEWS

    return _choice("--view", VIEWS)(value)


def _export_help() -> str:
    return ("Comma-separated export formats: "
            + ", ".join(f"{f.name} ({f.short})" if f.short else f.name for f in EXPORT_FORMATS.values())
            + ", or 'none'.")


def _pose2d_help() -> str:
    from hotdemo.pose2d.registry import DEFAULT_POSE2D

    return (f"2D keypoint model: a built-in name (default {DEFAULT_POSE2D}; also rtmpose_t/m/l_body7_256x192, "
            "rtmpose_l/x_body7_384x288, hrnet_w32_coco_256x192), a .pth checkpoint (family and size read "
            "from its contents), a top-down .onnx model (heatmap or SimCC), or a .json 2D model spec.")


def _smooth_param_help() -> str:
    from hotdemo.post.smooth import DEFAULT_PARAM

    return (f"The filter's parameter: gaussian sigma in frames (default {DEFAULT_PARAM['gaussian']:g}), one-euro "
            f"minimum cut-off in Hz (default {DEFAULT_PARAM['one-euro']:g}; lower = smoother, more lag).")


_OVERWRITE = {
    RUN: "Replace the outputs of another video in the output folder (two videos with the same name).",
    LIFT: "Replace the outputs of another input in the output folder (two keypoint files with the same name).",
    BATCH: "Redo clips whose outputs are already complete, and replace a clip folder that holds another video's outputs.",
}

#: the table (its order is the order of the options in each command's help)
OPTIONS: Tuple[Opt, ...] = (
    # ------------------------------------------------ what to process, where to
    Opt("video", (), Path, "Input video file (mp4, mov, avi, mkv, webm, ...).", frozenset({RUN}), argument=True),
    Opt("keypoints", (), Path, "2D keypoints: hotdemo's own JSON/NPZ export, or an NPZ with keypoints (T,17,2) "
        "pixels, optional scores (T,17), width, height, joint_format (coco17|h36m17).", frozenset({LIFT}),
        argument=True),
    Opt("folder", (), Path, "Folder of videos.", frozenset({BATCH}), argument=True),
    Opt("source", (), str, "A webcam index (0), a stream URL (rtsp://, http://, ...) or a video file, played in "
        "real time.", frozenset({LIVE}), argument=True),
    Opt("output", ("-o", "--output"), Optional[Path], {
        RUN: "Output folder (default: ./hotdemo_out/<video name>).",
        LIFT: "Output folder (default: <keypoints name>_3d beside the input).",
        BATCH: "Output root (default: FOLDER/hotdemo_out).",
        LIVE: "Also write the rendered frames to this .mp4 (H.264; plays in real time)."}, ALL),
    Opt("recursive", ("--recursive", "-r"), bool, "Also look in sub-folders.", frozenset({BATCH}), default=False),
    Opt("pattern", ("--pattern",), Optional[str], "Glob for file names, e.g. '*.mp4' (default: common video "
        "extensions).", frozenset({BATCH})),
    Opt("overwrite", ("--overwrite",), bool, _OVERWRITE, JOBS, default=False),
    Opt("ray", ("--ray",), Optional[str], "Spread clips over a Ray cluster: an address, or 'auto' for a local "
        "instance (needs hotdemo[ray]).", frozenset({BATCH})),
    Opt("no_window", ("--no-window",), bool, "No window (needs -o): for servers and recordings.", frozenset({LIVE}),
        default=False),
    Opt("seconds", ("--seconds",), Optional[float], "Stop after this many seconds.", frozenset({LIVE}),
        extra={"min": 0.1}),
    Opt("report", ("--report",), Optional[Path], "Write the measured latency and rates as JSON.", frozenset({LIVE})),
    Opt("no_network", ("--no-network",), bool, "Do not probe the download URLs of missing models.",
        frozenset({DOCTOR}), default=False),
    # ------------------------------------------------ models
    Opt("detector", ("--detector",), Optional[str],
        f"Person detector: a built-in name (default {DEFAULT_DETECTOR}), an ultralytics .pt file, or a Darknet "
        ".weights file with the .cfg of the same name beside it. An ultralytics .pt is a pickle by design: "
        "loading it runs code from the file, so use only .pt files you trust (the built-in one is checked "
        "against its pinned sha256).", CHECKED, "detect.detector"),
    Opt("pose2d", ("--pose2d",), Optional[str], _pose2d_help(), CHECKED, "pose.pose2d"),
    Opt("trust_checkpoint", ("--trust-checkpoint",), bool,
        "Unpickle a 2D .pth/.pt checkpoint that holds more than tensors (e.g. training-state objects). "
        "This runs code from the file: only for files you trust. Without it such a file is refused.",
        MODELS2D, "pose.trust_checkpoint"),
    Opt("lifter", ("--lifter",), Optional[str], "2D-to-3D lifter: a family listed by `hotdemo lifters` (default "
        "hot_mixste, our trained weights), or a checkpoint file.", ALL, "lift.lifter"),
    Opt("lifter_checkpoint", ("--lifter-checkpoint",), Optional[Path], "Weights for --lifter: an official file "
        "(HoT, MixSTE, MotionBERT layouts) or a hotdemo one (shipped, a run's best.pt / last.pt).", ALL | {DOCTOR},
        "lift.checkpoint"),
    Opt("allow_untrained", ("--allow-untrained",), bool, "Run the lifter with random weights when no trained "
        "weights are found (testing only).", ALL, "lift.allow_untrained"),
    Opt("device", ("--device",), str, "auto, cpu or cuda.", ALL | {DOCTOR}, "runtime.device"),
    Opt("weights_dir", ("--weights-dir",), Optional[Path], "Folder with pre-downloaded weights files (searched "
        "before the download cache).", CHECKED, "runtime.weights_dir", extra={"envvar": "HOTDEMO_WEIGHTS_DIR"}),
    # ------------------------------------------------ 2D stages
    Opt("det_conf", ("--det-conf",), float, "Detector confidence threshold.", MODELS2D, "detect.conf",
        extra={"min": 0.0, "max": 1.0}),
    Opt("det_iou", ("--det-iou",), Optional[float], f"Detector NMS IoU threshold (default: the backend's own, "
        f"ultralytics {ULTRALYTICS_IOU:g}, Darknet {DARKNET_IOU:g}).", VIDEO, "detect.iou",
        extra={"min": 0.0, "max": 1.0}),
    Opt("det_size", ("--det-size",), Optional[int], "Detector input size in pixels (default: the model's own).",
        VIDEO, "detect.imgsz", extra={"min": 32}),
    Opt("pose_flip", ("--pose-flip",), bool, "Flip test for the 2D keypoints (a little steadier, about twice the "
        "2D time).", VIDEO, "pose.flip_test"),
    Opt("det_every", ("--det-every",), int, "Run the person detector every K frames (and at once on a camera cut, "
        "a lost person or weak keypoints); in between each person's box comes from their last keypoints. "
        "1 = every frame.", MODELS2D, "detect.det_every", extra={"min": 1}),
    Opt("threads", ("--threads",), Optional[int], "CPU threads for the models (default: the machine's).", VIDEO | {DOCTOR},
        "runtime.threads", extra={"min": 1}),
    Opt("threads", ("--threads",), int, "CPU threads for the models (live lifts one small window a frame: more "
        "threads gain little and lose much on a busy machine).", frozenset({LIVE}), "runtime.threads", default=1,
        extra={"min": 1}),
    # ------------------------------------------------ which tracks
    Opt("people", ("--people",), Optional[int], {
        RUN: "Lift only the N largest/longest tracks (default: all long enough).",
        BATCH: "Lift only the N largest/longest tracks (default: all long enough).",
        LIFT: "Lift only the N largest/longest tracks (default: all)."}, JOBS, "tracks.people", extra={"min": 1}),
    Opt("track_id", ("--track-id",), Optional[int], "Lift only this track ID.", frozenset({RUN, LIFT}),
        "tracks.track_id"),
    # ------------------------------------------------ the lifter and post-processing
    Opt("no_flip", ("--no-flip",), bool, "Turn off left/right flip averaging of the 3D lifter.", JOBS, "lift.flip",
        default=False, convert=_flag),
    Opt("flip", ("--flip",), bool, "Left/right flip averaging of the lifter (steadier, twice the 3D time; on in "
        "run/lift).", frozenset({LIVE}), "lift.flip", default=False),
    Opt("no_overlap", ("--no-overlap",), bool, "Non-overlapping lifter windows, as the official demo.", JOBS,
        "lift.overlap", default=False, convert=_flag),
    Opt("no_smooth", ("--no-smooth",), bool, "Turn off temporal smoothing of the 3D output (= --smooth none).",
        JOBS, default=False),
    Opt("no_bone_lengths", ("--no-bone-lengths",), bool, "Keep the lifter's raw bone lengths (by default each "
        "person's bones are held at one length over the clip, mostly by correcting depth).", JOBS, "post.bones",
        default=False, convert=_flag),
    Opt("no_reproject", ("--no-reproject",), bool, "Keep the lifter's raw 3D where it disagrees with the 2D (by "
        "default the 3D is brought into agreement with the 2D, as far as the 2D's measured noise allows).", JOBS,
        "post.reproject", default=False, convert=_flag),
    Opt("tokens", ("--tokens",), Optional[int], "HoT lifters: tokens kept after pruning, a speed dial without "
        "retraining (fewer = faster deep blocks, usually less accurate; default: the number the lifter was "
        "trained with; `hotdemo lifters` shows the measured trade-off).", ALL, "lift.tokens", extra={"min": 1}),
    Opt("trajectory", ("--trajectory",), str, "camera: every person's root trajectory in one floor frame (a static "
        "camera is assumed; a moving one is noticed and falls back to in place, with a warning); none: people "
        "turn and move their limbs in place.", JOBS, "post.trajectory", convert=_choice("--trajectory", TRAJECTORIES)),
    Opt("fov", ("--fov",), Optional[float], "Horizontal field of view of the camera in degrees, for the trajectory "
        "(default: the video's metadata where it has a 35 mm-equivalent focal length, else fitted from the "
        "poses).", JOBS, "post.fov", extra={"min": 1.0, "max": 179.0}),
    # ------------------------------------------------ outputs
    Opt("export", ("--export",), str, _export_help(), JOBS, "output.formats",
        default=",".join(default_of("output.formats")), convert=parse_formats),
    Opt("no_render", ("--no-render",), bool, "Skip the rendered video; write only the exports.", VIDEO,
        "output.render", default=False, convert=_flag),
    Opt("spin", ("--spin",), float, "Degrees per second the 3D view turns around the people (0: fixed).", VIDEO,
        "output.deg_per_s", convert=_spin),
    Opt("view", ("--view",), str, "3D panel: main (the main person centred and large, others around it), scene "
        "(everyone), grid (one panel per person, up to 4).", frozenset({RUN, BATCH, LIVE}), "output.view",
        convert=_view),
    Opt("smooth", ("--smooth",), str, "Temporal filter of the 3D output: none, gaussian (zero-phase, offline) or "
        "one-euro (causal, adapts to speed).", JOBS, "post.smooth"),
    Opt("smooth_param", ("--smooth-param",), Optional[float], _smooth_param_help(), JOBS, "post.smooth_param"),
)


def opt(name: str) -> Opt:
    """The first table entry named ``name``."""
    return next(o for o in OPTIONS if o.name == name)


def options_of(cmd: str) -> Tuple[Opt, ...]:
    return tuple(o for o in OPTIONS if cmd in o.commands)


def signature(cmd: str) -> inspect.Signature:
    """The Typer signature of ``cmd``: its options from the table, in table order."""
    return inspect.Signature([o.parameter(cmd) for o in options_of(cmd)])


def command(cmd: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``body(**values)`` becomes a Typer command whose parameters are ``cmd``'s options."""

    def wrap(body: Callable[..., Any]) -> Callable[..., Any]:
        def fn(**values: Any) -> Any:
            return body(**values)

        fn.__name__, fn.__qualname__, fn.__doc__ = body.__name__, body.__qualname__, body.__doc__
        fn.__signature__ = signature(cmd)  # type: ignore[attr-defined]  # what typer reads
        return fn

    return wrap


def build_config(cmd: str, values: Mapping[str, Any]) -> PipelineConfig:
    """The :class:`PipelineConfig` of ``cmd`` from its parsed option values (missing ones: the
    defaults); values are checked and converted (InputError)."""
    groups: Dict[str, Dict[str, Any]] = {g: {} for g in GROUPS}
    for o in options_of(cmd):
        if o.field is None:
            continue
        v = values.get(o.name, o.default_value())
        if v is None and o.default_value() is None:
            continue  # not given: the field's default
        group, name = o.field.split(".")
        groups[group][name] = o.convert(v) if o.convert is not None else v
    post = groups["post"]
    if values.get("no_smooth"):
        post["smooth"] = "none"
    if "smooth" in post:
        from hotdemo.post.smooth import check_smooth

        post["smooth"], _ = check_smooth(post["smooth"], post.get("smooth_param"))
    return PipelineConfig(**{g: GROUPS[g](**kw) for g, kw in groups.items()})
