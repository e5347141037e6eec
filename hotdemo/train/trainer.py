"""The training loop: AdamW, warm-up + cosine schedule, resumable checkpoints, CSV/JSON logs.

A run lives in one folder (``run_dir``):

* ``config.json`` - the :class:`TrainConfig` (model size, data, augmentations, schedule);
* ``last.pt`` - model, optimizer and step, plus the family (``model_name``), the full model
  config (``model_config``), ``root_mode`` and ``output_units``; written every
  ``checkpoint_every`` steps and at the end; a run started again on the same folder resumes from it;
* ``best.pt`` - the weights with the lowest validation MPJPE, in hotdemo's checkpoint format
  (``{'model_name', 'config', 'state_dict', 'root_mode', 'output_units', ...}``).

Both load as lifters (:func:`hotdemo.lift.checkpoint.read_lifter_checkpoint`, ``--lifter-checkpoint``).
Every family trains on the same clips with its own input convention (3-channel families get a
confidence of 1) and its official loss (``LifterSpec.loss``); the target is metres, root-relative,
and the loss sees the prediction with its predicted pelvis subtracted, so the trained weights need
root handling "subtract" and output units "metres" (written into both files).
* ``train_log.csv`` (step, lr, loss terms, clips/s, elapsed) and ``val_log.csv`` (step, quick
  validation MPJPE / P-MPJPE in mm on a subset of the test subjects, clean 2D).

Batch ``i`` is generated from ``numpy.random.default_rng([seed, i])`` and the model's dropout
from ``torch.manual_seed(seed + i)``, so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from hotdemo.core.camera import Camera, load_cameras
from hotdemo.lift.checkpoint import load_checkpoint, save_checkpoint
from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError
from hotdemo.io.files import atomic_torch_save, atomic_write_json
from hotdemo.lift.lifter import Lifter
from hotdemo.lift.registry import build_model, get_spec, model_config
from hotdemo.post.refine import PostSettings
from hotdemo.train.augment import AugmentConfig, make_batch
from hotdemo.train.data import TEST_SUBJECTS, TRAIN_SUBJECTS, MotionData, load_motion
from hotdemo.train.evaluate import DISCLAIMER, evaluate
from hotdemo.train.losses import LOSSES


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved as ``config.json`` in the run folder)."""

    data: str = ""  # data_3d_h36m.npz-style file
    cameras: str = ""  # cameras.json
    run_dir: str = "runs/train"
    cache_dir: Optional[str] = None
    model: str = "hot_mixste"
    # defaults: the shipped model's size (hotdemo/bundled/README.md); `hotdemo train` uses the same
    frames: int = 27
    dim: int = 128
    depth: int = 4
    heads: int = 8
    mlp_ratio: float = 2.0
    token_num: int = 9
    layer_index: int = 1
    drop_path: float = 0.0
    batch_size: int = 32
    lr: float = 1e-3
    lr_min: float = 2e-5
    weight_decay: float = 0.1
    warmup_steps: int = 100
    steps: int = 3000
    grad_clip: float = 1.0
    seed: int = 1126
    threads: int = 2
    device: str = "auto"  # "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
    sdpa_math: Optional[bool] = None  # force SDPA's plain math kernel; None: on the CPU only (faster there)
    autocast: Optional[str] = None  # "bf16": forward in bfloat16 autocast (for GPUs; slow on the CPU)
    max_minutes: Optional[float] = None  # stop (resumably) after this much wall-clock time
    budget_minutes: Optional[float] = None  # time-based schedule: cosine over this much training time, then stop
    init_from: Optional[str] = None  # start a new run from these weights (a last.pt / best.pt / shipped file)
    init_resample: bool = False  # with init_from: stretch frame/token embeddings to this run's frames (27 -> 81)
    checkpoint_every: int = 100
    val_every: int = 250
    val_sequences: int = 6
    log_every: int = 10
    train_subjects: tuple = TRAIN_SUBJECTS
    val_subjects: tuple = TEST_SUBJECTS
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def model_kwargs(self) -> dict:
        """The fields of this config that the family's model config has (frames, dim, ...)."""
        from hotdemo.lift.registry import get_spec

        try:
            spec = get_spec(self.model)
        except ValueError as e:
            raise InputError(str(e)) from None
        return {k: getattr(self, k) for k in ("frames", "dim", "depth", "heads", "mlp_ratio", "drop_path",
                                              "token_num", "layer_index") if k in spec.fields}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train_subjects"] = list(self.train_subjects)
        d["val_subjects"] = list(self.val_subjects)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        aug = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.pop("augment", {}).items()})
        d["train_subjects"] = tuple(d.get("train_subjects", TRAIN_SUBJECTS))
        d["val_subjects"] = tuple(d.get("val_subjects", TEST_SUBJECTS))
        return cls(augment=aug, **d)


