"""Exports: JSON, NPZ, CSV and BVH, each written atomically; the readers of hotdemo's files.

The formats are entries of :data:`EXPORT_FORMATS` (name, description, writer): the CLI's
``--export`` choices, its error message and :func:`write_exports` all come from it.
:func:`load_export` reads a JSON/NPZ export back; :func:`load_keypoints` reads the 2D input of
``hotdemo lift`` (an export, or a plain keypoints NPZ); :func:`read_csv` reads a CSV export.

Every field, unit and coordinate frame is documented in ``docs/formats.md``. In short:

* 2D keypoints: pixels of the (rotation-corrected) input frame, origin top-left, x right,
  y down, in the track's 2D joint format (COCO-17 from the video pipeline), with scores.
* 3D joints: metres, Human3.6M-17, both root-relative in the camera frame (x right, y down,
  z forward; pelvis at the origin) and in the upright world frame (z up, floor z = 0,
  see :mod:`hotdemo.post.world`).
* Files: ``<stem>.json``, ``<stem>.npz``, ``<stem>.csv``, and one ``<stem>_track<ID>.bvh``
  per lifted person. Each is written to a hidden temporary file in the output folder and
  renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from hotdemo import __version__
from hotdemo.io.formats.bvh import write_bvh
from hotdemo.core.errors import HotdemoError, InputError, OutputError
from hotdemo.io.files import atomic_write
from hotdemo.core.skeletons import H36M17, get_skeleton
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
_CHUNK = 2048  # frames formatted at a time by the streaming writers


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


# ------------------------------------------------------------------ NPZ
def to_npz_arrays(info: VideoInfo, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D],
                  fps: Optional[float] = None, scene=None) -> Dict[str, np.ndarray]:
    """The NPZ export's arrays: all people concatenated in "long" tables (docs/formats.md)."""
    fmt2d = _joint_format_2d(tracks2d)
    J2 = get_skeleton(fmt2d).num_joints

    def cat(arrs, shape, dtype):
        arrs = list(arrs)
        return np.concatenate(arrs).astype(dtype) if arrs else np.zeros((0,) + shape, dtype)

    w_missing = [np.full(t.joints_cam.shape, np.nan, np.float32) if t.joints_world is None else t.joints_world
                 for t in tracks3d]
    root_cam = [np.full((len(t), 3), np.nan, np.float32) if t.root_cam is None else t.root_cam for t in tracks3d]
    root_w = [np.full((len(t), 3), np.nan, np.float32) if t.root_cam is None or t.joints_world is None
              else t.joints_world[:, 0] for t in tracks3d]
    contacts = [np.zeros((len(t), 2), bool) if t.contacts is None else t.contacts for t in tracks3d]
    cam = {} if scene is None else {
        "camera_focal_px": np.array(float(scene.focal_px), np.float64),
        "camera_rotation": np.asarray(scene.rotation, np.float64),
        "camera_translation": np.asarray(scene.translation, np.float64),
        "camera_focal_source": np.array(str(scene.focal_source)),
    }
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
        "root_3d_world": cat(root_w, (3,), np.float32),
        "root_3d_camera": cat(root_cam, (3,), np.float32),
        "contacts_3d": cat(contacts, (2,), bool),
        **cam,
    }


def write_npz(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None,
              scene=None) -> Path:
    arrays = to_npz_arrays(info, tracks2d, tracks3d, fps, scene)
    return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))


# ------------------------------------------------------------------ CSV
CSV_COLUMNS = ("frame", "time_s", "track_id", "skeleton", "joint_index", "joint", "x_px", "y_px", "score",
               "x_cam", "y_cam", "z_cam", "x_world", "y_world", "z_world", "contact")
#: 3D rows of these joints carry the foot contact (1 / 0; empty without a trajectory)
_CONTACT_JOINT = {H36M17.index("left_ankle"): 0, H36M17.index("right_ankle"): 1}


def _csv_num(v) -> str:
    return "" if v is None or v != v else repr(v)  # empty for missing / NaN


