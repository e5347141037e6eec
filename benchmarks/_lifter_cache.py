"""Shared by the lifter post-processing benchmarks: the shared Human3.6M data, memoised model runs, timing.

:func:`memoize_model_output` replaces ``lifter.model_output`` on that one object with a cached
version keyed by the exact input, so the settings of the post-processing (which run after the
model, or feed it a corrected 2D) can be compared on the same model outputs, through
:func:`hotdemo.post.refine.lift_and_refine` as ``hotdemo eval`` runs it.
"""

from __future__ import annotations

import numpy as np


def memoize_model_output(lifter):
    """Cache ``lifter.model_output`` by (keypoints, size, scores); returns the lifter."""
    run = lifter.model_output
    cache = {}

    def cached(kp, width, height, progress=None, scores=None):
        kp = np.asarray(kp)
        key = (kp.shape, hash(kp.tobytes()), width, height,
               None if scores is None else hash(np.asarray(scores).tobytes()))
        if key not in cache:
            cache[key] = run(kp, width, height, progress, scores)
        elif progress is not None:
            progress(len(kp))
        return cache[key]

    lifter.model_output = cached
    lifter.model_output_cache = cache
    return lifter


def load_h36m_or_exit():
    """(motion, cameras) of the shared Human3.6M data (``$HOTDEMO_SHARED`` or ``../shared``); exits
    with a one-line message when they are not there."""
    import sys

    from hotdemo.core.camera import load_cameras
    from hotdemo.train.commands import resolve_inputs
    from hotdemo.train.data import load_motion

    try:
        data_path, cam_path = resolve_inputs(None, None)
    except Exception as e:  # no ../shared
        sys.exit(f"needs the shared Human3.6M motion data: {e}")
    return load_motion(data_path), load_cameras(cam_path)


def best_of(fn, repeats: int = 3) -> float:
    """The shortest wall time (s) of ``repeats`` calls of ``fn()``."""
    import time

    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
