"""Root trajectories on Human3.6M S9/S11 (projected 2D from the real cameras), against the in-place
baseline: root error in the camera frame, W-MPJPE100 / WA-MPJPE100 (EMDB protocol of WHAM /
GVHMR), foot skating and jitter.

    python benchmarks/trajectory.py [--max-sequences 12] [--cameras 4] [--max-frames 1000]
                                    [--noise clean,noisy] [--fov-known]

Each sequence x camera: the shipped lifter lifts the projected 2D (``hotdemo.post.refine.lift_and_refine``, as
``hotdemo lift`` does), then ``hotdemo.post.trajectory.fit_scene`` places the person (focal length
fitted, or the camera's true one with ``--fov-known``), and ``hotdemo.post.world.to_world`` gives the
in-place baseline (root fixed, lowest joint on the floor each frame). Errors in mm against the
ground truth in the data's world frame:

* root error: |fitted root - true root| in the camera frame, and as % of the true distance;
* W-MPJPE100 / WA-MPJPE100: 100-frame segments aligned rigidly on their first two frames / on the
  whole segment (rotation + translation, no scale);
* foot skating: mean horizontal step (mm/frame) of a foot in frames where the *true* foot is in
  contact (within 5 cm of its lowest height and slower than 0.2 m/s) in two consecutive frames;
* jitter: mean joint acceleration of the world output (mm/frame^2), the truth's beside it.

The data is our reconstruction of Human3.6M motion (every subject has S1's proportions): the
figures are not comparable with published ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _lifter_cache import load_h36m_or_exit  # noqa: E402

from hotdemo.lift.lifter import load_lifter  # noqa: E402
from hotdemo.post.refine import lift_and_refine  # noqa: E402
from hotdemo.post.trajectory import fit_scene, foot_skate_mm, w_mpjpe  # noqa: E402
from hotdemo.core.types import Track3D  # noqa: E402
from hotdemo.post.world import estimate_world_rotation, to_world  # noqa: E402


def true_contacts(world: np.ndarray, fps: float) -> np.ndarray:
    feet = world[:, [6, 3]]  # left, right ankle
    h = feet[..., 2] - feet[..., 2].min(axis=0)
    v = np.linalg.norm(np.gradient(feet[..., :2], axis=0), axis=-1) * fps
    c = (h < 0.05) & (v < 0.2)
    return c


def accel(j: np.ndarray) -> float:
    return float(np.linalg.norm(j[2:] - 2 * j[1:-1] + j[:-2], axis=-1).mean() * 1000) if len(j) > 2 else float("nan")


def corrupt(px: np.ndarray, noise: str, si: int, ci: int, width: float, height: float) -> np.ndarray:
    """The 2D setting ``noise`` of ``hotdemo eval --noise`` (clean, noisy or an error model), seeded as there."""
    if noise == "clean":
        return px
    from hotdemo.train.evaluate import corrupt_2d

    return corrupt_2d(noise, px, 0, si, ci, width, height)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-sequences", type=int, default=12)
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--max-frames", type=int, default=1000)
    ap.add_argument("--noise", default="clean")
    ap.add_argument("--fov-known", action="store_true", help="give fit_scene the camera's true focal length")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    data, cams = load_h36m_or_exit()
    lifter = load_lifter(None)
    seqs = [s for s in data.subset(["S9", "S11"]) if s.subject in cams]
    if len(seqs) > a.max_sequences:
        seqs = seqs[:: int(np.ceil(len(seqs) / a.max_sequences))]
    fps = 50.0
    t0 = time.time()
    for noise in a.noise.split(","):
        rows = []
        for si, info in enumerate(seqs):
            world = data.sequence(info)[: a.max_frames].astype(np.float64)
            gt_c = true_contacts(world, fps)
            for ci, cam in enumerate(cams[info.subject][: a.cameras]):
                xc = cam.world_to_camera(world)
                px = corrupt(cam.project(xc.astype(np.float32)), noise, si, ci, cam.width, cam.height)
                pose = lift_and_refine(lifter, px, cam.width, cam.height)
                focal = float(cam.focal[0]) if a.fov_known else None
                (p,), sc = fit_scene([pose], [px], [None], cam.width, cam.height, fps, focal_px=focal,
                                     focal_source="given" if focal else "fitted")
                err = np.linalg.norm(p.root_cam - xc[:, 0], axis=-1)
                base = to_world([Track3D(0, np.arange(len(pose)), pose)], estimate_world_rotation(
                    [Track3D(0, np.arange(len(pose)), pose)]))[0].joints_world
                w, wa = w_mpjpe(p.joints_world.astype(np.float64), world)
                bw, bwa = w_mpjpe(base.astype(np.float64), world)
                rows.append(dict(err=err.mean() * 1000, rel=(err / np.linalg.norm(xc[:, 0], axis=-1)).mean() * 100,
                                 f=abs(sc.focal_px / cam.focal[0] - 1) * 100, w=w, wa=wa, bw=bw, bwa=bwa,
                                 skate=foot_skate_mm(p.joints_world, gt_c), bskate=foot_skate_mm(base, gt_c),
                                 acc=accel(p.joints_world), bacc=accel(base), gacc=accel(world)))
        m = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        print(f"\n{noise} 2D, {len(seqs)} S9/S11 sequences x {a.cameras} cameras, up to {a.max_frames} frames each "
              f"({len(rows)} clips), focal {'known' if a.fov_known else 'fitted'}; {time.time() - t0:.0f} s")
        print("| placement | root error mm (% of distance) | focal error % | W-MPJPE100 | WA-MPJPE100 | foot skate mm/frame | accel mm/frame^2 (truth) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(f"| in place (--trajectory none) | - | - | {m['bw']:.0f} | {m['bwa']:.0f} | {m['bskate']:.1f} | {m['bacc']:.2f} ({m['gacc']:.2f}) |")
        print(f"| trajectory (default) | {m['err']:.0f} ({m['rel']:.1f} %) | {m['f']:.1f} | {m['w']:.0f} | {m['wa']:.0f} | {m['skate']:.1f} | {m['acc']:.2f} ({m['gacc']:.2f}) |")
        worst = sorted(rows, key=lambda r: -r["rel"])[:3]
        print("worst root errors %:", ", ".join(f"{r['rel']:.1f}" for r in worst))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
