"""A long 720p video through ``hotdemo run``: peak memory and frames per second.

Generates a clip of ``--minutes`` minutes at 1280x720 (default 10 minutes, 30 fps) by
looping a real video from ../shared/videos scaled to 720p (so there are people to track,
lift and render), or a synthetic test pattern without ../shared, then runs the whole
pipeline on it in this process and reports:

* peak RSS of this process (``resource.getrusage``; models, decode queue, per-frame 2D
  results, lifting, rendering), and of the largest child process (ffmpeg; an upper bound,
  as the kernel counts a child from its fork, before exec);
* RSS sampled every second (psutil) at 10 %, 50 % and 90 % of the run, to show whether
  memory grows with video length;
* frames per second overall and per stage. Target: peak RSS < 2 GB.

    python benchmarks/long_video.py                 # 10 minutes (long on a small CPU)
    python benchmarks/long_video.py --minutes 1 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def make_clip(path: Path, minutes: float, fps: int, shared) -> str:
    from hotdemo.io.video import ffmpeg_exe

    seconds = minutes * 60
    src = shared / "videos" / "basketball.mp4" if shared else None
    if src is not None and src.is_file():
        inp = ["-stream_loop", "-1", "-i", str(src)]
        what = f"{src.name} looped"
    else:
        inp = ["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={fps}"]
        what = "testsrc2 pattern (no people)"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inp, "-t", str(seconds),
                    "-vf", f"scale=1280:720,fps={fps}", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23",
                    "-pix_fmt", "yuv420p", "-an", str(path)], check=True)
    return what


class RssSampler(threading.Thread):
    def __init__(self, period: float = 1.0):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process()
        self.period = period
        self.samples = []  # (t, rss bytes)
        self._halt = threading.Event()

    def run(self):
        t0 = time.perf_counter()
        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - t0, self.proc.memory_info().rss))
            self._halt.wait(self.period)

    def stop(self):
        self._halt.set()
        self.join()

    def at(self, frac: float) -> int:
        if not self.samples:
            return 0
        return self.samples[min(len(self.samples) - 1, int(frac * len(self.samples)))][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--no-render", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch

    from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, bundled_lifter_path, shared_dir
    from hotdemo.pipeline import Pipeline, PipelineConfig
    from hotdemo.io.video import probe

    if args.threads:
        torch.set_num_threads(args.threads)
    shared = shared_dir()
    if shared is not None:
        det = str(shared / OFFLINE_DETECTOR)
        pose = str(shared / OFFLINE_POSE2D)
    else:
        det = pose = None  # the default models (downloaded on first use)
    cfg = PipelineConfig(detector=det, pose2d=pose, device=args.device,
                         allow_untrained=not bundled_lifter_path().exists(),
                         exports=("json", "npz"), render=not args.no_render)

    with tempfile.TemporaryDirectory(prefix="hotdemo_long_") as tmp:
        clip = Path(tmp) / "long_720p.mp4"
        t = time.perf_counter()
        what = make_clip(clip, args.minutes, args.fps, shared)
        info = probe(clip)
        print(f"generated {info.width}x{info.height} {info.frame_count} frames ({args.minutes:g} min, {what}) "
              f"in {time.perf_counter() - t:.0f} s", flush=True)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        sampler = RssSampler()
        sampler.start()
        t0 = time.perf_counter()
        with Pipeline(cfg, verbose=not args.quiet) as pipe:
            load_s = time.perf_counter() - t0
            r = pipe.run(clip, Path(tmp) / "out")
        wall = time.perf_counter() - t0
        sampler.stop()
        out_sizes = {p.name: p.stat().st_size for p in r.outputs}

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    mb = lambda b: round(b / 2**20, 1)  # noqa: E731
    fig = {
        "minutes": args.minutes, "frames": r.frames, "people": r.people, "width": info.width, "height": info.height,
        "wall_s": round(wall, 1), "model_load_s": round(load_s, 1),
        "fps_overall": round(r.frames / max(wall, 1e-9), 2),
        "stage_s": {k: round(v, 1) for k, v in r.stage_seconds.items()},
        "stage_fps": {k: round(r.frames / max(v, 1e-9), 1) for k, v in r.stage_seconds.items()},
        "peak_rss_mb": mb(peak), "rss_before_run_mb": mb(base_rss),
        "rss_at_10_50_90_percent_mb": [mb(sampler.at(f)) for f in (0.1, 0.5, 0.9)],
        "ffmpeg_children_peak_rss_mb": mb(child_peak),
        "target_peak_under_2GB": peak < 2 * 2**30,
        "outputs_mb": {k: mb(v) for k, v in out_sizes.items()},
        "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": args.device,
        "render": not args.no_render,
    }
    print(f"{r.frames} frames, {r.people} people, {wall:.0f} s: {fig['fps_overall']} frames/s overall "
          f"(stages: {', '.join(f'{k} {v} fps' for k, v in fig['stage_fps'].items())})")
    print(f"peak RSS {fig['peak_rss_mb']} MB (target < 2048 MB: {'met' if fig['target_peak_under_2GB'] else 'MISSED'}); "
          f"RSS at 10/50/90 % of the run: {fig['rss_at_10_50_90_percent_mb']} MB; "
          f"largest child process {fig['ffmpeg_children_peak_rss_mb']} MB (an upper bound: a child is "
          f"counted from its fork, before ffmpeg replaces the interpreter)")
    print(json.dumps(fig))
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")
    sys.exit(0 if fig["target_peak_under_2GB"] else 1)


if __name__ == "__main__":
    main()
