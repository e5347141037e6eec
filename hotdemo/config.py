"""The pipeline's settings, one group per stage.

Each group's field names are the keyword names of the stage it tunes, so a group goes to its
stage as it is: :class:`DetectConfig` to :func:`hotdemo.frontend.build_frontend` /
:func:`hotdemo.detect.detector.build_detector`, :class:`Pose2DConfig` to
:func:`hotdemo.pose2d.build_pose2d`, :class:`LiftConfig` to :func:`hotdemo.lift.lifter.load_lifter`,
:class:`TracksConfig` to :func:`hotdemo.detect.track.select_tracks`, :class:`OutputConfig` to
the exports and :class:`hotdemo.render.render.Renderer`. Every default is declared here (or in
the stage module these read it from) and nowhere else: the CLI's option table
(:mod:`hotdemo.cli.options`) takes its defaults from these classes.

``PipelineConfig(det_conf=0.5, exports=("json",))``, the flat keyword names of earlier
versions, still work (:data:`LEGACY_NAMES`), for reading too (``config.det_conf``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from hotdemo.detect.detector import DEFAULT_CONF
from hotdemo.frontend import DEFAULT_DET_EVERY
from hotdemo.io.formats import DEFAULT_FORMATS

__all__ = ["DEFAULT_CONF", "DEFAULT_DET_EVERY", "DetectConfig", "Pose2DConfig", "LiftConfig", "PostConfig",
           "TracksConfig", "OutputConfig", "RuntimeConfig", "PipelineConfig", "GROUPS", "LEGACY_NAMES",
           "TRAJECTORIES"]

#: ``--trajectory`` values (hotdemo.pipeline.lift_to_scene)
TRAJECTORIES = ("camera", "none")


@dataclass
class DetectConfig:
    """Person detection and the detect-every-k front end."""

    detector: Optional[str] = None  # a built-in name or a model file (None: the default detector)
    conf: float = DEFAULT_CONF  # confidence threshold
    iou: Optional[float] = None  # NMS IoU threshold (None: the backend's own)
    imgsz: Optional[int] = None  # input size in pixels (None: the model's own)
    det_every: int = DEFAULT_DET_EVERY  # detect every K frames, follow by keypoints between (1 = every frame)


@dataclass
class Pose2DConfig:
    pose2d: Optional[str] = None  # a built-in name, a checkpoint, an .onnx model or a .json spec
    flip_test: bool = False  # flip test of the 2D model
    trust_checkpoint: bool = False  # unpickle a 2D .pth that holds more than tensors (runs code from it)


@dataclass
class LiftConfig:
    lifter: Optional[str] = None  # a family (hotdemo lifters) or a checkpoint file
    checkpoint: Optional[Path] = None  # weights for the family
    allow_untrained: bool = False  # random weights when none are found (testing only)
    flip: bool = True  # left/right flip averaging
    overlap: bool = True  # overlapping windows
    tokens: Optional[int] = None  # HoT lifters: tokens kept after pruning (None: the trained number)


@dataclass
class PostConfig:
    smooth: str = "gaussian"  # none | gaussian | one-euro (hotdemo.post.smooth)
    smooth_param: Optional[float] = None  # gaussian sigma (frames) / one-euro min cut-off (Hz); None: the filter's own
    bones: bool = True  # hold each person's bone lengths constant (hotdemo.post.bones)
    reproject: bool = True  # bring the 3D into agreement with the 2D (hotdemo.post.reproject)
    trajectory: str = "camera"  # camera: root trajectories in one floor frame; none: in place (TRAJECTORIES)
    fov: Optional[float] = None  # horizontal field of view (degrees) for the trajectory; None: metadata / fitted


@dataclass
class TracksConfig:
    """Which tracks are lifted (:func:`hotdemo.detect.track.select_tracks`)."""

    people: Optional[int] = None  # the N largest / longest (None: all)
    track_id: Optional[int] = None  # only this one
    min_length: int = 10  # frames; shorter tracks are not lifted (``run``; ``lift`` lifts every track)


@dataclass
class OutputConfig:
    formats: Tuple[str, ...] = DEFAULT_FORMATS  # names in hotdemo.io.formats.EXPORT_FORMATS
    render: bool = True  # write the rendered video
    deg_per_s: float = 10.0  # how fast the 3D view turns (0: fixed)
    view: str = "main"  # 3D panel: main, scene or grid (hotdemo.render.render.VIEWS)


@dataclass
class RuntimeConfig:
    """Where and how the models run; none of it changes what the outputs are."""

    device: str = "auto"  # auto, cpu or cuda[:N]
    weights_dir: Optional[Path] = None  # pre-downloaded weights, searched before the cache
    threads: Optional[int] = None  # CPU threads for torch / ONNX Runtime / OpenCV (None: their defaults)
    batch_size: int = 8  # frames per detector / pose batch


#: group attribute -> its class, in the order they are listed
GROUPS: Dict[str, type] = {"detect": DetectConfig, "pose": Pose2DConfig, "lift": LiftConfig, "post": PostConfig,
                           "tracks": TracksConfig, "output": OutputConfig, "runtime": RuntimeConfig}

#: the flat names of earlier versions -> (group, field)
LEGACY_NAMES: Dict[str, Tuple[str, str]] = {
    "detector": ("detect", "detector"), "det_conf": ("detect", "conf"), "det_iou": ("detect", "iou"),
    "det_imgsz": ("detect", "imgsz"), "det_every": ("detect", "det_every"),
    "pose2d": ("pose", "pose2d"), "pose_flip": ("pose", "flip_test"), "trust_checkpoint": ("pose", "trust_checkpoint"),
    "lifter": ("lift", "lifter"), "lifter_checkpoint": ("lift", "checkpoint"),
    "allow_untrained": ("lift", "allow_untrained"), "flip": ("lift", "flip"), "overlap": ("lift", "overlap"),
    "tokens": ("lift", "tokens"),
    "smooth_method": ("post", "smooth"), "smooth_param": ("post", "smooth_param"), "bone_lengths": ("post", "bones"),
    "reproject": ("post", "reproject"), "trajectory": ("post", "trajectory"), "fov": ("post", "fov"),
    "people": ("tracks", "people"), "track_id": ("tracks", "track_id"), "min_track_length": ("tracks", "min_length"),
    "exports": ("output", "formats"), "render": ("output", "render"), "spin_deg_per_s": ("output", "deg_per_s"),
    "view": ("output", "view"),
    "device": ("runtime", "device"), "weights_dir": ("runtime", "weights_dir"), "threads": ("runtime", "threads"),
    "batch_size": ("runtime", "batch_size"),
}


@dataclass(init=False)
class PipelineConfig:
    """Everything that selects and tunes the stages, one group per stage (module docstring).
    ``None`` in a field means the stage's built-in default."""

    detect: DetectConfig = field(default_factory=DetectConfig)
    pose: Pose2DConfig = field(default_factory=Pose2DConfig)
    lift: LiftConfig = field(default_factory=LiftConfig)
    post: PostConfig = field(default_factory=PostConfig)
    tracks: TracksConfig = field(default_factory=TracksConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __init__(self, detect: Optional[DetectConfig] = None, pose: Optional[Pose2DConfig] = None,
                 lift: Optional[LiftConfig] = None, post: Optional[PostConfig] = None,
                 tracks: Optional[TracksConfig] = None, output: Optional[OutputConfig] = None,
                 runtime: Optional[RuntimeConfig] = None, **flat: Any):
        given = dict(detect=detect, pose=pose, lift=lift, post=post, tracks=tracks, output=output, runtime=runtime)
        for name, cls in GROUPS.items():
            g = given[name]
            object.__setattr__(self, name, cls() if g is None else replace(g))  # a copy: groups are never shared
        smooth = flat.pop("smooth", None)  # the old on/off switch beside smooth_method
        for k, v in flat.items():
            if k not in LEGACY_NAMES:
                raise TypeError(f"PipelineConfig() got an unexpected keyword argument {k!r}")
            setattr(self, k, v)
        if smooth is not None:
            setattr(self, "smooth", smooth)

    def __getattr__(self, name: str) -> Any:  # only for names that are not attributes: the flat names
        if name == "smooth":
            return self.post.smooth != "none"
        if name in LEGACY_NAMES:
            group, key = LEGACY_NAMES[name]
            return getattr(getattr(self, group), key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "smooth":  # the old switch: False turns smoothing off, True keeps the method
            if not value:
                self.post.smooth = "none"
            elif self.post.smooth == "none":
                self.post.smooth = PostConfig.smooth
        elif name in LEGACY_NAMES:
            group, key = LEGACY_NAMES[name]
            setattr(getattr(self, group), key, value)
        elif name in GROUPS:
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"{type(self).__name__!r} has no setting {name!r}")

    def flat(self) -> Dict[str, Any]:
        """``{"detect.conf": 0.25, ...}``: every setting under its dotted name."""
        return {f"{g}.{f.name}": getattr(getattr(self, g), f.name) for g in GROUPS for f in fields(GROUPS[g])}
