"""Functions behind ``python -m hotdemo.train`` and ``hotdemo train`` / ``hotdemo eval``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Union

import torch

from hotdemo.core.camera import load_cameras
from hotdemo.lift.checkpoint import read_lifter_checkpoint
from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError
from hotdemo.io.files import atomic_torch_save, atomic_write_json
from hotdemo.core.paths import bundled_lifter_path, shared_dir
from hotdemo.train.data import TEST_SUBJECTS, load_motion
from hotdemo.train.evaluate import DISCLAIMER, EvalResult, evaluate, format_table, parse_noise, setting_label

if TYPE_CHECKING:  # imported where used (build_train_config)
    from hotdemo.train.trainer import TrainConfig

PathLike = Union[str, os.PathLike]


#: where the training / evaluation data is looked for inside ``$HOTDEMO_SHARED``
SHARED_DATA = Path("data") / "h36m" / "data_3d_h36m_expmap.npz"
SHARED_CAMERAS = Path("data") / "h36m" / "cameras.json"


def default_data_path() -> Optional[Path]:
    """``$HOTDEMO_SHARED/data/h36m/data_3d_h36m_expmap.npz`` when set and present, else None.

    No folder beside the checkout is assumed: without ``$HOTDEMO_SHARED`` the data must be
    given (``--data``)."""
    d = shared_dir(beside_checkout=False)
    p = d / SHARED_DATA if d else None
    return p if p is not None and p.is_file() else None


def default_cameras_path() -> Optional[Path]:
    d = shared_dir(beside_checkout=False)
    p = d / SHARED_CAMERAS if d else None
    return p if p is not None and p.is_file() else None


def resolve_inputs(data: Optional[PathLike], cameras: Optional[PathLike]) -> tuple:
    """The data and cameras files: given, else from ``$HOTDEMO_SHARED``; InputError when not found."""
    dp = Path(data) if data else default_data_path()
    cp = Path(cameras) if cameras else (Path(dp).with_name("cameras.json") if dp and Path(dp).with_name("cameras.json").is_file()
                                        else default_cameras_path())
    if dp is None:
        env = os.environ.get("HOTDEMO_SHARED")
        where = (f"$HOTDEMO_SHARED={env} has no {SHARED_DATA.as_posix()}" if env
                 else "$HOTDEMO_SHARED is not set")
        raise InputError(f"no 3D motion data given ({where}); pass --data data_3d_h36m.npz, "
                         f"or set $HOTDEMO_SHARED to a folder with {SHARED_DATA.as_posix()}")
    if not dp.is_file():
        raise InputError(f"3D motion data not found: {dp}; pass --data data_3d_h36m.npz")
    if cp is None or not cp.is_file():
        raise InputError(f"camera file not found{': ' + str(cp) if cp else ''}; pass --cameras cameras.json")
    return dp, cp


def build_train_config(options: dict) -> TrainConfig:
    """A :class:`TrainConfig` from parsed options: defaults, then ``options['config']`` (a JSON
    file such as a run's ``config.json``), then every other option given; ``aug_<name>`` keys set
    augmentation fields. Paths are resolved as for evaluation; InputError on a bad config file."""
    from hotdemo.train.augment import AugmentConfig
    from hotdemo.train.trainer import TrainConfig

    opts = {k: v for k, v in options.items() if v is not None and k != "command"}
    base: dict = {}
    if opts.get("config"):
        cp = Path(opts.pop("config"))
        try:
            base = json.loads(cp.read_text())
            if not isinstance(base, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            raise InputError(f"{cp}: cannot read the training config ({e})") from None
    opts.pop("config", None)
    names = {f for f in TrainConfig.__dataclass_fields__}
    unknown = sorted(k for k in base if k not in names)
    if unknown:
        raise InputError(f"unknown training config keys: {', '.join(unknown)}")
    aug = dict(base.pop("augment", {}) or {})
    aug_names = set(AugmentConfig.__dataclass_fields__)
    bad_aug = sorted(k for k in aug if k not in aug_names)
    if bad_aug:
        raise InputError(f"unknown augmentation keys in the config: {', '.join(bad_aug)}")
    for k in list(opts):
        if k.startswith("aug_"):
            aug[k[4:]] = opts.pop(k)
    base.update({k: v for k, v in opts.items() if k in names})
    if base.get("budget_minutes") and "steps" not in base:
        base["steps"] = 10 ** 9  # a time budget alone: the clock ends the run, not a step count
    if not base.get("run_dir"):
        raise InputError("pass --run-dir (the run folder)")
    dp, cp = resolve_inputs(base.get("data") or None, base.get("cameras") or None)
    base["data"], base["cameras"] = str(dp), str(cp)
    base["augment"] = aug
    try:
        return TrainConfig.from_dict(base)
    except TypeError as e:
        raise InputError(f"bad training config: {e}") from None


def run_evaluation(
    checkpoint: Optional[PathLike] = None,
    data: Optional[PathLike] = None,
    cameras: Optional[PathLike] = None,
    noise: str = "both",
    flip: bool = True,
    subjects: tuple = TEST_SUBJECTS,
    max_sequences: Optional[int] = None,
    json_out: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
    threads: int = 2,
    log: Callable[[str], None] = print,
    device: str = "auto",
    lifter: Optional[str] = None,
    smooth: bool = True,
    bones: bool = True,
    reproject: bool = True,
) -> List[EvalResult]:
    """Evaluate a lifter (default: the shipped lifter, :func:`hotdemo.core.paths.bundled_lifter_path`) and print the table.

    The sequences are lifted by the same :class:`hotdemo.lift.lifter.Lifter` that ``hotdemo run`` /
    ``lift`` use (:func:`hotdemo.lift.lifter.load_lifter`: flip, overlapping windows, root handling and
    output units from the checkpoint, agreement with the 2D, constant bone lengths, smoothing). ``lifter``: a family name for an official
    checkpoint whose keys are ambiguous. ``noise``: "clean", "noisy", "both", the name of a 2D
    error model (:mod:`hotdemo.train.errors2d`), "models", "all", or several comma-separated
    (:func:`hotdemo.train.evaluate.parse_noise`).
    """
    settings = parse_noise(noise)  # a bad --noise fails before anything is loaded
    dev = resolve_device(device)  # a bad --device fails before anything is loaded
    torch.set_num_threads(max(1, threads))
    from hotdemo.lift.lifter import default_weights_path, load_lifter

    ckpt = Path(checkpoint) if checkpoint else default_weights_path()
    from hotdemo.post.refine import PostSettings

    lift = load_lifter(lifter, str(ckpt), device=dev, flip=flip)
    post = PostSettings.from_options(smooth=smooth, bones=bones, reproject=reproject)
    lift.model.float()
    dp, cp = resolve_inputs(data, cameras)
    motion = load_motion(dp, cache_dir)
    cams = load_cameras(cp)
    missing = [s for s in subjects if s not in cams or not motion.subset([s])]
    if missing:
        raise InputError(f"subjects {', '.join(missing)} have no data or no cameras in {dp} / {cp}")
    results = []
    for setting in settings:
        log(f"evaluating {ckpt.name} ({lift.spec.name}, root {lift.root}, output {lift.output}) on "
            f"{', '.join(subjects)} ({setting_label(setting)}) ...")
        results.append(evaluate(lift, motion, cams, subjects=subjects, noise=setting, max_sequences=max_sequences,
                                post=post))
    table = format_table(results)
    log(f"\n{ckpt}: MPJPE (P1), P-MPJPE (P2) in mm, MPJVE in mm/frame at 50 fps; subjects {', '.join(subjects)}, "
        f"4 cameras, flip {'on' if flip else 'off'}\n")
    log(table)
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out, evaluation_record(results, checkpoint=str(ckpt), lifter=lift.spec.name,
                                                 subjects=list(subjects), flip=flip, smooth=smooth, bone_lengths=bones,
                                                 reproject=reproject,
                                                 root=lift.root,
                                                 output=lift.output, max_sequences=max_sequences), indent=1)
    return results


def evaluation_record(results: List[EvalResult], **meta) -> dict:
    """What ``hotdemo eval --json`` writes: ``meta`` (checkpoint, lifter, subjects, flip, ...), then
    ``results`` (one :meth:`EvalResult.to_dict` per 2D setting) and the disclaimer; read back by
    :func:`hotdemo.train.compare.read_comparison`."""
    return {**meta, "results": [r.to_dict() for r in results], "note": DISCLAIMER}


def read_evaluation_record(path: PathLike) -> dict:
    """A ``hotdemo eval --json`` file (:func:`evaluation_record`) read back; InputError naming the
    file when it is not one (every ``results`` entry needs its ``setting`` and ``average``)."""
    try:
        rec = json.loads(Path(path).read_text())
        if not all(isinstance(r["average"], dict) and isinstance(r["setting"], str) for r in rec["results"]):
            raise ValueError("a result without its setting or average")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a `hotdemo eval --json` record ({e})") from None
    return rec


def eval_summary(paths: List[PathLike], checkpoint: Optional[PathLike] = None) -> dict:
    """The averages of ``hotdemo eval --json`` files, for a lifter file's ``'eval'`` metadata:
    ``{'subjects', 'flip', 'smooth', 'bone_lengths', 'reproject', 'sequences': 'all' or N, <setting>: {'mpjpe', 'p_mpjpe', 'mpjve',
    'frames'}, ..., 'note'}``. With ``checkpoint``, every file must have evaluated that checkpoint
    (same resolved path), so that figures of another run cannot be stored by mistake."""
    out: dict = {}
    for p in paths:
        rec = read_evaluation_record(p)
        try:
            meta = {k: rec[k] for k in ("subjects", "flip", "smooth", "max_sequences")}
        except KeyError as e:
            raise InputError(f"{p}: not a `hotdemo eval --json` record (no {e})") from None
        meta["bone_lengths"] = rec.get("bone_lengths", False)  # records from before the fit: without it
        meta["reproject"] = rec.get("reproject", False)  # records from before hotdemo.post.reproject: without it
        if checkpoint is not None and Path(rec.get("checkpoint", "")).resolve() != Path(checkpoint).resolve():
            raise InputError(f"{p} evaluated {rec.get('checkpoint')}, not {checkpoint}")
        meta["sequences"] = meta.pop("max_sequences") or "all"
        for k, v in meta.items():
            if out.setdefault(k, v) != v:
                raise InputError(f"{p}: {k} = {v!r}, but another file has {out[k]!r}")
        for r in rec["results"]:
            out[r["setting"]] = {k: float(v) for k, v in r["average"].items()}
    out["note"] = DISCLAIMER
    return out


def export_weights(src: PathLike, dst: PathLike, half: bool = True, extra: Optional[dict] = None) -> Path:
    """Write a run's checkpoint (its ``last.pt``) as a shippable lifter file: fp16 weights, no optimizer, metadata kept.

    The result is ``{'model_name', 'config', 'state_dict', ...metadata}``; the lifter loads fp16
    tensors into an fp32 model.
    """
    ck = read_lifter_checkpoint(src)
    sd = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in ck.state_dict.items()}
    out = {**ck.meta, **(extra or {}), "model_name": ck.family, "config": ck.config, "state_dict": sd}
    out["precision"] = "float16" if half else "float32"
    # root handling and units as the reader determined them (hotdemo's trainer: "subtract", metres)
    out["root_mode"], out["output_units"] = ck.root, ck.output
    atomic_torch_save(out, dst)
    if Path(dst).resolve() == bundled_lifter_path().resolve():  # replacing the shipped lifter: its pinned checksum too
        write_sha256_file(dst)
    return Path(dst)


def write_sha256_file(path: PathLike) -> Path:
    """Write ``<path>.sha256`` (``sha256sum`` format) atomically; the shipped lifter's checksum
    that ``hotdemo weights verify`` checks."""
    from hotdemo.io.files import atomic_write
    from hotdemo.io.weights import sha256_file

    path = Path(path)
    line = f"{sha256_file(path)}  {path.name}\n"
    return atomic_write(path.with_name(path.name + ".sha256"), lambda f: f.write(line), binary=False)
