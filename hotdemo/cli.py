"""Command-line interface. Parsing only: every command calls the Python API.

Errors the user can cause (hotdemo.core.errors.HotdemoError) are printed as one line,
``error: ...``, and exit with the error's code; no traceback.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup
from rich.markup import escape

from hotdemo import __version__
from hotdemo.core.errors import HotdemoError, InputError
from hotdemo.io.formats.export import DEFAULT_FORMATS, EXPORT_FORMATS, parse_formats

os.environ.setdefault("YOLO_OFFLINE", "1")

console = Console(stderr=True)


# ---------------------------------------------------------------- help that reads right
# Typer renders help with rich markup, so help text is escaped here (``hotdemo[ray]`` and
# ``[default: 128]`` stay as written); flags get no ``<bool>`` type, and the usage line names
# arguments the usual way (``VIDEO``, ``[NAMES]...``) whatever the Typer version draws.
# tests/test_cli.py checks the rendered help.
def _tidy_help(cmd) -> None:
    if cmd.help:
        cmd.help = escape(cmd.help)
    for p in cmd.params:
        _tidy_param(p)


def _tidy_param(p) -> None:
    if getattr(p, "help", None):
        p.help = escape(p.help)
    if getattr(p, "is_flag", False):
        p.metavar = ""


def _usage_pieces(cmd, ctx) -> List[str]:
    rv = [cmd.options_metavar] if cmd.options_metavar else []
    for p in cmd.get_params(ctx):
        if getattr(p, "param_type_name", "") != "argument":
            continue
        name = (p.metavar or p.name or "ARG").upper() + ("..." if p.nargs != 1 else "")
        rv.append(name if p.required else f"[{name}]")
    return rv


class _Command(TyperCommand):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tidy_help(self)

    def collect_usage_pieces(self, ctx):
        return _usage_pieces(self, ctx)

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            _tidy_param(opt)
        return opt


class _Group(TyperGroup):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tidy_help(self)

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            _tidy_param(opt)
        return opt


class _Typer(typer.Typer):
    """A Typer whose commands use :class:`_Command` unless told otherwise."""

    def __init__(self, **kwargs):
        kwargs.setdefault("cls", _Group)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(**kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(
    name="hotdemo",
    help=(
        "Turn an ordinary video into 3D human poses: YOLO person detection and tracking, "
        "top-down 2D keypoints, and the HoT (Hourglass Tokenizer) lifting transformer. "
        "Writes a rendered video (input + 2D overlay beside a rotating 3D view) and the poses "
        "(JSON, NPZ, CSV, BVH, TRC, joint angles, an HTML 3D viewer)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn HotdemoError into a one-line message and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HotdemoError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; no partial output was kept", 130)

    return wrapper


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hotdemo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """hotdemo: video to 3D human poses."""


# ---------------------------------------------------------------- shared options
DetectorOpt = typer.Option(
    None, "--detector",
    help="Person detector: a built-in name (default yolo11n), an ultralytics .pt file, or a Darknet "
         ".weights file with the .cfg of the same name beside it. An ultralytics .pt is a pickle by design: "
         "loading it runs code from the file, so use only .pt files you trust (the built-in one is checked "
         "against its pinned sha256).",
)
TrustOpt = typer.Option(
    False, "--trust-checkpoint",
    help="Unpickle a 2D .pth/.pt checkpoint that holds more than tensors (e.g. training-state objects). "
         "This runs code from the file: only for files you trust. Without it such a file is refused.",
)
Pose2dOpt = typer.Option(
    None, "--pose2d",
    help="2D keypoint model: a built-in name (default rtmpose_s_body7_256x192; also rtmpose_t/m/l_body7_256x192, "
         "rtmpose_l/x_body7_384x288, hrnet_w32_coco_256x192), a .pth checkpoint "
         "(family and size read from its contents), a top-down .onnx model (heatmap or SimCC), or a "
         ".json 2D model spec.",
)
LifterOpt = typer.Option(
    None, "--lifter",
    help="2D-to-3D lifter: a family listed by `hotdemo lifters` (default hot_mixste, our trained "
         "weights), or a checkpoint file.",
)
LifterCkptOpt = typer.Option(
    None, "--lifter-checkpoint", help="Weights for --lifter: an official file (HoT, MixSTE, MotionBERT layouts) "
                                      "or a hotdemo one (shipped, a run's best.pt / last.pt)."
)
UntrainedOpt = typer.Option(
    False, "--allow-untrained", help="Run the lifter with random weights when no trained weights are found (testing only)."
)
DeviceOpt = typer.Option("auto", "--device", help="auto, cpu or cuda.")
WeightsDirOpt = typer.Option(
    None, "--weights-dir", envvar="HOTDEMO_WEIGHTS_DIR",
    help="Folder with pre-downloaded weights files (searched before the download cache).",
)
ExportOpt = typer.Option(
    ",".join(DEFAULT_FORMATS), "--export",
    help="Comma-separated export formats: "
         + ", ".join(f"{f.name} ({f.short})" if f.short else f.name for f in EXPORT_FORMATS.values())
         + ", or 'none'.",
)
ConfOpt = typer.Option(0.25, "--det-conf", min=0.0, max=1.0, help="Detector confidence threshold.")
IouOpt = typer.Option(None, "--det-iou", min=0.0, max=1.0, help="Detector NMS IoU threshold (default: ultralytics 0.7, Darknet 0.55).")
ImgszOpt = typer.Option(None, "--det-size", min=32, help="Detector input size in pixels (default: the model's own, e.g. 640).")
DetEveryOpt = typer.Option(
    None, "--det-every", min=1,
    help="Run the person detector every K frames (and at once on a camera cut, a lost person or weak "
         "keypoints); in between each person's box comes from their last keypoints. 1 = every frame "
         "[default: 5].",
)
ThreadsOpt = typer.Option(None, "--threads", min=1, help="CPU threads for the models (default: the machine's).")
PoseFlipOpt = typer.Option(False, "--pose-flip", help="Flip test for the 2D keypoints (a little steadier, about 2x the 2D time).")
PeopleOpt = typer.Option(None, "--people", min=1, help="Lift only the N largest/longest tracks (default: all long enough).")
TrackIdOpt = typer.Option(None, "--track-id", help="Lift only this track ID.")
NoRenderOpt = typer.Option(False, "--no-render", help="Skip the rendered video; write only the exports.")
# the lifter's options, shared by run, batch and lift (and --no-flip by eval)
NoFlipOpt = typer.Option(False, "--no-flip", help="Turn off left/right flip averaging of the 3D lifter.")
NoOverlapOpt = typer.Option(False, "--no-overlap", help="Non-overlapping lifter windows, as the official demo.")
NoSmoothOpt = typer.Option(False, "--no-smooth", help="Turn off temporal smoothing of the 3D output (= --smooth none).")
NoBonesOpt = typer.Option(
    False, "--no-bone-lengths",
    help="Keep the lifter's raw bone lengths (by default each person's bones are held at one length "
         "over the clip, mostly by correcting depth).",
)
NoReprojectOpt = typer.Option(
    False, "--no-reproject",
    help="Keep the lifter's raw 3D where it disagrees with the 2D (by default the 3D is brought into "
         "agreement with the 2D, as far as the 2D's measured noise allows).",
)
TrajectoryOpt = typer.Option(
    "camera", "--trajectory",
    help="camera: every person's root trajectory in one floor frame (a static camera is assumed; a moving "
         "one is noticed and falls back to in place, with a warning); none: people turn and move their limbs in "
         "place.",
)
FovOpt = typer.Option(
    None, "--fov", min=1.0, max=179.0,
    help="Horizontal field of view of the camera in degrees, for the trajectory (default: the video's metadata "
         "where it has a 35 mm-equivalent focal length, else fitted from the poses).",
)
TokensOpt = typer.Option(
    None, "--tokens", min=1,
    help="HoT lifters: tokens kept after pruning, a speed dial without retraining (fewer = faster deep "
         "blocks, usually less accurate; default: the number the lifter was trained with; `hotdemo lifters` "
         "shows the measured trade-off).",
)
SpinOpt = typer.Option(10.0, "--spin", help="Degrees per second the 3D view turns around the people (0: fixed).")
SmoothOpt = typer.Option(
    "gaussian", "--smooth",
    help="Temporal filter of the 3D output: none, gaussian (zero-phase, offline) or one-euro (causal, "
         "adapts to speed).",
)
SmoothParamOpt = typer.Option(
    None, "--smooth-param",
    help="The filter's parameter: gaussian sigma in frames (default 1), one-euro minimum cut-off in Hz "
         "(default 2; lower = smoother, more lag).",
)
ViewOpt = typer.Option(
    "main", "--view",
    help="3D panel: main (the main person centred and large, others around it), scene (everyone), "
         "grid (one panel per person, up to 4).",
)


#: CLI parameter names that differ from PipelineConfig's fields
_CLI_TO_CONFIG = {"det_size": "det_imgsz", "spin": "spin_deg_per_s", "smooth": "smooth_method"}
#: parameters of run / batch / lift that are not pipeline settings
_NOT_CONFIG = ("video", "keypoints", "folder", "output", "overwrite", "recursive", "pattern", "ray")


def _config(params: dict):
    """The :class:`~hotdemo.pipeline.PipelineConfig` of a command from its parsed parameters (its
    ``locals()``): names mapped, ``--no-*`` flags turned round, values checked (InputError)."""
    from hotdemo.pipeline import PipelineConfig

    kw = {_CLI_TO_CONFIG.get(k, k): v for k, v in params.items() if k not in _NOT_CONFIG}
    for k in ("det_every", "threads"):  # None = the config's default
        if k in kw and kw[k] is None:
            del kw[k]
    if "no_render" in kw:
        kw["render"] = not kw.pop("no_render")
    kw["exports"] = parse_formats(kw.pop("export"))
    for flag, field in (("no_flip", "flip"), ("no_overlap", "overlap"), ("no_smooth", "smooth"),
                        ("no_bone_lengths", "bone_lengths"), ("no_reproject", "reproject")):
        if flag in kw:
            kw[field] = not kw.pop(flag)
    spin = kw.get("spin_deg_per_s")
    if spin is not None and not math.isfinite(spin):
        raise InputError(f"--spin must be a finite number of degrees per second (0 for a fixed view), got {spin}")
    if "smooth_method" in kw:
        from hotdemo.post.smooth import check_smooth

        kw["smooth_method"], _ = check_smooth(kw["smooth_method"], kw.get("smooth_param"))
    if "trajectory" in kw:
        from hotdemo.pipeline import TRAJECTORIES

        kw["trajectory"] = kw["trajectory"].strip().lower()
        if kw["trajectory"] not in TRAJECTORIES:
            raise InputError(f"unknown --trajectory {kw['trajectory']!r}; choose from {', '.join(TRAJECTORIES)}")
    if "view" in kw:
        from hotdemo.render import VIEWS

        kw["view"] = kw["view"].strip().lower()
        if kw["view"] not in VIEWS:
            raise InputError(f"unknown --view {kw['view']!r}; choose from {', '.join(VIEWS)}")
    return PipelineConfig(**kw)


# ---------------------------------------------------------------- commands
@app.command()
@handle_errors
def run(
    video: Path = typer.Argument(..., help="Input video file (mp4, mov, avi, mkv, webm, ...).", show_default=False),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Output folder (default: ./hotdemo_out/<video name>)."
    ),
    detector: Optional[str] = DetectorOpt,
    pose2d: Optional[str] = Pose2dOpt,
    trust_checkpoint: bool = TrustOpt,
    lifter: Optional[str] = LifterOpt,
    lifter_checkpoint: Optional[Path] = LifterCkptOpt,
    allow_untrained: bool = UntrainedOpt,
    device: str = DeviceOpt,
    weights_dir: Optional[Path] = WeightsDirOpt,
    det_conf: float = ConfOpt,
    det_iou: Optional[float] = IouOpt,
    det_size: Optional[int] = ImgszOpt,
    pose_flip: bool = PoseFlipOpt,
    det_every: Optional[int] = DetEveryOpt,
    threads: Optional[int] = ThreadsOpt,
    people: Optional[int] = PeopleOpt,
    track_id: Optional[int] = TrackIdOpt,
    no_flip: bool = NoFlipOpt,
    no_overlap: bool = NoOverlapOpt,
    no_smooth: bool = NoSmoothOpt,
    no_bone_lengths: bool = NoBonesOpt,
    no_reproject: bool = NoReprojectOpt,
    tokens: Optional[int] = TokensOpt,
    trajectory: str = TrajectoryOpt,
    fov: Optional[float] = FovOpt,
    export: str = ExportOpt,
    no_render: bool = NoRenderOpt,
    spin: float = SpinOpt,
    view: str = ViewOpt,
    smooth: str = SmoothOpt,
    smooth_param: Optional[float] = SmoothParamOpt,
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the outputs of another video in the output folder (two videos with the same name)."),
) -> None:
    """Run the whole pipeline on one video: detect, track, 2D keypoints, lift to 3D, render, export."""
    params = dict(locals())  # the parsed options only: taken before any other local name
    from hotdemo.io.outdir import check_output_folder
    from hotdemo.pipeline import Pipeline, default_output_dir
    from hotdemo.io.video import probe

    # a bad input or an unusable output folder fails here, before any model is loaded; nothing is created
    probe(video, count=False)
    check_output_folder(output or default_output_dir(video), video, overwrite=overwrite)
    cfg = _config(params)
    out = output or default_output_dir(video)
    with Pipeline(cfg, verbose=True) as pipe:
        result = pipe.run(video, out, overwrite=overwrite)
    _print_result(result)


@app.command()
@handle_errors
def lift(
    keypoints: Path = typer.Argument(
        ..., help="2D keypoints: hotdemo's own JSON/NPZ export, or an NPZ with keypoints (T,17,2) pixels, "
                  "optional scores (T,17), width, height, joint_format (coco17|h36m17).",
        show_default=False,
    ),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output folder (default: <keypoints name>_3d beside the input)."),
    lifter: Optional[str] = LifterOpt,
    lifter_checkpoint: Optional[Path] = LifterCkptOpt,
    allow_untrained: bool = UntrainedOpt,
    device: str = DeviceOpt,
    people: Optional[int] = typer.Option(None, "--people", min=1, help="Lift only the N largest/longest tracks (default: all)."),
    track_id: Optional[int] = TrackIdOpt,
    no_flip: bool = NoFlipOpt,
    no_overlap: bool = NoOverlapOpt,
    no_smooth: bool = NoSmoothOpt,
    no_bone_lengths: bool = NoBonesOpt,
    no_reproject: bool = NoReprojectOpt,
    tokens: Optional[int] = TokensOpt,
    trajectory: str = TrajectoryOpt,
    fov: Optional[float] = FovOpt,
    export: str = ExportOpt,
    smooth: str = SmoothOpt,
    smooth_param: Optional[float] = SmoothParamOpt,
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="Replace the outputs of another input in the output folder (two keypoint files with the same name)."),
) -> None:
    """Lift a 2D keypoint file to 3D, without the video stages."""
    params = dict(locals())  # the parsed options only: taken before any other local name
    from hotdemo.pipeline import lift_keypoints_file

    cfg = _config(params)
    out = output or keypoints.resolve().parent / f"{keypoints.stem}_3d"
    result = lift_keypoints_file(keypoints, out, cfg, verbose=True, overwrite=overwrite)
    _print_result(result)


@app.command()
@handle_errors
def batch(
    folder: Path = typer.Argument(..., help="Folder of videos.", show_default=False),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output root (default: FOLDER/hotdemo_out)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also look in sub-folders."),
    pattern: Optional[str] = typer.Option(None, "--pattern", help="Glob for file names, e.g. '*.mp4' (default: common video extensions)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo clips whose outputs are already complete, and replace a clip folder that holds another video's outputs."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Spread clips over a Ray cluster: an address, or 'auto' for a local instance (needs hotdemo[ray])."),
    detector: Optional[str] = DetectorOpt,
    pose2d: Optional[str] = Pose2dOpt,
    trust_checkpoint: bool = TrustOpt,
    lifter: Optional[str] = LifterOpt,
    lifter_checkpoint: Optional[Path] = LifterCkptOpt,
    allow_untrained: bool = UntrainedOpt,
    device: str = DeviceOpt,
    weights_dir: Optional[Path] = WeightsDirOpt,
    det_conf: float = ConfOpt,
    det_iou: Optional[float] = IouOpt,
    det_size: Optional[int] = ImgszOpt,
    pose_flip: bool = PoseFlipOpt,
    det_every: Optional[int] = DetEveryOpt,
    threads: Optional[int] = ThreadsOpt,
    people: Optional[int] = PeopleOpt,
    no_flip: bool = NoFlipOpt,
    no_overlap: bool = NoOverlapOpt,
    no_smooth: bool = NoSmoothOpt,
    no_bone_lengths: bool = NoBonesOpt,
    no_reproject: bool = NoReprojectOpt,
    tokens: Optional[int] = TokensOpt,
    trajectory: str = TrajectoryOpt,
    fov: Optional[float] = FovOpt,
    export: str = ExportOpt,
    no_render: bool = NoRenderOpt,
    spin: float = SpinOpt,
    view: str = ViewOpt,
    smooth: str = SmoothOpt,
    smooth_param: Optional[float] = SmoothParamOpt,
) -> None:
    """Process every video in a folder (models loaded once, resumable, with a report)."""
    params = dict(locals())  # the parsed options only: taken before any other local name
    from hotdemo.batch import run_batch

    cfg = _config(params)
    report = run_batch(
        folder, output, config=cfg, recursive=recursive, pattern=pattern, overwrite=overwrite, ray=ray
    )
    raise typer.Exit(0 if report.ok else 1)


@app.command("live")
@handle_errors
def live_cmd(
    source: str = typer.Argument(..., help="A webcam index (0), a stream URL (rtsp://, http://, ...) or a video "
                                           "file, played in real time.", show_default=False),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Also write the rendered frames to this .mp4 "
                                                                         "(H.264; plays in real time)."),
    no_window: bool = typer.Option(False, "--no-window", help="No window (needs -o): for servers and recordings."),
    seconds: Optional[float] = typer.Option(None, "--seconds", min=0.1, help="Stop after this many seconds."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the measured latency and rates as JSON."),
    detector: Optional[str] = DetectorOpt,
    pose2d: Optional[str] = Pose2dOpt,
    trust_checkpoint: bool = TrustOpt,
    lifter: Optional[str] = LifterOpt,
    lifter_checkpoint: Optional[Path] = LifterCkptOpt,
    allow_untrained: bool = UntrainedOpt,
    device: str = DeviceOpt,
    weights_dir: Optional[Path] = WeightsDirOpt,
    det_conf: float = ConfOpt,
    det_every: Optional[int] = DetEveryOpt,
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for the models (live lifts one small "
                                                              "window a frame: more threads gain little and lose "
                                                              "much on a busy machine)."),
    flip: bool = typer.Option(False, "--flip", help="Left/right flip averaging of the lifter (steadier, 2x the 3D time; "
                                                    "on in run/lift)."),
    tokens: Optional[int] = TokensOpt,
    view: str = ViewOpt,
) -> None:
    """Live 3D from a webcam, a stream or a video file in real time: a causal pipeline (the lifter's window
    ends at the current frame) that drops frames rather than falling behind, and reports its latency."""
    params = dict(locals())  # the parsed options only: taken before any other local name
    from hotdemo.io.files import atomic_write_json
    from hotdemo.live import run_live

    for k in ("source", "no_window", "seconds", "report"):
        params.pop(k)
    params["no_flip"] = not params.pop("flip")
    cfg = _config(dict(params, export="none"))
    stats = run_live(source, cfg, window=not no_window, output=output, max_seconds=seconds,
                     log=lambda m: console.print(escape(m), highlight=False))
    if report is not None:
        atomic_write_json(report, stats.summary())
    Console().print("live: " + escape(stats.line()), highlight=False)
    if output is not None:
        Console().print(escape(f"  {output}"), highlight=False)


@app.command("doctor")
@handle_errors
def doctor_cmd(
    detector: Optional[str] = DetectorOpt,
    pose2d: Optional[str] = Pose2dOpt,
    lifter_checkpoint: Optional[Path] = LifterCkptOpt,
    weights_dir: Optional[Path] = WeightsDirOpt,
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
    no_network: bool = typer.Option(False, "--no-network", help="Do not probe the download URLs of missing models."),
) -> None:
    """Check the set-up: packages, ffmpeg, ONNX Runtime, CUDA, the cache folder, each model, then the
    whole pipeline on a short clip shipped with hotdemo. One line per check; exit 0 only if all pass."""
    from hotdemo.doctor import run_checks
    from hotdemo.pipeline import PipelineConfig

    kw = dict(detector=detector, pose2d=pose2d, lifter_checkpoint=lifter_checkpoint, weights_dir=weights_dir,
              device=device)
    if threads is not None:
        kw["threads"] = threads
    out = Console()
    failed = []
    for c in run_checks(PipelineConfig(**kw), network=not no_network):
        mark = {True: "[green]ok  [/]", False: "[bold red]FAIL[/]", None: "[dim]info[/]"}[c.ok]
        out.print(f"{mark} {c.name}: {escape(c.detail)}", highlight=False, soft_wrap=True)
        if c.ok is False:
            failed.append(c.name)
    if failed:
        _fail(f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}", 1)
    out.print("all checks passed", highlight=False)


@app.command("train")
@handle_errors
def train_cmd(
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Run folder (logs, checkpoints); an existing run resumes. Required unless in --config."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON training config (e.g. a run's config.json); the options below override it."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start a new run from these weights (a run's last.pt / best.pt, or a shipped file)."),
    data: Optional[Path] = typer.Option(None, "--data", help="data_3d_h36m.npz-style 3D motion (default: $HOTDEMO_SHARED/data/h36m/data_3d_h36m_expmap.npz)."),
    cameras: Optional[Path] = typer.Option(None, "--cameras", help="Human3.6M cameras.json (default: beside --data)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Folder for the compact 17-joint cache."),
    model: Optional[str] = typer.Option(None, "--model", help="Lifter family, see `hotdemo lifters` [default: hot_mixste]."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames per clip (the model's window) [default: 27]."),
    dim: Optional[int] = typer.Option(None, "--dim", help="[default: 128]"),
    depth: Optional[int] = typer.Option(None, "--depth", help="[default: 4]"),
    heads: Optional[int] = typer.Option(None, "--heads", help="[default: 8]"),
    token_num: Optional[int] = typer.Option(None, "--token-num", help="HoT: tokens kept after pruning [default: 9]."),
    layer_index: Optional[int] = typer.Option(None, "--layer-index", help="HoT: block pair after which tokens are pruned [default: 1]."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="[default: 32]"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate [default: 0.001]."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Step limit (cosine over steps unless --budget-minutes) [default: 3000]."),
    budget_minutes: Optional[float] = typer.Option(None, "--budget-minutes", help="Cosine schedule over this much wall-clock time, then stop."),
    seed: Optional[int] = typer.Option(None, "--seed", help="[default: 1126]"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads [default: 2]."),
    device: Optional[str] = typer.Option(None, "--device", help="auto (CUDA when available), cpu or cuda[:N] [default: auto]."),
) -> None:
    """Train (or resume) a lifter on Human3.6M-style 3D motion (see the shipped lifter's model card, hotdemo/bundled/README.md).

    The rest (lr floor, warm-up, augmentations, the SDPA kernel, ...): `python -m hotdemo.train train --help`;
    `--config` takes them all."""
    from hotdemo.train import train
    from hotdemo.train.commands import build_train_config

    opts = dict(locals())
    cfg = build_train_config({k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items()})
    train(cfg, log=lambda m: typer.echo(m))


@app.command("eval")
@handle_errors
def eval_cmd(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Lifter checkpoint, any file --lifter-checkpoint takes (default: the shipped lifter, hotdemo/bundled/hot_mixste_h36m.pt)."),
    lifter: Optional[str] = typer.Option(None, "--lifter", help="Lifter family, for an official file whose keys fit several (see `hotdemo lifters`)."),
    no_smooth: bool = typer.Option(False, "--no-smooth", help="Turn off the output smoothing (on in run/lift)."),
    no_bone_lengths: bool = typer.Option(False, "--no-bone-lengths", help="Turn off the constant-bone-length fit (on in run/lift)."),
    no_reproject: bool = typer.Option(False, "--no-reproject", help="Turn off the agreement with the 2D (on in run/lift)."),
    data: Optional[Path] = typer.Option(None, "--data", help="data_3d_h36m.npz-style 3D motion (default: $HOTDEMO_SHARED/data/h36m/data_3d_h36m_expmap.npz)."),
    cameras: Optional[Path] = typer.Option(None, "--cameras", help="Human3.6M cameras.json (default: beside --data)."),
    noise: str = typer.Option("both", "--noise", help="2D setting(s): clean, noisy (the fixed detector-like "
                              "noise), both, a 2D error model (jitter, drift-0.1s, drift-0.5s, drift-2s, bias, "
                              "scale, outliers, swaps, dropouts, truncation, mixed), models (all of them), all, "
                              "or several comma-separated."),
    no_flip: bool = NoFlipOpt,
    max_sequences: Optional[int] = typer.Option(None, "--max-sequences", min=1, help="Evaluate a subset of sequences (quick)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON."),
    threads: int = typer.Option(2, "--threads"),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda[:N]."),
) -> None:
    """MPJPE / P-MPJPE / MPJVE per action on S9/S11 through the 4 real cameras (not comparable with published H36M numbers)."""
    from hotdemo.train.commands import run_evaluation

    run_evaluation(checkpoint, data, cameras, noise=noise, flip=not no_flip, max_sequences=max_sequences,
                   json_out=json_out, threads=threads, log=lambda m: typer.echo(m), device=device, lifter=lifter,
                   smooth=not no_smooth, bones=not no_bone_lengths, reproject=not no_reproject)


@app.command("lifters")
@handle_errors
def lifters_cmd() -> None:
    """List the 2D-to-3D lifter families: frames, input, FLOPs per output frame at the official size,
    and where official weights come from."""
    from rich.table import Table

    from hotdemo.lift.registry import lifter_table

    table = Table(title="hotdemo lifters (official sizes)")
    for col in ("name", "kind", "frames", "input", "params", "GFLOPs / output frame", "weights"):
        table.add_column(col, overflow="fold")
    for r in lifter_table():
        table.add_row(r["name"], r["kind"], str(r["frames"]), r["input"], f"{r['params'] / 1e6:.1f} M",
                      f"{r['flops_per_frame'] / 1e9:.3g}", r["weights"])
    Console().print(table)
    _print_token_table()


def _print_token_table() -> None:
    """The shipped lifter's measured token trade-off (benchmarks/tokens.py --write), if it matches the file."""
    import json

    from hotdemo.core.paths import bundled_lifter_path
    from hotdemo.io.weights import sha256_file

    lp = bundled_lifter_path()
    p = lp.with_name(lp.stem + ".tokens.json")
    try:
        rec = json.loads(p.read_text())
    except (OSError, ValueError):
        return
    if rec.get("lifter_sha256") != sha256_file(lp):
        return  # measured on another file
    from rich.table import Table

    noises = list(rec["rows"][0]["mpjpe_mm"]) if rec.get("rows") else []
    t = Table(title=f"shipped lifter: tokens kept after pruning (--tokens N; trained with {rec['trained_tokens']} "
                    f"of {rec['frames']} frames)")
    for col in ["tokens"] + [f"MPJPE {n} (mm)" for n in noises] + ["lifter ms / frame", "time vs trained"]:
        t.add_column(col)
    for r in rec["rows"]:
        t.add_row(str(r["tokens"]), *[f"{r['mpjpe_mm'][n]:.1f}" for n in noises], f"{r['lifter_ms_per_frame']:.2f}",
                  f"{r['time_vs_trained']:.2f}x" if r.get("time_vs_trained") else "-")
    Console().print(t)
    Console().print(escape(f"measured by `{rec['command']}` (S9/S11 subset, our Human3.6M reconstruction)"), highlight=False)


weights_app = _Typer(help="List, download and verify model weights.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")

WeightNamesArg = typer.Argument(None, help="Manifest names (default: all).", show_default=False)


def _weight_specs(names: Optional[List[str]]):
    from hotdemo.io.weights import all_specs, get_spec

    if not names:
        return all_specs()
    specs = []
    for n in names:
        s = get_spec(n)
        if s is None:
            raise InputError(f"unknown weights {n!r}; known: {', '.join(x.name for x in all_specs())}")
        specs.append(s)
    return specs


@weights_app.command("list")
@handle_errors
def weights_list(weights_dir: Optional[Path] = WeightsDirOpt) -> None:
    """Show the default models (downloaded and shipped): file, size, licence, sha256, local copy."""
    from rich.markup import escape
    from rich.table import Table

    from hotdemo.io.weights import checksum_note, format_size, search_dirs, status

    table = Table(title="hotdemo weights")
    for col in ("name", "kind", "file", "size", "licence", "checked by", "local copy"):
        table.add_column(col, overflow="fold")
    rows = status(weights_dir)
    digests = []
    for spec, path in rows:
        size = spec.size if spec.size is not None or path is None else path.stat().st_size
        how, known = checksum_note(spec, path)
        digests += known
        table.add_row(
            spec.name, spec.kind, spec.filename, format_size(size), escape(spec.licence.split(" (")[0]), escape(how),
            escape(str(path)) + (" (shipped)" if spec.shipped else "") if path
            else ("[red]missing, reinstall hotdemo[/]" if spec.shipped else "[dim]not downloaded[/]"),
        )
    out = Console()
    out.print(table)
    out.print("sha256 (sha256sum format; pinned, or recorded on first download):", highlight=False)
    for digest, name, where in digests:
        note = "  # recorded on first download" if where != "pinned" else ""
        out.print(f"  {digest}  {escape(name)}{note}", highlight=False, soft_wrap=True)
    out.print(escape("searched: " + ", ".join(str(d) for d in search_dirs(weights_dir))), highlight=False, soft_wrap=True)


@weights_app.command("download")
@handle_errors
def weights_download(names: Optional[List[str]] = WeightNamesArg, weights_dir: Optional[Path] = WeightsDirOpt) -> None:
    """Download weights into the cache ($HOTDEMO_HOME/weights), verifying their checksums.

    Every file is tried; each failure is reported and the exit code is 3 if any failed."""
    from hotdemo.io.weights import download_all

    out = Console()
    results = download_all(_weight_specs(names), weights_dir=weights_dir)
    failed = [(s, r) for s, r in results if isinstance(r, Exception)]
    for spec, r in results:
        if isinstance(r, Exception):
            console.print(f"[bold red]error:[/] {escape(str(r))}", highlight=False, soft_wrap=True)
        else:
            note = " (shipped with hotdemo)" if spec.shipped else ""
            out.print(f"[green]ok[/] {spec.name}: {escape(str(r))}{note}", highlight=False, soft_wrap=True)
    if failed:
        _fail(f"{len(failed)} of {len(results)} weights files failed: {', '.join(s.name for s, _ in failed)}", 3)


@weights_app.command("verify")
@handle_errors
def weights_verify(
    names: Optional[List[str]] = typer.Argument(None, help="Manifest names or weights files (default: all local copies).", show_default=False),
    weights_dir: Optional[Path] = WeightsDirOpt,
) -> None:
    """Check local weights files against their manifest checksums (exit 3 if any is corrupted)."""
    from hotdemo.core.errors import WeightsError
    from hotdemo.io.weights import find_local, verify

    out = Console()
    bad = 0
    targets = names or [s.name for s in _weight_specs(None) if find_local(s, weights_dir)]
    if not targets:
        out.print("no weights downloaded yet; nothing to verify (`hotdemo weights download`)")
    for n in targets:
        try:
            out.print(f"[green]ok[/] {escape(n)}: {escape(str(verify(n, weights_dir=weights_dir)))}",
                      highlight=False, soft_wrap=True)
        except WeightsError as e:
            bad += 1
            console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(3)


def _print_result(result) -> None:
    c = Console()
    c.print(
        f"[green]done[/] {result.frames} frames, {result.people} "
        f"{'person' if result.people == 1 else 'people'} in {result.seconds:.1f} s -> {escape(str(result.out_dir))}",
        highlight=False, soft_wrap=True,
    )
    for p in result.outputs:
        c.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