def lr_at(step: int, cfg: TrainConfig, progress: Optional[float] = None) -> float:
    """Linear warm-up for ``warmup_steps``, then cosine decay from ``lr`` to ``lr_min``.

    The cosine runs over the steps (``step / steps``) or, with a time budget, over ``progress``
    (the fraction of ``budget_minutes`` spent), which keeps the schedule complete on a machine
    whose speed varies (shared CPU).
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if progress is None:
        progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    p = min(1.0, max(0.0, progress))
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * p))


def _append_csv(path: Path, row: Dict[str, float]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


#: how hotdemo-trained weights are to be read: the loss sees root-subtracted predictions in metres
TRAINED_ROOT, TRAINED_UNITS = "subtract", "metres"
#: the validation's post step: that of ``hotdemo eval`` without the smoothing
VALIDATION_POST = PostSettings.from_options(smooth=False)


def model_step(model, spec, x: torch.Tensor, y: torch.Tensor, loss_fn):
    """One forward and the family's loss on a batch: x (B, T, 17, 2) screen-normalised (a
    confidence channel of 1 is appended for 3-channel families), y (B, T, 17, 3) metres."""
    if spec.input_channels == 3:
        x = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)
    if spec.seq2seq:
        pred, target = model(x), y
    else:
        pred, target = model.train_forward(x, y)
    pred = pred.float()  # the loss in float32 also under autocast
    return loss_fn(pred - pred[:, :, :1], target)


def attention_kernel(dev: torch.device, sdpa_math: Optional[bool]):
    """The context the training steps run in: SDPA forced to its math kernel when ``sdpa_math``
    (None: on the CPU, where it is faster for training than the fused CPU kernel; measured by
    ``benchmarks/train_step.py``), else no change."""
    if sdpa_math is None:
        sdpa_math = dev.type == "cpu"
    if not sdpa_math:
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


#: ``TrainConfig.autocast`` values: the reduced precision the forward pass may run in. bfloat16
#: only: it needs no loss scaling (float16 would). Measured by ``benchmarks/train_step.py``.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16}


def autocast_dtype(name: Optional[str]) -> Optional[torch.dtype]:
    """The dtype of an ``autocast`` setting (None: none); InputError naming the known ones."""
    if name is not None and name not in AUTOCAST_DTYPES:
        raise InputError(f"unknown autocast {name!r}; known: {', '.join(AUTOCAST_DTYPES)}")
    return None if name is None else AUTOCAST_DTYPES[name]


def optimizer_step(model, spec, opt, x: torch.Tensor, y: torch.Tensor, loss_fn, *, grad_clip: float = 1.0,
                   sdpa_math: Optional[bool] = None, autocast: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """One training step as :func:`train` takes it, on a batch already on the model's device:
    forward and the family's loss (:func:`model_step`, forward under ``autocast`` when given)
    in :func:`attention_kernel`, backward, gradient-norm clipping (``grad_clip`` 0: none), the
    optimizer's step. Returns the loss terms, detached (the total is ``'loss'``)."""
    amp = torch.autocast(x.device.type, dtype=autocast_dtype(autocast)) if autocast else nullcontext()
    with attention_kernel(x.device, sdpa_math):
        with amp:
            losses = model_step(model, spec, x, y, loss_fn)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return {k: v.detach() for k, v in losses.items()}


