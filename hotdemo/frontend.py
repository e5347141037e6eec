"""The 2D front end: detection -> tracking -> top-down keypoints, one batch of frames at a time.

::

    fe = build_frontend("../shared/models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights",
                        "../shared/models/ultralight-simplepose/simplepose_256x192.onnx")
    per_frame = []
    for start, chunk in ...:               # consecutive RGB frames, in order
        per_frame += fe.process(chunk, start)
    tracks = assemble_tracks(per_frame)    # hotdemo.track

:meth:`FrontEnd2D.process` returns one :class:`hotdemo.types.FramePoses2D` (COCO-17) per frame,
with empty arrays for frames where nobody was found. Detection runs batched over the chunk,
tracking frame by frame (it is sequential by nature and cheap), and the 2D model over the
crops of every tracked person of every frame of the chunk at once.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .detect import Detector, build_detector
from .pose2d import PoseEstimator, build_pose2d
from .track import Tracker
from .types import FramePoses2D

__all__ = ["FrontEnd2D", "build_frontend"]


class FrontEnd2D:
    """Detector + tracker + pose estimator. Keeps tracker state between :meth:`process` calls,
    so chunks must come in video order; :meth:`reset` before another video."""

    def __init__(self, detector: Detector, tracker: Optional[Tracker], pose: PoseEstimator,
                 *, max_people: Optional[int] = None):
        self.detector = detector
        self.tracker = tracker if tracker is not None else Tracker()
        self.pose = pose
        self.max_people = max_people  # per frame, highest scores first; None = all

    def reset(self) -> None:
        self.tracker.reset()

    def process(self, frames: Sequence[np.ndarray], start_index: int) -> List[FramePoses2D]:
        frames = list(frames)
        if not frames:
            return []
        dets = self.detector(frames)
        boxes, ids = [], []
        for f, d in zip(frames, dets):  # tracking is sequential over frames
            d = np.asarray(d, np.float32).reshape(-1, 5)
            if self.max_people is not None:
                d = d[: self.max_people]
            tid = self.tracker.update(d[:, :4], d[:, 4], frame=f)
            keep = tid >= 0
            boxes.append(d[keep, :4])
            ids.append(tid[keep])
        poses = self.pose(frames, boxes)
        J = self.pose.num_joints
        out = []
        for i, ((kp, sc), b, t) in enumerate(zip(poses, boxes, ids)):
            out.append(FramePoses2D(
                frame_index=start_index + i,
                keypoints=kp.reshape(-1, J, 2).astype(np.float32),
                scores=sc.reshape(-1, J).astype(np.float32),
                boxes=b.astype(np.float32).reshape(-1, 4),
                track_ids=t.astype(np.int64),
                joint_format="coco17",
            ))
        return out


def build_frontend(detector: Optional[str] = None, pose2d: Optional[str] = None, *, device: str = "cpu",
                   weights_dir: Optional[str] = None, conf: float = 0.25, iou: Optional[float] = None,
                   imgsz: Optional[int] = None,
                   flip_test: bool = False, tracker: Optional[Tracker] = None,
                   max_people: Optional[int] = None, **tracker_opts) -> FrontEnd2D:
    """Build the front end from detector / pose specs (see :func:`hotdemo.detect.build_detector`
    and :func:`hotdemo.pose2d.build_pose2d`); extra keyword options go to :class:`Tracker`."""
    from .detect import manifest_name as detector_weights
    from .pose2d.registry import manifest_name as pose2d_weights
    from .weights import ensure_local

    def make_detector():
        return build_detector(detector, device=device, conf=conf, iou=iou, imgsz=imgsz, weights_dir=weights_dir)

    det_name = detector_weights(detector)
    # a local detector is built first, so that a wrong file or option fails before any download
    det = make_detector() if det_name is None else None
    # every default model that must be downloaded, at once: offline, one error names them all
    ensure_local([det_name, pose2d_weights(pose2d)], weights_dir=weights_dir)
    if det is None:
        det = make_detector()
    pose = build_pose2d(pose2d, device=device, flip_test=flip_test, weights_dir=weights_dir)
    return FrontEnd2D(det, tracker if tracker is not None else Tracker(**tracker_opts), pose,
                      max_people=max_people)
