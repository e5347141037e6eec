"""Frames per second of the 2D front end (detection + tracking + 2D keypoints), batched against
one-by-one, side by side in one run.

    python benchmarks/pose2d.py                       # offline models in ../shared, CPU
    python benchmarks/pose2d.py --default-stack       # also YOLO11n + HRNet-W32, random weights
    python benchmarks/pose2d.py --device cuda --frames 64 --default-stack

Stacks: ``offline`` = Yolo-Fastest body (Darknet via OpenCV) + SimplePose (ONNX Runtime);
``default`` = YOLO11n (ultralytics, built from yolo11n.yaml with random weights, so detections
are replaced by the boxes the offline detector found on the same frames) + HRNet-W32 256x192
(random weights). Frames come from ../shared/videos/two_people_indoor.mp4 (1920x1080, 2 people).
Times are wall clock over ``--frames`` frames after one warm-up batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.detect.detector import build_detector  # noqa: E402
from hotdemo.frontend import FrontEnd2D  # noqa: E402
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, shared_dir  # noqa: E402
from hotdemo.pose2d import build_pose2d  # noqa: E402
from hotdemo.detect.track import Tracker  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stand_ins import TimedDetector, frame_key, random_hrnet_checkpoint  # noqa: E402


def run(fe: FrontEnd2D, frames, batch: int) -> float:
    fe.reset()
    t = time.perf_counter()
    for i in range(0, len(frames), batch):
        fe.process(frames[i:i + batch], i)
    return len(frames) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenCV threads")
    ap.add_argument("--default-stack", action="store_true")
    args = ap.parse_args()
    sh = shared_dir()
    if sh is None:
        sys.exit("needs ../shared (offline models and videos)")
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    cap = cv2.VideoCapture(str(sh / "videos/two_people_indoor.mp4"))
    frames = []
    while len(frames) < args.frames + args.batch:
        ok, bgr = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    warm, frames = frames[:args.batch], frames[args.batch:]
    det = build_detector(str(sh / OFFLINE_DETECTOR), device=args.device)
    pose = build_pose2d(str(sh / OFFLINE_POSE2D), device=args.device)
    stacks = {"offline (Yolo-Fastest + SimplePose ONNX)": (det, pose)}
    if args.default_stack:
        replay = {frame_key(f): b for f, b in zip(frames, det(frames))}
        yolo = build_detector("yolo11n.yaml", device=args.device, runtime="torch")
        hr = build_pose2d(random_hrnet_checkpoint(), device=args.device)
        stacks["default (YOLO11n 640 + HRNet-W32 256x192, random weights)"] = (
            TimedDetector(yolo, replay), hr)
    people = sum(len(b) for b in det(frames))
    print(f"{len(frames)} frames of 1920x1080, {people / len(frames):.1f} people/frame, device {args.device}, "
          f"{args.threads} threads")
    print(f"{'stack':60s} {'one-by-one':>11s} {'batch ' + str(args.batch):>11s}")
    for name, (d, p) in stacks.items():
        fe = FrontEnd2D(d, Tracker(), p, det_every=1)  # detect every frame: the stacks as measured before
        res = {}
        for b in (1, args.batch):
            p.batch_size = max(1, b * 4)
            if isinstance(d, TimedDetector):  # warm the network only: the warm-up frames have no replayed boxes
                d.inner(warm[:b])
            else:
                fe.process(warm[:b], 0)
            res[b] = run(fe, frames, b)
        print(f"{name:60s} {res[1]:8.2f} fps {res[args.batch]:8.2f} fps")


if __name__ == "__main__":
    main()
