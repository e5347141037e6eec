"""Make the README's picture of the HTML viewer (``--export html``) from synthetic data.

    python docs/make_viewer_picture.py     # writes docs/images/viewer.png (needs chromium)

Three procedural walkers (``hotdemo.core.synthetic.synthetic_scene``) are projected into a virtual
camera; their 2D keypoints are lifted by the shipped HoT lifter and put in the world frame as
``hotdemo run`` does, written as the viewer page, and the page is screenshot by headless
Chromium at one frame with a turned view (``#frame=..&az=..&el=..`` in the URL). The shared test
videos may not be redistributed, so no picture of them is committed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotdemo.lift.lifter import load_lifter  # noqa: E402
from hotdemo.post.refine import lift_track  # noqa: E402
from hotdemo.core.synthetic import synthetic_scene  # noqa: E402
from hotdemo.detect.assemble import to_h36m  # noqa: E402
from hotdemo.io.formats.viewer import write_html  # noqa: E402
from hotdemo.post.world import estimate_world_rotation, to_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs/images/viewer.png"))
    ap.add_argument("--hash", default="frame=75&az=35&el=22&zoom=1.25")
    ap.add_argument("--size", default="1280,720")
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("error: no chromium found (apt-get install chromium)")
    info, t2, _, _, _ = synthetic_scene(3, 120, noise_px=1.0)
    lifter = load_lifter(None, None, device="cpu")
    t3 = [lift_track(lifter, to_h36m(t), info.width, info.height) for t in t2]
    t3 = to_world(t3, estimate_world_rotation(t3), t2, info)
    with tempfile.TemporaryDirectory() as tmp:
        page = write_html(Path(tmp) / "synthetic_walkers.html", info, t3)
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={args.size}", f"--screenshot={args.out}",
                        f"{page.resolve().as_uri()}#{args.hash}"], check=True, capture_output=True)
    print(args.out)


if __name__ == "__main__":
    main()
