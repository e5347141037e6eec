"""Exports: JSON, NPZ, CSV and BVH, each written atomically; readers for JSON and NPZ.

Every field, unit and coordinate frame is documented in ``docs/formats.md``. In short:

* 2D keypoints: pixels of the (rotation-corrected) input frame, origin top-left, x right,
  y down, in the track's 2D joint format (COCO-17 from the video pipeline), with scores.
* 3D joints: metres, Human3.6M-17, both root-relative in the camera frame (x right, y down,
  z forward; pelvis at the origin) and in the upright world frame (z up, floor z = 0,
  see :mod:`hotdemo.world`).
* Files: ``<stem>.json``, ``<stem>.npz``, ``<stem>.csv``, and one ``<stem>_track<ID>.bvh``
  per lifted person. Each is written to a hidden temporary file in the output folder and
  renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__
from .errors import InputError, OutputError
from .fileio import atomic_write  # noqa: F401  (the one helper; kept importable from here)
from .skeletons import get_skeleton
from .types import Track2D, Track3D, VideoInfo

SCHEMA_VERSION = 1
FORMATS = ("json", "npz", "csv", "bvh", "html", "angles", "trc")
PathLike = Union[str, os.PathLike]

# decimals kept in JSON and CSV: 1/1000 pixel, 1/10000 score, 1/100 mm
_PX, _SC, _M = 3, 4, 5

COORDINATE_FRAMES = {
    "pixels": "origin at the top-left corner of the displayed (rotation-corrected) frame, x right, y down",
    "camera": "metres, root-relative (pelvis at 0,0,0), x right, y down, z forward (away from the camera)",
    "world": "metres, right-handed, z up, floor at z=0, x = camera right and y = camera viewing "
             "direction, both projected on the floor",
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


# ------------------------------------------------------------------ helpers
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


# ------------------------------------------------------------------ JSON
def to_json_dict(info: VideoInfo, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D],
                 fps: Optional[float] = None) -> dict:
    """The JSON export as a Python dict (see docs/formats.md)."""
    fmt2d = _joint_format_2d(tracks2d)
    by2d = {t.track_id: t for t in tracks2d}
    by3d = {t.track_id: t for t in tracks3d}
    tracks = []
    for tid in _track_ids(tracks2d, tracks3d):
        t2, t3 = by2d.get(tid), by3d.get(tid)
        entry: dict = {"track_id": tid}
        if t2 is not None:
            entry.update({
                "frames": t2.frames.astype(int).tolist(),
                "boxes": _rounded(t2.boxes, _PX),
                "keypoints_2d": _rounded(t2.keypoints, _PX),
                "scores_2d": _rounded(t2.scores, _SC),
            })
        else:
            entry.update({"frames": [], "boxes": [], "keypoints_2d": [], "scores_2d": []})
        entry["pose_3d"] = None if t3 is None else {
            "frames": t3.frames.astype(int).tolist(),
            "joints_camera": _rounded(t3.joints_cam, _M),
            "joints_world": _rounded(t3.joints_world, _M),
        }
        tracks.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "hotdemo_version": __version__,
        "video": _video_json(info),
        "fps": _effective_fps(info, fps),
        "units": {"keypoints_2d": "pixels", "boxes": "pixels (x1, y1, x2, y2)", "scores_2d": "0..1",
                  "joints_3d": "metres"},
        "coordinate_frames": COORDINATE_FRAMES,
        "joint_format_2d": fmt2d,
        "joint_format_3d": "h36m17",
        "skeletons": {fmt2d: _skeleton_json(fmt2d), "h36m17": _skeleton_json("h36m17")},
        "tracks": tracks,
    }


def write_json(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None) -> Path:
    doc = to_json_dict(info, tracks2d, tracks3d, fps)
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    return atomic_write(Path(path), lambda f: f.write(text.encode("utf-8")))


# ------------------------------------------------------------------ NPZ
def to_npz_arrays(info: VideoInfo, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D],
                  fps: Optional[float] = None) -> Dict[str, np.ndarray]:
    """The NPZ export's arrays: all people concatenated in "long" tables (docs/formats.md)."""
    fmt2d = _joint_format_2d(tracks2d)
    J2 = get_skeleton(fmt2d).num_joints

    def cat(arrs, shape, dtype):
        arrs = list(arrs)
        return np.concatenate(arrs).astype(dtype) if arrs else np.zeros((0,) + shape, dtype)

    w_missing = [np.full(t.joints_cam.shape, np.nan, np.float32) if t.joints_world is None else t.joints_world
                 for t in tracks3d]
    return {
        "schema_version": np.array(SCHEMA_VERSION, np.int64),
        "hotdemo_version": np.array(__version__),
        "video_path": np.array(str(info.path)),
        "video_width": np.array(int(info.width), np.int64),
        "video_height": np.array(int(info.height), np.int64),
        "video_fps": np.array(float(info.fps), np.float64),
        "video_frame_count": np.array(int(info.frame_count), np.int64),
        "video_rotation": np.array(int(info.rotation), np.int64),
        "video_has_audio": np.array(bool(info.has_audio)),
        "video_codec": np.array(str(info.codec)),
        "fps": np.array(_effective_fps(info, fps), np.float64),
        "joint_format_2d": np.array(fmt2d),
        "joint_names_2d": np.array(get_skeleton(fmt2d).joint_names),
        "joint_format_3d": np.array("h36m17"),
        "joint_names_3d": np.array(get_skeleton("h36m17").joint_names),
        "parents_3d": np.array(get_skeleton("h36m17").parents, np.int64),
        "track_ids": np.array(_track_ids(tracks2d, tracks3d), np.int64),
        "track_id_2d": cat((np.full(len(t), t.track_id) for t in tracks2d), (), np.int64),
        "frames_2d": cat((t.frames for t in tracks2d), (), np.int64),
        "keypoints_2d": cat((t.keypoints for t in tracks2d), (J2, 2), np.float32),
        "scores_2d": cat((t.scores for t in tracks2d), (J2,), np.float32),
        "boxes_2d": cat((t.boxes for t in tracks2d), (4,), np.float32),
        "track_id_3d": cat((np.full(len(t), t.track_id) for t in tracks3d), (), np.int64),
        "frames_3d": cat((t.frames for t in tracks3d), (), np.int64),
        "joints_3d_camera": cat((t.joints_cam for t in tracks3d), (17, 3), np.float32),
        "joints_3d_world": cat(w_missing, (17, 3), np.float32),
    }


