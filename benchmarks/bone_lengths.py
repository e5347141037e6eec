"""Accuracy with and without constant bone lengths (:mod:`hotdemo.post.bones`), by depth weight.

    python benchmarks/bone_lengths.py [--max-sequences 8] [--weights 1,0.3,0.2,0.15,0.1] [--sign-margins 0,0.5]
                                      [--subjects S9,S11] [--threads 2] [--no-reproject]

Each S9/S11 (``--subjects``) sequence of the ``hotdemo eval`` protocol (every k-th one so that at most
``--max-sequences`` are used; 4 real cameras; clean projected 2D and the fixed detector-like
noise) is lifted by the shipped lifter and post-processed (:func:`hotdemo.post.refine.lift_and_refine`), its model runs
cached (``benchmarks/_lifter_cache.py``), so every setting post-processes the same model output
(agreement with the 2D unless ``--no-reproject``, bone fit, the default Gaussian smoothing) and is scored by :func:`hotdemo.train.evaluate.evaluate`, as ``hotdemo eval`` scores
it. ``off`` is the lifter without the fit; ``weight w, sign margin m`` fits with depth weight
``w`` (1: each bone scaled along its own direction; small: mostly its depth corrected) and sign
margin ``m`` (0: every bone held at its length; see :func:`hotdemo.post.bones.fit_bone_lengths`). Columns: MPJPE, P-MPJPE (mm)
and MPJVE (mm per frame at 50 fps), averaged over actions; then the time the fit takes on one
18,000-frame track. Numbers are on hotdemo's
reconstruction of Human3.6M motion, not comparable with published Human3.6M results.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _lifter_cache import best_of, load_h36m_or_exit, memoize_model_output  # noqa: E402

from hotdemo.lift.lifter import load_lifter  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-sequences", type=int, default=8)
    ap.add_argument("--weights", default="1,0.3,0.2,0.15,0.1")
    ap.add_argument("--sign-margins", default="0,0.5", help="comma-separated sign margins to cross with --weights")
    ap.add_argument("--subjects", default="S9,S11",
                    help="comma-separated subjects (e.g. the training subjects S1,S5,S6,S7,S8)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-reproject", action="store_true", help="without the agreement with the 2D (hotdemo.post.reproject)")
    args = ap.parse_args()
    import torch

    from hotdemo.post.refine import PostSettings, finish
    from hotdemo.train.evaluate import evaluate

    torch.set_num_threads(args.threads)
    motion, cams = load_h36m_or_exit()
    t0 = time.perf_counter()
    lifter = load_lifter(None, device="cpu")
    post = PostSettings(reproject=not args.no_reproject)
    fin = memoize_model_output(lifter)
    subjects = [x.strip() for x in args.subjects.split(",") if x.strip()]
    settings = [("off", 0.0, 0.0)] + [(f"weight {float(w):g}, sign margin {float(m):g}", float(w), float(m))
                                      for m in args.sign_margins.split(",") for w in args.weights.split(",")]
    print(f"shipped lifter, every k-th {'/'.join(subjects)} sequence (at most {args.max_sequences}), 4 cameras, flip on, "
          f"agreement with the 2D {'off' if args.no_reproject else 'on'}, Gaussian smoothing (sigma 1 frame) after the fit\n")
    print("| constant bone lengths | clean MPJPE | P-MPJPE | MPJVE | noisy MPJPE | P-MPJPE | MPJVE |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, w, m in settings:
        post.bone_depth_weight, post.bone_sign_margin = w, m
        row = []
        for noisy in (False, True):
            a = evaluate(fin, motion, cams, noise=noisy, max_sequences=args.max_sequences,
                         subjects=subjects, post=post).average
            row += [f"{a['mpjpe']:.2f}", f"{a['p_mpjpe']:.2f}", f"{a['mpjve']:.2f}"]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)
    # speed of the fit alone: one 18,000-frame track (10 minutes at 30 fps), best of 3
    from hotdemo.post.bones import fit_bone_lengths
    from hotdemo.core.skeletons import H36M17

    track = finish(lifter, next(iter(lifter.model_output_cache.values())), settings=post)
    track = np.resize(track, (18000,) + track.shape[1:])
    best = best_of(lambda: fit_bone_lengths(track, H36M17.parents))  # the defaults
    print(f"\nfit of one 18,000-frame track: {best:.2f} s ({best / 18 * 1000:.0f} ms per 1,000 frames), "
          f"{torch.get_num_threads()} torch threads set (the fit is numpy)")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