def _csv_blocks(t, kind: int, rows: np.ndarray, fps: float) -> List[Tuple[int, int, int, str]]:
    """``(frame, track_id, kind, text)``: the CSV lines of one track's ``rows``, one block per
    frame (all joints). ``kind`` 0: 2D rows (pixels), 1: 3D rows (metres)."""
    frames = t.frames[rows].tolist()
    out = []
    if kind == 0:
        names = get_skeleton(t.joint_format).joint_names
        kp = np.round(t.keypoints[rows].astype(np.float64), _PX).tolist()
        sc = np.round(t.scores[rows].astype(np.float64), _SC).tolist()
        for i, fr in enumerate(frames):
            head = f"{fr},{f'{fr / fps:.4f}' if fps else ''},{t.track_id},{t.joint_format}"
            out.append((fr, t.track_id, 0, "".join(
                f"{head},{j},{name},{_csv_num(kp[i][j][0])},{_csv_num(kp[i][j][1])},{_csv_num(sc[i][j])},,,,,,,\n"
                for j, name in enumerate(names))))
        return out
    names = get_skeleton("h36m17").joint_names
    jc = np.round(t.joints_cam[rows].astype(np.float64), _M).tolist()
    jw = None if t.joints_world is None else np.round(t.joints_world[rows].astype(np.float64), _M).tolist()
    ct = None if t.contacts is None else t.contacts[rows].astype(int).tolist()

    def contact(i: int, j: int) -> str:
        return "" if ct is None or j not in _CONTACT_JOINT else str(ct[i][_CONTACT_JOINT[j]])

    for i, fr in enumerate(frames):
        head = f"{fr},{f'{fr / fps:.4f}' if fps else ''},{t.track_id},h36m17"
        out.append((fr, t.track_id, 1, "".join(
            f"{head},{j},{name},,,,{','.join(_csv_num(v) for v in jc[i][j])},"
            f"{',,' if jw is None else ','.join(_csv_num(v) for v in jw[i][j])},{contact(i, j)}\n"
            for j, name in enumerate(names))))
    return out


def _write_csv_stream(fh, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D], fps: float) -> None:
    fh.write((",".join(CSV_COLUMNS) + "\n").encode("utf-8"))
    parts = [(t, 0) for t in tracks2d if len(t)] + [(t, 1) for t in tracks3d if len(t)]
    if not parts:
        return
    orders = [np.argsort(t.frames, kind="stable") for t, _ in parts]
    sorted_frames = [t.frames[o] for (t, _), o in zip(parts, orders)]
    frames = np.unique(np.concatenate(sorted_frames))
    for c in range(0, len(frames), _CHUNK):
        lo, hi = frames[c], frames[min(c + _CHUNK, len(frames)) - 1]
        blocks: List[Tuple[int, int, int, str]] = []
        for (t, kind), o, sf in zip(parts, orders, sorted_frames):
            a, b = np.searchsorted(sf, lo, side="left"), np.searchsorted(sf, hi, side="right")
            if b > a:
                blocks.extend(_csv_blocks(t, kind, o[a:b], fps))
        blocks.sort(key=lambda r: r[:3])
        fh.write("".join(r[3] for r in blocks).encode("utf-8"))


def write_csv(path: PathLike, info: VideoInfo, tracks2d, tracks3d, fps: Optional[float] = None) -> Path:
    """One row per frame, person and joint, in frame order; 2D rows (skeleton = coco17) fill the
    pixel columns, 3D rows (skeleton = h36m17) fill the metre columns; the other columns are
    empty. Written a chunk of frames at a time."""
    f = _effective_fps(info, fps)
    return atomic_write(Path(path), lambda fh: _write_csv_stream(fh, tracks2d, tracks3d, f))


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
    out = []
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        out.append(write_bvh(out_dir / f"{stem}_track{t.track_id}.bvh", t.joints_world, fps or 30.0,
                             frames=t.frames))
    return out