def write_npz(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None) -> Path:
    arrays = to_npz_arrays(info, tracks2d, tracks3d, fps)
    return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))


# ------------------------------------------------------------------ CSV
CSV_COLUMNS = ("frame", "time_s", "track_id", "skeleton", "joint_index", "joint", "x_px", "y_px", "score",
               "x_cam", "y_cam", "z_cam", "x_world", "y_world", "z_world")


def write_csv(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None) -> Path:
    """One row per frame, person and joint; 2D rows (skeleton = coco17) fill the pixel columns,
    3D rows (skeleton = h36m17) fill the metre columns; the other columns are empty."""
    f = _effective_fps(info, fps)
    rows: List[Tuple] = []  # (frame, track, skeleton order, joint, text)

    def fmt(v) -> str:
        return "" if v is None or v != v else repr(v)  # empty for missing / NaN

    for t in tracks2d:
        names = get_skeleton(t.joint_format).joint_names
        kp = np.round(t.keypoints.astype(np.float64), _PX).tolist()
        sc = np.round(t.scores.astype(np.float64), _SC).tolist()
        for i, fr in enumerate(t.frames.tolist()):
            head = f"{fr},{f'{fr / f:.4f}' if f else ''},{t.track_id},{t.joint_format}"
            for j, name in enumerate(names):
                rows.append((fr, t.track_id, 0, j, f"{head},{j},{name},{fmt(kp[i][j][0])},{fmt(kp[i][j][1])},"
                                                   f"{fmt(sc[i][j])},,,,,,"))
    names3 = get_skeleton("h36m17").joint_names
    for t in tracks3d:
        jc = np.round(t.joints_cam.astype(np.float64), _M).tolist()
        jw = None if t.joints_world is None else np.round(t.joints_world.astype(np.float64), _M).tolist()
        for i, fr in enumerate(t.frames.tolist()):
            head = f"{fr},{f'{fr / f:.4f}' if f else ''},{t.track_id},h36m17"
            for j, name in enumerate(names3):
                w = ",," if jw is None else ",".join(fmt(v) for v in jw[i][j])
                c = ",".join(fmt(v) for v in jc[i][j])
                rows.append((fr, t.track_id, 1, j, f"{head},{j},{name},,,,{c},{w}"))
    rows.sort(key=lambda r: r[:4])
    text = ",".join(CSV_COLUMNS) + "\n" + "".join(r[4] + "\n" for r in rows)
    return atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")))


