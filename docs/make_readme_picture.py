"""Make the README's picture: one frame of ``hotdemo run`` on a real photograph.

    python docs/make_readme_picture.py            # writes docs/images/run_bus.jpg
    python docs/make_readme_picture.py --demo-3d  # writes docs/images/demo_3d.png

The test videos in ../shared may not be redistributed, so the committed picture comes from a
photograph that may: ``bus.jpg``, which ships inside the ultralytics package (AGPL-3.0, the
licence hotdemo is under too). The photo is looped into a 2-second clip and run through the
real pipeline - detection + tracking, top-down 2D keypoints, the shipped HoT lifter, the
renderer - exactly as ``hotdemo run`` does; then one frame of the rendered video is saved.

``--demo-3d`` draws the README's second picture: the 3D panels only (our own drawing; the video's
frames may not be redistributed) of two frames of ``hotdemo run`` on ../shared's
``two_people_indoor.mp4``, side by side.

Models: the offline ones in ../shared by default (the defaults, YOLO11n + HRNet-W32, need a
download); ``--detector`` / ``--pose2d`` choose others.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import imageio.v2 as imageio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotdemo.core.paths import shared_dir  # noqa: E402
from hotdemo.pipeline import Pipeline, PipelineConfig  # noqa: E402
from hotdemo.io.video import iter_frames  # noqa: E402


def bus_photo() -> Path:
    import ultralytics

    p = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    if not p.is_file():
        sys.exit(f"error: {p} not found (is ultralytics installed?)")
    return p


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="default: docs/images/run_bus.jpg (demo_3d.png with --demo-3d)")
    ap.add_argument("--detector", default=None, help="default: ../shared's Yolo-Fastest body model")
    ap.add_argument("--pose2d", default=None, help="default: ../shared's SimplePose ONNX model")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--frame", type=int, default=45, help="which rendered frame to save")
    ap.add_argument("--width", type=int, default=1280, help="width of the saved picture")
    ap.add_argument("--demo-3d", action="store_true", help="the 3D-panel picture of a ../shared test video")
    ap.add_argument("--demo-frames", default="10,55", help="with --demo-3d: the two frames to show")
    args = ap.parse_args()

    shared = shared_dir()
    det = args.detector or (shared and str(shared / "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"))
    pose = args.pose2d or (shared and str(shared / "models/ultralight-simplepose/simplepose_256x192.onnx"))
    if not det or not pose:
        sys.exit("error: ../shared not found; pass --detector and --pose2d")

    if args.demo_3d:
        out = Path(args.out or ROOT / "docs" / "images" / "demo_3d.png")
        return demo_3d(shared, det, pose, [int(x) for x in args.demo_frames.split(",")], args.width, out)

    img = cv2.cvtColor(cv2.imread(str(bus_photo())), cv2.COLOR_BGR2RGB)
    h, w = img.shape[:2]
    img = img[: h - h % 2, : w - w % 2]  # even size for H.264
    fps = 30
    n = int(round(args.seconds * fps))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "bus.mp4"
        with imageio.get_writer(clip, fps=fps, codec="libx264", quality=9, macro_block_size=1) as wr:
            for _ in range(n):
                wr.append_data(img)
        res, picked = rendered_frames(clip, det, pose, lambda n: [min(args.frame, n - 1)])
    if not picked:
        sys.exit("error: the rendered video has no frames")
    frame = next(iter(picked.values()))
    scale = args.width / frame.shape[1]
    frame = cv2.resize(frame, (args.width, int(round(frame.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    out = Path(args.out or ROOT / "docs" / "images" / "run_bus.jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{res.people} people, {res.frames} frames -> {out} ({out.stat().st_size // 1024} KB)")
    return 0


def rendered_frames(clip: Path, det: str, pose: str, which):
    """Run the pipeline on ``clip`` (rendering on) in a temporary folder; ``(result, {index: RGB frame})``
    for the frame indices ``which(n_frames)`` of the rendered video."""
    with tempfile.TemporaryDirectory() as tmp:
        res = Pipeline(PipelineConfig(detector=det, pose2d=pose, exports=("json",))).run(clip, Path(tmp) / "out")
        video = next(p for p in res.outputs if p.suffix == ".mp4")
        wanted = set(which(res.frames))
        return res, {i: f for i, f in enumerate(iter_frames(video)) if i in wanted}


def demo_3d(shared: Path, det: str, pose: str, frames: list, width: int, out: Path) -> int:
    """The right half (the 3D panel) of ``frames`` of the rendered video, side by side, ``width`` wide."""
    src = shared / "videos" / "two_people_indoor.mp4"
    if not src.is_file():
        sys.exit(f"error: {src} not found")
    res, picked = rendered_frames(src, det, pose, lambda n: frames)
    picked = {i: f[:, f.shape[1] // 2:] for i, f in picked.items()}  # the 3D panel
    if len(picked) != len(frames):
        sys.exit(f"error: the rendered video has {res.frames} frames; asked for {frames}")
    panel_w = width // len(frames)
    panels = [cv2.resize(picked[i], (panel_w, int(round(picked[i].shape[0] * panel_w / picked[i].shape[1]))),
                         interpolation=cv2.INTER_AREA) for i in frames]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(panels, axis=1), cv2.COLOR_RGB2BGR))
    print(f"{res.people} people, frames {frames} -> {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