# ------------------------------------------------------------------ the format registry
@dataclass(frozen=True)
class ExportJob:
    """What every exporter gets: where to write, and the poses with their video metadata.

    ``fps`` is the effective frame rate (``fps`` given to :func:`write_exports`, else the
    video's), 0.0 when unknown.
    """

    out_dir: Path
    stem: str
    info: VideoInfo
    tracks2d: Sequence[Track2D]
    tracks3d: Sequence[Track3D]
    fps: float
    #: the fitted camera (:class:`hotdemo.post.trajectory.SceneCamera`), or None (people in place)
    scene: Optional[object] = None


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its ``--export`` name, a one-line description, and its writer.

    ``write(job) -> [paths]`` writes its file(s) into ``job.out_dir`` through
    :func:`hotdemo.io.files.atomic_write`. ``check(job)`` (optional) raises
    :class:`~hotdemo.core.errors.HotdemoError` for data this format cannot hold; :func:`write_exports`
    runs every chosen format's check before it writes anything, so a failing format never leaves
    the others written. Callables may be given as ``"module:function"`` (imported on first use,
    so a format in another module adds no import at start-up and no cycle).
    """

    name: str
    description: str
    write: Union[Callable[[ExportJob], List[Path]], str]
    #: a few words for ``--export``'s help (optional)
    short: str = ""
    #: ``require()`` raises a one-line HotdemoError when an optional dependency is missing; run
    #: when the format is chosen (before any model is loaded) and again before writing
    require: Union[Callable[[], None], str, None] = None
    check: Union[Callable[[ExportJob], None], str, None] = None

    def writer(self) -> Callable[[ExportJob], List[Path]]:
        return _resolve(self.write)

    def checker(self) -> Optional[Callable[[ExportJob], None]]:
        return None if self.check is None else _resolve(self.check)


def _resolve(fn):
    if callable(fn):
        return fn
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


def _check_bvh(job: ExportJob) -> None:
    for t in job.tracks3d:
        if t.joints_world is not None and len(t) and not np.isfinite(t.joints_world).all(axis=(1, 2)).any():
            raise InputError(f"cannot write a BVH for track {t.track_id}: it has no frame with all 17 joints "
                             "(every 3D pose has missing values)")


def _write_html(job: ExportJob) -> List[Path]:
    from hotdemo.io.formats.viewer import write_html

    return [write_html(job.out_dir / f"{job.stem}.html", job.info, job.tracks3d, job.fps)]


def _one(fn, suffix: str, scene: bool = False):
    if scene:
        return lambda job: [fn(job.out_dir / f"{job.stem}{suffix}", job.info, job.tracks2d, job.tracks3d, job.fps,
                               scene=job.scene)]
    return lambda job: [fn(job.out_dir / f"{job.stem}{suffix}", job.info, job.tracks2d, job.tracks3d, job.fps)]


#: every ``--export`` format, in the order they are listed and written; a new format is one entry
EXPORT_FORMATS: Dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("json", "all tracks, 2D and 3D, with metadata: <stem>.json", _one(write_json, ".json", True)),
    ExportFormat("npz", "the same as NumPy arrays: <stem>.npz", _one(write_npz, ".npz", True)),
    ExportFormat("csv", "one row per frame, person and joint: <stem>.csv", _one(write_csv, ".csv")),
    ExportFormat("bvh", "one Blender-ready skeleton animation per person: <stem>_track<ID>.bvh",
                 lambda job: write_bvh_files(job.out_dir, job.stem, job.tracks3d, job.fps), check=_check_bvh),
    ExportFormat("html", "a 3D viewer in one self-contained page: <stem>.html", _write_html, short="3D viewer"),
    ExportFormat("angles", "joint angles per frame as CSV, with plots",
                 lambda job: _resolve("hotdemo.post.angles:write_angles")(job.out_dir, job.stem, job.info, job.tracks3d,
                                                                       job.fps),
                 short="joint angles CSV + plots", require="hotdemo.post.angles:require_matplotlib"),
    ExportFormat("gltf", "skinned, animated skeletons of everybody in one binary glTF: <stem>.glb",
                 lambda job: [_resolve("hotdemo.io.formats.gltf:write_gltf")(job.out_dir / f"{job.stem}.glb", job.tracks3d,
                                                                 job.fps)],
                 short="glTF for Blender / Unity / Unreal / the web", check=_check_bvh),
    ExportFormat("trc", "OpenSim TRC markers per person",
                 lambda job: _resolve("hotdemo.io.formats.trc:write_trc_files")(job.out_dir, job.stem, job.tracks3d, job.fps),
                 short="OpenSim markers"),
)}
#: what ``run``, ``batch`` and ``lift`` write without ``--export``
DEFAULT_FORMATS: Tuple[str, ...] = ("json", "npz")
#: the registry's names (kept for callers that only need them)
FORMATS: Tuple[str, ...] = tuple(EXPORT_FORMATS)


def check_formats(formats: Sequence[str]) -> Tuple[str, ...]:
    """``formats`` without repeats, in the given order; :class:`InputError` naming any unknown one."""
    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if bad:
        raise InputError(f"unknown export format {', '.join(bad)!r}; choose from {', '.join(EXPORT_FORMATS)} "
                         "(comma-separated, or 'none')")
    formats = tuple(dict.fromkeys(formats))
    for name in formats:  # optional dependencies, before any model is loaded or anything is written
        require = EXPORT_FORMATS[name].require
        if require is not None:
            _resolve(require)()
    return formats


def parse_formats(value: str) -> Tuple[str, ...]:
    """The ``--export`` value: comma-separated names (any case, spaces ignored); "" or "none": no exports."""
    items = tuple(x.strip().lower() for x in value.split(",") if x.strip())
    if items in ((), ("none",)):
        return ()
    return check_formats(items)


# ------------------------------------------------------------------ entry point
def _check_job(job: ExportJob) -> None:
    """What every format writes: the video's size and frame rate must be finite numbers."""
    i = job.info
    for name, v in (("width", i.width), ("height", i.height), ("fps", i.fps)):
        if not np.isfinite(float(v)):
            raise InputError(f"cannot export: the video {name} is {v}")


