"""The NPZ export (``--export npz``, ``<stem>.npz``): the JSON export's content as NumPy arrays,
all people concatenated in "long" tables; and its reader (:func:`load_npz`, through
:func:`hotdemo.io.formats.keypoints.load_export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from hotdemo import __version__
from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import get_skeleton
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.io.files import atomic_write
from hotdemo.io.formats.schema import (SCHEMA_VERSION, ExportData, PathLike, _effective_fps, _joint_format_2d,
                                       _track_ids)


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


def export_npz(job) -> List[Path]:
    """Export-registry writer: ``<stem>.npz``."""
    return [write_npz(job.out_dir / f"{job.stem}.npz", job.info, job.tracks2d, job.tracks3d, job.fps,
                      scene=job.scene)]


# ------------------------------------------------------------------ reader
def _split(ids: np.ndarray, order: Sequence[int]) -> Dict[int, np.ndarray]:
    return {int(t): np.flatnonzero(ids == t) for t in order}


def load_npz(path: Path) -> ExportData:
    """An NPZ export back (:func:`hotdemo.io.formats.keypoints.load_export` checks the path)."""
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
