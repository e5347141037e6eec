#!/usr/bin/env bash
# Build .device/ for tools/gpu_train.sh: the compact float16 training data (about 26 MB, from
# $HOTDEMO_SHARED or ../shared), cameras.json and, when RESUME_RUN_DIR is given, that run's
# last.pt + config.json to continue from. .device/ is git-ignored; the device tool carries it
# (carry: [".device"], 64 MiB at most with the repository).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
shared=${HOTDEMO_SHARED:-$(cd .. && pwd)/shared}
mkdir -p .device
[ -f .device/h36m17_f16.npz ] || python3 -m hotdemo.train cache .device/h36m17_f16.npz --data "$shared/data/h36m/data_3d_h36m_expmap.npz"
cp "$shared/data/h36m/cameras.json" .device/cameras.json
rm -rf .device/resume
if [ $# -ge 1 ]; then
  mkdir -p .device/resume
  cp "$1/last.pt" "$1/config.json" .device/resume/
  echo "will resume from $1/last.pt"
fi
du -sh .device