def write_exports(out_dir: PathLike, stem: str, info: VideoInfo, tracks2d: Sequence[Track2D],
                  tracks3d: Sequence[Track3D], formats: Sequence[str] = DEFAULT_FORMATS,
                  fps: Optional[float] = None, scene=None) -> List[Path]:
    """Write the chosen formats into ``out_dir``; returns the written paths.

    ``fps`` overrides ``info.fps`` (e.g. for 2D input files without a frame rate); BVH falls
    back to 30 fps when neither is known (its frame time must be positive).
    """
    out_dir = Path(out_dir)
    formats = check_formats(formats)
    if not out_dir.is_dir():
        raise OutputError(f"output folder {out_dir} does not exist")
    job = ExportJob(out_dir, stem, info, tracks2d, tracks3d, _effective_fps(info, fps), scene)
    _check_job(job)
    for name in formats:  # every check before any write: nothing is half-written
        check = EXPORT_FORMATS[name].checker()
        if check is not None:
            check(job)
    paths: List[Path] = []
    for name in formats:
        paths.extend(EXPORT_FORMATS[name].writer()(job))
    return paths


# ------------------------------------------------------------------ readers
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
            rc = None if p.get("root_camera") is None else _arr(p["root_camera"], np.float32, (T3, 3))
            ct = None if p.get("contacts") is None else np.asarray(p["contacts"], bool).reshape(T3, 2)
            t3.append(Track3D(tid, np.asarray(p["frames"], np.int64), _arr(p["joints_camera"], np.float32, (T3, 17, 3)),
                              joints_world=jw, root_cam=rc, contacts=ct))
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
        rc_all = d["root_3d_camera"] if "root_3d_camera" in d.files else None
        ct_all = d["contacts_3d"] if "contacts_3d" in d.files else None
        for tid, idx in _split(d["track_id_3d"], order).items():
            if len(idx):
                jw = jw_all[idx]
                rc = None if rc_all is None or np.isnan(rc_all[idx]).all() else rc_all[idx]
                t3.append(Track3D(tid, d["frames_3d"][idx], d["joints_3d_camera"][idx],
                                  joints_world=None if np.isnan(jw).all() else jw, root_cam=rc,
                                  contacts=None if rc is None or ct_all is None else ct_all[idx]))
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


