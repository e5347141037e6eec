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
caches take a few hundred frames to fill, then stay constant).

The render pass of ``hotdemo run`` (``--pass-frames N``, 0 skips it; ``--pass-only`` skips the rest):
on a 1280x720 clip of N frames (``$HOTDEMO_SHARED/videos/two_people_indoor.mp4`` scaled and
looped, else ffmpeg's test pattern) with ``--pass-people`` synthetic people, ms per frame of
its parts alone: decode (ffmpeg + the prefetch thread), draw (:meth:`Renderer.render`, frames
in memory), encode (pipe + libx264, rendered frames from memory), each with the rgb24 pipes
(ffmpeg converts between RGB and yuv420p) and the yuv420p pipes (OpenCV converts, the default);
and of the whole pass (:func:`hotdemo.render.render_video`): plain veryfast with rgb24 pipes
(the first version), veryfast + ``hotdemo.io.video.X264_PARAMS`` with rgb24 pipes (before), and
with yuv420p pipes (now), alternating ``--pass-rounds`` times, median. ``--pass-quality``: file size, SSIM and luma PSNR against the drawn frames, and
encoder CPU, of plain veryfast vs veryfast + X264_PARAMS and of the rgb24 vs the yuv420p pipe on
the same rendered clip.
Wall time and CPU time (this process + its ffmpeg children) per frame; on a loaded machine the
wall times are noisy and only the ratios of one run count.
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
from hotdemo.core.skeletons import H36M17  # noqa: E402
from hotdemo.core.synthetic import synthetic_scene  # noqa: E402
from hotdemo.post.world import estimate_world_rotation, to_world  # noqa: E402


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


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children (ffmpeg)."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def _pass_clip(folder, frames: int):
    """A 1280x720 H.264 clip of ``frames`` frames (see module docstring)."""
    import subprocess
    from pathlib import Path

    from hotdemo.io.video import ffmpeg_exe

    src = Path(os.environ.get("HOTDEMO_SHARED", "/nonexistent")) / "videos" / "two_people_indoor.mp4"
    inp = ["-stream_loop", "-1", "-i", str(src)] if src.exists() else ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"]
    out = Path(folder) / "pass_720p.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inp, "-frames:v", str(frames),
                    "-vf", "scale=1280:720", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out, ("two_people_indoor.mp4" if src.exists() else "testsrc2")


def _timed(fn, n):
    t, c = time.perf_counter(), _cpu()
    fn()
    return 1000 * (time.perf_counter() - t) / n, 1000 * (_cpu() - c) / n


def encoder_quality(clip, info, r, tmp):
    """Size, quality and encoder CPU (this process's conversion + ffmpeg) of plain veryfast vs
    veryfast + X264_PARAMS (rgb24 pipe), and of the rgb24 vs the yuv420p pipe, on the same rendered frames."""
    import re
    import subprocess
    from pathlib import Path

    from hotdemo.io.video import X264_PARAMS, VideoWriter, ffmpeg_exe, iter_frames

    W, H = r.output_size
    ref = Path(tmp) / "ref.rgb"
    with open(ref, "wb") as f:
        for i, fr in enumerate(iter_frames(clip, info, warn_truncated=False)):
            f.write(r.render(fr, i).tobytes())
    res = {}
    for params, pipe in (("", "rgb24"), (X264_PARAMS, "rgb24"), (X264_PARAMS, "yuv420p")):
        out = Path(tmp) / "q.mp4"
        t, c = time.perf_counter(), _cpu()
        with VideoWriter(out, info.fps, (W, H), x264_params=params, pipe=pipe) as w:
            raw = np.memmap(ref, np.uint8, "r", shape=(info.frame_count, H, W, 3))
            for fr in raw:
                w.write(np.asarray(fr))
            del raw
        ms = 1000 * (_cpu() - c) / info.frame_count
        cmp = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                              f"{W}x{H}", "-r", str(info.fps), "-i", str(ref), "-i", str(out), "-lavfi",
                              "[1:v]format=rgb24[b];[0:v][b]ssim;[0:v][1:v]psnr", "-f", "null", "-"],
                             capture_output=True, text=True).stderr
        ssim = float(re.search(r"SSIM .*All:([\d.]+)", cmp).group(1))
        psnr_y = float(re.search(r"PSNR y:([\d.]+)", cmp).group(1))
        name = f"{('veryfast + ' + params) if params else 'veryfast'}, {pipe} pipe"
        res[name] = dict(bytes=out.stat().st_size, ssim=ssim, psnr_y=psnr_y, encode_cpu_ms=ms)
        print(f"    encoder {name:42s} {out.stat().st_size / 1e3:8.1f} kB, "
              f"SSIM (RGB, all) {ssim:.4f}, PSNR Y {psnr_y:.2f} dB, CPU {ms:5.1f} ms/frame "
              f"(wall {1000 * (time.perf_counter() - t) / info.frame_count:.1f})", flush=True)
    return res


