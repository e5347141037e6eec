"""One lifter training step, side by side: eager float32, SDPA forced to its plain math kernel,
bfloat16 autocast, and torch.compile.

    python benchmarks/train_step.py                      # 27 frames, 9 tokens (the comparison size), CPU, 1 thread
    python benchmarks/train_step.py --frames 81 --token-num 27 --threads 2   # the shipped size
    python benchmarks/train_step.py --device cuda --threads 16 --json out.json   # on a GPU

A step is the trainer's own (``hotdemo.train.trainer.optimizer_step``): forward, root
subtraction, the family's official loss, backward, gradient clipping, AdamW; "eager fp32" has
SDPA's default kernel choice, the trainer's CPU default is the math kernel. Every variant starts
from the same weights and sees the same batch; the variants run round-robin in one process
(``--repeats`` rounds after a warm-up) so that they share the machine's load, and the medians are
reported with their ratio to eager float32. ``--data`` also times making one augmented batch
(hotdemo.train.augment.make_batch), the CPU-side cost per step that a GPU does not remove.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.lift.registry import build_model, get_spec  # noqa: E402
from hotdemo.train.losses import LOSSES  # noqa: E402
from hotdemo.train.trainer import optimizer_step  # noqa: E402


def make_step(model, device, autocast=None, sdpa_math=False):
    """The trainer's own step (hotdemo.train.trainer.optimizer_step: forward, the family's loss,
    backward, clipping 1.0, AdamW), timed."""
    spec = get_spec(model.bench_family)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    def step(x, y):
        model.train()
        sync(device)
        t0 = time.perf_counter()
        optimizer_step(model, spec, opt, x, y, LOSSES[spec.loss], grad_clip=1.0, sdpa_math=sdpa_math,
                       autocast=autocast)
        sync(device)
        return time.perf_counter() - t0

    return step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="hot_mixste")
    ap.add_argument("--frames", type=int, default=27)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--token-num", type=int, default=9)
    ap.add_argument("--layer-index", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (its first call compiles: minutes)")
    ap.add_argument("--data", default=None, help="data_3d_h36m.npz-style or compact file: also time make_batch")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    kw = dict(frames=a.frames, dim=a.dim, depth=a.depth, heads=8, mlp_ratio=2.0)
    if a.model != "mixste":
        kw.update(token_num=a.token_num, layer_index=a.layer_index)
    base = build_model(a.model, **kw).to(device)
    base.bench_family = a.model
    x = torch.randn(a.batch, a.frames, 17, 2, device=device) * 0.3
    y = torch.randn(a.batch, a.frames, 17, 3, device=device) * 0.3
    y = y - y[:, :, :1]
    variants = {"eager fp32": make_step(copy.deepcopy(base), device),
                "SDPA math kernel": make_step(copy.deepcopy(base), device, sdpa_math=True),
                "bf16 autocast": make_step(copy.deepcopy(base), device, autocast="bf16")}
    compile_s = None
    if not a.no_compile:
        try:
            m = torch.compile(copy.deepcopy(base))
            variants["torch.compile"] = make_step(m, device)
            t0 = time.perf_counter()
            variants["torch.compile"](x, y)  # compiles forward and backward
            compile_s = time.perf_counter() - t0
        except Exception as e:  # a missing compiler etc.: report, keep the others
            print(f"torch.compile unavailable: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            variants.pop("torch.compile", None)
    times = {k: [] for k in variants}
    for step in variants.values():  # warm-up
        step(x, y)
    for _ in range(a.repeats):
        for k, step in variants.items():
            times[k].append(step(x, y))
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med["eager fp32"]
    print(f"{a.model} {kw}, batch {a.batch}, {device}, {a.threads} thread(s), median of {a.repeats} round-robin rounds")
    print(f"{'variant':18s} {'ms/step':>9s} {'vs eager':>9s}")
    for k, v in med.items():
        print(f"{k:18s} {v * 1e3:9.1f} {v / ref:9.3f}")
    if compile_s is not None:
        print(f"(torch.compile's first step, compiling included: {compile_s:.1f} s)")
    result = {"config": {**vars(a), **kw}, "ms_per_step": {k: v * 1e3 for k, v in med.items()},
              "ratio_to_eager": {k: v / ref for k, v in med.items()}, "compile_first_step_s": compile_s}
    if a.data:
        import numpy as np

        from hotdemo.core.camera import load_cameras
        from hotdemo.train.augment import AugmentConfig, make_batch
        from hotdemo.train.data import TRAIN_SUBJECTS, load_motion

        data = load_motion(a.data)
        cams = load_cameras(Path(a.data).with_name("cameras.json"))
        seqs = data.subset(TRAIN_SUBJECTS, min_length=2)
        tb = []
        for i in range(a.repeats + 1):
            t0 = time.perf_counter()
            make_batch(np.random.default_rng(i), data, seqs, cams, a.batch, a.frames, AugmentConfig())
            tb.append(time.perf_counter() - t0)
        result["make_batch_ms"] = statistics.median(tb[1:]) * 1e3
        print(f"making one augmented batch (CPU, numpy): {result['make_batch_ms']:.1f} ms")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
