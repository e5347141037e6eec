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
``hotdemo.models.load_lifter_model`` and compare outputs. Families whose official clustering
breaks ties with random noise are run several times; the report gives the official run-to-run
spread beside our distance to the official runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hotdemo.models import load_lifter_model  # noqa: E402


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


def compare(name, official, ours_path, x, runs=1, ours_fn=None, off_fn=None, **over):
    if ONLY and name not in ONLY:
        print(f"{name:16s} skipped")
        return
    ours = load_lifter_model(ours_path, name, **over)
    off_fn = off_fn or (lambda m, x: m(x))
    ours_fn = ours_fn or (lambda m, x: m(x))
    with torch.no_grad():
        outs = []
        for s in range(runs):
            torch.manual_seed(s)
            outs.append(off_fn(official, x))
        got = ours_fn(ours, x)
    dist = [float((got - o).abs().max()) for o in outs]
    spread = max(float((a - b).abs().max()) for a in outs for b in outs)
    print(f"{name:16s} max |ours - official| = {min(dist):.2e} (nearest of {runs} official runs; "
          f"largest {max(dist):.2e}); official run-to-run spread {spread:.2e}")


def official_centre(m, x):
    """The centre frame of an official TPC model's (kept frames, indices) output, as its test takes it."""
    out, index = m(x)
    pos = (index == (x.shape[1] - 1) // 2).long().argmax(dim=1)
    return out[torch.arange(len(x)), pos][:, None]


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
    a = ap.parse_args()
    ONLY.update(n for n in a.only.split(",") if n)
    if a.deps:
        sys.path.insert(0, a.deps)
    torch.set_num_threads(2)
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
            compare(fam, m, p, x2, runs=a.runs, layer_index=2, **over)
        else:  # official returns every kept frame and their indices; compare the centre frame (the output)
            compare(fam, m, p, x2, runs=a.runs, layer_index=2, token_num=9, **over,
                    off_fn=official_centre, ours_fn=lambda m, x: m.predict_centre(x)[0])
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
                ours_fn=lambda m, x: m.predict_centre(x)[0])
    sys.path.insert(0, str(tmp / "mb"))
    DST = importlib.import_module("lib.model.DSTformer").DSTformer
    from functools import partial

    x3 = torch.randn(1, 243, 17, 3, generator=torch.Generator().manual_seed(1))
    for size, (dim, ratio) in (("lite", (256, 4)), ("full", (512, 2))):
        m = randomize(DST(dim_in=3, dim_out=3, dim_feat=dim, dim_rep=512, depth=5, num_heads=8, mlp_ratio=ratio,
                          norm_layer=partial(nn.LayerNorm, eps=1e-6), maxlen=243, num_joints=17), 2)
        p = save_official(m, tmp / f"mb_{size}.bin", wrap="model_pos")
        print(f"[MotionBERT {size}]", end=" ")
        compare("motionbert", m, p, x3)
    sys.path.remove(str(tmp / "mb"))
    hot = importlib.import_module("model.motionbert.hot_motionbert")
    m = randomize(hot.Model(argparse.Namespace(maxlen=243)), 3)  # official: lite size, 81 tokens, layer 1
    p = save_official(m, tmp / "hot_mb.pth")
    compare("hot_motionbert", m, p, x3, runs=a.runs, layer_index=1)


if __name__ == "__main__":
    main()
