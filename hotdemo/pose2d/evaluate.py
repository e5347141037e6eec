"""2D keypoint accuracy on COCO-format annotations: OKS, OKS-based AP and PCK of the torso.

``load_coco_keypoints(json_path)`` -> the annotated people per image (boxes, keypoints);
``evaluate_estimator(estimator, people)`` runs a :class:`~hotdemo.pose2d.PoseEstimator` on the
ground-truth boxes (top-down, as COCO val is usually scored with GT boxes) and returns
``{"ap", "ap50", "ap75", "pck", "mean_oks", "mean_err_px", "people"}`` (mean OKS of each person's
own prediction and mean pixel error over the labelled joints: finer-grained than AP on few people).

AP follows COCOeval's keypoint protocol: OKS with the COCO-17 sigmas and the GT area, greedy
matching per image in score order at each threshold 0.50:0.05:0.95, 101-point interpolated
precision, averaged over thresholds. The person score is the mean of the keypoint scores above
0.2 (mmpose's rescoring). PCK@``alpha``: a visible joint is correct when within ``alpha`` x the
torso diameter (distance between the left shoulder and the right hip) of the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np

#: COCOeval's per-joint OKS sigmas for COCO-17
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0

__all__ = ["COCO_SIGMAS", "CocoImage", "load_coco_keypoints", "oks", "oks_ap", "pck_torso", "evaluate_estimator"]


@dataclass
class CocoImage:
    """One image and its annotated people: boxes (N, 4) x1 y1 x2 y2, keypoints (N, 17, 3) x y v, areas (N,)."""

    path: Path
    boxes: np.ndarray
    keypoints: np.ndarray
    areas: np.ndarray

    def rgb(self) -> np.ndarray:
        bgr = cv2.imread(str(self.path))
        if bgr is None:
            raise FileNotFoundError(self.path)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_coco_keypoints(json_path: "str | Path", min_keypoints: int = 1) -> List[CocoImage]:
    """The images of a COCO keypoint JSON (beside it) with their people that have at least
    ``min_keypoints`` labelled joints (crowd annotations skipped)."""
    json_path = Path(json_path)
    d = json.loads(json_path.read_text())
    by_img: Dict[int, list] = {}
    for a in d["annotations"]:
        if a.get("iscrowd", 0) or a.get("num_keypoints", 0) < min_keypoints:
            continue
        by_img.setdefault(a["image_id"], []).append(a)
    out = []
    for im in d["images"]:
        anns = by_img.get(im["id"], [])
        if not anns:
            continue
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in anns], np.float32)
        kps = np.array([a["keypoints"] for a in anns], np.float32).reshape(-1, 17, 3)
        areas = np.array([a["area"] for a in anns], np.float64)
        out.append(CocoImage(json_path.parent / im["file_name"], boxes, kps, areas))
    return out


def oks(pred: np.ndarray, gt: np.ndarray, area: float) -> float:
    """COCO OKS between one prediction (17, 2) and one ground truth (17, 3) with ``area``."""
    vis = gt[:, 2] > 0
    if not vis.any():
        return 0.0
    d2 = ((pred[:, :2] - gt[:, :2]) ** 2).sum(axis=1)
    e = d2 / ((2 * COCO_SIGMAS) ** 2) / (area + np.spacing(1)) / 2
    return float(np.exp(-e)[vis].mean())


def oks_ap(preds: Sequence[np.ndarray], scores: Sequence[np.ndarray], gts: Sequence[np.ndarray],
           areas: Sequence[np.ndarray], thresholds: Sequence[float] = tuple(np.linspace(0.5, 0.95, 10))) -> Dict[str, float]:
    """AP over OKS thresholds. Per image: ``preds[i]`` (P, 17, 2), ``scores[i]`` (P,) person
    scores, ``gts[i]`` (G, 17, 3), ``areas[i]`` (G,). Returns ap, ap50, ap75."""
    n_gt = sum(len(g) for g in gts)
    aps = []
    for t in thresholds:
        flags, conf = [], []
        for p, s, g, a in zip(preds, scores, gts, areas):
            o = np.array([[oks(pp, gg, aa) for gg, aa in zip(g, a)] for pp in p]).reshape(len(p), len(g))
            used = np.zeros(len(g), bool)
            for i in np.argsort(-np.asarray(s), kind="stable"):
                cand = np.where(~used & (o[i] >= t), o[i], -1)
                j = int(cand.argmax()) if len(g) else -1
                hit = j >= 0 and cand[j] >= 0
                if hit:
                    used[j] = True
                flags.append(hit)
                conf.append(s[i])
        order = np.argsort(-np.asarray(conf), kind="mergesort")
        tp = np.cumsum(np.asarray(flags, float)[order])
        fp = np.cumsum(1 - np.asarray(flags, float)[order])
        rec = tp / max(n_gt, 1)
        prec = tp / np.maximum(tp + fp, np.spacing(1))
        prec = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
        rs = np.linspace(0, 1, 101)
        idx = np.searchsorted(rec, rs, side="left")
        aps.append(float(np.mean([prec[k] if k < len(prec) else 0.0 for k in idx])))
    th = list(np.round(thresholds, 2))
    return {"ap": float(np.mean(aps)), "ap50": aps[th.index(0.5)] if 0.5 in th else float("nan"),
            "ap75": aps[th.index(0.75)] if 0.75 in th else float("nan")}


def pck_torso(preds: np.ndarray, gts: np.ndarray, alpha: float = 0.2) -> float:
    """Fraction of visible joints within ``alpha`` x torso diameter (left shoulder 5 to right hip
    12, falling back to right shoulder 6 to left hip 11); people without a torso are skipped."""
    hits = total = 0
    for p, g in zip(preds, gts):
        if g[5, 2] > 0 and g[12, 2] > 0:
            torso = np.linalg.norm(g[5, :2] - g[12, :2])
        elif g[6, 2] > 0 and g[11, 2] > 0:
            torso = np.linalg.norm(g[6, :2] - g[11, :2])
        else:
            continue
        vis = g[:, 2] > 0
        d = np.linalg.norm(p[:, :2] - g[:, :2], axis=1)
        hits += int((d[vis] <= alpha * torso).sum())
        total += int(vis.sum())
    return hits / total if total else float("nan")


def evaluate_estimator(estimator, images: Sequence[CocoImage], score_thr: float = 0.2) -> Dict[str, float]:
    """Run ``estimator`` on the GT boxes of ``images``; OKS AP (ap, ap50, ap75) and PCK@0.2 torso."""
    frames = [im.rgb() for im in images]
    results = estimator(frames, [im.boxes for im in images])
    preds, scores = [], []
    for kp, sc in results:
        preds.append(kp)
        m = sc > score_thr
        scores.append(np.where(m.any(axis=1), (sc * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1), 0.0))
    out = oks_ap(preds, scores, [im.keypoints for im in images], [im.areas for im in images])
    gts = np.concatenate([im.keypoints for im in images])
    allp = np.concatenate(preds)
    out["pck"] = pck_torso(allp, gts)
    # predictions come from the GT boxes, in GT order: person i's own OKS, and the joint error
    out["mean_oks"] = float(np.mean([oks(p, g, a) for p, g, a in
                                     zip(allp, gts, np.concatenate([im.areas for im in images]))]))
    vis = gts[..., 2] > 0
    out["mean_err_px"] = float(np.linalg.norm(allp - gts[..., :2], axis=-1)[vis].mean())
    out["people"] = int(sum(len(im.boxes) for im in images))
    return out