def read_csv(path: PathLike) -> Dict[str, np.ndarray]:
    """Read a hotdemo CSV back as columns (numeric columns float64 with NaN where empty)."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        header = next(r)
        cols = list(zip(*r))
    out: Dict[str, np.ndarray] = {}
    for name, values in zip(header, cols or [()] * len(header)):
        if name in ("skeleton", "joint"):
            out[name] = np.array(values, dtype=str)
        elif name in ("frame", "track_id", "joint_index"):
            out[name] = np.array(values, dtype=np.int64)
        else:
            out[name] = np.array([float(v) if v else np.nan for v in values], dtype=np.float64)
    return out


# ------------------------------------------------------------------ BVH
def write_bvh_files(out_dir: Path, stem: str, tracks3d: Sequence[Track3D], fps: float) -> List[Path]:
    """One BVH per lifted person with world joints: ``<stem>_track<ID>.bvh``."""
    from .bvh import write_bvh

    out = []
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        out.append(write_bvh(out_dir / f"{stem}_track{t.track_id}.bvh", t.joints_world, fps or 30.0,
                             frames=t.frames))
    return out


# ------------------------------------------------------------------ entry point
def write_exports(out_dir: PathLike, stem: str, info: VideoInfo, tracks2d: Sequence[Track2D],
                  tracks3d: Sequence[Track3D], formats: Sequence[str] = ("json", "npz"),
                  fps: Optional[float] = None) -> List[Path]:
    """Write the chosen formats into ``out_dir``; returns the written paths.

    ``fps`` overrides ``info.fps`` (e.g. for 2D input files without a frame rate); BVH falls
    back to 30 fps when neither is known (its frame time must be positive).
    """
    out_dir = Path(out_dir)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InputError(f"unknown export format {', '.join(bad)!r}; choose from {', '.join(FORMATS)}")
    if not out_dir.is_dir():
        raise OutputError(f"output folder {out_dir} does not exist")
    if "angles" in formats:  # its optional plotting dependency, before anything is written
        from .angles import require_matplotlib

        require_matplotlib()
    paths: List[Path] = []
    for fmt in dict.fromkeys(formats):
        if fmt == "json":
            paths.append(write_json(out_dir / f"{stem}.json", info, tracks2d, tracks3d, fps))
        elif fmt == "npz":
            paths.append(write_npz(out_dir / f"{stem}.npz", info, tracks2d, tracks3d, fps))
        elif fmt == "csv":
            paths.append(write_csv(out_dir / f"{stem}.csv", info, tracks2d, tracks3d, fps))
        elif fmt == "bvh":
            paths.extend(write_bvh_files(out_dir, stem, tracks3d, _effective_fps(info, fps)))
        elif fmt in ("html", "angles", "trc"):  # writers that take one job (out_dir, stem, info, tracks, fps)
            import importlib
            from types import SimpleNamespace

            module, func = {"html": ("viewer", "export_html"), "angles": ("angles", "export_angles"),
                            "trc": ("trc", "export_trc")}[fmt]
            job = SimpleNamespace(out_dir=out_dir, stem=stem, info=info, tracks2d=tracks2d, tracks3d=tracks3d,
                                  fps=_effective_fps(info, fps))
            paths.extend(getattr(importlib.import_module(f"hotdemo.{module}"), func)(job))
    return paths


# ------------------------------------------------------------------ readers
def _info_from_json(v: dict) -> VideoInfo:
    return VideoInfo(path=v.get("path", ""), width=int(v["width"]), height=int(v["height"]), fps=float(v["fps"]),
                     frame_count=int(v.get("frame_count", 0)), rotation=int(v.get("rotation", 0)),
                     has_audio=bool(v.get("has_audio", False)), codec=str(v.get("codec", "")))


def _arr(x, dtype, shape) -> np.ndarray:
    """Nested lists (``null`` for a missing value) -> array; numpy reads None as NaN."""
    return np.array(x, dtype=dtype).reshape(shape)


def _load_json(path: Path) -> ExportData:
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
            t3.append(Track3D(tid, np.asarray(p["frames"], np.int64), _arr(p["joints_camera"], np.float32, (T3, 17, 3)),
                              joints_world=jw))
    return ExportData(int(doc["schema_version"]), str(doc.get("hotdemo_version", "")), _info_from_json(doc["video"]),
                      float(doc.get("fps", doc["video"].get("fps", 0.0))), t2, t3)


def _split(ids: np.ndarray, order: Sequence[int]) -> Dict[int, np.ndarray]:
    return {int(t): np.flatnonzero(ids == t) for t in order}


def _load_npz(path: Path) -> ExportData:
    try:
        d = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable NPZ file ({e})") from None
    with d:
        if "schema_version" not in d.files or "keypoints_2d" not in d.files:
            raise InputError(f"{path}: not a hotdemo export (no schema_version/keypoints_2d)")
        if int(d["schema_version"]) > SCHEMA_VERSION:
            raise InputError(f"{path}: schema version {int(d['schema_version'])} is newer than this hotdemo "
                             f"understands ({SCHEMA_VERSION}); upgrade hotdemo")
        info = VideoInfo(path=str(d["video_path"]), width=int(d["video_width"]), height=int(d["video_height"]),
                         fps=float(d["video_fps"]), frame_count=int(d["video_frame_count"]),
                         rotation=int(d["video_rotation"]), has_audio=bool(d["video_has_audio"]),
                         codec=str(d["video_codec"]))
        fmt2d = str(d["joint_format_2d"])
        order = d["track_ids"].tolist()
        t2 = []
        for tid, idx in _split(d["track_id_2d"], order).items():
            if len(idx):
                t2.append(Track2D(tid, d["frames_2d"][idx], d["keypoints_2d"][idx], d["scores_2d"][idx],
                                  d["boxes_2d"][idx], joint_format=fmt2d))
        t3 = []
        jw_all = d["joints_3d_world"]
        for tid, idx in _split(d["track_id_3d"], order).items():
            if len(idx):
                jw = jw_all[idx]
                t3.append(Track3D(tid, d["frames_3d"][idx], d["joints_3d_camera"][idx],
                                  joints_world=None if np.isnan(jw).all() else jw))
        return ExportData(int(d["schema_version"]), str(d["hotdemo_version"]), info, float(d["fps"]), t2, t3)


def load_export(path: PathLike) -> ExportData:
    """Read a hotdemo JSON or NPZ export back (tracks in the order they were written)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _load_json(path)
    if suffix == ".npz":
        return _load_npz(path)
    raise InputError(f"{path}: expected a hotdemo .json or .npz export")


def load_tracks2d(path: PathLike) -> Tuple[List[Track2D], VideoInfo]:
    """The 2D tracks and video metadata of a hotdemo JSON/NPZ export (input of ``hotdemo lift``).

    ``VideoInfo.fps`` is the export's effective fps when the video's own was unknown.
    """
    data = load_export(path)
    info = data.info
    if not info.fps and data.fps:
        from dataclasses import replace

        info = replace(info, fps=data.fps)
    return data.tracks2d, info