# ------------------------------------------------------------------ keypoint files (input of ``hotdemo lift``)
def load_keypoints(path: Union[str, os.PathLike]) -> Tuple[List[Track2D], int, int, float]:
    """Read 2D keypoints for ``hotdemo lift``: ``(tracks, width, height, fps)``.

    Accepts hotdemo's own 2D export (``.json``, or ``.npz`` with ``schema_version``) and a plain
    ``.npz`` with ``keypoints`` (T, 17, 2) pixels, ``width``, ``height`` and optionally
    ``scores`` (T, 17), ``fps`` and ``joint_format`` ("coco17", the default, or "h36m17").
    Tracks keep their joint format (COCO tracks are converted before lifting). ``fps`` is 0.0
    when unknown. Missing keypoints (``null`` / NaN in an export, NaN in a plain NPZ, where their
    scores become 0) are kept as NaN: the lifting stage repairs them like low-score joints
    (:func:`hotdemo.detect.track.to_h36m`); all keypoints NaN is an error.

    Everything is checked here, before any model runs or any file is written: width and height
    finite and at least 1 pixel, fps finite and >= 0, keypoints within
    :data:`MAX_KEYPOINT_FRAMES` frame sizes of the frame; otherwise a one-line
    :class:`~hotdemo.core.errors.InputError`.
    """
    tracks, info = load_lift_input(path)
    return tracks, int(info.width), int(info.height), float(info.fps)


def load_lift_input(path: Union[str, os.PathLike]) -> Tuple[List[Track2D], VideoInfo]:
    """:func:`load_keypoints` with the video metadata that ``hotdemo lift``'s exports record.

    A hotdemo export gives what its run recorded about the video (path, size, fps, frame
    count, rotation, audio, codec); its frame count is at least the last tracked frame + 1
    (that, when the export records none). A plain keypoints NPZ describes itself: its own
    path, its width, height and fps, and T frames.
    """
    p = Path(path)
    tracks, width, height, fps, recorded = _read_keypoints(p)
    tracks, w, h, fps = _checked_lift_input(p, tracks, width, height, fps)
    last = int(max((t.frames.max() + 1 for t in tracks if len(t)), default=0))
    if recorded is None:
        return tracks, VideoInfo(path=str(p), width=w, height=h, fps=fps, frame_count=last)
    from dataclasses import replace

    return tracks, replace(recorded, width=w, height=h, fps=fps, frame_count=max(int(recorded.frame_count), last))


#: keypoints farther than this many frame sizes from the frame are not pixels of it
MAX_KEYPOINT_FRAMES = 100


def _checked_lift_input(p: Path, tracks: List[Track2D], width: float, height: float,
                        fps: float) -> Tuple[List[Track2D], int, int, float]:
    if not (np.isfinite(width) and np.isfinite(height) and width >= 1 and height >= 1):
        raise InputError(f"{p}: the frame width and height must be finite numbers of pixels (at least 1), "
                         f"got {width:g} x {height:g}")
    if not (np.isfinite(fps) and fps >= 0):
        raise InputError(f"{p}: fps must be a finite number >= 0 (0 when unknown), got {fps:g}")
    w, h = int(round(width)), int(round(height))
    limit = MAX_KEYPOINT_FRAMES * max(w, h)
    for t in tracks:
        kp = np.asarray(t.keypoints, np.float64)
        if np.isinf(kp).any():
            raise InputError(f"{p}: track {t.track_id} has infinite keypoint coordinates")
        fin = kp[np.isfinite(kp)]
        if fin.size and np.abs(fin).max() > limit:
            raise InputError(f"{p}: track {t.track_id} has keypoints up to {np.abs(fin).max():.3g} px from the "
                             f"origin, far outside the {w} x {h} frame; keypoints must be pixels of that frame")
    return tracks, w, h, float(fps)


