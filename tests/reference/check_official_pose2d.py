"""Check hotdemo's native 2D families against the OFFICIAL model code (not run by pytest; needs the repositories).

    python tests/reference/check_official_pose2d.py --tokenpose PATH_TO_TokenPose --simdr PATH_TO_SimDR \
        --deps DIR_WITH_einops_AND_yacs [--only NAME,...] [--threads 1] [--no-topdown] [--save DIR]

PATH_TO_* is a checkout or a bare git directory of github leeyegy/TokenPose and github leeyegy/SimDR.
Their model, config and post-processing files are copied into a temporary folder (nothing is
committed); ``timm`` is replaced by a shim giving ``trunc_normal_`` (the only name tokenpose_base.py
imports from it); ``einops`` and ``yacs`` must be importable (``pip install --target DIR einops yacs``
and ``--deps DIR``). For each published COCO configuration (TokenPose-S-v1, -B, -L/D24 at 256x192;
SimDR HRNet-W32 256x192 k=2; SA-SimDR HRNet-W48 384x288 k=1.5) the official ``get_pose_net(cfg)``
is built from the official YAML file, given random weights (``tests/official_ref.randomize``),
saved as the official training saves ``final_state.pth`` (a bare state dict), loaded with
``hotdemo.lift.registry.load_pose2d_model`` and both are run on the same input (batch 1).

Top-down (unless ``--no-topdown``): the 5 people of a COCO val image in ``../shared/data/coco-keypoints``
through ``build_pose2d(FILE)`` (crop, normalise, run, decode, back to image pixels; no flip test)
against the official pipeline: official ``get_affine_transform`` + ``cv2.warpAffine``, ToTensor +
Normalize, the official model, then TokenPose: official ``get_final_preds`` with POST_PROCESS (DARK)
and BLUR_KERNEL 11 as the configs set; SimDR: the SA-SimDR test path (softmax, argmax / k, then the
official ``transform_preds``). The box (x1, y1, x2, y2) goes in as (x1, y1, x2 - x1, y2 - y1) to the
repository's ``COCODataset._xywh2cs`` (SimDR: centre ``x + w / 2``; TokenPose: ``x + (w - 1) / 2``, and
its transforms are pixel-centred: ``(W - 1) / (S - 1)``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve()
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1]), str(HERE.parent)]

from check_official import copy_files  # noqa: E402
from official_ref import compare_state_dict_reading, randomize  # noqa: E402


MODELS = {  # name: (repo, official config file, module, heatmap decode)
    "TokenPose-S-v1": ("tokenpose", "experiments/coco/tokenpose/tokenpose_s_v1_256_192_patch43_dim192_depth12_heads8.yaml",
                       "models.pose_tokenpose_s"),
    "TokenPose-B": ("tokenpose", "experiments/coco/tokenpose/tokenpose_b_256_192_patch43_dim192_depth12_heads8.yaml",
                    "models.pose_tokenpose_b"),
    "TokenPose-L/D24": ("tokenpose", "experiments/coco/tokenpose/tokenpose_L_D24_256_192_patch43_dim192_depth24_heads12.yaml",
                        "models.pose_tokenpose_l"),
    "SimDR-W32": ("simdr", "experiments/coco/hrnet/simdr/nmt_w32_256x192_adam_lr1e-3.yaml", "models.pose_hrnet"),
    "SA-SimDR-W48": ("simdr", "experiments/coco/hrnet/sa_simdr/w48_384x288_adam_lr1e-3_split1_5_sigma4.yaml",
                     "models.pose_hrnet"),
}
FILES = {
    "tokenpose": ["lib/models/tokenpose_base.py", "lib/models/hr_base.py", "lib/models/pose_tokenpose_s.py",
                  "lib/models/pose_tokenpose_b.py", "lib/models/pose_tokenpose_l.py", "lib/config/default.py",
                  "lib/utils/transforms.py", "lib/core/inference.py"],
    "simdr": ["lib/models/pose_hrnet.py", "lib/config/default.py", "lib/utils/transforms.py"],
}
TOP = ("models", "config", "utils", "core")
_LIBS: set = set()


def install_timm_shim() -> None:
    wi = types.ModuleType("timm.models.layers.weight_init")
    wi.trunc_normal_ = torch.nn.init.trunc_normal_
    names = ["timm", "timm.models", "timm.models.layers"]
    mods = [types.ModuleType(n) for n in names] + [wi]
    for parent, child in zip(mods, mods[1:]):
        setattr(parent, child.__name__.rsplit(".", 1)[1], child)
    sys.modules.update({m.__name__: m for m in mods})


def use_repo(lib: Path) -> None:
    """Make ``lib`` the official ``lib`` folder on sys.path (the two repositories share package names)."""
    for k in [k for k in sys.modules if k.split(".")[0] in TOP]:
        del sys.modules[k]
    sys.path[:] = [p for p in sys.path if p not in _LIBS]
    _LIBS.add(str(lib))
    sys.path.insert(0, str(lib))


def official_config(repo: str, yaml_file: str, tmp: Path):
    import importlib

    cfg = importlib.import_module("config.default")._C.clone()
    cfg.defrost()
    copy_files(repo, [yaml_file], tmp / "cfg")
    cfg.merge_from_file(str(tmp / "cfg" / yaml_file))
    cfg.freeze()
    return cfg


def topdown(name, official, path, cfg, frame, boxes):
    """max |ours - official| of the 5 people's keypoints in image pixels."""
    import importlib

    import cv2

    from hotdemo.pose2d import build_pose2d

    tr = importlib.import_module("utils.transforms")
    W, H = int(cfg.MODEL.IMAGE_SIZE[0]), int(cfg.MODEL.IMAGE_SIZE[1])
    simdr = name.startswith(("SimDR", "SA-SimDR"))
    est = build_pose2d(str(path), **({} if simdr else {"heatmap_decoding": "dark"}))
    (ours, _), = est([frame], [boxes])
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)

    def official_kps(center, scale):
        out = []
        for c, s in zip(center, scale):
            trans = tr.get_affine_transform(c, s, 0, (W, H))
            crop = cv2.warpAffine(frame, trans, (W, H), flags=cv2.INTER_LINEAR)
            t = torch.from_numpy(((crop.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1)[None].copy())
            with torch.no_grad():
                raw = official(t)
            if simdr:  # function.py validate_sa_simdr / validate_simdr without flip
                x = torch.softmax(raw[0], dim=2)
                y = torch.softmax(raw[1], dim=2)
                px = x.max(2, keepdim=True)[1]
                py = y.max(2, keepdim=True)[1]
                k = cfg.MODEL.SIMDR_SPLIT_RATIO
                o = torch.ones([1, px.size(1), 2])
                o[:, :, 0] = torch.squeeze(torch.true_divide(px, k))
                o[:, :, 1] = torch.squeeze(torch.true_divide(py, k))
                out.append(tr.transform_preds(o[0].numpy(), c, s, [W, H]))
            else:
                preds, _ = importlib.import_module("core.inference").get_final_preds(
                    cfg, raw.numpy().copy(), np.array([c]), np.array([s]))
                out.append(preds[0])
        return np.stack(out).astype(np.float32)

    cs = []
    for x1, y1, x2, y2 in boxes:  # the repository's COCODataset._xywh2cs (aspect W/H, pixel_std 200)
        x, y, w, h = x1, y1, x2 - x1, y2 - y1
        if simdr:
            c = np.array([x + w * 0.5, y + h * 0.5], np.float32)
        else:
            c = np.array([x + (w - 1) * 0.5, y + (h - 1) * 0.5], np.float32)
        if w > W / H * h:
            h = w * 1.0 / (W / H)
        elif w < W / H * h:
            w = h * (W / H)
        cs.append((c, np.array([w / 200.0, h / 200.0], np.float32) * 1.25))
    want = official_kps([c for c, _ in cs], [s for _, s in cs])
    return float(np.abs(ours - want).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenpose", required=True)
    ap.add_argument("--simdr", required=True)
    ap.add_argument("--deps", default=None, help="folder holding einops and yacs")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(MODELS)}")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-topdown", action="store_true")
    ap.add_argument("--save", default=None, help="folder to keep the generated official-layout checkpoints in")
    a = ap.parse_args()
    if a.deps:
        sys.path.insert(0, a.deps)
    torch.set_num_threads(a.threads)
    install_timm_shim()
    with tempfile.TemporaryDirectory(prefix="official2d_") as d:
        run(a, Path(d))


