"""Peak memory of ``hotdemo lift`` on a long keypoint file, with and without every export.

Writes a plain keypoints NPZ of ``--frames`` frames (one person walking, the sample clip
``samples/walk_coco2d.npz`` repeated), then runs ``hotdemo lift`` on it in a fresh process per
measurement and reports that process's peak RSS (``ru_maxrss``) and wall time, for
``--export none`` and ``--export json,npz,csv,bvh``. With ``--compare DIR`` (another checkout,
e.g. a worktree of an older commit) both code trees run side by side, alternating, so the
ratios come from one run on the same machine; ``--lifters`` does the same for lifter files
(``shipped`` is the default lifter). Target: peak RSS < 2 GB at 100k frames with all exports.

    python benchmarks/lift_memory.py                              # 100k frames, this checkout
    python benchmarks/lift_memory.py --frames 20000 --compare /path/to/old/checkout
    python benchmarks/lift_memory.py --frames 18000 --lifters shipped,runs/hot81/last.pt
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

RUNNER = """
import resource, sys
import hotdemo
print("HOTDEMO_FROM", hotdemo.__file__, file=sys.stderr)
from hotdemo.cli import app
try:
    app(sys.argv[1:], standalone_mode=True)
except SystemExit as e:
    code = e.code
else:
    code = 0
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "EXIT", code, file=sys.stderr)
"""


def make_keypoints(path: Path, frames: int) -> None:
    d = dict(np.load(ROOT / "samples" / "walk_coco2d.npz"))
    kp, sc = d["keypoints"], d["scores"]
    reps = -(-frames // len(kp))
    # back and forth so that the repeats join without a jump
    kp = np.concatenate([kp if i % 2 == 0 else kp[::-1] for i in range(reps)])[:frames]
    sc = np.concatenate([sc if i % 2 == 0 else sc[::-1] for i in range(reps)])[:frames]
    np.savez(path, keypoints=kp, scores=sc, width=d["width"], height=d["height"], fps=d["fps"])


def measure(tree: Path, kp: Path, out: Path, export: str, threads: int, lifter: str = "shipped") -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-c", RUNNER, "lift", str(kp), "-o", str(out), "--export", export, "--device", "cpu"]
    if lifter != "shipped":
        cmd += ["--lifter", lifter]
    t0 = time.perf_counter()
    # run from the output's folder: "python -c" puts its working directory first on sys.path, which
    # would shadow PYTHONPATH with whatever checkout the benchmark was started from
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(out.parent))
    wall = time.perf_counter() - t0
    line = [x for x in r.stderr.splitlines() if x.startswith("PEAK_RSS_KB")]
    if not line or not line[-1].endswith("EXIT 0"):
        raise SystemExit(f"lift failed in {tree} ({export}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    src = [x.split(" ", 1)[1] for x in r.stderr.splitlines() if x.startswith("HOTDEMO_FROM")]
    if not src or not Path(src[-1]).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"the run meant for {tree} imported hotdemo from {src[-1] if src else '?'}")
    return {"tree": str(tree), "lifter": lifter, "export": export, "peak_rss_mb": int(line[-1].split()[1]) / 1024, "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--compare", type=Path, default=None, help="another checkout to measure side by side")
    ap.add_argument("--exports", default="none;json,npz,csv,bvh", help="';'-separated --export values")
    ap.add_argument("--lifters", default="shipped",
                    help="comma-separated lifter files to measure side by side ('shipped': the default lifter)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    trees = [ROOT] + ([a.compare.resolve()] if a.compare else [])
    lifters = [x.strip() for x in a.lifters.split(",") if x.strip()]
    for lf in lifters:
        if lf != "shipped" and not Path(lf).is_file():
            raise SystemExit(f"no such lifter file: {lf}")
    lifters = [lf if lf == "shipped" else str(Path(lf).resolve()) for lf in lifters]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kp = Path(tmp) / "long.npz"
        make_keypoints(kp, a.frames)
        for export in a.exports.split(";"):
            for lf in lifters:
                for i, tree in enumerate(trees):  # alternate the trees (and lifters) for each setting
                    out = Path(tmp) / f"out{i}"
                    rows.append(measure(tree, kp, out, export, a.threads, lf))
                    r = rows[-1]
                    print(f"{a.frames} frames  --export {export:<18} {r['peak_rss_mb']:8.0f} MB peak RSS  "
                          f"{r['wall_s']:6.1f} s  ({tree}; lifter {lf})", flush=True)
    for export in a.exports.split(";"):
        for lf in lifters:
            if a.compare:
                new, old = [r for r in rows if r["export"] == export and r["lifter"] == lf]
                print(f"--export {export}, lifter {lf}: this / compare peak RSS = "
                      f"{new['peak_rss_mb'] / old['peak_rss_mb']:.2f}")
        if len(lifters) > 1:
            base = next(r for r in rows if r["export"] == export and r["lifter"] == lifters[0])
            for r in rows:
                if r["export"] == export and r["lifter"] != lifters[0] and r["tree"] == base["tree"]:
                    print(f"--export {export}: lifter {r['lifter']} / {lifters[0]} peak RSS = "
                          f"{r['peak_rss_mb'] / base['peak_rss_mb']:.2f}, time = {r['wall_s'] / base['wall_s']:.2f}")
    if a.json:
        a.json.write_text(json.dumps({"frames": a.frames, "lifters": lifters, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
