"""MixSTE vs HoT-MixSTE: parameters, FLOPs per clip and time per clip, side by side.

    python benchmarks/lifter.py                    # official size (243/512/8) + the shipped size
    python benchmarks/lifter.py --frames 81 --dim 96 --depth 4 --heads 4 --token-num 27 --layer-index 1
    python benchmarks/lifter.py --skip-official --repeats 5 --json out.json

The shipped size defaults to the config stored in the bundled weights (hotdemo/bundled/hot_mixste_h36m.pt)
when that file exists, else to the options' defaults. FLOPs are counted with
``torch.utils.flop_counter.FlopCounterMode`` (matmuls and attention; 1 multiply-add = 2 FLOPs) for
one clip. Times are medians over ``--repeats`` runs after one warm-up, the two models measured
alternately in the same process so that they see the same machine load. On CPU a forward pass
of ``--cpu-batch`` clips (default 1; ``torch.set_num_threads(--threads)``), reported per clip; on
a CUDA GPU (when present) a batch of ``--gpu-batch`` clips in fp16 autocast, reported per clip.
``--train-batch N`` also times one training step (forward + backward) on N clips on the CPU.
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

from hotdemo.models import build_model  # noqa: E402

OFFICIAL = dict(frames=243, dim=512, depth=8, heads=8, mlp_ratio=2.0, token_num=81, layer_index=3)


def shipped_defaults() -> dict:
    from hotdemo.lift import default_weights_path

    d = dict(frames=81, dim=96, depth=4, heads=4, mlp_ratio=2.0, token_num=27, layer_index=1)
    path = default_weights_path()
    if path.is_file():
        try:
            cfg = torch.load(path, map_location="cpu", weights_only=True).get("config", {})
            d.update({k: cfg[k] for k in d if k in cfg})
        except Exception:
            pass
    return d


def models(size: dict):
    common = {k: size[k] for k in ("frames", "dim", "depth", "heads", "mlp_ratio")}
    mix = build_model("mixste", **common, drop_path=0.0).eval()
    hot = build_model("hot_mixste", **common, drop_path=0.0, token_num=size["token_num"],
                      layer_index=size["layer_index"]).eval()
    return mix, hot


def count_flops(model, x) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:  # grad mode on: the module tracker needs grad_fn
        model(x)
    return int(fc.get_total_flops())


def time_pair(mix, hot, x, repeats: int, device: str, half: bool):
    """Median seconds per call of each model, measured alternately."""
    def once(m):
        ctx = torch.autocast("cuda", dtype=torch.float16) if half else torch.autocast("cpu", enabled=False)
        with torch.inference_mode(), ctx:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            m(x)
            if device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - t0

    return alternate_medians(once, mix, hot, repeats)


def alternate_medians(once, mix, hot, repeats: int):
    """``once(model)`` -> seconds; one warm-up each, then ``repeats`` alternating calls; medians."""
    once(mix), once(hot)
    tm, th = [], []
    for _ in range(repeats):
        tm.append(once(mix))
        th.append(once(hot))
    return statistics.median(tm), statistics.median(th)


def time_train_pair(mix, hot, x, repeats: int):
    """Median seconds of one forward + backward pass of each model on batch ``x``, alternately."""
    def once(m):
        m.train()
        t0 = time.perf_counter()
        out = m(x)
        (out - out[:, :, :1]).abs().mean().backward()
        m.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    res = alternate_medians(once, mix, hot, repeats)
    mix.eval(), hot.eval()
    return res


def bench(label: str, size: dict, args) -> dict:
    torch.manual_seed(0)
    mix, hot = models(size)
    x = torch.rand(1, size["frames"], 17, 2) * 2 - 1
    res = {"label": label, "size": size,
           "params": {"mixste": sum(p.numel() for p in mix.parameters()),
                      "hot_mixste": sum(p.numel() for p in hot.parameters())},
           "flops": {"mixste": count_flops(mix, x), "hot_mixste": count_flops(hot, x)}}
    res["flops_ratio"] = res["flops"]["hot_mixste"] / res["flops"]["mixste"]
    xc = torch.rand(args.cpu_batch, size["frames"], 17, 2) * 2 - 1
    tm, th = time_pair(mix, hot, xc, args.repeats, "cpu", False)
    res["cpu_batch"] = args.cpu_batch
    res["cpu_s"] = {"mixste": tm / args.cpu_batch, "hot_mixste": th / args.cpu_batch}
    res["cpu_ratio"] = th / tm
    if args.train_batch:
        xt = torch.rand(args.train_batch, size["frames"], 17, 2) * 2 - 1
        tm, th = time_train_pair(mix, hot, xt, args.repeats)
        res["train_batch"] = args.train_batch
        res["train_step_s"] = {"mixste": tm, "hot_mixste": th}
        res["train_ratio"] = th / tm
    if torch.cuda.is_available() and not args.no_gpu:
        mix, hot = mix.cuda(), hot.cuda()
        xb = (torch.rand(args.gpu_batch, size["frames"], 17, 2) * 2 - 1).cuda()
        tm, th = time_pair(mix, hot, xb, max(args.repeats, 10), "cuda", True)
        res["gpu"] = torch.cuda.get_device_name()
        res["gpu_s_per_clip"] = {"mixste": tm / args.gpu_batch, "hot_mixste": th / args.gpu_batch}
        res["gpu_ratio"] = th / tm
    return res


def report(r: dict) -> str:
    s = r["size"]
    head = (f"{r['label']}: {s['frames']} frames, dim {s['dim']}, depth {s['depth']}, heads {s['heads']}; "
            f"HoT keeps {s['token_num']} tokens after block {s['layer_index']}")
    tr = "train_step_s" in r
    lines = [head, f"  {'':12s}{'params':>12s}{'GFLOPs/clip':>14s}{'CPU ms/clip':>14s}"
             + (f"{'GPU ms/clip':>14s}" if "gpu" in r else "")
             + (f"{'train ms/step':>15s}" if tr else "")]
    for m in ("mixste", "hot_mixste"):
        line = (f"  {m:12s}{r['params'][m] / 1e6:>11.2f}M{r['flops'][m] / 1e9:>14.2f}"
                f"{r['cpu_s'][m] * 1e3:>14.1f}")
        if "gpu" in r:
            line += f"{r['gpu_s_per_clip'][m] * 1e3:>14.3f}"
        if tr:
            line += f"{r['train_step_s'][m] * 1e3:>15.1f}"
        lines.append(line)
    ratio = (f"  {'HoT/MixSTE':12s}{r['params']['hot_mixste'] / r['params']['mixste']:>12.3f}"
             f"{r['flops_ratio']:>14.3f}{r['cpu_ratio']:>14.3f}")
    if "gpu" in r:
        ratio += f"{r['gpu_ratio']:>14.3f}"
    if tr:
        ratio += f"{r['train_ratio']:>15.3f}"
    lines.append(ratio)
    notes = [f"CPU forward: batches of {r['cpu_batch']} clip(s)"]
    if tr:
        notes.append(f"train step: forward + backward on {r['train_batch']} clips, CPU")
    lines.append("  (" + "; ".join(notes) + ")")
    return "\n".join(lines)


def main(argv=None) -> int:
    d = shipped_defaults()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=d["frames"])
    ap.add_argument("--dim", type=int, default=d["dim"])
    ap.add_argument("--depth", type=int, default=d["depth"])
    ap.add_argument("--heads", type=int, default=d["heads"])
    ap.add_argument("--mlp-ratio", type=float, default=d["mlp_ratio"])
    ap.add_argument("--token-num", type=int, default=d["token_num"])
    ap.add_argument("--layer-index", type=int, default=d["layer_index"])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per model (median), after one warm-up")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--cpu-batch", type=int, default=1, help="clips per forward pass on the CPU")
    ap.add_argument("--train-batch", type=int, default=0, help="also time a training step on this many clips (0: no)")
    ap.add_argument("--gpu-batch", type=int, default=8, help="clips per forward pass on the GPU")
    ap.add_argument("--no-gpu", action="store_true")
    ap.add_argument("--skip-official", action="store_true", help="only the shipped size")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    shipped = dict(frames=a.frames, dim=a.dim, depth=a.depth, heads=a.heads, mlp_ratio=a.mlp_ratio,
                   token_num=a.token_num, layer_index=a.layer_index)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() and not a.no_gpu else ", no GPU"))
    results = []
    sizes = ([] if a.skip_official else [("official", OFFICIAL)]) + [("shipped", shipped)]
    for label, size in sizes:
        r = bench(label, size, a)
        results.append(r)
        print(report(r), flush=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
