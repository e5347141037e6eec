"""Accuracy with and without the agreement with the 2D (:mod:`hotdemo.post.reproject`), by trust setting.

    python benchmarks/reproject.py [--max-sequences 8] [--trust-jitter 0.003,0.005,0.01]
                                   [--subjects S1,S5,S6,S7,S8] [--threads 2]

Each ``--subjects`` sequence of the ``hotdemo eval`` protocol (every k-th one so that at most
``--max-sequences`` are used; 4 real cameras; clean projected 2D and the fixed detector-like
noise) is lifted by the shipped lifter and post-processed (:func:`hotdemo.post.refine.lift_and_refine`) with its
defaults (flip, constant bone lengths, Gaussian smoothing), its model runs cached
(``benchmarks/_lifter_cache.py``) so that the settings share them, and scored by
:func:`hotdemo.train.evaluate.evaluate` as ``hotdemo eval`` scores it. ``off``: without the
agreement; ``trust jitter j``: the 2D gets weight 1/2 at a measured jitter of ``j`` of the
person's size (:func:`hotdemo.post.reproject.trust_2d`). Columns: MPJPE, P-MPJPE (mm) and MPJVE (mm
per frame at 50 fps), averaged over actions; then the jitter measured on each input (mean over
joints and clips), the time the post-processing takes on one 18,000-frame track, and how often
the model ran a second time. Numbers are on hotdemo's reconstruction of Human3.6M motion, not
comparable with published Human3.6M results.
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
    ap.add_argument("--trust-jitter", default="0.003,0.005,0.01", help="comma-separated values to compare")
    ap.add_argument("--subjects", default="S1,S5,S6,S7,S8",
                    help="comma-separated subjects (default the training subjects; S9,S11 for the test ones)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    from hotdemo.post.refine import PostSettings, debias, finish
    from hotdemo.post.reproject import DEFAULT_TRUST_JITTER, jitter
    from hotdemo.train.evaluate import evaluate

    torch.set_num_threads(args.threads)
    motion, cams = load_h36m_or_exit()
    t0 = time.perf_counter()
    lifter = memoize_model_output(load_lifter(None, device="cpu"))
    post_settings = PostSettings()
    subjects = [x.strip() for x in args.subjects.split(",") if x.strip()]
    settings = [("off", None)] + [(f"trust jitter {float(j):g}", float(j)) for j in args.trust_jitter.split(",")]
    print(f"shipped lifter, every k-th {'/'.join(subjects)} sequence (at most {args.max_sequences}), 4 cameras, "
          "flip on, constant bone lengths, Gaussian smoothing (sigma 1 frame)\n")
    print("| agreement with the 2D | clean MPJPE | P-MPJPE | MPJVE | noisy MPJPE | P-MPJPE | MPJVE |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    jit, calls, last = {}, {}, {}
    for name, j in settings:
        post_settings.reproject = j is not None
        if j is not None:
            post_settings.trust_jitter = j
        row = []
        for noisy in (False, True):
            seen = []
            orig = lifter.model_output

            def spy(kp, width, height, *a, **k):
                seen.append((np.asarray(kp), width, height))
                return orig(kp, width, height, *a, **k)

            lifter.model_output = spy
            res = evaluate(lifter, motion, cams, noise=noisy, max_sequences=args.max_sequences,
                           subjects=subjects, post=post_settings)
            lifter.model_output = orig
            a = res.average
            calls[(name, noisy)] = len(seen)
            jit.setdefault(noisy, [float(np.mean(jitter(kp))) for kp, _, _ in seen])
            last[noisy] = seen[0]
            row += [f"{a['mpjpe']:.2f}", f"{a['p_mpjpe']:.2f}", f"{a['mpjve']:.2f}"]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)
    n_clips = calls[("off", False)]
    print(f"\nmodel runs per clip (clean / noisy): " + ", ".join(
        f"{name} {calls[(name, False)] / n_clips:.2f} / {calls[(name, True)] / n_clips:.2f}" for name, _ in settings))
    print(f"measured jitter (fraction of person size, mean over joints and clips): clean {np.mean(jit[False]):.5f}, "
          f"noisy {np.mean(jit[True]):.5f}")
    # cost of the post-processing alone on one 18,000-frame track (10 minutes at 30 fps), best of 3:
    # the first noisy clip and its model output, repeated; the default trust setting
    kp1, w1, h1 = last[True]
    out = np.resize(lifter.model_output(kp1, w1, h1), (18000, 17, 3))
    kp = np.resize(kp1, (18000, 17, 2))
    post_settings.trust_jitter = DEFAULT_TRUST_JITTER
    for name, on in (("off", False), ("on", True)):
        post_settings.reproject = on

        def post():
            kp2 = debias(out, kp, w1, h1, post_settings) if on else kp
            finish(lifter, out, kp2, w1, h1, settings=post_settings)

        best = best_of(post)
        print(f"post-processing of one 18,000-frame track, agreement {name}: {best:.2f} s "
              "(the model run excluded; with noisy 2D the agreement also runs the model a second time)")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
