"""The HoT vs MixSTE equal-budget comparison over seeds: read the runs, tabulate mean and spread.

A comparison folder holds, per model and seed, the run folder ``<model>_s<seed>/`` (the trainer's
``summary.json``) and the evaluation ``<model>_s<seed>.eval.json`` (``hotdemo eval --json``,
clean 2D). ``tools/gpu_compare.sh`` writes this layout; so does a run of the same commands on a CPU.
"""

from __future__ import annotations

import json
import re
import statistics as st
from pathlib import Path
from typing import Dict, List

from hotdemo.core.errors import InputError
from hotdemo.train.commands import read_evaluation_record

_NAME = re.compile(r"^(?P<model>.+)_s(?P<seed>\d+)\.eval\.json$")


def read_comparison(folder) -> Dict[str, List[dict]]:
    """``{model: [{'seed', 'mpjpe', 'p_mpjpe', 'mpjve', 'train_s', 'steps'}, ...]}`` (sorted by seed)
    from every finished run in ``folder``; the clean-2D average of each evaluation. ``train_s`` is the
    run's wall time, its quick validations included (step costs: ``benchmarks/lifter.py``)."""
    folder = Path(folder)
    res: Dict[str, List[dict]] = {}
    for f in sorted(folder.glob("*_s*.eval.json")):
        m = _NAME.match(f.name)
        if not m:
            continue
        try:
            ev = read_evaluation_record(f)
            summ = json.loads((folder / f"{m['model']}_s{m['seed']}" / "summary.json").read_text())
            clean = [r for r in ev["results"] if not r["setting"].startswith("detector")]
            av = clean[0]["average"]
        except (InputError, OSError, ValueError, KeyError, IndexError) as e:
            raise InputError(f"{f}: not a finished comparison run ({e})") from None
        res.setdefault(m["model"], []).append({
            "seed": int(m["seed"]), "mpjpe": av["mpjpe"], "p_mpjpe": av["p_mpjpe"], "mpjve": av["mpjve"],
            "train_s": summ["elapsed_s"], "steps": summ["step"]})
    for rows in res.values():
        rows.sort(key=lambda r: r["seed"])
    return res


def format_comparison(res: Dict[str, List[dict]], baseline: str = "mixste") -> str:
    """Mean, sample standard deviation, min and max of MPJPE per model; with ``baseline`` present,
    the per-seed differences to it (the runs of one seed saw the same batches, so the paired
    difference is the fairer comparison)."""
    lines = []
    for model, rows in res.items():
        m = [r["mpjpe"] for r in rows]
        sd = f"{st.stdev(m):.1f}" if len(m) > 1 else "n/a"
        lines.append(f"{model:11s} MPJPE {st.mean(m):6.1f} mm (sd {sd}, min {min(m):.1f}, max {max(m):.1f}; "
                     f"seeds {', '.join(str(r['seed']) for r in rows)}), P-MPJPE "
                     f"{st.mean(r['p_mpjpe'] for r in rows):.1f} mm, run wall time {st.mean(r['train_s'] for r in rows):.0f} s")
    base = {r["seed"]: r for r in res.get(baseline, [])}
    for model, rows in res.items():
        if model == baseline:
            continue
        d = [r["mpjpe"] - base[r["seed"]]["mpjpe"] for r in rows if r["seed"] in base]
        if d:
            sd = f", sd {st.stdev(d):.1f}" if len(d) > 1 else ""
            lines.append(f"{model} - {baseline} per seed: {', '.join(f'{x:+.1f}' for x in d)} mm "
                         f"(mean {st.mean(d):+.1f}{sd})")
    return "\n".join(lines)
