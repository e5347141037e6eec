"""The whole ``hotdemo run`` (decode, detect, track, 2D, lift, exports, render, encode) on 720p clips
with 1 and 3 people, per stage, for several front-end stacks side by side in one run.

    python benchmarks/e2e.py                                   # stacks a, b, c; k = 5; RTMPose-m and -s
    python benchmarks/e2e.py --det-every 5 --sizes m,s --threads 2
    python benchmarks/e2e.py --device cuda --stacks b --frames 240   # on a GPU machine

Stacks (each through :class:`hotdemo.pipeline.Pipeline`, shipped lifter, exports json + npz,
rendering on):

* ``a`` the old default architecture: YOLO11n at 640 on every frame + HRNet-W32 256x192 in
  PyTorch, random weights;
* ``b-<size>`` the new default architecture: YOLO11n every ``--det-every`` frames (exported and
  run by ONNX Runtime, as ``hotdemo run`` does on a CPU) + RTMPose-<size> 256x192 (our PyTorch
  build exported to ONNX with RTMPose's SDK signature, random weights) run by ONNX Runtime;
  ``bt`` the same with YOLO11n in ultralytics' PyTorch predictor (the default before);
* ``c`` the offline test models (Yolo-Fastest body + SimplePose ONNX, real weights) with
  detection every ``--det-every`` frames, and ``c1`` the same with detection on every frame.

Random weights find nobody and give keypoints that mean nothing, so for ``a`` and ``b`` the
detector wrapper runs YOLO11n (paying its cost) but returns the boxes the offline detector found
on the same frame, and the 2D wrapper runs the 2D model (paying its cost) but returns keypoints
laid out inside each box with score 0.9, as a trained model would return for a person who fills
the box. So the detection schedule of ``b`` is what a trained model gives (every k frames), and
lifting / rendering work on plausible input. ``c`` uses the real outputs of real models.

Clips (made here from ../shared/videos/two_people_indoor.mp4, 1920x1080, 72 frames, looped to
``--frames``): ``1p`` one person cropped and letterboxed into 1280x720; ``3p`` the whole frame
(2 people) beside a mirrored crop of one of them (a third person), scaled into 1280x720.

Per stage, ms per frame: ``decode+track`` (the 2D pass minus detector and 2D model time; frames
are decoded in a background thread), ``detect``, ``2d``, ``lift``, ``export``, ``render`` (drawing
only) and ``decode+encode`` (the render pass minus drawing). Overall frames/s with rendering on
(the whole run) and off (the whole run minus the render pass, which is a separate pass after the
others: the same work ``--no-render`` does).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stand_ins import TimedDetector, TimedPose, frame_key, random_hrnet_checkpoint  # noqa: E402


#: a random-weight YOLO scores every anchor about 0.5: at the usual 0.25 its NMS would sort
#: thousands of boxes a frame, a cost a trained model never pays; this keeps the network's cost only
RANDOM_YOLO_CONF = 0.99


def make_clips(folder: Path, shared: Path, frames: int):
    import cv2

    from hotdemo.io.video import VideoWriter

    cap = cv2.VideoCapture(str(shared / "videos" / "two_people_indoor.mp4"))
    src = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        src.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    seq = [src[i % len(src)] if (i // len(src)) % 2 == 0 else src[len(src) - 1 - i % len(src)] for i in range(frames)]

    def fit(img):
        h, w = img.shape[:2]
        s = min(1280 / w, 720 / h)
        small = cv2.resize(img, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
        out = np.zeros((720, 1280, 3), np.uint8)
        y, x = (720 - small.shape[0]) // 2, (1280 - small.shape[1]) // 2
        out[y:y + small.shape[0], x:x + small.shape[1]] = small
        return out

    clips = {
        "1p": [fit(f[:, 860:1600]) for f in seq],  # the person on the right only
        "3p": [fit(np.concatenate([f, f[:, 860:1300][:, ::-1]], axis=1)) for f in seq],
    }
    paths = {}
    for name, fr in clips.items():
        p = folder / f"e2e_{name}_720p.mp4"
        with VideoWriter(p, 30.0, (1280, 720)) as w:
            for f in fr:
                w.write(f)
        paths[name] = (p, fr)
    return paths


def run_one(name, pipe, det, pose, video, out_dir, render_timer):
    render_timer.seconds = 0.0
    det.seconds = det.calls = 0
    pose.seconds = pose.crops = 0
    res = pipe.run(video, out_dir)
    n = res.frames
    st = res.stage_seconds
    ms = lambda s: 1000.0 * s / n  # noqa: E731
    row = {
        "stack": name, "frames": n, "detections": det.calls, "crops": pose.crops,
        "decode+track": ms(st["2d"] - det.seconds - pose.seconds), "detect": ms(det.seconds), "2d": ms(pose.seconds),
        "lift": ms(st["3d"]), "export": ms(st["export"]), "render": ms(render_timer.seconds),
        "decode+encode": ms(st.get("render", 0.0) - render_timer.seconds),
        "fps_render": n / res.seconds, "fps_norender": n / (res.seconds - st.get("render", 0.0)),
    }
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=72)
    ap.add_argument("--det-every", type=int, default=5)
    ap.add_argument("--sizes", default="m,s", help="RTMPose sizes for stack b")
    ap.add_argument("--stacks", default="a,b,c,c1")
    ap.add_argument("--clips", default="1p,3p")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=1, help="runs per stack and clip (the best is kept)")
    args = ap.parse_args()

    import cv2
    import torch

    from hotdemo.render import render as render_mod
    from hotdemo.detect.detector import build_detector
    from hotdemo.frontend import FrontEnd2D
    from hotdemo.pose2d.families.rtmpose import random_rtmpose_onnx
    from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, shared_dir
    from hotdemo.pipeline import Pipeline, PipelineConfig
    from hotdemo.pose2d import POSE2D_SPECS, build_pose2d
    from hotdemo.detect.track import Tracker

    sh = shared_dir()
    if sh is None:
        sys.exit("needs ../shared (offline models and videos)")
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="hotdemo_e2e_"))
    clips = make_clips(tmp, sh, args.frames)

    # time the drawing inside the render pass
    class RenderTimer:
        seconds = 0.0

    rt = RenderTimer()
    orig = render_mod.Renderer.render

    def timed_render(self, frame, i):
        t = time.perf_counter()
        out = orig(self, frame, i)
        rt.seconds += time.perf_counter() - t
        return out

    render_mod.Renderer.render = timed_render

    off_det = build_detector(str(sh / OFFLINE_DETECTOR), device=args.device)
    off_pose = str(sh / OFFLINE_POSE2D)
    from hotdemo.io.video import iter_frames

    replay = {}  # offline detector boxes of the frames as the pipeline decodes them
    for name, (path, _) in clips.items():
        for f in iter_frames(path):
            replay[frame_key(f)] = off_det([f])[0]
    stacks = {}
    want = args.stacks.split(",")
    lifter = None
    for s in want:
        if s == "a":
            yolo = build_detector("yolo11n.yaml", device=args.device, conf=RANDOM_YOLO_CONF, runtime="torch")
            hr = build_pose2d(random_hrnet_checkpoint(), device=args.device)
            stacks["a YOLO11n every frame + HRNet-W32 (torch), random"] = (
                TimedDetector(yolo, replay), TimedPose(hr, synthetic=True), 1)
        elif s in ("b", "bt"):
            runtime = "torch" if s == "bt" else "auto"
            for size in args.sizes.split(","):
                yolo = build_detector("yolo11n.yaml", device=args.device, conf=RANDOM_YOLO_CONF, runtime=runtime,
                                      threads=args.threads)
                spec = POSE2D_SPECS[f"rtmpose_{size}_body7_256x192"].replace(weights=str(random_rtmpose_onnx(size)))
                rp = build_pose2d(spec, device=args.device, threads=args.threads)
                how = "torch" if yolo.runtime == "torch" else "ONNX"
                stacks[f"{s} YOLO11n ({how}) every {args.det_every} + RTMPose-{size} (ONNX), random"] = (
                    TimedDetector(yolo, replay), TimedPose(rp, synthetic=True), args.det_every)
        elif s in ("c", "c1"):
            k = 1 if s == "c1" else args.det_every
            stacks[f"{s} offline Yolo-Fastest + SimplePose every {k}"] = (
                TimedDetector(off_det), TimedPose(build_pose2d(off_pose, device=args.device, threads=args.threads)), k)
    # warm-up: first calls load / fuse / allocate
    video0, fr0 = clips["3p"]
    f0 = next(iter(iter_frames(video0)))
    for det, pose, _ in stacks.values():
        for _ in range(2):
            b = det([f0])[0]
            pose([f0], [np.asarray(b, np.float32).reshape(-1, 5)[:, :4]])
    rows = []
    for clip in args.clips.split(","):
        video, _ = clips[clip]
        for name, (det, pose, k) in stacks.items():
            fe = FrontEnd2D(det, Tracker(), pose, det_every=k)
            cfg = PipelineConfig(device=args.device, det_every=k)
            pipe = Pipeline(cfg, frontend=fe, lifter=lifter)
            lifter = pipe.lifter
            best = None
            for _ in range(args.repeats):
                row = run_one(name, pipe, det, pose, video, tmp / f"out_{clip}", rt)
                if best is None or row["fps_render"] > best["fps_render"]:
                    best = row
            best["clip"] = clip
            rows.append(best)
            print(_fmt(best), flush=True)
    print()
    print(f"{args.frames} frames of 1280x720 per clip, device {args.device}, {args.threads} threads; ms per frame")
    cols = ["decode+track", "detect", "2d", "lift", "export", "render", "decode+encode"]
    print("| clip | stack | detections | " + " | ".join(cols) + " | frames/s render on | frames/s render off |")
    print("| --- " * (len(cols) + 5) + "|")
    for r in rows:
        print(f"| {r['clip']} | {r['stack']} | {r['detections']}/{r['frames']} | "
              + " | ".join(f"{r[c]:.1f}" for c in cols) + f" | {r['fps_render']:.2f} | {r['fps_norender']:.2f} |")
    a = {r["clip"]: r for r in rows if r["stack"].startswith("a ")}
    for r in rows:
        if r["stack"].startswith(("b ", "bt ")) and r["clip"] in a:
            print(f"{r['clip']} {r['stack']}: {r['fps_render'] / a[r['clip']]['fps_render']:.1f}x (a) with render, "
                  f"{r['fps_norender'] / a[r['clip']]['fps_norender']:.1f}x without")


def _fmt(r):
    return (f"{r['clip']} {r['stack']}: {r['fps_render']:.2f} fps (render off {r['fps_norender']:.2f}); "
            f"det {r['detect']:.0f} 2d {r['2d']:.0f} render {r['render']:.0f} ms/frame; {r['detections']} detections")


if __name__ == "__main__":
    main()
