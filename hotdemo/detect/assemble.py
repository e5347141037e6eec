"""After the 2D pass, the tracks made ready for lifting: per-track assembly, selection and
COCO-17 -> Human3.6M-17.

:func:`assemble_tracks` turns per-frame results into :class:`Track2D` s (short gaps
interpolated with score 0, long gaps split), :func:`select_tracks` picks whom to lift and
:func:`to_h36m` converts a track for the lifter, repairing low-confidence joints. The IDs come
from the online tracker (:class:`hotdemo.detect.track.Tracker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import COCO17, coco_to_h36m, get_skeleton
from hotdemo.core.types import FramePoses2D, Track2D

__all__ = ["assemble_tracks", "select_tracks", "to_h36m"]


@dataclass
class _Acc:
    frames: List[int]
    kps: List[np.ndarray]
    scores: List[np.ndarray]
    boxes: List[np.ndarray]


def _interpolate_track(track_id: int, frames: np.ndarray, kps: np.ndarray, scores: np.ndarray,
                       boxes: np.ndarray, joint_format: str) -> Track2D:
    """Fill the missing frames between ``frames[0]`` and ``frames[-1]`` linearly; score 0 there."""
    full = np.arange(frames[0], frames[-1] + 1)
    if len(full) == len(frames):
        return Track2D(track_id, frames.astype(np.int64), kps, scores, boxes, joint_format)
    T, J = len(full), kps.shape[1]
    flat = np.concatenate([kps.reshape(len(frames), -1), boxes], axis=1)
    filled = np.empty((T, flat.shape[1]), np.float32)
    for c in range(flat.shape[1]):  # columns (J*2 + 4), not frames
        filled[:, c] = np.interp(full, frames, flat[:, c])
    sc = np.zeros((T, J), np.float32)
    sc[frames - frames[0]] = scores
    return Track2D(track_id, full.astype(np.int64), filled[:, :J * 2].reshape(T, J, 2), sc,
                   filled[:, J * 2:], joint_format)


def assemble_tracks(frames: Iterable[FramePoses2D], *, max_gap: int = 30, min_length: int = 1) -> List[Track2D]:
    """Group per-frame poses by track ID into :class:`Track2D` s.

    Gaps of at most ``max_gap`` missing frames are filled by linear interpolation (keypoints
    and boxes) with score 0; a longer gap splits the track (the later piece gets a new ID above
    every tracker ID). Tracks shorter than ``min_length`` frames are dropped. Sorted by first
    frame, then ID. Negative track IDs (untracked detections) are ignored.
    """
    acc: Dict[int, _Acc] = {}
    fmt = "coco17"
    for fp in frames:
        fmt = fp.joint_format
        for n, tid in enumerate(np.asarray(fp.track_ids).tolist()):
            if tid < 0:
                continue
            a = acc.setdefault(int(tid), _Acc([], [], [], []))
            a.frames.append(int(fp.frame_index))
            a.kps.append(fp.keypoints[n])
            a.scores.append(fp.scores[n])
            a.boxes.append(fp.boxes[n])
    next_id = max(acc, default=-1) + 1
    out: List[Track2D] = []
    for tid in sorted(acc):
        a = acc[tid]
        f = np.asarray(a.frames, np.int64)
        order = np.argsort(f, kind="stable")
        f = f[order]
        k = np.asarray(a.kps, np.float32)[order]
        s = np.asarray(a.scores, np.float32)[order]
        b = np.asarray(a.boxes, np.float32)[order]
        # a frame can appear once per track only; keep the first
        uniq = np.concatenate([[True], np.diff(f) > 0])
        f, k, s, b = f[uniq], k[uniq], s[uniq], b[uniq]
        breaks = np.flatnonzero(np.diff(f) > max_gap + 1) + 1
        for i, (lo, hi) in enumerate(zip(np.r_[0, breaks], np.r_[breaks, len(f)])):
            if hi - lo == 0:
                continue
            piece_id = tid if i == 0 else next_id
            if i > 0:
                next_id += 1
            t = _interpolate_track(piece_id, f[lo:hi], k[lo:hi], s[lo:hi], b[lo:hi], fmt)
            if len(t) >= min_length:
                out.append(t)
    out.sort(key=lambda t: (int(t.frames[0]), t.track_id))
    return out


def select_tracks(tracks: Sequence[Track2D], *, people: Optional[int] = None, track_id: Optional[int] = None,
                  min_length: int = 10) -> List[Track2D]:
    """Choose the tracks to lift.

    ``track_id`` -> only that track (every piece with that ID; empty if absent). Otherwise the
    tracks of at least ``min_length`` frames; with ``people`` = N the N with the largest
    ``frames x mean box area`` (so long tracks of big, near people win). The result keeps the
    input order.
    """
    if track_id is not None:
        return [t for t in tracks if t.track_id == track_id]
    long_enough = [t for t in tracks if len(t) >= min_length]
    if people is None or people >= len(long_enough):
        return long_enough

    def weight(t: Track2D) -> float:
        wh = np.clip(t.boxes[:, 2:] - t.boxes[:, :2], 0, None)
        return float(len(t) * np.sqrt(np.mean(wh[:, 0] * wh[:, 1])))

    best = sorted(range(len(long_enough)), key=lambda i: -weight(long_enough[i]))[:max(people, 0)]
    return [long_enough[i] for i in sorted(best)]


def _repair_in_time(xy: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace the (T, J) not-``ok`` joints by linear interpolation over time from ok frames
    (held constant beyond the first / last ok frame). Joints never ok are left as they are."""
    T, J = ok.shape
    out = xy.copy()
    t = np.arange(T)
    for j in np.flatnonzero(ok.any(axis=0) & ~ok.all(axis=0)):  # joints, not frames
        good = ok[:, j]
        for c in (0, 1):
            out[~good, j, c] = np.interp(t[~good], t[good], xy[good, j, c])
    return out


