"""HoT's token count as a speed dial: MPJPE and lifter time per frame against the number of tokens
kept after pruning (``--tokens N``), for the shipped lifter, without retraining.

    python benchmarks/tokens.py [--tokens 3,9,18,27,41,81] [--noise clean,mixed] [--max-sequences 8]
                                [--time-frames 2000] [--threads 1]

Accuracy: ``hotdemo.train.evaluate.evaluate`` on S9/S11 (every k-th sequence so that at most
``--max-sequences`` are used, 4 cameras each) through ``hotdemo.post.refine.lift_and_refine``, the path of
``hotdemo eval`` / ``lift``, with the default post-processing. Time: the model alone
(``Lifter.model_output``, windows + flip) on ``--time-frames`` frames of one person, every token
count timed in turn in rounds (median of the rounds), in one process. Errors are on our
reconstruction of Human3.6M motion, not comparable with published ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _lifter_cache import load_h36m_or_exit  # noqa: E402

from hotdemo.lift.lifter import load_lifter  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default="3,9,18,27,41,81")
    ap.add_argument("--noise", default="clean,mixed")
    ap.add_argument("--max-sequences", type=int, default=8)
    ap.add_argument("--time-frames", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write", action="store_true",
                    help="store the table as hotdemo/bundled/hot_mixste_h36m.tokens.json (shown by `hotdemo lifters`)")
    a = ap.parse_args()
    import torch

    from hotdemo.train.evaluate import evaluate

    torch.set_num_threads(a.threads)
    counts = [int(x) for x in a.tokens.split(",")]
    lifter = load_lifter(None)
    trained = lifter.model.trained_token_num
    # time: the model alone, round-robin over the token counts
    rng = np.random.default_rng(0)
    kp = (np.array([640, 360]) + rng.normal(0, 60, (a.time_frames, 17, 2))).astype(np.float32)
    times = {n: [] for n in counts}
    for _ in range(a.rounds):
        for n in counts:
            lifter.model.set_token_num(n)
            t = time.perf_counter()
            lifter.model_output(kp, 1280, 720)
            times[n].append((time.perf_counter() - t) / a.time_frames * 1000)
    data, cams = load_h36m_or_exit()
    noises = a.noise.split(",")
    print(f"shipped lifter (trained with {trained} tokens of {lifter.frames} frames), {a.threads} thread(s); "
          f"S9/S11, at most {a.max_sequences} sequences x 4 cameras")
    print("| tokens | " + " | ".join(f"MPJPE {n} (mm)" for n in noises) + " | lifter ms / frame | vs trained |")
    print("| --- | " + " | ".join("---" for _ in noises) + " | --- | --- |")
    base = statistics.median(times[trained]) if trained in times else None
    table = []
    for n in counts:
        lifter.model.set_token_num(n)
        errs = []
        for noise in noises:
            r = evaluate(lifter, data, cams, noise=noise, max_sequences=a.max_sequences)
            errs.append(f"{r.average['mpjpe']:.1f}")
        ms = statistics.median(times[n])
        rel = f"{ms / base:.2f}x" if base else "-"
        mark = " (trained)" if n == trained else ""
        print(f"| {n}{mark} | " + " | ".join(errs) + f" | {ms:.2f} | {rel} |", flush=True)
        table.append({"tokens": n, "mpjpe_mm": dict(zip(noises, map(float, errs))), "lifter_ms_per_frame": round(ms, 3),
                      "time_vs_trained": round(ms / base, 3) if base else None})
    if a.write:
        from hotdemo.io.files import atomic_write_json
        from hotdemo.core.paths import bundled_lifter_path
        from hotdemo.io.weights import sha256_file

        lp = bundled_lifter_path()
        out = lp.with_name(lp.stem + ".tokens.json")
        atomic_write_json(out, {"lifter": lp.name, "lifter_sha256": sha256_file(lp), "trained_tokens": trained,
                                "frames": lifter.frames, "threads": a.threads, "max_sequences": a.max_sequences,
                                "command": "python benchmarks/tokens.py " + " ".join(sys.argv[1:]), "rows": table})
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
