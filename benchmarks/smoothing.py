"""Jitter vs lag of the 3D output filters (``--smooth``): none, gaussian, one-euro.

    python benchmarks/smoothing.py [--h36m-sequences 6] [--synthetic-frames 600]

The shipped lifter's output before smoothing (flip averaging and constant bone lengths on, as by
default) is filtered by each setting of :mod:`hotdemo.post.smooth` and compared with the ground truth (root-relative camera-frame joints):

* **synthetic walker** (:func:`hotdemo.core.synthetic.synthetic_scene`, one person, 30 fps, 1280x720,
  2D keypoints with 2 px Gaussian noise);
* **S9/S11** (Human3.6M motion of ``../shared/data/h36m``, 50 fps): the first ``--h36m-sequences``
  test sequences in name order, seen by camera 1 (54138969), 2D projected with the real
  calibration and corrupted by the detector-like noise of ``hotdemo eval --noise``.

Columns: MPJPE (mm); **MPJVE** (mean per-joint velocity error, mm per frame: jitter shows up
here); MPJAE (acceleration error, mm per frame^2, the most jitter-sensitive); **lag** (ms): the
delay that best aligns the output with the truth (shift searched in 1/4 frames; the Gaussian is
zero-phase, the 1-euro filter is causal). Numbers are on our reconstruction of Human3.6M motion,
not comparable with published Human3.6M results.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from hotdemo.lift.lifter import load_lifter  # noqa: E402
from hotdemo.post.refine import PostSettings, lift_and_refine  # noqa: E402
from hotdemo.post.smooth import smooth_joints  # noqa: E402

SETTINGS = [("none", None), ("gaussian", 1.0), ("gaussian", 2.0), ("gaussian", 3.0),
            ("one-euro", 4.0), ("one-euro", 2.0), ("one-euro", 1.0), ("one-euro", 0.5)]


def _shift(x: np.ndarray, s: float) -> np.ndarray:
    """x delayed by s frames (linear interpolation, edges held): y(t) = x(t - s)."""
    t = np.arange(len(x)) - s
    flat = x.reshape(len(x), -1)
    return np.stack([np.interp(t, np.arange(len(x)), flat[:, k]) for k in range(flat.shape[1])], 1).reshape(x.shape)


def metrics(pred: np.ndarray, gt: np.ndarray, fps: float) -> dict:
    e = np.linalg.norm(pred - gt, axis=-1)
    v = np.linalg.norm(np.diff(pred, axis=0) - np.diff(gt, axis=0), axis=-1)
    a = np.linalg.norm(np.diff(pred, 2, axis=0) - np.diff(gt, 2, axis=0), axis=-1)
    m = 10  # ignore the edges when searching the delay
    shifts = np.arange(-2.0, 8.01, 0.25)
    errs = [np.linalg.norm(pred[m:-m] - _shift(gt, s)[m:-m], axis=-1).mean() for s in shifts]
    return {"mpjpe": 1000 * e.mean(), "mpjve": 1000 * v.mean(), "mpjae": 1000 * a.mean(),
            "lag_ms": 1000 * shifts[int(np.argmin(errs))] / fps}


def evaluate(cases, lifter) -> dict:
    """cases: list of (pixels (T,17,2), width, height, fps, gt (T,17,3)); returns {setting: metrics}."""
    post = PostSettings.from_options(smooth=False)  # the filters below run on the unsmoothed output
    raw = [(lift_and_refine(lifter, px, w, h, post).astype(np.float64), fps, gt) for px, w, h, fps, gt in cases]
    out = {}
    for method, param in SETTINGS:
        rows = []
        for pred, fps, gt in raw:
            p = smooth_joints(pred, method, param, fps).astype(np.float64)
            p[:, 0] = 0.0
            rows.append((len(gt), metrics(p, gt, fps)))
        n = sum(r[0] for r in rows)
        out[(method, param)] = {k: sum(r[0] * r[1][k] for r in rows) / n for k in rows[0][1]}
    return out


def synthetic_cases(frames: int):
    from hotdemo.core.synthetic import synthetic_scene

    info, t2, t3, _, _ = synthetic_scene(1, frames, noise_px=2.0, seed=3)
    from hotdemo.detect.assemble import to_h36m

    px = to_h36m(t2[0]).keypoints.astype(np.float64)
    return [(px, info.width, info.height, info.fps, t3[0].joints_cam.astype(np.float64))]


def h36m_cases(n_sequences: int):
    from hotdemo.core.camera import load_cameras
    from hotdemo.core.paths import shared_dir
    from hotdemo.train.augment import EVAL_NOISE, AugmentConfig, detector_noise
    from hotdemo.train.data import TEST_SUBJECTS, load_motion

    root = shared_dir()
    if root is None:
        return None
    data = load_motion(root / "data/h36m/data_3d_h36m_expmap.npz")
    cams = load_cameras(root / "data/h36m/cameras.json")
    seqs = sorted([s for s in data.subset(TEST_SUBJECTS) if s.subject in cams], key=lambda s: (s.subject, s.name))
    step = max(1, len(seqs) // n_sequences)
    seqs = seqs[::step][:n_sequences]
    cases = []
    for i, s in enumerate(seqs):
        cam = cams[s.subject][0]
        x_cam = cam.world_to_camera(data.sequence(s))
        px = cam.project(x_cam).astype(np.float32)
        px = detector_noise(np.random.default_rng([0, i]), px[None], AugmentConfig(**EVAL_NOISE))[0]
        cases.append((px.astype(np.float64), cam.width, cam.height, 50.0, x_cam - x_cam[:, :1]))
    return cases, [f"{s.subject}/{s.name}" for s in seqs]


def table(title: str, res: dict) -> str:
    lines = [f"\n**{title}**\n", "| filter | parameter | MPJPE mm | MPJVE mm/frame | MPJAE mm/frame² | lag ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    unit = {"none": "", "gaussian": "sigma {} frames", "one-euro": "min cut-off {} Hz"}
    for (method, param), m in res.items():
        p = unit[method].format(param) if param is not None else ""
        lines.append(f"| {method} | {p} | {m['mpjpe']:.1f} | {m['mpjve']:.2f} | {m['mpjae']:.2f} | {m['lag_ms']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--h36m-sequences", type=int, default=6)
    ap.add_argument("--synthetic-frames", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    lifter = load_lifter(None, device="cpu")
    print(table(f"synthetic walker ({args.synthetic_frames} frames, 30 fps, 2 px 2D noise)",
                evaluate(synthetic_cases(args.synthetic_frames), lifter)))
    h = h36m_cases(args.h36m_sequences)
    if h is None:
        print("\n(S9/S11 skipped: ../shared not found)")
    else:
        cases, names = h
        frames = sum(len(c[0]) for c in cases)
        print(table(f"S9/S11, camera 1, detector-like 2D noise, 50 fps ({len(cases)} sequences, {frames} frames: "
                    f"{', '.join(names)})", evaluate(cases, lifter)))
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