def to_h36m(track: Track2D, *, min_score: float = 0.3) -> Track2D:
    """COCO-17 track -> Human3.6M-17 track for the lifter, scores carried along.

    Low-confidence COCO joints (score < ``min_score``) and missing ones (NaN: ``null`` in a JSON
    export) are repaired before the conversion: interpolated in time from the same joint's
    confident frames; a joint that is never confident is rebuilt from its mirror joint
    reflected about the body's vertical axis (mid-shoulders to mid-hips), or, failing that,
    placed on its parent. Scores of repaired joints stay as they were (low; 0 for missing
    ones), so the lifter's confidence input still sees them. An h36m17 track is returned
    unchanged, except that missing joints are interpolated in time the same way.
    Raises :class:`~hotdemo.core.errors.InputError` when a joint is missing in every frame and
    cannot be rebuilt.
    """
    missing = ~np.isfinite(track.keypoints).all(axis=-1)  # (T, J)
    if track.joint_format == "h36m17":
        if not missing.any():
            return track
        xy = _repair_in_time(track.keypoints.astype(np.float32), ~missing)
        sc = np.where(missing, 0.0, track.scores).astype(np.float32)
        _check_repaired(track, xy)
        return Track2D(track.track_id, track.frames, xy, sc, track.boxes, "h36m17")
    if track.joint_format != "coco17":
        raise ValueError(f"cannot convert {track.joint_format} to h36m17")
    xy = track.keypoints.astype(np.float32)
    sc = np.where(missing, 0.0, track.scores).astype(np.float32)
    ok = (sc >= min_score) & ~missing
    xy = _repair_in_time(xy, ok)
    never = ~ok.any(axis=0)  # (J,) joints with no confident frame in the whole track
    if never.any():
        perm = COCO17.flip_permutation
        sh = xy[:, [5, 6]].mean(axis=1)
        hp = xy[:, [11, 12]].mean(axis=1)
        mid = (sh + hp) / 2  # (T, 2)
        axis = sh - hp
        axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-6)
        for j in np.flatnonzero(never):  # at most 17 joints
            m = perm[j]
            if m != j and not never[m]:
                d = xy[:, m] - mid
                along = (d * axis).sum(axis=1, keepdims=True) * axis
                xy[:, j] = mid + 2 * along - d  # reflect across the body axis
            else:
                p = COCO17.parents[j]
                if p >= 0:
                    xy[:, j] = xy[:, p]
    _check_repaired(track, xy)
    h_xy, h_sc = coco_to_h36m(xy, sc)
    return Track2D(track.track_id, track.frames, h_xy.astype(np.float32), h_sc.astype(np.float32),
                   track.boxes, "h36m17")


def _check_repaired(track: Track2D, xy: np.ndarray) -> None:
    bad = ~np.isfinite(xy).all(axis=(0, 2))
    if bad.any():
        names = get_skeleton(track.joint_format).joint_names
        raise InputError(f"track {track.track_id}: {', '.join(names[j] for j in np.flatnonzero(bad))} "
                         "missing (null) in every frame; cannot lift it")
