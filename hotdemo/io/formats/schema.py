"""What the JSON, NPZ and CSV exports share: the schema version, the coordinate frames they
document, the decimals they keep, :class:`ExportData` (what reading an export gives back) and the
small helpers of their writers. Every field, unit and frame: ``docs/formats.md``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from hotdemo.core.skeletons import get_skeleton
from hotdemo.core.types import Track2D, Track3D, VideoInfo

SCHEMA_VERSION = 1
PathLike = Union[str, os.PathLike]

# decimals kept in JSON and CSV: 1/1000 pixel, 1/10000 score, 1/100 mm
_PX, _SC, _M = 3, 4, 5

COORDINATE_FRAMES = {
    "pixels": "origin at the top-left corner of the displayed (rotation-corrected) frame, x right, y down",
    "camera": "metres, root-relative (pelvis at 0,0,0), x right, y down, z forward (away from the camera)",
    "world": "metres, right-handed, z up, floor at z=0, x = camera right and y = camera viewing "
             "direction, both projected on the floor; origin on the floor below the people's mean position "
             "(with --trajectory camera: each person's root moves in it)",
    "root_camera": "metres, the pelvis in the camera frame (x right, y down, z forward), not root-relative",
}


@dataclass
class ExportData:
    """Everything an export holds: what :func:`load_export` returns."""

    schema_version: int
    hotdemo_version: str
    info: VideoInfo
    fps: float
    tracks2d: List[Track2D] = field(default_factory=list)
    tracks3d: List[Track3D] = field(default_factory=list)


def _effective_fps(info: VideoInfo, fps: Optional[float]) -> float:
    f = fps if fps else info.fps
    return float(f) if f and f > 0 else 0.0


def _joint_format_2d(tracks2d: Sequence[Track2D]) -> str:
    fmts = {t.joint_format for t in tracks2d}
    if len(fmts) > 1:
        raise ValueError(f"2D tracks mix joint formats {sorted(fmts)}")
    return fmts.pop() if fmts else "coco17"


def _track_ids(tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D]) -> List[int]:
    ids: List[int] = []
    for t in list(tracks2d) + list(tracks3d):
        if t.track_id not in ids:
            ids.append(int(t.track_id))
    return ids


def _skeleton_json(name: str) -> dict:
    s = get_skeleton(name)
    return {"joint_names": list(s.joint_names), "parents": list(s.parents),
            "edges": [list(e) for e in s.edges]}


def _video_json(info: VideoInfo) -> dict:
    return {"path": str(info.path), "name": Path(str(info.path)).name, "width": int(info.width),
            "height": int(info.height), "fps": float(info.fps), "frame_count": int(info.frame_count),
            "rotation": int(info.rotation), "has_audio": bool(info.has_audio), "codec": str(info.codec)}


def _rounded(a: Optional[np.ndarray], decimals: int):
    if a is None:
        return None
    a = np.round(np.asarray(a, np.float64), decimals)
    if not np.isfinite(a).all():
        return np.where(np.isfinite(a), a, None).tolist()
    return a.tolist()


_CHUNK = 2048  # frames formatted at a time by the streaming writers
