"""The JSON export (``--export json``, ``<stem>.json``): every track, 2D and 3D, with the video's
metadata, the skeletons and the fitted camera, written a chunk of frames at a time; and its
reader (:func:`load_json`, through :func:`hotdemo.io.formats.keypoints.load_export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from hotdemo import __version__
from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import get_skeleton
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.io.files import atomic_write
from hotdemo.io.formats.schema import (_CHUNK, _M, _PX, _SC, COORDINATE_FRAMES, SCHEMA_VERSION, ExportData,
                                       PathLike, _effective_fps, _joint_format_2d, _rounded, _skeleton_json,
                                       _track_ids, _video_json)


def _dumps(x) -> str:
    return json.dumps(x, separators=(",", ":"), allow_nan=False)


def _write_rows(f, a: Optional[np.ndarray], decimals: Optional[int]) -> None:
    """``a`` as a JSON array (nested lists, ``null`` for NaN), formatted a chunk of rows at a time."""
    if a is None:
        f.write(b"null")
        return
    f.write(b"[")
    for i in range(0, len(a), _CHUNK):
        part = a[i:i + _CHUNK]
        rows = part.astype(int).tolist() if decimals is None else _rounded(part, decimals)
        f.write((("," if i else "") + _dumps(rows)[1:-1]).encode("utf-8"))
    f.write(b"]")


def _scene_json(scene) -> Optional[dict]:
    return None if scene is None else scene.to_dict()


def _json_header(info: VideoInfo, fmt2d: str, fps: float, scene=None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "hotdemo_version": __version__,
        "video": _video_json(info),
        "fps": fps,
        "units": {"keypoints_2d": "pixels", "boxes": "pixels (x1, y1, x2, y2)", "scores_2d": "0..1",
                  "joints_3d": "metres"},
        "coordinate_frames": COORDINATE_FRAMES,
        "joint_format_2d": fmt2d,
        "joint_format_3d": "h36m17",
        "skeletons": {fmt2d: _skeleton_json(fmt2d), "h36m17": _skeleton_json("h36m17")},
        "camera": _scene_json(scene),
        "tracks": [],
    }


def _write_json_stream(f, info: VideoInfo, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D],
                       fps: float, scene=None) -> None:
    head = _dumps(_json_header(info, _joint_format_2d(tracks2d), fps, scene))
    assert head.endswith('"tracks":[]}')
    f.write(head[:-2].encode("utf-8"))
    by2d = {t.track_id: t for t in tracks2d}
    by3d = {t.track_id: t for t in tracks3d}
    for n, tid in enumerate(_track_ids(tracks2d, tracks3d)):
        t2, t3 = by2d.get(tid), by3d.get(tid)
        f.write(("," if n else "") .encode() + b'{"track_id":%d,"frames":' % tid)
        if t2 is not None:
            _write_rows(f, t2.frames, None)
            for key, a, dec in (("boxes", t2.boxes, _PX), ("keypoints_2d", t2.keypoints, _PX),
                                ("scores_2d", t2.scores, _SC)):
                f.write(b',"%s":' % key.encode())
                _write_rows(f, a, dec)
        else:
            f.write(b'[],"boxes":[],"keypoints_2d":[],"scores_2d":[]')
        f.write(b',"pose_3d":')
        if t3 is None:
            f.write(b"null")
        else:
            f.write(b'{"frames":')
            _write_rows(f, t3.frames, None)
            f.write(b',"joints_camera":')
            _write_rows(f, t3.joints_cam, _M)
            f.write(b',"joints_world":')
            _write_rows(f, t3.joints_world, _M)
            f.write(b',"root_world":')
            _write_rows(f, None if t3.joints_world is None or t3.root_cam is None else t3.joints_world[:, 0], _M)
            f.write(b',"root_camera":')
            _write_rows(f, t3.root_cam, _M)
            f.write(b',"contacts":')
            _write_rows(f, t3.contacts, None)
            f.write(b"}")
        f.write(b"}")
    f.write(b"]}")


def write_json(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None,
               scene=None) -> Path:
    """The JSON export (docs/formats.md), written a chunk of frames at a time (memory does not
    grow with the clip's length beyond the tracks themselves). ``scene``: the fitted camera."""
    f = _effective_fps(info, fps)
    return atomic_write(Path(path), lambda fh: _write_json_stream(fh, info, tracks2d, tracks3d, f, scene))


def export_json(job) -> List[Path]:
    """Export-registry writer: ``<stem>.json``."""
    return [write_json(job.out_dir / f"{job.stem}.json", job.info, job.tracks2d, job.tracks3d, job.fps,
                       scene=job.scene)]


# ------------------------------------------------------------------ reader
def _info_from_json(v: dict) -> VideoInfo:
    return VideoInfo(path=v.get("path", ""), width=int(v["width"]), height=int(v["height"]), fps=float(v["fps"]),
                     frame_count=int(v.get("frame_count", 0)), rotation=int(v.get("rotation", 0)),
                     has_audio=bool(v.get("has_audio", False)), codec=str(v.get("codec", "")))


def _arr(x, dtype, shape) -> np.ndarray:
    """Nested lists (``null`` for a missing value) -> array; numpy reads None as NaN.

    A ``null`` in place of a whole keypoint / joint / box (``[..., null, ...]`` rather than
    ``[null, null]``) is a missing one too: all its coordinates become NaN."""
    try:
        return np.array(x, dtype=dtype).reshape(shape)
    except ValueError:
        return np.array(_fill_nulls(x, len(shape) - 1, shape[-1]), dtype=dtype).reshape(shape)


def _fill_nulls(x, depth: int, width: int):
    """Replace ``None`` items at nesting ``depth`` by ``[None] * width``."""
    if depth == 0:
        return x
    if depth == 1:
        return [[None] * width if v is None else v for v in x]
    return [_fill_nulls(v, depth - 1, width) for v in x]


def load_json(path: Path) -> ExportData:
    """A JSON export back (:func:`hotdemo.io.formats.keypoints.load_export` checks the path)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a valid JSON file ({e})") from None
    if not isinstance(doc, dict) or "schema_version" not in doc or "tracks" not in doc:
        raise InputError(f"{path}: not a hotdemo export (no schema_version/tracks)")
    if int(doc["schema_version"]) > SCHEMA_VERSION:
        raise InputError(f"{path}: schema version {doc['schema_version']} is newer than this hotdemo "
                         f"understands ({SCHEMA_VERSION}); upgrade hotdemo")
    fmt2d = doc.get("joint_format_2d", "coco17")
    J2 = get_skeleton(fmt2d).num_joints
    t2, t3 = [], []
    for e in doc["tracks"]:
        tid = int(e["track_id"])
        T = len(e["frames"])
        if T:
            t2.append(Track2D(tid, np.asarray(e["frames"], np.int64), _arr(e["keypoints_2d"], np.float32, (T, J2, 2)),
                              _arr(e["scores_2d"], np.float32, (T, J2)), _arr(e["boxes"], np.float32, (T, 4)),
                              joint_format=fmt2d))
        p = e.get("pose_3d")
        if p:
            T3 = len(p["frames"])
            jw = None if p.get("joints_world") is None else _arr(p["joints_world"], np.float32, (T3, 17, 3))
            rc = None if p.get("root_camera") is None else _arr(p["root_camera"], np.float32, (T3, 3))
            ct = None if p.get("contacts") is None else np.asarray(p["contacts"], bool).reshape(T3, 2)
            t3.append(Track3D(tid, np.asarray(p["frames"], np.int64), _arr(p["joints_camera"], np.float32, (T3, 17, 3)),
                              joints_world=jw, root_cam=rc, contacts=ct))
    return ExportData(int(doc["schema_version"]), str(doc.get("hotdemo_version", "")), _info_from_json(doc["video"]),
                      float(doc.get("fps", doc["video"].get("fps", 0.0))), t2, t3)
