"""Render speed and memory: hotdemo's OpenCV renderer vs a matplotlib 3D figure per frame.

    python benchmarks/render.py [--width 1280 --height 720 --people 2 --mpl-frames 20 --frames 200
                                 --memory-frames 500]

Both renderers draw the same synthetic poses (people walking, seen by a tilted camera) into
the same side-by-side output size: left the input frame with the 2D skeletons, right the 3D
skeletons. (a) "matplotlib" is what the reference HoT/MHFormer demos do per frame: a new figure
with the frame (``imshow``) beside a 3D axes (``plot`` per bone, ``view_init``), rendered to an
RGB array. It is given an advantage over those demos: the 2D overlay is drawn with our OpenCV
code, and nothing is written as PNG (the demos save two PNGs per frame and read them back).
(b) "hotdemo" is :class:`hotdemo.render.Renderer`. Video encoding is excluded from both (it
is the same for both).

Memory: the renderer is run on clips of ``--memory-frames`` and 4x as many frames (after a short
warm-up); the growth and peak of Python allocations (tracemalloc) over the frame loop and the
process RSS growth are printed.
Flat memory means the numbers do not grow with the clip length (Python's and numpy's internal
caches take a few hundred frames to fill, about 0.2 MB, then stay constant).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from hotdemo.render import CENTER_RGB, LEFT_RGB, RIGHT_RGB, Renderer  # noqa: E402
from hotdemo.skeletons import H36M17  # noqa: E402
from hotdemo.synthetic import synthetic_scene  # noqa: E402
from hotdemo.world import estimate_world_rotation, to_world  # noqa: E402


def _scene(T, width, height, people):
    info, t2, t3, _, _ = synthetic_scene(people, T, width=width, height=height)
    return info, t2, to_world(t3, estimate_world_rotation(t3), t2, info)


def _frame(info, i):
    f = np.empty((info.height, info.width, 3), np.uint8)
    f[:] = (60 + i % 50, 70, 80)
    return f


class MatplotlibRenderer:
    """One matplotlib figure per frame, as the reference demos do (see module docstring)."""

    def __init__(self, ours: Renderer):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.plt = plt
        self.ours = ours
        self.W, self.H = ours.output_size
        allj = np.concatenate([j.reshape(-1, 3) for j in ours.jw])
        self.lo, self.hi = allj.min(0), allj.max(0)
        side = {"left": np.array(LEFT_RGB) / 255, "right": np.array(RIGHT_RGB) / 255,
                "center": np.array(CENTER_RGB) / 255}
        self.colors = [side[H36M17.edge_side(e)] for e in H36M17.edges]

    def render(self, frame, i):
        plt, ours = self.plt, self.ours
        left = ours.out[:, : ours.left_w]
        left[:] = frame if frame.shape[:2] == left.shape[:2] else 0
        ours.render_2d(left, i)
        dpi = 100
        fig = plt.figure(figsize=(self.W / dpi, self.H / dpi), dpi=dpi)
        ax = fig.add_axes([0, 0, ours.left_w / self.W, 1])
        ax.imshow(left)
        ax.axis("off")
        ax3 = fig.add_axes([ours.left_w / self.W, 0, ours.right_w / self.W, 1], projection="3d")
        ax3.view_init(elev=15.0, azim=-90 + 10.0 * i / ours.fps)
        for p in range(len(ours.t3)):
            r = ours.rows3d[p, i]
            if r < 0:
                continue
            J = ours.jw[p][r]
            for (a, b), c in zip(H36M17.edges, self.colors):
                ax3.plot(*zip(J[a], J[b]), lw=2, color=c)
        ax3.set_xlim(self.lo[0], self.hi[0])
        ax3.set_ylim(self.lo[1], self.hi[1])
        ax3.set_zlim(0, self.hi[2])
        ax3.set_title("3D")
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        plt.close(fig)
        return img


def _time(render, info, n):
    render(_frame(info, 0), 0)  # warm-up (imports, first figure)
    t0 = time.perf_counter()
    for i in range(n):
        out = render(_frame(info, i), i)
    dt = (time.perf_counter() - t0) / n
    return dt, out.shape


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory(T, width, height, people):
    info, t2, t3 = _scene(T, width, height, people)
    r = Renderer(info, t2, t3)  # the default view
    frame = _frame(info, 0)
    for i in range(30):  # warm-up: library caches (numpy, OpenCV fonts) fill once
        r.render(frame, i)
    gc.collect()
    rss0 = _rss_mb()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for i in range(T):
        r.render(frame, i)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (current - start) / 1e6, (peak - start) / 1e6, _rss_mb() - rss0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--people", type=int, default=2)
    ap.add_argument("--mpl-frames", type=int, default=20)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--memory-frames", type=int, default=500,
                    help="memory is measured over this many and 4x as many frames")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--views", default="main,scene,grid",
                    help="hotdemo 3D panel modes to time side by side (the first is compared with matplotlib)")
    a = ap.parse_args(argv)
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:
        pass

    info, t2, t3 = _scene(max(a.frames, a.mpl_frames), a.width, a.height, a.people)
    views = [v.strip() for v in a.views.split(",") if v.strip()]
    # the 3D panel modes side by side: alternating rounds of frames/5, median round per mode
    renderers = {v: Renderer(info, t2, t3, view=v) for v in views}
    rounds = {v: [] for v in views}
    for _ in range(5):
        for v in views:
            dt, shape = _time(renderers[v].render, info, max(1, a.frames // 5))
            rounds[v].append(dt)
    t_view = {v: float(np.median(rounds[v])) for v in views}
    t_ours = t_view[views[0]]
    mpl = MatplotlibRenderer(Renderer(info, t2, t3))
    t_mpl, shape_mpl = _time(mpl.render, info, a.mpl_frames)
    print(f"output {shape[1]}x{shape[0]} (matplotlib {shape_mpl[1]}x{shape_mpl[0]}), {a.people} people")
    print(f"matplotlib 3D figure per frame: {1000 * t_mpl:8.1f} ms/frame  ({1 / t_mpl:6.1f} fps, {a.mpl_frames} frames)")
    for v in views:
        print(f"hotdemo OpenCV renderer, --view {v:5s} {1000 * t_view[v]:8.1f} ms/frame  ({1 / t_view[v]:6.1f} fps, "
              f"{a.frames} frames; {t_view[v] / t_view[views[0]]:.2f}x the {views[0]} view's time)")
    print(f"speed-up: {t_mpl / t_ours:.1f}x")
    mem = {}
    for T in (a.memory_frames, 4 * a.memory_frames):
        grown, peak, rss = _memory(T, a.width, a.height, a.people)
        mem[T] = (grown, peak, rss)
        print(f"memory while rendering {T:5d} frames: Python heap growth {grown:+6.3f} MB (peak {peak:5.2f} MB), "
              f"RSS growth {rss:+6.1f} MB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"output_size": [shape[1], shape[0]], "people": a.people, "ms_matplotlib": 1000 * t_mpl,
                       "ms_hotdemo": 1000 * t_ours, "speedup": t_mpl / t_ours,
                       "memory": {str(k): {"heap_growth_mb": v[0], "heap_peak_mb": v[1], "rss_growth_mb": v[2]}
                                  for k, v in mem.items()}},
                      f, indent=1)


if __name__ == "__main__":
    main()
