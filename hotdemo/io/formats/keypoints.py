"""Reading hotdemo's files back: a JSON or NPZ export (:func:`load_export`, :func:`load_tracks2d`)
and the 2D input of ``hotdemo lift`` (:func:`load_keypoints`, :func:`load_lift_input`: an
export, or a plain keypoints NPZ), every value checked before any model runs."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from hotdemo.core.errors import HotdemoError, InputError
from hotdemo.core.skeletons import get_skeleton
from hotdemo.core.types import Track2D, VideoInfo
from hotdemo.io.formats.json_file import load_json
from hotdemo.io.formats.npz_file import load_npz
from hotdemo.io.formats.schema import ExportData, PathLike


def load_export(path: PathLike) -> ExportData:
    """Read a hotdemo JSON or NPZ export back (tracks in the order they were written)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return load_json(path)
    if suffix == ".npz":
        return load_npz(path)
    raise InputError(f"{path}: expected a hotdemo .json or .npz export")


def load_tracks2d(path: PathLike) -> Tuple[List[Track2D], VideoInfo]:
    """The 2D tracks and video metadata of a hotdemo JSON/NPZ export (input of ``hotdemo lift``).

    ``VideoInfo.fps`` is the export's effective fps when the video's own was unknown.
    """
    data = load_export(path)
    info = data.info
    if not info.fps and data.fps:
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
