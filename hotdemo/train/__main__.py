"""``python -m hotdemo.train {train,eval,export}``: train, evaluate and export lifters.

Examples::

    python -m hotdemo.train train --run-dir /work/train_runs/hot --steps 3000 --max-minutes 70
    python -m hotdemo.train eval --checkpoint /work/train_runs/hot/last.pt --json eval.json
    python -m hotdemo.train export /work/train_runs/hot/last.pt hotdemo/bundled/hot_mixste_h36m.pt --eval eval.json
    python -m hotdemo.train cache .device/h36m17_f16.npz    # compact float16 data for a GPU machine
    python -m hotdemo.train compare gpu_out/cmp             # HoT vs MixSTE over seeds (tools/gpu_compare.sh)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import List, Optional

from hotdemo.core.errors import HotdemoError, InputError
from hotdemo.train.augment import AugmentConfig
from hotdemo.train.trainer import TrainConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hotdemo.train", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train (or resume) a lifter")
    # Every training option defaults to "not given" so that --config values are kept unless the
    # command line overrides them; the help shows TrainConfig's defaults.
    S = argparse.SUPPRESS
    t.add_argument("--config", default=None,
                   help="JSON config to start from (e.g. a run's config.json); other options override it")
    t.add_argument("--data", default=S, help="data_3d_h36m.npz-style file (default: $HOTDEMO_SHARED's data/h36m/data_3d_h36m_expmap.npz)")
    t.add_argument("--cameras", default=S, help="cameras.json (default: beside --data, else $HOTDEMO_SHARED's)")
    t.add_argument("--run-dir", default=S, help="run folder; an existing run resumes from its last.pt (required)")
    t.add_argument("--cache-dir", default=S, help="folder for the compact 17-joint cache")
    t.add_argument("--init-from", default=S,
                   help="start a new run from these weights (a run's last.pt or best.pt, or a shipped file)")
    t.add_argument("--init-resample", action="store_true", default=S,
                   help="with --init-from: linearly stretch the frame / token embeddings to --frames and "
                        "--token-num (e.g. start an 81-frame model from the shipped 27-frame one)")
    t.add_argument("--sdpa-math", action=argparse.BooleanOptionalAction, default=S,
                   help="force SDPA's plain math kernel for training (default: on the CPU only, where a step "
                        "takes 0.83x the time; benchmarks/train_step.py)")
    t.add_argument("--autocast", choices=("bf16",), default=S,
                   help="run the forward pass in bfloat16 autocast (for GPUs; on the CPU a step is 9.5x slower; "
                        "benchmarks/train_step.py)")
    defaults = TrainConfig()
    for name, typ, hlp in [
        ("model", str, "lifter family (see hotdemo lifters)"), ("frames", int, "frames per clip (model window)"),
        ("dim", int, "channels"), ("depth", int, "block pairs"), ("heads", int, "attention heads"),
        ("mlp_ratio", float, "MLP hidden / dim"), ("token_num", int, "HoT: tokens kept after pruning"),
        ("layer_index", int, "HoT: block pair after which tokens are pruned"), ("drop_path", float, "stochastic depth"),
        ("batch_size", int, "clips per step"), ("lr", float, "peak learning rate"), ("lr_min", float, "final lr"),
        ("weight_decay", float, "AdamW weight decay"), ("warmup_steps", int, "linear warm-up steps"),
        ("steps", int, "total steps (cosine schedule length)"), ("seed", int, "random seed"),
        ("threads", int, "torch CPU threads"), ("device", str, "auto, cpu or cuda[:N]"), ("max_minutes", float, "stop (resumably) after this many minutes"),
        ("budget_minutes", float, "time-based cosine schedule over this many minutes of training, then stop"),
        ("checkpoint_every", int, "steps between last.pt saves"), ("val_every", int, "steps between quick validations"),
        ("val_sequences", int, "sequences in the quick validation"),
    ]:
        t.add_argument("--" + name.replace("_", "-"), type=typ, default=S,
                       help=f"{hlp} (default {getattr(defaults, name)})")
    aug = AugmentConfig()
    for f in fields(AugmentConfig):
        v = getattr(aug, f.name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            t.add_argument("--aug-" + f.name.replace("_", "-"), type=type(v), default=S,
                           help=f"augmentation {f.name} (default {v})")

    e = sub.add_parser("eval", help="MPJPE / P-MPJPE / MPJVE per action on S9/S11")
    e.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped hotdemo/bundled/hot_mixste_h36m.pt)")
    e.add_argument("--data", default=None)
    e.add_argument("--cameras", default=None)
    e.add_argument("--cache-dir", default=None)
    e.add_argument("--noise", default="both",
                   help="2D setting(s): clean, noisy (the fixed detector-like noise), both (default), a 2D "
                        "error model (jitter, drift-0.1s, drift-0.5s, drift-2s, bias, scale, outliers, swaps, "
                        "dropouts, truncation, mixed; hotdemo.train.errors2d), models (all of them), all, or "
                        "several comma-separated")
    e.add_argument("--no-flip", action="store_true", help="turn off flip test-time augmentation")
    e.add_argument("--max-sequences", type=int, default=None, help="evaluate a subset of sequences (quick)")
    e.add_argument("--lifter", default=None, help="family of an official checkpoint whose keys fit several")
    e.add_argument("--no-smooth", action="store_true", help="turn off the output smoothing (on in run/lift)")
    e.add_argument("--no-bone-lengths", action="store_true",
                   help="turn off the constant-bone-length fit (on in run/lift)")
    e.add_argument("--no-reproject", action="store_true",
                   help="turn off the agreement with the 2D (on in run/lift)")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    e.add_argument("--json", default=None, help="write the results as JSON here")

    c = sub.add_parser("cache", help="write the compact float16 17-joint motion file (for a GPU machine)")
    c.add_argument("dst", help="output .npz (e.g. .device/h36m17_f16.npz)")
    c.add_argument("--data", default=None, help="data_3d_h36m.npz-style file (default: $HOTDEMO_SHARED's)")
    c.add_argument("--cache-dir", default=None)

    k = sub.add_parser("compare", help="tabulate a HoT vs MixSTE comparison over seeds (tools/gpu_compare.sh)")
    k.add_argument("folder", help="folder with <model>_s<seed>/ runs and <model>_s<seed>.eval.json evaluations")
    k.add_argument("--json", default=None, help="also write the per-seed figures as JSON here")

    x = sub.add_parser("export", help="write a run's checkpoint (last.pt) as a shippable fp16 lifter file")
    x.add_argument("src")
    x.add_argument("dst")
    x.add_argument("--fp32", action="store_true", help="keep float32 weights")
    x.add_argument("--eval", action="append", default=[], metavar="JSON",
                   help="`hotdemo eval --json` results of this checkpoint to store in the file's 'eval' "
                        "metadata (repeatable: e.g. the clean and the noisy run)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            from hotdemo.train.commands import build_train_config
            from hotdemo.train.trainer import train

            cfg = build_train_config(vars(args))
            train(cfg, log=lambda s: print(s, flush=True))
        elif args.command == "eval":
            from hotdemo.train.commands import run_evaluation

            run_evaluation(args.checkpoint, args.data, args.cameras, noise=args.noise, flip=not args.no_flip,
                           max_sequences=args.max_sequences, json_out=args.json, cache_dir=args.cache_dir,
                           threads=args.threads, device=args.device, lifter=args.lifter, smooth=not args.no_smooth,
                           bones=not args.no_bone_lengths, reproject=not args.no_reproject)
        elif args.command == "cache":
            from hotdemo.train.commands import resolve_inputs
            from hotdemo.train.data import load_motion, save_compact

            data_path, _ = resolve_inputs(args.data, None)
            out = save_compact(load_motion(data_path, args.cache_dir), args.dst)
            print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
        elif args.command == "compare":
            from hotdemo.io.files import atomic_write_json
            from hotdemo.train.compare import format_comparison, read_comparison

            res = read_comparison(args.folder)
            if not res:
                raise InputError(f"no finished comparison runs (<model>_s<seed>.eval.json) in {args.folder}")
            print(format_comparison(res))
            if args.json:
                atomic_write_json(args.json, res, indent=1)
        else:
            from hotdemo.train.commands import eval_summary, export_weights

            extra = {"eval": eval_summary(args.eval, args.src)} if args.eval else None
            print(export_weights(args.src, args.dst, half=not args.fp32, extra=extra))
    except HotdemoError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
