"""2D accuracy on real people: OKS AP and PCK@0.2 (torso) of the offline SimplePose model on the
COCO val images in ../shared/data/coco-keypoints (12 annotated people, GT boxes), through each
runner, decoder and flip-test alignment, side by side in one run.

    python benchmarks/pose2d_accuracy.py

Runners: ``onnx`` = ONNX Runtime session (OnnxRunner); ``torch`` = the same ONNX graph wrapped in
a torch.nn.Module (TorchRunner: torch-side normalisation and tensor I/O; SimplePose exists only as
ONNX, so the network arithmetic is the same in both). 12 people: an AP difference of a few points
is one or two people changing OKS bins, read it as a regression alarm, not a benchmark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotdemo.core.paths import OFFLINE_POSE2D, shared_dir  # noqa: E402
from hotdemo.pose2d import HeatmapHead, OnnxRunner, PoseEstimator, TorchRunner  # noqa: E402
from hotdemo.pose2d.evaluate import evaluate_estimator, load_coco_keypoints  # noqa: E402


class OrtModule:
    """A torch.nn.Module around an ONNX Runtime session (built lazily to keep torch optional)."""

    def __new__(cls, path):
        import numpy as np
        import onnxruntime as ort
        import torch

        class _M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                self.name = self.sess.get_inputs()[0].name

            def forward(self, x):
                a = x.detach().cpu().numpy().astype(np.float32)  # the model has a fixed batch of 1
                out = [self.sess.run(None, {self.name: a[i:i + 1]})[0] for i in range(len(a))]
                return torch.from_numpy(np.concatenate(out)).to(x.device)

        return _M()


def runners(model_path):
    return {"onnx": OnnxRunner(model_path), "torch": TorchRunner(OrtModule(model_path))}


def table(model_path, images):
    rows = []
    for rname, runner in runners(model_path).items():
        for dec in ("dark", "quarter", "argmax"):
            for flip, align in ((False, "-"), (True, "exact"), (True, "reference")):
                head = HeatmapHead(dec, flip_align=align if flip else "exact")
                est = PoseEstimator(runner, head, (192, 256), flip_test=flip)
                r = evaluate_estimator(est, images)
                rows.append((rname, dec, align if flip else "off", r))
    return rows


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    sh = shared_dir()
    if sh is None:
        sys.exit("needs ../shared (the COCO images and the SimplePose model)")
    images = load_coco_keypoints(sh / "data/coco-keypoints/test_coco.json")
    model = sh / OFFLINE_POSE2D
    print(f"SimplePose 256x192 on {sum(len(i.boxes) for i in images)} COCO val people (GT boxes)")
    print(f"{'runner':7s} {'decoder':8s} {'flip':10s} {'AP':>6s} {'AP50':>6s} {'AP75':>6s} {'PCK@0.2':>8s} {'mOKS':>6s} {'err px':>7s}")
    for rname, dec, flip, r in table(model, images):
        print(f"{rname:7s} {dec:8s} {flip:10s} {r['ap']:6.3f} {r['ap50']:6.3f} {r['ap75']:6.3f} {r['pck']:8.3f} {r['mean_oks']:6.4f} {r['mean_err_px']:7.3f}")


if __name__ == "__main__":
    main()
