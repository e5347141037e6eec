"""The training commands, one implementation for ``hotdemo train|eval`` and
``python -m hotdemo.train train|eval|cache|compare|export``.

Defaults are :class:`hotdemo.train.trainer.TrainConfig`'s and
:class:`hotdemo.train.augment.AugmentConfig`'s (``train``) and
:func:`hotdemo.train.commands.run_evaluation`'s (``eval``); Typer shows them. A training option
that is not on the command line keeps the ``--config`` file's value (the parameter's source
tells given from default). Built only when a training command is asked for: the defaults need
torch imported.
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer

from hotdemo.cli.base import _Typer, handle_errors
from hotdemo.train.augment import AugmentConfig
from hotdemo.train.commands import run_evaluation
from hotdemo.train.trainer import TrainConfig

train_app = _Typer(help="Train, evaluate and export lifters.", no_args_is_help=True,
                   context_settings={"help_option_names": ["-h", "--help"]})

class Autocast(str, Enum):
    bf16 = "bf16"


_DATA_HELP = "data_3d_h36m.npz-style 3D motion (default: $HOTDEMO_SHARED/data/h36m/data_3d_h36m_expmap.npz)."
_CAMERAS_HELP = "Human3.6M cameras.json (default: beside --data, else $HOTDEMO_SHARED's)."

#: TrainConfig fields with their help, in help order
_TRAIN_FIELDS = (
    ("model", "Lifter family, see `hotdemo lifters`."), ("frames", "Frames per clip (the model's window)."),
    ("dim", "Channels."), ("depth", "Block pairs."), ("heads", "Attention heads."), ("mlp_ratio", "MLP hidden / dim."),
    ("token_num", "HoT: tokens kept after pruning."), ("layer_index", "HoT: block pair after which tokens are pruned."),
    ("drop_path", "Stochastic depth."), ("batch_size", "Clips per step."), ("lr", "Peak learning rate."),
    ("lr_min", "Final learning rate."), ("weight_decay", "AdamW weight decay."),
    ("warmup_steps", "Linear warm-up steps."), ("steps", "Step limit (cosine over steps unless --budget-minutes)."),
    ("seed", "Random seed."), ("threads", "torch CPU threads."), ("device", "auto (CUDA when available), cpu or cuda[:N]."),
    ("max_minutes", "Stop (resumably) after this many minutes."),
    ("budget_minutes", "Cosine schedule over this much wall-clock time of training, then stop."),
    ("checkpoint_every", "Steps between last.pt saves."), ("val_every", "Steps between quick validations."),
    ("val_sequences", "Sequences in the quick validation."),
)


def _train_signature() -> inspect.Signature:
    P = inspect.Parameter
    d = TrainConfig()
    types = {f.name: f.type for f in fields(TrainConfig)}

    def p(name, annotation, info):
        return P(name, P.KEYWORD_ONLY, default=info, annotation=annotation)

    params = [
        P("ctx", P.KEYWORD_ONLY, annotation=typer.Context),
        p("run_dir", Optional[Path], typer.Option(None, "--run-dir", help="Run folder (logs, checkpoints); an "
          "existing run resumes from its last.pt. Required unless in --config.")),
        p("config", Optional[Path], typer.Option(None, "--config", help="JSON training config (e.g. a run's "
          "config.json); the other options override it.")),
        p("init_from", Optional[Path], typer.Option(None, "--init-from", help="Start a new run from these weights "
          "(a run's last.pt / best.pt, or a shipped file).")),
        p("init_resample", bool, typer.Option(d.init_resample, "--init-resample", help="With --init-from: linearly "
          "stretch the frame / token embeddings to --frames and --token-num (e.g. start an 81-frame model from "
          "the shipped 27-frame one).")),
        p("data", Optional[Path], typer.Option(None, "--data", help=_DATA_HELP)),
        p("cameras", Optional[Path], typer.Option(None, "--cameras", help=_CAMERAS_HELP)),
        p("cache_dir", Optional[Path], typer.Option(None, "--cache-dir", help="Folder for the compact 17-joint cache.")),
        p("sdpa_math", Optional[bool], typer.Option(None, "--sdpa-math/--no-sdpa-math", show_default=False,
          help="Force SDPA's plain math kernel for training (default: on the CPU only; benchmarks/train_step.py).")),
        p("autocast", Optional[Autocast], typer.Option(None, "--autocast",
          help="Run the forward pass in bfloat16 autocast (for GPUs; slow on the CPU; benchmarks/train_step.py).")),
    ]
    for name, hlp in _TRAIN_FIELDS:
        v = getattr(d, name)
        typ = {"int": int, "float": float, "str": str}.get(str(types[name]).replace("Optional[", "").rstrip("]"), str)
        params.append(p(name, Optional[typ] if v is None else typ,
                        typer.Option(v, "--" + name.replace("_", "-"), help=hlp)))
    aug = AugmentConfig()
    for f in fields(AugmentConfig):
        v = getattr(aug, f.name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            params.append(p("aug_" + f.name, type(v), typer.Option(v, "--aug-" + f.name.replace("_", "-"),
                                                                    help=f"Augmentation: {f.name}.")))
    return inspect.Signature(params)


def given_options(ctx: Any, values: Dict[str, Any]) -> Dict[str, Any]:
    """The options given on the command line (or by environment), paths as strings."""
    def given(k: str) -> bool:
        s = ctx.get_parameter_source(k)
        return s is not None and s.name in ("COMMANDLINE", "ENVIRONMENT")

    return {k: (str(v) if isinstance(v, Path) else v.value if isinstance(v, Enum) else v)
            for k, v in values.items() if given(k)}


@train_app.command("train")
@handle_errors
def train_cmd(ctx: typer.Context, **values: Any) -> None:
    """Train (or resume) a lifter on Human3.6M-style 3D motion (see the shipped lifter's model card,
    hotdemo/bundled/README.md). A run's config.json given to --config reproduces it."""
    from hotdemo.train.commands import build_train_config
    from hotdemo.train.trainer import train

    cfg = build_train_config(given_options(ctx, values))
    train(cfg, log=lambda m: typer.echo(m))


