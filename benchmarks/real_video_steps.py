"""Real 2D: acceleration and bone-length spread of the 3D with and without each post-processing step.

    python benchmarks/real_video_steps.py OUT/basketball.npz [OUT/two_people_indoor.npz ...]
                                          [--variants raw,smooth,bones,agree,no-agree,default]

Reads the 2D of ``hotdemo run --export npz`` files (the offline test models' keypoints, COCO-17),
converts each track as ``hotdemo run`` does (:func:`hotdemo.detect.assemble.to_h36m`) and lifts it with the
shipped lifter through :func:`hotdemo.post.refine.lift_track` (the one lifting path) with the steps of
``benchmarks/noise_models.py`` switched on and off (same variant names and ``:key=value``
settings). There is no ground truth: per track it prints the mean joint acceleration
(``||x_{t+1} - 2 x_t + x_{t-1}||``, mm per frame squared at the video's frame rate), the bone-length
spread (per bone the standard deviation over frames over its median length, mean over the 16
bones, %), and the mean of the 2D weight the agreement gives (jitter trust x low-frequency trust).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _variants import KEYS, VARIANTS, apply_variant  # noqa: E402


def tracks_of(path):
    from hotdemo.detect.assemble import to_h36m
    from hotdemo.core.types import Track2D

    d = np.load(path, allow_pickle=True)
    ids = d["track_id_2d"]
    out = []
    for tid in np.unique(ids):
        m = ids == tid
        tr = Track2D(int(tid), d["frames_2d"][m].astype(np.int64), d["keypoints_2d"][m].astype(np.float32),
                     d["scores_2d"][m].astype(np.float32), d["boxes_2d"][m].astype(np.float32),
                     joint_format=str(d["joint_format_2d"]))
        out.append(to_h36m(tr))
    return out, float(d["video_width"]), float(d["video_height"])


def figures(j3d: np.ndarray):
    from hotdemo.core.skeletons import H36M17

    par = np.asarray(H36M17.parents)
    acc = np.linalg.norm(j3d[2:] - 2 * j3d[1:-1] + j3d[:-2], axis=-1).mean() * 1000 if len(j3d) > 2 else 0.0
    bl = np.linalg.norm(j3d[:, 1:] - j3d[:, par[1:]], axis=-1)  # (T, 16)
    spread = float(np.mean(bl.std(axis=0) / np.median(bl, axis=0)) * 100)
    return float(acc), spread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("npz", nargs="+")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    from _lifter_cache import memoize_model_output
    from hotdemo.post import reproject as rp
    from hotdemo.lift.lifter import load_lifter

    torch.set_num_threads(args.threads)
    from hotdemo.post.refine import PostSettings, lift_track

    lifter = memoize_model_output(load_lifter(None, device="cpu"))
    ps = PostSettings()  # the post step's settings, changed per variant
    defaults = {k: getattr(ps, a) for k, a in KEYS.items()}
    defaults.update(smooth=ps.smooth_sigma)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    print("| clip, track | frames | variant | mean acceleration (mm/frame^2) | bone-length spread (%) | mean 2D weight |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in args.npz:
        tracks, w, h = tracks_of(path)
        for tr in tracks:
            if len(tr) < rp.MIN_FRAMES:
                continue
            for v in variants:
                cfg = apply_variant(ps, v, defaults)
                j3d = lift_track(lifter, tr, w, h, ps).joints_cam.astype(np.float64)
                acc, spread = figures(j3d)
                weight = "-"
                if cfg["reproject"]:
                    out = lifter.model_output(tr.keypoints, w, h)
                    out = out - out[:, :1]
                    wt = rp.trust_2d(tr.keypoints, ps.trust_jitter)[None] * rp.residual_trust(
                        out, tr.keypoints, w, h, ps.trust_residual, ps.trust_residual_sigma,
                        ps.trust_residual_length_sigma)
                    weight = f"{wt[:, 1:].mean():.2f}"
                print(f"| {os.path.basename(path)}, {tr.track_id} | {len(tr)} | {v} | {acc:.2f} | {spread:.1f} | {weight} |",
                      flush=True)


if __name__ == "__main__":
    main()
