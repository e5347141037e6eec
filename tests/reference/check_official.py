"""Check hotdemo's lifters against the OFFICIAL model code (not run by pytest; needs the repositories).

    python tests/reference/check_official.py --hot PATH_TO_HoT --motionbert PATH_TO_MotionBERT \
        [--deps DIR_WITH_einops]

PATH_TO_* is a checkout or a bare git directory (read with ``git show HEAD:...``) of
github NationalGAILab/HoT and github Walter0807/MotionBERT. The official files are copied into a
temporary folder (nothing is committed); ``timm`` is replaced by a small shim giving ``DropPath``
and ``trunc_normal_`` (the only names those files import from it); ``einops`` must be importable
(``pip install --target DIR einops`` and ``--deps DIR``). For every family: build the official
model, give it random weights, save them in the official layout (HoT: bare state dict with
``module.`` keys as DataParallel saves; MotionBERT: ``{'model_pos': ...}``), load that file with
``hotdemo.lift.registry.load_lifter_model`` and compare outputs. Families whose official clustering
breaks ties with random noise are run several times; the report gives the official run-to-run
spread beside our distance to the official runs.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import sys
import tempfile
import types
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hotdemo.lift.registry import load_lifter_model  # noqa: E402


def copy_files(repo: str, files, dst: Path) -> None:
    for f in files:
        out = dst / f
        out.parent.mkdir(parents=True, exist_ok=True)
        p = Path(repo) / f
        if p.is_file():
            out.write_bytes(p.read_bytes())
        else:
            gd = repo if (Path(repo) / "HEAD").is_file() else str(Path(repo) / ".git")
            out.write_bytes(subprocess.run(["git", "--git-dir", gd, "show", f"HEAD:{f}"], check=True,
                                           capture_output=True).stdout)
    for d in {Path(f).parent for f in files}:
        while str(d) not in (".", ""):
            (dst / d / "__init__.py").touch(exist_ok=True)
            d = d.parent


def install_timm_shim() -> None:
    class DropPath(nn.Module):
        def __init__(self, p=0.0):
            super().__init__()
            self.p = p

        def forward(self, x):
            return x

    layers = types.ModuleType("timm.models.layers")
    layers.DropPath = DropPath
    layers.trunc_normal_ = nn.init.trunc_normal_
    timm = types.ModuleType("timm")
    models = types.ModuleType("timm.models")
    timm.models, models.layers = models, layers
    sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers})


def randomize(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (p.shape[-1] ** -0.5 if p.dim() > 1 else 0.1))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return model.eval()


ONLY: set = set()


def compare(name, official, ours_path, x, runs=1, ours_fn=None, off_fn=None, pin=None, **over):
    """Print max |ours - official| over ``runs`` official runs (seeds 0..runs-1) and their spread.

    ``pin``: (official module, its clustering function's name, ours_fn(model, x, kept frames),
    own_fn(model, x) -> the kept frames ours chooses) for the families that cluster: the official
    function is wrapped to record each run's kept frames (the centre frame added for the TPC
    ``*_center`` variants, as their callers do), and ours is also run with those frames given,
    which takes the random tie-break out of the comparison; the frames ours chooses itself are
    compared with each run's.
    """
    if ONLY and name not in ONLY:
        print(f"{name:16s} skipped")
        return
    ours = load_lifter_model(ours_path, name, **over)
    off_fn = off_fn or (lambda m, x: m(x))
    ours_fn = ours_fn or (lambda m, x: m(x))
    kept = []
    if pin is not None:
        module, fn_name, pinned_fn, own_fn = pin
        orig = getattr(module, fn_name)

        def recording(*args, **kwargs):
            index_down, idx_cluster = orig(*args, **kwargs)
            idx = index_down
            if fn_name.endswith("_center"):
                idx = torch.cat([idx, torch.full_like(idx[:, :1], args[3])], dim=-1)
            kept.append(torch.sort(idx, dim=-1)[0])
            return index_down, idx_cluster

        setattr(module, fn_name, recording)
    try:
        with torch.no_grad():
            outs = []
            for s in range(runs):
                torch.manual_seed(s)
                outs.append(off_fn(official, x))
            got = ours_fn(ours, x)
            if pin is not None:
                pinned = [float((pinned_fn(ours, x, idx) - o).abs().max()) for idx, o in zip(kept, outs)]
                own = own_fn(ours, x)
    finally:
        if pin is not None:
            setattr(module, fn_name, orig)
    if pin is not None:
        if len(kept) != runs:
            raise SystemExit(f"{name}: expected one clustering per official run, got {len(kept)}")
        def overlap(a, b):  # share of a's kept frames that b keeps too (mean over the batch)
            return sum(len(set(u.tolist()) & set(v.tolist())) for u, v in zip(a, b)) / a.numel()

        ours_vs = [overlap(own, idx) for idx in kept]
        off_vs = [overlap(u, v) for i, u in enumerate(kept) for v in kept[i + 1:]] or [1.0]
        distinct = len({tuple(i.flatten().tolist()) for i in kept})
        print(f"{name:16s} given each official run's kept frames: max |ours - official| = {max(pinned):.2e} "
              f"(worst of {runs} runs); {distinct} distinct kept-frame sets in {runs} official runs, "
              f"sharing {min(off_vs):.0%}..{max(off_vs):.0%} of their frames pairwise; ours shares "
              f"{min(ours_vs):.0%}..{max(ours_vs):.0%} with them")
    dist = [float((got - o).abs().max()) for o in outs]
    spread = max(float((a - b).abs().max()) for a in outs for b in outs)
    print(f"{name:16s} max |ours - official| = {min(dist):.2e} (nearest of {runs} official runs; "
          f"largest {max(dist):.2e}); official run-to-run spread {spread:.2e}; "
          f"output max |y| {float(got.abs().max()):.2f}", flush=True)


def official_centre(m, x):
    """The centre frame of an official TPC model's (kept frames, indices) output, as its test takes it."""
    out, index = m(x)
    pos = (index == (x.shape[1] - 1) // 2).long().argmax(dim=1)
    return out[torch.arange(len(x)), pos][:, None]


#: HoT-MotionBERT's official file hard-codes its size; the small check rewrites these constants in a
#: copy of it (each must occur exactly once, so a changed official file stops the check)
HOT_MB_SMALL = {"dim_feat = 256": "dim_feat = 64", "mlp_hidden_dim = 256 * 4": "mlp_hidden_dim = 64 * 4",
                "depth = 5": "depth = 3", "maxlen = 243": "maxlen = 27", "self.token_num = 81": "self.token_num = 9"}


def small_copy(src: Path, dst: Path, subs: dict) -> None:
    text = src.read_text()
    for old, new in subs.items():
        if text.count(old) != 1:
            raise SystemExit(f"{src}: expected exactly one {old!r}, found {text.count(old)}")
        text = text.replace(old, new)
    dst.write_text(text)


def save_official(model, path, wrap=None):
    sd = {"module." + k: v for k, v in model.state_dict().items()}
    torch.save(sd if wrap is None else {wrap: sd, "epoch": 1}, path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hot", required=True)
    ap.add_argument("--motionbert", required=True)
    ap.add_argument("--deps", default=None, help="folder holding einops")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated families to check (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--no-full-hot-motionbert", action="store_true",
                    help="HoT-MotionBERT only at the small official-shaped size (the official file's size, "
                         "243 frames, dim 256, takes minutes per run on a loaded 2-core CPU)")
    a = ap.parse_args()
    ONLY.update(n for n in a.only.split(",") if n)
    if a.deps:
        sys.path.insert(0, a.deps)
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="official_"))
    copy_files(a.hot, ["model/mixste/mixste.py", "model/mixste/hot_mixste.py", "model/mixste/tpc_mixste.py",
                       "model/motionbert/hot_motionbert.py", "model/mhformer/mhformer.py", "model/mhformer/tpc_mhformer.py",
                       "model/mhformer/module/trans.py", "model/mhformer/module/trans_hypothesis.py",
                       "model/mhformer/module/trans_hypothesis_cluster.py"], tmp / "hot")
    copy_files(a.motionbert, ["lib/model/DSTformer.py", "lib/model/drop.py"], tmp / "mb")
    install_timm_shim()
    sys.path.insert(0, str(tmp / "hot"))
    import importlib

    ns = argparse.Namespace(layers=4, channel=64, d_hid=128, frames=27, n_joints=17, out_joints=17, token_num=9,
                            layer_index=2, maxlen=243)
    x2 = torch.randn(2, 27, 17, 2, generator=torch.Generator().manual_seed(0))
    for fam, mod in (("mixste", "model.mixste.mixste"), ("hot_mixste", "model.mixste.hot_mixste"),
                     ("tpc_mixste", "model.mixste.tpc_mixste")):
        m = randomize(importlib.import_module(mod).Model(ns), 1)
        p = save_official(m, tmp / f"{fam}.pth")
        over = {"heads": 8, "mlp_ratio": 2.0}
        if fam == "mixste":
            compare(fam, m, p, x2, **over)
        elif fam == "hot_mixste":
            compare(fam, m, p, x2, runs=a.runs, layer_index=2, **over,
                    pin=(sys.modules[mod], "cluster_dpc_knn", lambda m, x, i: m.head(m.recover(m.encode(x, i)[0], i)),
                         lambda m, x: m.forward_with_index(x)[1]))
        else:  # official returns every kept frame and their indices; compare the centre frame (the output)
            compare(fam, m, p, x2, runs=a.runs, layer_index=2, token_num=9, **over,
                    off_fn=official_centre, ours_fn=lambda m, x: m.predict_centre(x)[0],
                    pin=(sys.modules[mod], "cluster_dpc_knn_center", lambda m, x, i: m.predict_centre(x, i)[0],
                         lambda m, x: m.predict_centre(x)[1]))
    for frames in (27, 45):  # <= 27: embeddings with BatchNorm; > 27: plain 1x1 convolutions
        ns = argparse.Namespace(frames=frames, n_joints=17, out_joints=17, channel=64, d_hid=128, token_num=frames // 3,
                                layer_index=1)
        xm = torch.randn(2, frames, 17, 2, generator=torch.Generator().manual_seed(5))
        m = randomize(importlib.import_module("model.mhformer.mhformer").Model(ns), 4)
        print(f"[{frames} frames]", end=" ")
        compare("mhformer", m, save_official(m, tmp / f"mhformer{frames}.pth"), xm)
        m = randomize(importlib.import_module("model.mhformer.tpc_mhformer").Model(ns), 5)
        print(f"[{frames} frames]", end=" ")
        compare("tpc_mhformer", m, save_official(m, tmp / f"tpc_mhformer{frames}.pth"), xm, runs=a.runs,
                token_num=frames // 3, layer_index=1, off_fn=official_centre,
                ours_fn=lambda m, x: m.predict_centre(x)[0],
                pin=(sys.modules["model.mhformer.module.trans_hypothesis_cluster"], "cluster_dpc_knn_center",
                     lambda m, x, i: m.predict_centre(x, i)[0], lambda m, x: m.predict_centre(x)[1]))
    sys.path.insert(0, str(tmp / "mb"))
    DST = importlib.import_module("lib.model.DSTformer").DSTformer
    from functools import partial

    x3 = torch.randn(1, 243, 17, 3, generator=torch.Generator().manual_seed(1))
    for size, (dim, ratio) in (("lite", (256, 4)), ("full", (512, 2))):
        m = randomize(DST(dim_in=3, dim_out=3, dim_feat=dim, dim_rep=512, depth=5, num_heads=8, mlp_ratio=ratio,
                          norm_layer=partial(nn.LayerNorm, eps=1e-6), maxlen=243, num_joints=17), 2)
        p = save_official(m, tmp / f"mb_{size}.bin", wrap="model_pos")
        t0 = time.perf_counter()
        print(f"[MotionBERT {size}]", end=" ")
        compare("motionbert", m, p, x3)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    sys.path.remove(str(tmp / "mb"))
    # small: the official file with its size constants rewritten (27 frames, dim 64, depth 3, 9 tokens
    # after layer 1); then the official file as it is (lite size, 243 frames, 81 tokens after layer 1)
    mb_dir = tmp / "hot" / "model" / "motionbert"
    small_copy(mb_dir / "hot_motionbert.py", mb_dir / "hot_motionbert_small.py", HOT_MB_SMALL)
    sizes = [("small", "model.motionbert.hot_motionbert_small", 27)]
    if not a.no_full_hot_motionbert:
        sizes.append(("official", "model.motionbert.hot_motionbert", 243))
    for size, mod, frames in sizes:
        t0 = time.perf_counter()
        hot = importlib.import_module(mod)
        m = randomize(hot.Model(argparse.Namespace(maxlen=frames)), 3)
        p = save_official(m, tmp / f"hot_mb_{size}.pth")
        xh = torch.randn(1, frames, 17, 3, generator=torch.Generator().manual_seed(1))
        print(f"[HoT-MotionBERT {size}]", end=" ")
        compare("hot_motionbert", m, p, xh, runs=a.runs, layer_index=1,
                pin=(hot, "cluster_dpc_knn", lambda m, x, i: m.forward_with_index(x, i)[0],
                     lambda m, x: m.forward_with_index(x)[1]))
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"total {time.perf_counter() - t_start:.0f} s, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
