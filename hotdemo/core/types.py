"""Typed stage outputs. Every array's shape and unit is documented, and every joint array
carries its joint format (``"coco17"`` or ``"h36m17"``, see :mod:`hotdemo.core.skeletons`) so that
the COCO and Human3.6M orders cannot be mixed up silently.

Conventions: ``T`` frames of a track, ``N`` detections in a frame, ``J`` joints.
Pixel coordinates have the origin at the top-left corner of the (rotation-corrected) frame,
x to the right, y down. 3D camera-frame coordinates are in metres, x right, y down, z forward
(away from the camera), as in Human3.6M's camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from hotdemo.core.skeletons import get_skeleton


def _check(name: str, arr: np.ndarray, shape: tuple) -> None:
    """Assert ``arr`` has ``shape``, where ``None`` entries match any size."""
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(arr.shape)}")


@dataclass(frozen=True)
class VideoInfo:
    """Metadata of an input video, in the geometry of its *displayed* frames.

    width/height: the displayed size in pixels, after the rotation metadata is applied and,
    for non-square stored pixels (anamorphic video), after resampling to square pixels:
    the decoder (:func:`hotdemo.io.video.iter_frames`) yields frames of exactly this size.
    frame_count: before decoding, the number of the stream's packets (0 when unknown); after
    a pipeline run, the number of decoded frames (what exports record).
    """

    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    rotation: int = 0  # degrees clockwise the decoder rotates frames by (0, 90, 180, 270)
    has_audio: bool = False
    codec: str = ""
    fps_known: bool = True  # False: the file states no frame rate and ``fps`` is an assumed 25
    pixel_aspect: float = 1.0  # stored pixel width / height (SAR), after rotation; 1 for square pixels
    stream: int = 0  # which video stream of the file (0-based among video streams; cover art is skipped)
    duration: float = 0.0  # seconds, from the container header (0 when unknown)
    focal_35mm: float = 0.0  # 35 mm-equivalent focal length (mm) from the file's metadata (0 when absent)


@dataclass(frozen=True)
class Detections:
    """Person detections of one frame.

    boxes: (N, 4) float32, x1 y1 x2 y2 in pixels. scores: (N,) float32 in [0, 1].
    track_ids: (N,) int64, -1 where not (yet) tracked.
    """

    frame_index: int
    boxes: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float32).reshape(-1))
        tid = self.track_ids
        tid = np.full(len(boxes), -1, np.int64) if tid is None else np.asarray(tid, np.int64).reshape(-1)
        object.__setattr__(self, "track_ids", tid)
        _check("scores", self.scores, (len(boxes),))
        _check("track_ids", self.track_ids, (len(boxes),))

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class FramePoses2D:
    """2D keypoints of every tracked person in one frame.

    keypoints: (N, J, 2) float32 pixels; scores: (N, J) float32 in [0, 1];
    boxes: (N, 4) float32 x1 y1 x2 y2; track_ids: (N,) int64.
    """

    frame_index: int
    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    track_ids: np.ndarray
    joint_format: str = "coco17"

    def __post_init__(self):
        J = get_skeleton(self.joint_format).num_joints
        n = len(self.track_ids)
        _check("keypoints", self.keypoints, (n, J, 2))
        _check("scores", self.scores, (n, J))
        _check("boxes", self.boxes, (n, 4))


@dataclass(frozen=True)
class Track2D:
    """One person's 2D keypoint sequence.

    frames: (T,) int64 frame indices in the video, strictly increasing (gaps allowed only
    if the track was split; after gap filling the indices are consecutive).
    keypoints: (T, J, 2) float32 pixels. scores: (T, J) float32 in [0, 1] (0 for a joint
    that was filled in rather than observed). boxes: (T, 4) float32 x1 y1 x2 y2.
    """

    track_id: int
    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    joint_format: str = "coco17"

    def __post_init__(self):
        J = get_skeleton(self.joint_format).num_joints
        T = len(self.frames)
        _check("frames", self.frames, (T,))
        _check("keypoints", self.keypoints, (T, J, 2))
        _check("scores", self.scores, (T, J))
        _check("boxes", self.boxes, (T, 4))

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Track3D:
    """One person's 3D pose sequence from the lifter.

    frames: (T,) int64 frame indices. joints_cam: (T, J, 3) float32 metres, root-relative
    (pelvis at the origin), camera frame (x right, y down, z forward).
    joints_world: (T, J, 3) float32 metres in the upright world frame (z up, floor z = 0,
    see :mod:`hotdemo.post.world`), or None before world alignment.
    root_cam: (T, 3) float32 metres, the pelvis in the camera frame (:mod:`hotdemo.post.trajectory`),
    or None when people are placed in place (``--trajectory none``, a moving camera).
    contacts: (T, 2) bool, left and right foot on the floor, or None (as ``root_cam``).
    """

    track_id: int
    frames: np.ndarray
    joints_cam: np.ndarray
    joint_format: str = "h36m17"
    joints_world: Optional[np.ndarray] = None
    root_cam: Optional[np.ndarray] = None
    contacts: Optional[np.ndarray] = None

    def __post_init__(self):
        J = get_skeleton(self.joint_format).num_joints
        T = len(self.frames)
        _check("frames", self.frames, (T,))
        _check("joints_cam", self.joints_cam, (T, J, 3))
        if self.joints_world is not None:
            _check("joints_world", self.joints_world, (T, J, 3))
        if self.root_cam is not None:
            _check("root_cam", self.root_cam, (T, 3))
        if self.contacts is not None:
            _check("contacts", self.contacts, (T, 2))

    def __len__(self) -> int:
        return len(self.frames)
