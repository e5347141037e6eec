"""Latency and frame rate of ``hotdemo live`` on the shared videos played in real time.

    python benchmarks/live.py [--videos two_people_indoor.mp4,basketball.mp4] [--settings "1,off;2,off;1,on"]

Each setting is ``threads,flip``. The offline models of ../shared stand in for the default ones
(YOLO11n + RTMPose-s need a download); the shipped lifter. Prints, per video and setting: the
frames processed per second, the share of the source's frames dropped (live keeps only the
newest frame), and the latency from capture to 3D and to the rendered output (median / p95).
The settings run one after another in one process, so their figures are comparable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotdemo.live import run_live  # noqa: E402
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, shared_dir  # noqa: E402
from hotdemo.pipeline import PipelineConfig  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", default="two_people_indoor.mp4,basketball.mp4")
    ap.add_argument("--settings", default="1,off;2,off;1,on")
    ap.add_argument("--tokens", type=int, default=None)
    a = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        sys.exit("error: ../shared (or $HOTDEMO_SHARED) with the offline models and videos is needed")
    print("| video | threads | flip | frames/s processed | source fps | dropped | capture -> 3D ms (median / p95) "
          "| capture -> output ms (median / p95) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for v in a.videos.split(","):
        for setting in a.settings.split(";"):
            threads, flip = setting.split(",")
            cfg = PipelineConfig(detector=str(shared / OFFLINE_DETECTOR), pose2d=str(shared / OFFLINE_POSE2D),
                                 threads=int(threads), flip=flip == "on", tokens=a.tokens)
            with tempfile.TemporaryDirectory() as tmp:
                st = run_live(str(shared / "videos" / v), cfg, window=False, output=Path(tmp) / "o.mp4")
            s = st.summary()
            print(f"| {v} | {threads} | {flip} | {s['processed_fps']} | {s['source_fps']} | "
                  f"{100 * st.frames_dropped / max(1, st.frames_captured):.0f} % | "
                  f"{s['latency_3d_ms']['median']} / {s['latency_3d_ms']['p95']} | "
                  f"{s['latency_out_ms']['median']} / {s['latency_out_ms']['p95']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