def render_pass(frames: int, people_list, rounds: int, quality: bool = False):
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from hotdemo.render import render_video
    from hotdemo.io.video import Prefetcher, VideoWriter, iter_frames, probe

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip, source = _pass_clip(tmp, frames)
        info = probe(clip)
        n = info.frame_count
        print(f"render pass: {n} frames of {info.width}x{info.height} ({source}), libx264 veryfast crf 20; "
              f"ms per frame, wall / CPU (this process + ffmpeg); encode alone uses X264_PARAMS")

        def decode(pipe):
            for _ in Prefetcher(iter_frames(clip, info, warn_truncated=False, pipe=pipe), maxsize=8):
                pass

        dec = {p: _timed(lambda: decode(p), n) for p in ("rgb24", "yuv420p")}
        cache = [f.copy() for _, f in zip(range(8), iter_frames(clip, info, warn_truncated=False))]
        for people in people_list:
            sinfo, t2, t3 = _scene(n, info.width, info.height, people)
            r = Renderer(replace(info, frame_count=n), t2, t3)
            r.render(cache[0], 0)
            drw = _timed(lambda: [r.render(cache[i % len(cache)], i) for i in range(n)], n)
            rendered = [r.render(cache[i % len(cache)], i).copy() for i in range(len(cache))]
            out = Path(tmp) / "out.mp4"

            def encode(pipe):
                with VideoWriter(out, info.fps, r.output_size, pipe=pipe) as w:
                    for i in range(n):
                        w.write(rendered[i % len(rendered)])

            enc = {p: _timed(lambda: encode(p), n) for p in ("rgb24", "yuv420p")}
            variants = {"first (veryfast, rgb24 pipes)": dict(x264_params="", pipe="rgb24"),
                        "before (veryfast + X264_PARAMS, rgb24 pipes)": dict(pipe="rgb24"),
                        "now (veryfast + X264_PARAMS, yuv420p pipes)": dict(pipe="auto")}
            whole = {k: [] for k in variants}
            for _ in range(rounds):
                for k, kw in variants.items():
                    whole[k].append(_timed(lambda: render_video(clip, info, r, out, **kw), n))
            med = {k: tuple(float(np.median([x[j] for x in v])) for j in range(2)) for k, v in whole.items() if v}
            first = next(iter(med), None)
            row = {"people": people, "decode": dec, "draw": drw, "encode": enc, "pass": med, "rounds": whole}
            if quality:
                row["encoder_quality"] = encoder_quality(clip, info, r, tmp)
            rows.append(row)
            print(f"{people} people: decode rgb24 {dec['rgb24'][0]:6.1f} / {dec['rgb24'][1]:5.1f}, yuv420p "
                  f"{dec['yuv420p'][0]:6.1f} / {dec['yuv420p'][1]:5.1f}; draw {drw[0]:6.1f} / {drw[1]:5.1f}; "
                  f"encode rgb24 {enc['rgb24'][0]:6.1f} / {enc['rgb24'][1]:5.1f}, yuv420p {enc['yuv420p'][0]:6.1f} / "
                  f"{enc['yuv420p'][1]:5.1f}; whole pass:", flush=True)
            for k, (wall, cpu) in med.items():
                print(f"    {k:40s} {wall:7.1f} / {cpu:6.1f}  ({wall / med[first][0]:.2f}x wall, "
                      f"{cpu / med[first][1]:.2f}x CPU; rounds {', '.join(f'{x[0]:.0f}' for x in whole[k])})", flush=True)
    return rows


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
    ap.add_argument("--pass-frames", type=int, default=48, help="frames of the render-pass clip (0: skip it)")
    ap.add_argument("--pass-people", default="1,3", help="people in the render-pass runs")
    ap.add_argument("--pass-rounds", type=int, default=2, help="alternating rounds of the whole-pass variants (0: none)")
    ap.add_argument("--pass-only", action="store_true", help="only the render pass")
    ap.add_argument("--pass-quality", action="store_true",
                    help="also size / SSIM / PSNR of the rendered clip with and without X264_PARAMS")
    a = ap.parse_args(argv)
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:
        pass

    passes = []
    if a.pass_frames > 0:
        passes = render_pass(a.pass_frames, [int(x) for x in a.pass_people.split(",") if x.strip()], a.pass_rounds,
                             a.pass_quality)
        if a.json and a.pass_only:
            with open(a.json, "w") as f:
                json.dump({"render_pass": passes}, f, indent=1)
    if a.pass_only:
        return
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
                                  for k, v in mem.items()}, "render_pass": passes},
                      f, indent=1)


if __name__ == "__main__":
    main()
