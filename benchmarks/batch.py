"""Batch throughput on CPU: clips per hour and time per stage.

Cuts short clips from the videos in ../shared/videos into a temporary folder (copies there
only, never into the project), runs ``hotdemo batch`` logic on them with the offline models
of ../shared/models, and prints clips/hour, frames/second and the time spent per stage
(2D = decode + detect + track + 2D keypoints, 3D = lifting + world alignment, export,
render), plus the one-off model loading time.

    python benchmarks/batch.py                      # 6 clips of 3 s, rendered, CPU
    python benchmarks/batch.py --clips 4 --seconds 2 --no-render --threads 2
    python benchmarks/batch.py --ray auto           # same clips spread over local Ray workers

Numbers depend on the machine and on what else runs on it; the script prints the CPU
count and torch thread count it used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cut_clips(shared: Path, folder: Path, n: int, seconds: float) -> list:
    from hotdemo.io.video import ffmpeg_exe, probe

    videos = sorted((shared / "videos").glob("*.mp4"))
    if not videos:
        sys.exit(f"no videos in {shared / 'videos'}")
    durations = {v: probe(v).frame_count / probe(v).fps for v in videos}
    out = []
    for i in range(n):
        v = videos[i % len(videos)]
        k = i // len(videos)
        start = (k * seconds) % max(durations[v] - seconds, 0.001) if durations[v] > seconds else 0.0
        dst = folder / f"clip{i:02d}_{v.stem}.mp4"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-ss", f"{start:.2f}",
                        "-i", str(v), "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                        "-pix_fmt", "yuv420p", "-an", str(dst)], check=True)
        out.append(dst)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each clip")
    ap.add_argument("--no-render", action="store_true", help="skip the rendered video")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--ray", default=None, help="spread over Ray: 'auto' or an address")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = ap.parse_args()

    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch

    from hotdemo.batch import default_pipeline_factory, run_batch
    from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, bundled_lifter_path, shared_dir
    from hotdemo.pipeline import PipelineConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    shared = shared_dir()
    if shared is None:
        sys.exit("../shared (or $HOTDEMO_SHARED) is needed for the offline models and videos")
    cfg = PipelineConfig(
        detector=str(shared / OFFLINE_DETECTOR),
        pose2d=str(shared / OFFLINE_POSE2D),
        device="cpu", allow_untrained=not bundled_lifter_path().exists(),
        exports=("json", "npz"), render=not args.no_render,
    )
    load = {}

    def timed_factory(config):
        t = time.perf_counter()
        p = default_pipeline_factory(config)
        load["seconds"] = time.perf_counter() - t
        return p

    with tempfile.TemporaryDirectory(prefix="hotdemo_bench_") as tmp:
        folder = Path(tmp) / "clips"
        folder.mkdir()
        clips = cut_clips(shared, folder, args.clips, args.seconds)
        t0 = time.perf_counter()
        rep = run_batch(folder, Path(tmp) / "out", config=cfg, verbose=False, ray=args.ray,
                        pipeline_factory=None if args.ray else timed_factory)
        wall = time.perf_counter() - t0

    ok = [c for c in rep.clips if c.status == "ok"]
    frames = sum(c.frames or 0 for c in ok)
    stages: dict = {}
    for c in ok:
        for k, v in c.stage_seconds.items():
            stages[k] = stages.get(k, 0.0) + v
    clip_seconds = sum(c.seconds or 0 for c in ok)
    fig = {
        "clips": len(clips), "ok": len(ok), "clip_length_s": args.seconds, "frames": frames,
        "wall_s": round(wall, 2), "model_load_s": round(load.get("seconds", float("nan")), 2),
        "clips_per_hour": round(len(ok) / wall * 3600, 1),
        "clips_per_hour_excluding_load": round(len(ok) / max(clip_seconds, 1e-9) * 3600, 1),
        "fps": round(frames / max(clip_seconds, 1e-9), 2),
        "stage_s": {k: round(v, 2) for k, v in stages.items()},
        "stage_ms_per_frame": {k: round(1000 * v / max(frames, 1), 1) for k, v in stages.items()},
        "render": not args.no_render, "mode": rep.mode, "workers": rep.workers,
        "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "lifter": "untrained (no shipped weights)" if cfg.allow_untrained else "shipped hot_mixste",
    }
    print(f"{len(ok)}/{len(clips)} clips of {args.seconds:g} s ({frames} frames) in {wall:.1f} s "
          f"(models loaded once in {fig['model_load_s']} s)")
    print(f"  {fig['clips_per_hour']} clips/hour overall, {fig['clips_per_hour_excluding_load']} excluding model "
          f"loading; {fig['fps']} frames/s")
    for k, v in stages.items():
        print(f"  {k:7s} {v:7.2f} s  {fig['stage_ms_per_frame'][k]:7.1f} ms/frame")
    print(f"  CPU: {fig['cpus']} cores, torch threads {fig['torch_threads']}, render={fig['render']}, mode={rep.mode}")
    print(json.dumps(fig))
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")


if __name__ == "__main__":
    main()