def _read_keypoints(p: Path) -> Tuple[List[Track2D], float, float, float, Optional[VideoInfo]]:
    """``(tracks, width, height, fps, recorded)``: ``recorded`` is an export's video metadata,
    None for a plain keypoints NPZ."""
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; expected a keypoints file (.json or .npz)")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _load_export(p)
    if suffix != ".npz":
        raise InputError(f"{p}: unsupported keypoints file; expected .json (hotdemo export) or .npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:
        raise InputError(f"{p}: cannot read as an NPZ file ({type(e).__name__})") from None
    if "schema_version" in data:
        return _load_export(p)
    return _load_plain_npz(p, data)


def _load_export(p: Path) -> Tuple[List[Track2D], float, float, float, VideoInfo]:
    try:
        tracks, info = load_tracks2d(p)
    except HotdemoError:
        raise
    except Exception as e:
        raise InputError(f"{p}: not a readable hotdemo export ({type(e).__name__}: {e})") from None
    return list(tracks), float(info.width), float(info.height), float(info.fps or 0.0), info


def _load_plain_npz(p: Path, data: dict) -> Tuple[List[Track2D], float, float, float, None]:
    missing = [k for k in ("keypoints", "width", "height") if k not in data]
    if missing:
        raise InputError(f"{p}: missing {', '.join(missing)} (a plain keypoints NPZ needs keypoints (T, 17, 2) "
                         "pixels, width and height)")
    kp = np.asarray(data["keypoints"])
    if kp.ndim != 3 or kp.shape[1:] != (17, 2) or not np.issubdtype(kp.dtype, np.number):
        raise InputError(f"{p}: keypoints must be a numeric (T, 17, 2) array, got shape {kp.shape}")
    kp = kp.astype(np.float32)
    T = len(kp)
    if T == 0:
        raise InputError(f"{p}: keypoints hold no frames")
    if np.isinf(kp).any():
        raise InputError(f"{p}: keypoints contain infinite values (NaN marks a missing joint)")
    missing = np.isnan(kp).any(axis=-1)  # (T, 17): a joint with a NaN coordinate is missing
    if missing.all():
        raise InputError(f"{p}: every keypoint is NaN (missing); there is nothing to lift")
    kp[missing] = np.nan
    try:
        width, height = float(np.asarray(data["width"]).reshape(())), float(np.asarray(data["height"]).reshape(()))
        fps = float(np.asarray(data["fps"]).reshape(())) if "fps" in data else 0.0
    except (ValueError, TypeError):
        raise InputError(f"{p}: width, height and fps must be single numbers") from None
    if not (width > 0 and height > 0):
        raise InputError(f"{p}: width and height must be positive, got {width} x {height}")
    fmt = str(np.asarray(data["joint_format"]).reshape(())) if "joint_format" in data else "coco17"
    if fmt not in ("coco17", "h36m17"):
        raise InputError(f"{p}: joint_format must be 'coco17' or 'h36m17', got {fmt!r}")
    if "scores" in data:
        scores = np.asarray(data["scores"], dtype=np.float32)
        if scores.shape != (T, 17):
            raise InputError(f"{p}: scores must have shape ({T}, 17), got {scores.shape}")
    else:
        scores = np.ones((T, 17), np.float32)
    scores = np.where(missing, 0.0, scores).astype(np.float32)  # missing: repaired by the lifting stage
    get_skeleton(fmt)
    boxes = _boxes_of(kp, missing)
    track = Track2D(track_id=0, frames=np.arange(T, dtype=np.int64), keypoints=kp, scores=scores, boxes=boxes,
                    joint_format=fmt)
    return [track], width, height, fps, None


def _boxes_of(kp: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(T, 4) boxes around each frame's present joints; a frame without any takes the box
    interpolated in time from the frames that have one (boxes place people in the world)."""
    T = len(kp)
    seen = ~missing.all(axis=1)
    boxes = np.full((T, 4), np.nan, np.float32)
    k = kp[seen]
    boxes[seen] = np.concatenate([np.nanmin(k, axis=1), np.nanmax(k, axis=1)], axis=1)
    if not seen.all():
        t = np.arange(T)
        for c in range(4):
            boxes[~seen, c] = np.interp(t[~seen], t[seen], boxes[seen, c])
    return boxes
