"""Shared by the lifter post-processing benchmarks: memoise a Lifter's model runs.

:func:`memoize_model_output` replaces ``lifter.model_output`` on that one object with a cached
version keyed by the exact input, so the settings of the post-processing (which run after the
model, or feed it a corrected 2D) can be compared on the same model outputs, through the lifter's
own :meth:`~hotdemo.lift.Lifter.lift_sequence` as ``hotdemo eval`` runs it.
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