def train(
    cfg: TrainConfig,
    data: Optional[MotionData] = None,
    cameras: Optional[Dict[str, List[Camera]]] = None,
    log: Callable[[str], None] = print,
) -> Dict[str, float]:
    """Train (or resume) the run described by ``cfg``; returns the final summary.

    ``data`` / ``cameras`` may be passed in (tests use a tiny synthetic set); otherwise they are
    read from ``cfg.data`` / ``cfg.cameras``.
    """
    torch.set_num_threads(max(1, cfg.threads))
    dev = torch.device(resolve_device(cfg.device))  # a bad --device fails before the run folder is made
    autocast_dtype(cfg.autocast)  # a bad one fails here too
    run = Path(cfg.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = load_motion(cfg.data, cfg.cache_dir)
    if cameras is None:
        cameras = load_cameras(cfg.cameras)
    seqs = data.subset(cfg.train_subjects, min_length=2)
    if not seqs:
        raise InputError(f"no training sequences for subjects {', '.join(cfg.train_subjects)} in the data")
    atomic_write_json(run / "config.json", cfg.to_dict(), indent=1)

    torch.manual_seed(cfg.seed)
    spec = get_spec(cfg.model)
    loss_fn = LOSSES[spec.loss]
    model = build_model(cfg.model, **cfg.model_kwargs())
    marks = {"model_name": cfg.model, "root_mode": TRAINED_ROOT, "output_units": TRAINED_UNITS}
    last = run / "last.pt"
    if cfg.init_from and not last.exists():
        # same architecture and size (up to the resampled token axes), or a clear error
        rep = load_checkpoint(model, cfg.init_from, strict=True, resample=cfg.init_resample)
        more = f"; resampled {', '.join(rep.resampled)}" if rep.resampled else ""
        log(f"initialised from {cfg.init_from} (new optimizer and schedule{more})")
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, elapsed_before = 0, float("inf"), 0.0
    if last.exists():
        state = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])  # moves the optimizer state to the parameters' device
        step, best, elapsed_before = int(state["step"]), float(state["best"]), float(state.get("elapsed", 0.0))
        log(f"resumed {run} at step {step} (best val MPJPE {best:.1f} mm)")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{cfg.model} {cfg.model_kwargs()} - {n_params / 1e6:.2f} M parameters; {len(seqs)} training sequences; "
        f"device {dev}")

    t_start = time.time()
    t_last = t_start
    clips_since = 0
    acc: Dict[str, float] = {}

    def elapsed() -> float:
        return elapsed_before + time.time() - t_start

    def checkpoint() -> None:
        atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "best": best,
                           "elapsed": elapsed(), "config": cfg.to_dict(), "model_config": model_config(model),
                           **marks}, last)

    def validate() -> float:
        nonlocal best
        lifter = Lifter(model, device=str(dev), flip=False, half=False, root=TRAINED_ROOT, output=TRAINED_UNITS)
        res = evaluate(lifter, data, cameras, subjects=cfg.val_subjects, max_sequences=cfg.val_sequences,
                       post=VALIDATION_POST)
        model.train()
        if not res.rows:
            return float("nan")
        av = res.average
        _append_csv(run / "val_log.csv", {"step": step, "mpjpe_mm": round(av["mpjpe"], 2),
                                          "p_mpjpe_mm": round(av["p_mpjpe"], 2), "mpjve_mm": round(av["mpjve"], 3),
                                          "elapsed_s": round(elapsed(), 1)})
        log(f"step {step}: val MPJPE {av['mpjpe']:.1f} mm, P-MPJPE {av['p_mpjpe']:.1f} mm "
            f"({int(av['frames'])} frames, clean 2D, no flip; not comparable with published H36M results)")
        if av["mpjpe"] < best:
            best = av["mpjpe"]
            save_checkpoint(run / "best.pt", model, extra={
                "step": step, "val_mpjpe_mm": best, "train_config": json.loads(json.dumps(cfg.to_dict())),
                "note": DISCLAIMER, "root_mode": TRAINED_ROOT, "output_units": TRAINED_UNITS})
        return av["mpjpe"]

    model.train()
    stopped_early = False
    def progress() -> Optional[float]:
        return None if cfg.budget_minutes is None else elapsed() / (cfg.budget_minutes * 60)

    while step < cfg.steps:
        if cfg.max_minutes is not None and elapsed() - elapsed_before > cfg.max_minutes * 60:
            stopped_early = True
            break
        if cfg.budget_minutes is not None and progress() >= 1.0:
            break
        rng = np.random.default_rng([cfg.seed, step])
        torch.manual_seed(cfg.seed + step)
        x, y = make_batch(rng, data, seqs, cameras, cfg.batch_size, cfg.frames, cfg.augment)
        lr = lr_at(step, cfg, progress())
        for g in opt.param_groups:
            g["lr"] = lr
        losses = optimizer_step(model, spec, opt, torch.from_numpy(x).to(dev, non_blocking=True),
                                torch.from_numpy(y).to(dev, non_blocking=True), loss_fn, grad_clip=cfg.grad_clip,
                                sdpa_math=cfg.sdpa_math, autocast=cfg.autocast)
        step += 1
        clips_since += cfg.batch_size
        for k, v in losses.items():
            acc[k] = acc.get(k, 0.0) + float(v)
        acc["n"] = acc.get("n", 0) + 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            now = time.time()
            n = acc.pop("n")
            row = {"step": step, "lr": f"{lr:.3g}", **{k: round(v / n, 5) for k, v in acc.items()},
                   "clips_per_s": round(clips_since / max(now - t_last, 1e-9), 2), "elapsed_s": round(elapsed(), 1)}
            _append_csv(run / "train_log.csv", row)
            log(" ".join(f"{k}={v}" for k, v in row.items()))
            acc, clips_since, t_last = {}, 0, now
        if step % cfg.checkpoint_every == 0:
            checkpoint()
        if cfg.val_every and step % cfg.val_every == 0:
            validate()
            checkpoint()  # again: a run resumed from here knows this validation (best MPJPE, its time)
    checkpoint()
    if not stopped_early and (not cfg.val_every or step % cfg.val_every):
        validate()  # the final weights
    summary = {"step": step, "steps": cfg.steps, "budget_minutes": cfg.budget_minutes, "best_val_mpjpe_mm": best, "elapsed_s": elapsed(),
               "stopped_early": stopped_early, "parameters": n_params}
    atomic_write_json(run / "summary.json", summary, indent=1)
    log(f"{'stopped (resumable)' if stopped_early else 'finished'} at step {step}/{cfg.steps}; "
        f"best quick-val MPJPE {best:.1f} mm")
    return summary