def run(a, tmp: Path) -> None:
    repos = {"tokenpose": a.tokenpose, "simdr": a.simdr}
    keep = Path(a.save) if a.save else tmp
    keep.mkdir(parents=True, exist_ok=True)
    for key, files in FILES.items():
        copy_files(repos[key], files, tmp / key)
    frame = boxes = None
    if not a.no_topdown:
        from hotdemo.core.paths import shared_dir
        from hotdemo.pose2d.evaluate import load_coco_keypoints

        sh = shared_dir()
        if sh is None or not (sh / "data/coco-keypoints/test_coco.json").is_file():
            sys.exit("error: ../shared/data/coco-keypoints is absent (give --no-topdown)")
        im = load_coco_keypoints(sh / "data/coco-keypoints/test_coco.json")[-1]
        frame, boxes = im.rgb(), im.boxes
    only = {n for n in a.only.split(",") if n}
    import contextlib
    import importlib
    import io

    for name, (key, yaml_file, module) in MODELS.items():
        if only and name not in only:
            continue
        t0 = time.time()
        use_repo(tmp / key / "lib")
        cfg = official_config(repos[key], yaml_file, tmp)
        with contextlib.redirect_stdout(io.StringIO()):  # the official constructors print the config
            official = importlib.import_module(module).get_pose_net(cfg, is_train=False)
        randomize(official, seed=0)
        path = keep / f"{name.replace('/', '_')}_final_state.pth"
        ours, b_out, diff = compare_state_dict_reading(official, path)
        scale = max(float(v.abs().max()) for v in b_out)
        shapes = " + ".join("x".join(map(str, v.shape)) for v in b_out)
        n_par = sum(p.numel() for p in official.parameters()) / 1e6
        line = (f"{name:16s} {n_par:6.2f} M params, read as {ours.pose2d_info.variant}: outputs {shapes}, "
                f"max |ours - official| = {diff:.2e} (outputs up to {scale:.2f})")
        if frame is not None:
            line += f"; top-down keypoints: max |ours - official| = {topdown(name, official, path, cfg, frame, boxes):.2e} px"
        print(line + f" [{time.time() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
