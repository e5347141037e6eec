#!/usr/bin/env bash
# Train a lifter for a fixed number of minutes on a lent GPU machine (or any machine), resumably.
#
#   bash tools/prepare_gpu_train.sh [RESUME_RUN_DIR]     # here: builds .device/ (data, cameras, resume)
#   bash tools/gpu_train.sh MINUTES [python -m hotdemo.train train options...]   # there, from the repo root
#
# Writes the run (config.json, last.pt, best.pt, train_log.csv, val_log.csv, summary.json) to
# $OUT/run (default ./gpu_out/run) and a speed line to $OUT/speed.txt; first (BENCH=1, the default;
# about a minute, not counted in MINUTES) it times one training step at 27 and 81 frames with
# benchmarks/train_step.py into $OUT/train_step_27.json / train_step_81.json. When .device/resume/last.pt
# exists (the last.pt + config.json of an earlier call, put there by prepare_gpu_train.sh), the run
# continues from it: same config, same optimizer state, same time-based schedule.
# DEVICE=cpu runs the same thing on the CPU (the 30-second smoke run before spending GPU time;
# BENCH_BATCH=2 keeps its step timing short there).
set -euo pipefail
minutes=${1:?usage: gpu_train.sh MINUTES [train options]}; shift
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
OUT=${OUT:-$PWD/gpu_out}
DEVICE=${DEVICE:-cuda}
data=.device/h36m17_f16.npz cams=.device/cameras.json
[ -f "$data" ] && [ -f "$cams" ] || { echo "error: $data / $cams missing: run tools/prepare_gpu_train.sh first" >&2; exit 2; }
run=$OUT/run; mkdir -p "$run"
config=()
if [ -f .device/resume/last.pt ]; then
  cp .device/resume/last.pt "$run/last.pt"
  config=(--config .device/resume/config.json)
  echo "resuming from .device/resume/last.pt"
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"
if [ "${BENCH:-1}" = 1 ]; then  # one training step, eager / SDPA math / bf16 autocast side by side (about a minute)
  for size in "--frames 27 --token-num 9" "--frames 81 --token-num 27"; do
    # shellcheck disable=SC2086
    python3 benchmarks/train_step.py $size --device "$DEVICE" --threads "$(nproc)" --repeats 5 --no-compile --batch "${BENCH_BATCH:-32}" \
      --json "$OUT/train_step_$(echo $size | cut -d' ' -f2).json" | tail -n 5
  done
fi
python3 -m hotdemo.train train "${config[@]}" --data "$data" --cameras "$cams" --run-dir "$run" \
  --device "$DEVICE" --max-minutes "$minutes" --threads "$(nproc)" "$@" > "$OUT/train.log" 2>&1 || rc=$?
grep -v '^step=' "$OUT/train.log" | tail -n 20; tail -n 2 "$OUT/train.log"
[ "${rc:-0}" -eq 0 ] || { echo "error: training exited with ${rc}" >&2; exit "$rc"; }
python3 - "$run" > "$OUT/speed.txt" <<'PY'
import csv, os, sys
log = sys.argv[1] + "/train_log.csv"
rows = list(csv.DictReader(open(log))) if os.path.exists(log) else []
if len(rows) > 2:
    a, b = rows[1], rows[-1]  # skip the first logging interval (start-up, first CUDA kernels)
    steps = int(b["step"]) - int(a["step"]); secs = float(b["elapsed_s"]) - float(a["elapsed_s"])
    print(f"{steps / secs:.2f} steps/s ({steps} steps in {secs:.0f} s, after the first interval); "
          f"last step {b['step']}, loss {b['loss']}")
else:
    print("too few logged steps to measure speed")
PY
cat "$OUT/speed.txt"
