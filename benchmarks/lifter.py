"""Every lifter family: parameters, FLOPs and CPU time per output frame; HoT/TPC variants as ratios
to their baseline at the same size, measured side by side.

    python benchmarks/lifter.py --repeats 2                  # every family at its official size
    python benchmarks/lifter.py --families hot_mixste,tpc_mixste
    python benchmarks/lifter.py --size shipped --repeats 7 --cpu-batch 16 --train-batch 32
    python benchmarks/lifter.py --size shipped --set frames=81 --set token_num=27
    python benchmarks/lifter.py --json out.json

Families come from the registry (``hotdemo.lift.registry.LIFTERS``): a family whose spec names a
``baseline`` is measured in a pair with that baseline built at the variant's size (the variant's
config without its own fields, e.g. HoT-MotionBERT's lite size for MotionBERT); a family that is
nobody's variant and was not measured at its own official size in a pair is measured alone.
Sizes: ``official`` (each variant's official config), ``shipped`` (the bundled weights' config,
applied to every family's fields it has); ``--set k=v`` overrides a field for every family that
has it.

FLOPs: ``torch.utils.flop_counter`` on the meta device (matmuls and attention; a multiply-add is
2 FLOPs) for one window; per output frame = per window / T for seq2seq families, per window for
seq2frame ones (one window per output frame). CPU time: a forward pass of ``--cpu-batch`` windows
(``torch.set_num_threads(--threads)``), median of ``--repeats`` after one warm-up, the two models
of a pair alternately in the same process so that they see the same machine load; reported per
output frame, as wall-clock time ("CPU ms/frame") and as this process's CPU time ("CPU-time
ms", ``time.process_time``: the sum over its threads; on a machine shared with other jobs it
counts the work done, not the waiting for a core). ``--train-batch N``: also one training step on N windows, the trainer's own
(forward, the family's loss, backward, clipping, AdamW; SDPA's math kernel on the CPU). On
a CUDA GPU (when present) also fp16 autocast forwards of ``--gpu-batch`` windows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.lift.registry import LIFTERS, get_spec  # noqa: E402
from hotdemo.lift.spec import count_cost  # noqa: E402


def shipped_config() -> dict:
    """The bundled weights' config (empty when there are none)."""
    from hotdemo.lift.checkpoint import read_lifter_checkpoint
    from hotdemo.lift.lifter import default_weights_path

    path = default_weights_path()
    return dict(read_lifter_checkpoint(path).config) if path.is_file() else {}


def config_for(spec, base: dict, overrides: dict) -> dict:
    fields = set(spec.fields)
    return {k: v for k, v in {**base, **overrides}.items() if k in fields and k != "drop_path"}


def alternate_medians(once, models, repeats: int):
    """``once(model)`` -> (wall seconds, process CPU seconds); one warm-up each, then ``repeats``
    alternating rounds; the medians of both, per model."""
    for m in models:
        once(m)
    times = [[] for _ in models]
    for _ in range(repeats):
        for i, m in enumerate(models):
            times[i].append(once(m))
    return [tuple(statistics.median(t[k] for t in ts) for k in range(2)) for ts in times]


def clocks():
    return time.perf_counter(), time.process_time()


def since(t0):
    wall, cpu = clocks()
    return wall - t0[0], cpu - t0[1]


def timer(x, device: str, half: bool):
    def once(m):
        ctx = torch.autocast("cuda", dtype=torch.float16) if half else torch.autocast("cpu", enabled=False)
        with torch.inference_mode(), ctx:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = clocks()
            m(x[m.bench_channels])
            if device == "cuda":
                torch.cuda.synchronize()
            return since(t0)
    return once


def train_timer(x, y):
    """One training step as the trainer takes it (``optimizer_step``: forward, the family's loss,
    backward, clipping, AdamW; SDPA's math kernel on the CPU, as in training)."""
    from hotdemo.train.losses import LOSSES
    from hotdemo.train.trainer import optimizer_step

    def once(m):
        spec = get_spec(m.bench_family)
        if not hasattr(m, "bench_opt"):
            m.bench_opt = torch.optim.AdamW(m.parameters(), lr=1e-5, weight_decay=0.1)
        m.train()
        t0 = clocks()
        optimizer_step(m, spec, m.bench_opt, x, y, LOSSES[spec.loss])
        m.eval()
        return since(t0)
    return once


def inputs(batch: int, frames: int, device: str = "cpu") -> dict:
    """Windows with 2 and 3 channels (x, y in [-1, 1], confidence in [0.5, 1])."""
    xy = torch.rand(batch, frames, 17, 2, device=device) * 2 - 1
    return {2: xy, 3: torch.cat([xy, 0.5 + 0.5 * torch.rand(batch, frames, 17, 1, device=device)], dim=-1)}


