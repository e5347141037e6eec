#!/usr/bin/env bash
# HoT-MixSTE vs MixSTE at equal budget, several seeds (issue: "HoT vs MixSTE, honestly").
#
#   bash tools/prepare_gpu_train.sh          # here
#   STEPS=1400 SEEDS="1126 2 3" bash tools/gpu_compare.sh   # there (DEVICE=cpu for a smoke run)
#
# Trains each model at the comparison size (27 frames, dim 128, depth 4; HoT keeps 9 tokens after
# block pair 1) for STEPS steps with the model card's settings (lr 1e-3, 100 warm-up steps, cosine
# to 2e-5, batch 32, 60 % real cameras, 60 % noise) and the same batches per seed, evaluates each on S9/S11 with
# clean 2D (EVAL_SEQUENCES limits the sequences for a smoke run), and writes $OUT/compare.json
# and a table (mean and spread over seeds) to $OUT/compare.txt.
set -euo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
OUT=${OUT:-$PWD/gpu_out}; DEVICE=${DEVICE:-cuda}; STEPS=${STEPS:-1400}; SEEDS=${SEEDS:-"1126 2 3"}
data=.device/h36m17_f16.npz cams=.device/cameras.json
[ -f "$data" ] && [ -f "$cams" ] || { echo "error: $data / $cams missing: run tools/prepare_gpu_train.sh first" >&2; exit 2; }
extra=(); [ -n "${EVAL_SEQUENCES:-}" ] && extra=(--max-sequences "$EVAL_SEQUENCES")
for seed in $SEEDS; do
  for model in mixste hot_mixste; do
    run=$OUT/cmp/${model}_s$seed; mkdir -p "$OUT/cmp"
    python3 -m hotdemo.train train --data "$data" --cameras "$cams" --run-dir "$run" --device "$DEVICE" \
      --threads "$(nproc)" --model "$model" --frames 27 --dim 128 --depth 4 --heads 8 --token-num 9 \
      --layer-index 1 --batch-size 32 --lr 1e-3 --lr-min 2e-5 --warmup-steps 100 --steps "$STEPS" \
      --seed "$seed" --val-every 0 --aug-p-real-camera 0.6 --aug-p-noise 0.6 > "$run.train.log" 2>&1
    python3 -m hotdemo.train eval --checkpoint "$run/last.pt" --data "$data" --cameras "$cams" --noise clean \
      --device "$DEVICE" --threads "$(nproc)" --json "$run.eval.json" "${extra[@]}" > "$run.eval.log" 2>&1
    echo "$model seed $seed: $(tail -n 1 "$run.train.log")"
  done
done
python3 -m hotdemo.train compare "$OUT/cmp" --json "$OUT/compare.json" | tee "$OUT/compare.txt"
