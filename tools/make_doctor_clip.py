"""Make ``hotdemo/bundled/doctor_bus.mp4``, the short clip ``hotdemo doctor`` runs the pipeline on.

    python tools/make_doctor_clip.py

It is made from ``bus.jpg``, the photograph that ships inside the ultralytics package (AGPL-3.0,
the licence hotdemo is under too): the left half of the street scene (two men standing in front
of the bus, a third at the edge), 288x480, with a slow zoom so that it is a real moving video,
24 frames at 12 fps, H.264 through hotdemo's own writer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotdemo.core.paths import bundled_weights_dir  # noqa: E402
from hotdemo.io.video import VideoWriter  # noqa: E402

FRAMES, FPS, SIZE = 24, 12.0, (288, 480)  # (w, h)
CROP = (0, 270, 405, 945)  # x0, y0, x1, y1 in the 810x1080 photograph


def main() -> int:
    import ultralytics

    photo = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    img = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    x0, y0, x1, y1 = CROP
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    out = bundled_weights_dir() / "doctor_bus.mp4"
    with VideoWriter(out, fps=FPS, size=SIZE, crf=26) as vw:
        for i in range(FRAMES):
            z = 1.0 - 0.06 * i / (FRAMES - 1)  # 6 % zoom in over the clip
            sx, sy = SIZE[0] / (w * z), SIZE[1] / (h * z)
            m = np.float32([[sx, 0, SIZE[0] / 2 - sx * cx], [0, sy, SIZE[1] / 2 - sy * cy]])
            vw.write(cv2.warpAffine(img, m, SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