def measure(group, args) -> list:
    """group: [(label, family, cfg)] measured side by side; one result dict per member."""
    torch.manual_seed(0)
    models, rows = [], []
    for label, fam, cfg in group:
        spec = get_spec(fam)
        m = spec.build(**cfg).eval()
        m.bench_channels, m.bench_family = spec.input_channels, fam
        cost = count_cost(spec, cfg)
        models.append(m)
        rows.append({"label": label, "family": fam, "config": cfg, "kind": "seq2seq" if spec.seq2seq else "seq2frame",
                     "frames": cost["frames"], "params": cost["params"], "flops_per_window": cost["flops_per_window"],
                     "flops_per_frame": cost["flops_per_frame"], "out_frames": cost["frames"] if spec.seq2seq else 1})
    frames = {r["frames"] for r in rows}
    if len(frames) != 1:
        raise SystemExit(f"a pair must share its window length, got {frames}")
    T = frames.pop()
    x = inputs(args.cpu_batch, T)
    for r, (wall, cpu) in zip(rows, alternate_medians(timer(x, "cpu", False), models, args.repeats)):
        r["cpu_s_per_window"] = wall / args.cpu_batch
        r["cpu_s_per_frame"] = wall / args.cpu_batch / r["out_frames"]
        r["cpu_time_s_per_frame"] = cpu / args.cpu_batch / r["out_frames"]
    if args.train_batch:
        xt = inputs(args.train_batch, T)[2]
        yt = torch.randn(args.train_batch, T, 17, 3) * 0.2
        for r, (wall, cpu) in zip(rows, alternate_medians(train_timer(xt, yt - yt[:, :, :1]), models, args.repeats)):
            r["train_step_s"] = wall
    if torch.cuda.is_available() and not args.no_gpu:
        models = [m.cuda() for m in models]
        xg = inputs(args.gpu_batch, T, "cuda")
        for r, (wall, _) in zip(rows, alternate_medians(timer(xg, "cuda", True), models, max(args.repeats, 10))):
            r["gpu"] = torch.cuda.get_device_name()
            r["gpu_s_per_frame"] = wall / args.gpu_batch / r["out_frames"]
    return rows


def plan(args) -> list:
    """Groups to measure: (variant, baseline at its size) pairs, then lone families."""
    names = [n.strip() for n in args.families.split(",")] if args.families else list(LIFTERS)
    for n in names:
        get_spec(n)
    over = dict(kv.split("=", 1) for kv in args.set)
    over = {k: json.loads(v) if v[:1].isdigit() or v[:1] in "-[{" else v for k, v in over.items()}
    base = shipped_config() if args.size == "shipped" else {}
    groups, lone, done = [], [], set()
    for n in names:
        spec = get_spec(n)
        cfg = config_for(spec, dict(spec.official) if args.size == "official" else {**spec.official, **base}, over)
        if spec.baseline:
            b = get_spec(spec.baseline)
            bcfg = config_for(b, cfg, {})
            groups.append([(f"{spec.baseline} at {n}'s size", spec.baseline, bcfg), (n, n, cfg)])
            done.add((spec.baseline, json.dumps(bcfg, sort_keys=True)))
        else:
            lone.append((n, cfg))
    return groups + [[(n, n, cfg)] for n, cfg in lone if (n, json.dumps(cfg, sort_keys=True)) not in done]


def report(rows: list) -> str:
    gpu = any("gpu" in r for r in rows)
    tr = any("train_step_s" in r for r in rows)
    head = (f"  {'':34s}{'params':>9s}{'GFLOPs/frame':>14s}{'CPU ms/frame':>14s}{'CPU-time ms':>13s}"
            + (f"{'GPU ms/frame':>14s}" if gpu else "") + (f"{'train ms/step':>15s}" if tr else ""))
    lines = [f"{rows[-1]['family']}: {rows[-1]['frames']} frames, "
             + ", ".join(f"{k} {v}" for k, v in rows[-1]["config"].items() if k != "frames"), head]
    for r in rows:
        line = (f"  {r['label']:34s}{r['params'] / 1e6:>8.2f}M{r['flops_per_frame'] / 1e9:>14.4g}"
                f"{r['cpu_s_per_frame'] * 1e3:>14.4g}{r['cpu_time_s_per_frame'] * 1e3:>13.4g}")
        if gpu:
            line += f"{r['gpu_s_per_frame'] * 1e3:>14.4g}"
        if tr:
            line += f"{r['train_step_s'] * 1e3:>15.1f}"
        lines.append(line)
    if len(rows) == 2:
        a, b = rows
        line = (f"  {'ratio ' + b['family'] + ' / ' + a['family']:34s}{b['params'] / a['params']:>9.3f}"
                f"{b['flops_per_frame'] / a['flops_per_frame']:>14.3f}{b['cpu_s_per_frame'] / a['cpu_s_per_frame']:>14.3f}"
                f"{b['cpu_time_s_per_frame'] / a['cpu_time_s_per_frame']:>13.3f}")
        if gpu:
            line += f"{b['gpu_s_per_frame'] / a['gpu_s_per_frame']:>14.3f}"
        if tr:
            line += f"{b['train_step_s'] / a['train_step_s']:>15.3f}"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--families", default="", help="comma-separated family names (default: all registered)")
    ap.add_argument("--size", choices=("official", "shipped"), default="official")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="config override for every family that has the field")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per model (median), after one warm-up")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--cpu-batch", type=int, default=1, help="windows per forward pass on the CPU")
    ap.add_argument("--train-batch", type=int, default=0, help="also time a training step on this many windows (0: no)")
    ap.add_argument("--gpu-batch", type=int, default=8, help="windows per forward pass on the GPU")
    ap.add_argument("--no-gpu", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, CPU batch {a.cpu_batch}"
          + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() and not a.no_gpu else ", no GPU"),
          flush=True)
    results = []
    for group in plan(a):
        rows = measure(group, a)
        results.append(rows)
        print(report(rows), flush=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
