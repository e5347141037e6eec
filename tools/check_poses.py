"""Plausibility figures for the 3D poses in a ``hotdemo run`` / ``hotdemo lift`` NPZ export.

For each track: how many frames, head-to-pelvis length in metres (median and 5-95 % spread:
a stable body size), how often the person stands upright in the world frame (head above the
pelvis by more than 0.3 m: no tilted or upside-down output), and the largest per-frame joint
step in mm at the lifter's window borders against elsewhere (a seam shows up as larger steps at
the borders; the steps around the largest border step tell a jump from a fast but smooth
movement). The windows are placed as :func:`hotdemo.lift.lifter.window_starts` places them for a
track of that length, so ``--frames`` must be the lifter's window length and ``--no-overlap``
must match the run.

    python tools/check_poses.py out/video.npz --frames 27
    python tools/check_poses.py out/video.npz --frames 81 --json checks.json

Left/right correctness is not a number here: look at the rendered frames (red = right).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.io.files import atomic_write_json  # noqa: E402
from hotdemo.lift.lifter import window_starts  # noqa: E402
from hotdemo.core.skeletons import H36M17  # noqa: E402


def border_frames(T: int, F: int, overlap: bool) -> np.ndarray:
    """(T-1,) bool: whether the step from frame t to t+1 crosses a window start or end."""
    if T < 2:
        return np.zeros(0, bool)
    starts, _ = window_starts(T, F, overlap)
    edges = np.concatenate([starts, starts + F])  # first frame of a window / first frame after it
    mask = np.zeros(T - 1, bool)
    mask[edges[(edges >= 1) & (edges <= T - 1)] - 1] = True  # the step (e-1 -> e)
    return mask


def track_figures(frames: np.ndarray, cam: np.ndarray, world: np.ndarray, F: int, overlap: bool) -> dict:
    """``cam`` / ``world``: (T, 17, 3) metres, one track in frame order."""
    head, pelvis = H36M17.index("head"), H36M17.index("pelvis")
    h2p = np.linalg.norm(cam[:, head] - cam[:, pelvis], axis=-1)
    fig = {"frames": int(len(frames)), "head_pelvis_m_median": float(np.median(h2p)),
           "head_pelvis_m_p5_p95": [float(np.percentile(h2p, 5)), float(np.percentile(h2p, 95))]}
    if np.isfinite(world).all():
        fig["upright_fraction"] = float(np.mean(world[:, head, 2] - world[:, pelvis, 2] > 0.3))
    consecutive = np.diff(frames) == 1
    step = np.linalg.norm(np.diff(cam, axis=0), axis=-1).max(axis=-1) * 1000  # (T-1,) mm, worst joint
    border = border_frames(len(frames), F, overlap)
    for name, sel in (("border", border & consecutive), ("elsewhere", ~border & consecutive)):
        fig[f"max_step_mm_{name}"] = float(step[sel].max()) if sel.any() else None
        fig[f"median_step_mm_{name}"] = float(np.median(step[sel])) if sel.any() else None
    sel = border & consecutive
    if sel.any():  # a seam is a jump; fast motion rises and falls around the largest border step
        i = int(np.flatnonzero(sel)[np.argmax(step[sel])])
        fig["max_border_step_frame"] = int(frames[i])  # the step from this frame to the next
        fig["steps_mm_around_max_border"] = [float(v) for v in step[max(0, i - 3):i + 4]]
        fig["max_border_step_index_in_steps_around"] = i - max(0, i - 3)
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("npz", type=Path, help="hotdemo's NPZ export")
    ap.add_argument("--frames", type=int, required=True, help="the lifter's window length")
    ap.add_argument("--no-overlap", action="store_true", help="the run used --no-overlap")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)
    if not a.npz.is_file():
        print(f"error: no such file: {a.npz}", file=sys.stderr)
        return 2
    keys = ("track_ids", "track_id_3d", "frames_3d", "joints_3d_camera", "joints_3d_world")
    try:
        with np.load(a.npz) as z:  # each access to an NpzFile key decompresses it again: read once
            missing = [k for k in keys if k not in z.files]
            d = {k: z[k] for k in keys if k not in missing}
    except (OSError, ValueError, TypeError):  # not an NPZ archive (TypeError: a plain .npy array)
        missing = None
    if missing is None or missing:
        why = "not an NPZ archive" if missing is None else f"no {', '.join(missing)}"
        print(f"error: {a.npz}: not a hotdemo NPZ export ({why})", file=sys.stderr)
        return 2
    out = {}
    for tid in d["track_ids"]:
        sel = np.flatnonzero(d["track_id_3d"] == tid)
        if not len(sel):
            continue
        sel = sel[np.argsort(d["frames_3d"][sel])]
        f = track_figures(d["frames_3d"][sel], d["joints_3d_camera"][sel], d["joints_3d_world"][sel],
                          a.frames, not a.no_overlap)
        out[int(tid)] = f
        up = f.get("upright_fraction")
        mb, me = f["max_step_mm_border"], f["max_step_mm_elsewhere"]
        print(f"track {tid}: {f['frames']} frames, head-pelvis {f['head_pelvis_m_median']:.2f} m "
              f"(5-95 %: {f['head_pelvis_m_p5_p95'][0]:.2f}-{f['head_pelvis_m_p5_p95'][1]:.2f}), "
              f"upright {'n/a' if up is None else f'{100 * up:.0f} %'}, largest joint step "
              f"{'n/a' if mb is None else f'{mb:.1f}'} mm at window borders, "
              f"{'n/a' if me is None else f'{me:.1f}'} mm elsewhere")
        if mb is not None:
            around = [f"{v:.1f}" for v in f["steps_mm_around_max_border"]]
            k = f["max_border_step_index_in_steps_around"]
            around[k] = f"[{around[k]}]"
            print(f"  steps around the largest border step (frame {f['max_border_step_frame']} to the next): "
                  f"{', '.join(around)} mm")
    if a.json:
        atomic_write_json(a.json, {"npz": str(a.npz), "frames": a.frames, "tracks": out}, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
