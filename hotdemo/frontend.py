"""The 2D front end: detection -> tracking -> top-down keypoints, one batch of frames at a time.

::

    fe = build_frontend("../shared/models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights",
                        "../shared/models/ultralight-simplepose/simplepose_256x192.onnx")
    per_frame = []
    for start, chunk in ...:               # consecutive RGB frames, in order
        per_frame += fe.process(chunk, start)
    tracks = assemble_tracks(per_frame)    # hotdemo.detect.track

:meth:`FrontEnd2D.process` returns one :class:`hotdemo.core.types.FramePoses2D` (COCO-17) per frame,
with empty arrays for frames where nobody was found. Detection runs batched over the chunk,
tracking frame by frame (it is sequential by nature and cheap), and the 2D model over the
crops of every tracked person of every frame of the chunk at once.

Detection every k frames (``det_every=k > 1``, video mode, after rtmlib / Sports2D): frames are
taken one at a time. The detector runs on a frame when

* it is the first frame, or a camera cut starts at it (:meth:`Tracker.check_cut`);
* ``k`` frames have passed since the last detection (to find newcomers: detections are merged
  with the existing tracks by the tracker's IoU / distance matching, so followed people keep
  their IDs and new ones start tracks);
* on the previous frame a followed person's mean keypoint score fell below ``redetect_score``
  or fewer than 3 of their joints reached ``kp_score``;
* a confirmed track was lost (coasting) within the last ``k`` frames, so it is found again as
  soon as the detector sees it, as with per-frame detection;
* nobody is being followed.

On the other frames each person is followed: their box is the box of their last confident
keypoints (score >= ``kp_score``), grown by ``kp_box_padding`` about its centre, and the tracker
is told so (:meth:`Tracker.follow`). The 2D model then crops that box as usual (its own 1.25
padding to the model's aspect comes on top).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from hotdemo.detect.detector import DEFAULT_CONF, Detector, build_detector
from hotdemo.pose2d import PoseEstimator, build_pose2d
from hotdemo.detect.track import Tracker
from hotdemo.core.types import FramePoses2D

__all__ = ["DEFAULT_DET_EVERY", "FrontEnd2D", "build_frontend", "keypoint_boxes"]

#: detect every K frames by default (``--det-every``; chosen with benchmarks/e2e.py)
DEFAULT_DET_EVERY = 5


def _area(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, np.float64).reshape(-1, 4)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def keypoint_boxes(kps: np.ndarray, scores: np.ndarray, *, kp_score: float = 0.3, padding: float = 1.25,
                   min_joints: int = 3) -> np.ndarray:
    """(N, J, 2) keypoints and (N, J) scores -> (N, 4) x1 y1 x2 y2 boxes of the joints with score
    >= ``kp_score``, grown by ``padding`` about their centre; NaN rows where fewer than
    ``min_joints`` joints are confident."""
    scores = np.asarray(scores, np.float32)
    kps = np.asarray(kps, np.float32).reshape(scores.shape + (2,))
    ok = scores >= kp_score
    out = np.full((len(kps), 4), np.nan, np.float32)
    for n in range(len(kps)):
        if ok[n].sum() < min_joints:
            continue
        p = kps[n][ok[n]]
        lo, hi = p.min(axis=0), p.max(axis=0)
        c, half = (lo + hi) / 2, np.maximum(hi - lo, 1.0) * padding / 2
        out[n] = [c[0] - half[0], c[1] - half[1], c[0] + half[0], c[1] + half[1]]
    return out


class FrontEnd2D:
    """Detector + tracker + pose estimator. Keeps tracker state between :meth:`process` calls,
    so chunks must come in video order; :meth:`reset` before another video."""

    def __init__(self, detector: Detector, tracker: Optional[Tracker], pose: PoseEstimator,
                 *, max_people: Optional[int] = None, det_every: int = DEFAULT_DET_EVERY, redetect_score: float = 0.3,
                 kp_score: float = 0.3, kp_box_padding: float = 1.25):
        self.detector = detector
        self.tracker = tracker if tracker is not None else Tracker()
        self.pose = pose
        self.max_people = max_people  # per frame, highest scores first; None = all
        if int(det_every) < 1:
            raise ValueError(f"det_every must be >= 1, got {det_every}")
        self.det_every = int(det_every)
        self.redetect_score = float(redetect_score)
        self.kp_score = float(kp_score)
        self.kp_box_padding = float(kp_box_padding)
        self.detections = 0  # frames the detector ran on since the last reset
        self._reset_follow()

    def _reset_follow(self) -> None:
        self._follow_ids = np.zeros(0, np.int64)
        self._follow_boxes = np.zeros((0, 4), np.float32)
        self._weak = False  # someone's keypoints were weak on the last frame
        self._since_det: Optional[int] = None

    def reset(self) -> None:
        self.tracker.reset()
        self.detections = 0
        self._reset_follow()

    def _detect(self, frames: Sequence[np.ndarray]):
        self.detections += len(frames)
        return self.detector(frames)

    def _people(self, d) -> np.ndarray:
        d = np.asarray(d, np.float32).reshape(-1, 5)
        return d[: self.max_people] if self.max_people is not None else d

    def process(self, frames: Sequence[np.ndarray], start_index: int) -> List[FramePoses2D]:
        frames = list(frames)
        if not frames:
            return []
        if self.det_every > 1:
            return [self._step(f, start_index + i) for i, f in enumerate(frames)]
        dets = self._detect(frames)
        boxes, ids = [], []
        for f, d in zip(frames, dets):  # tracking is sequential over frames
            d = self._people(d)
            tid = self.tracker.update(d[:, :4], d[:, 4], frame=f)
            keep = tid >= 0
            boxes.append(d[keep, :4])
            ids.append(tid[keep])
        poses = self.pose(frames, boxes)
        return [self._result(start_index + i, kp, sc, b, t) for i, ((kp, sc), b, t) in enumerate(zip(poses, boxes, ids))]

    def _result(self, index: int, kp, sc, boxes, ids) -> FramePoses2D:
        J = self.pose.num_joints
        return FramePoses2D(
            frame_index=index,
            keypoints=np.asarray(kp).reshape(-1, J, 2).astype(np.float32),
            scores=np.asarray(sc).reshape(-1, J).astype(np.float32),
            boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
            track_ids=np.asarray(ids).astype(np.int64),
            joint_format="coco17",
        )

    def _step(self, frame: np.ndarray, index: int) -> FramePoses2D:
        """One frame of detection-every-k mode (see the module docstring)."""
        k = self.det_every
        cut = self.tracker.check_cut(frame)
        detect = (cut or self._since_det is None or self._since_det + 1 >= k or self._weak
                  or len(self._follow_ids) == 0 or len(self.tracker.lost(k)) > 0)
        if detect:
            d = self._people(self._detect([frame])[0])
            tid = self.tracker.update(d[:, :4], d[:, 4])
            keep = tid >= 0
            boxes, ids = d[keep, :4], tid[keep]
            self._since_det = 0
        else:
            ids = self.tracker.follow(self._follow_ids, self._follow_boxes)
            boxes = self._follow_boxes[np.isin(self._follow_ids, ids)]
            self._since_det += 1
        (kp, sc), = self.pose([frame], [boxes])
        J = self.pose.num_joints
        kp, sc = np.asarray(kp).reshape(len(boxes), J, 2), np.asarray(sc).reshape(len(boxes), J)
        nxt = keypoint_boxes(kp, sc, kp_score=self.kp_score, padding=self.kp_box_padding)
        good = ~np.isnan(nxt).any(axis=1)
        # a keypoint box much smaller or larger than the person's detected box means the
        # keypoints cover only part of them (or wandered off): detect again
        ref = self.tracker.boxes_of(ids)
        ratio = _area(nxt) / np.maximum(_area(ref), 1.0)
        odd = good & ~np.isnan(ratio) & ((ratio < 0.5) | (ratio > 2.0))
        self._weak = bool((~good).any() or odd.any() or (len(sc) and (sc.mean(axis=1) < self.redetect_score).any()))
        self._follow_ids, self._follow_boxes = ids[good], nxt[good]
        return self._result(index, kp, sc, boxes, ids)


def build_frontend(detector: Optional[str] = None, pose2d: Optional[str] = None, *, device: str = "cpu",
                   weights_dir: Optional[str] = None, conf: float = DEFAULT_CONF, iou: Optional[float] = None,
                   imgsz: Optional[int] = None,
                   flip_test: bool = False, tracker: Optional[Tracker] = None,
                   max_people: Optional[int] = None, det_every: int = DEFAULT_DET_EVERY, threads: Optional[int] = None,
                   trust_checkpoint: bool = False, **tracker_opts) -> FrontEnd2D:
    """Build the front end from detector / pose specs (see :func:`hotdemo.detect.detector.build_detector`
    and :func:`hotdemo.pose2d.build_pose2d`, which ``trust_checkpoint`` goes to); extra keyword
    options go to :class:`Tracker`."""
    from hotdemo.detect.detector import manifest_name as detector_weights
    from hotdemo.pose2d.registry import manifest_name as pose2d_weights
    from hotdemo.io.weights import ensure_local

    def make_detector():
        return build_detector(detector, device=device, conf=conf, iou=iou, imgsz=imgsz, weights_dir=weights_dir,
                              threads=threads)

    det_name = detector_weights(detector)
    # a local detector is built first, so that a wrong file or option fails before any download
    det = make_detector() if det_name is None else None
    # every default model that must be downloaded, at once: offline, one error names them all
    ensure_local([det_name, pose2d_weights(pose2d)], weights_dir=weights_dir)
    if det is None:
        det = make_detector()
    pose = build_pose2d(pose2d, device=device, flip_test=flip_test, weights_dir=weights_dir, threads=threads,
                        trust_checkpoint=trust_checkpoint)
    return FrontEnd2D(det, tracker if tracker is not None else Tracker(**tracker_opts), pose,
                      max_people=max_people, det_every=det_every)
