"""Run the 2D front end on a video and save overlay PNGs (boxes, track IDs, COCO-17 skeletons).

    python benchmarks/frontend_check.py ../shared/videos/two_people_indoor.mp4 --every 12
    python benchmarks/frontend_check.py ../shared/videos/basketball.mp4 --every 25

Defaults to the offline models in ../shared. Prints the track summary and detected cuts.
A debugging aid only; the real renderer is hotdemo.render.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.frontend import build_frontend  # noqa: E402
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, shared_dir  # noqa: E402
from hotdemo.core.skeletons import COCO17  # noqa: E402
from hotdemo.detect.assemble import assemble_tracks  # noqa: E402

COLORS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
          (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128)]


def draw(frame: np.ndarray, fp, min_score: float = 0.2) -> np.ndarray:
    img = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    t = max(1, round(img.shape[0] / 360))
    for kp, sc, box, tid in zip(fp.keypoints, fp.scores, fp.boxes, fp.track_ids):
        c = COLORS[int(tid) % len(COLORS)][::-1]
        x1, y1, x2, y2 = box.astype(int)
        cv2.rectangle(img, (x1, y1), (x2, y2), c, t)
        cv2.putText(img, f"id {tid}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * t, c, t)
        for a, b in COCO17.edges:
            if sc[a] >= min_score and sc[b] >= min_score:
                side = COCO17.edge_side((a, b))
                col = {"left": (255, 160, 0), "right": (0, 0, 255), "center": (0, 220, 0)}[side]
                cv2.line(img, tuple(np.round(kp[a]).astype(int)), tuple(np.round(kp[b]).astype(int)), col, t)
        for j in range(len(kp)):
            if sc[j] >= min_score:
                cv2.circle(img, tuple(np.round(kp[j]).astype(int)), t + 1, (255, 255, 255), -1)
    return img


def main() -> None:
    sh = shared_dir()
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--detector", default=str(sh / OFFLINE_DETECTOR) if sh else None)
    ap.add_argument("--pose2d", default=str(sh / OFFLINE_POSE2D) if sh else None)
    ap.add_argument("--out", default="/tmp/frontend_check")
    ap.add_argument("--every", type=int, default=10, help="save every Nth frame")
    ap.add_argument("--frames", type=str, default="", help="comma-separated extra frame indices to save")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--flip", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    fe = build_frontend(args.detector, args.pose2d, flip_test=args.flip)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.video).stem
    extra = {int(x) for x in args.frames.split(",") if x}
    cap = cv2.VideoCapture(args.video)
    per_frame, chunk, n = [], [], 0

    def flush():
        nonlocal chunk, n
        res = fe.process(chunk, n)
        for f, fp in zip(chunk, res):
            if fp.frame_index % args.every == 0 or fp.frame_index in extra:
                cv2.imwrite(str(out / f"{stem}_{fp.frame_index:04d}.png"), draw(f, fp))
        per_frame.extend(res)
        n += len(chunk)
        chunk = []

    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        chunk.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if len(chunk) == args.batch:
            flush()
    if chunk:
        flush()
    tracks = assemble_tracks(per_frame)
    print(f"{stem}: {n} frames, cuts at {fe.tracker.cuts}, {len(tracks)} tracks")
    for t in tracks:
        print(f"  id {t.track_id:3d}: frames {t.frames[0]}-{t.frames[-1]} ({len(t)}), "
              f"mean score {t.scores.mean():.2f}")


if __name__ == "__main__":
    main()