train_cmd.__signature__ = _train_signature()  # type: ignore[attr-defined]

_EVAL = {k: p.default for k, p in inspect.signature(run_evaluation).parameters.items()}


@train_app.command("eval")
@handle_errors
def eval_cmd(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Lifter checkpoint, any file "
                                              "--lifter-checkpoint takes (default: the shipped lifter)."),
    lifter: Optional[str] = typer.Option(None, "--lifter", help="Lifter family, for an official file whose keys "
                                         "fit several (see `hotdemo lifters`)."),
    no_smooth: bool = typer.Option(False, "--no-smooth", help="Turn off the output smoothing (on in run/lift)."),
    no_bone_lengths: bool = typer.Option(False, "--no-bone-lengths", help="Turn off the constant-bone-length fit "
                                         "(on in run/lift)."),
    no_reproject: bool = typer.Option(False, "--no-reproject", help="Turn off the agreement with the 2D (on in "
                                      "run/lift)."),
    data: Optional[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    cameras: Optional[Path] = typer.Option(None, "--cameras", help=_CAMERAS_HELP),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Folder for the compact 17-joint cache."),
    noise: str = typer.Option(_EVAL["noise"], "--noise", help="2D setting(s): clean, noisy (the fixed "
                              "detector-like noise), both, a 2D error model (jitter, drift-0.1s, drift-0.5s, "
                              "drift-2s, bias, scale, outliers, swaps, dropouts, truncation, mixed), models (all "
                              "of them), all, or several comma-separated."),
    no_flip: bool = typer.Option(False, "--no-flip", help="Turn off left/right flip averaging of the 3D lifter."),
    max_sequences: Optional[int] = typer.Option(None, "--max-sequences", min=1, help="Evaluate a subset of "
                                                "sequences (quick)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON."),
    threads: int = typer.Option(_EVAL["threads"], "--threads", help="torch CPU threads."),
    device: str = typer.Option(_EVAL["device"], "--device", help="auto (CUDA when available), cpu or cuda[:N]."),
) -> None:
    """MPJPE / P-MPJPE / MPJVE per action on S9/S11 through the 4 real cameras (not comparable with
    published H36M numbers)."""
    run_evaluation(checkpoint, data, cameras, noise=noise, flip=not no_flip, max_sequences=max_sequences,
                   json_out=json_out, cache_dir=cache_dir, threads=threads, log=lambda m: typer.echo(m),
                   device=device, lifter=lifter, smooth=not no_smooth, bones=not no_bone_lengths,
                   reproject=not no_reproject)


@train_app.command("cache")
@handle_errors
def cache_cmd(
    dst: Path = typer.Argument(..., help="Output .npz (e.g. .device/h36m17_f16.npz).", show_default=False),
    data: Optional[Path] = typer.Option(None, "--data", help=_DATA_HELP),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Folder for the compact 17-joint cache."),
) -> None:
    """Write the compact float16 17-joint motion file (for a GPU machine)."""
    from hotdemo.train.commands import resolve_inputs
    from hotdemo.train.data import load_motion, save_compact

    data_path, _ = resolve_inputs(data, None)
    out = save_compact(load_motion(data_path, cache_dir), dst)
    typer.echo(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")


@train_app.command("compare")
@handle_errors
def compare_cmd(
    folder: Path = typer.Argument(..., help="Folder with <model>_s<seed>/ runs and <model>_s<seed>.eval.json "
                                  "evaluations.", show_default=False),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the per-seed figures as JSON here."),
) -> None:
    """Tabulate a HoT vs MixSTE comparison over seeds (tools/gpu_compare.sh)."""
    from hotdemo.core.errors import InputError
    from hotdemo.io.files import atomic_write_json
    from hotdemo.train.compare import format_comparison, read_comparison

    res = read_comparison(folder)
    if not res:
        raise InputError(f"no finished comparison runs (<model>_s<seed>.eval.json) in {folder}")
    typer.echo(format_comparison(res))
    if json_out:
        atomic_write_json(json_out, res, indent=1)


@train_app.command("export")
@handle_errors
def export_cmd(
    src: Path = typer.Argument(..., help="A run's checkpoint (last.pt).", show_default=False),
    dst: Path = typer.Argument(..., help="The lifter file to write.", show_default=False),
    fp32: bool = typer.Option(False, "--fp32", help="Keep float32 weights."),
    eval_json: Optional[List[Path]] = typer.Option(None, "--eval", metavar="JSON", help="`hotdemo eval --json` "
                                                   "results of this checkpoint to store in the file's 'eval' "
                                                   "metadata (repeatable: e.g. the clean and the noisy run)."),
) -> None:
    """Write a run's checkpoint (last.pt) as a shippable fp16 lifter file."""
    from hotdemo.train.commands import eval_summary, export_weights

    extra = {"eval": eval_summary(list(eval_json), src)} if eval_json else None
    typer.echo(str(export_weights(src, dst, half=not fp32, extra=extra)))


def click_group() -> Any:
    return typer.main.get_command(train_app)  # type: ignore[return-value]


def main(argv: Optional[List[str]] = None, prog_name: str = "python -m hotdemo.train") -> int:
    """Run a training command line; returns the exit code (a usage error: 2)."""
    try:
        click_group().main(args=argv, prog_name=prog_name, standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0
