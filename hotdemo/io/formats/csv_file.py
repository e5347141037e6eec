"""The CSV export (``--export csv``, ``<stem>.csv``): one row per frame, person and joint, written
a chunk of frames at a time; and its reader (:func:`read_csv`)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from hotdemo.core.skeletons import H36M17, get_skeleton
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.io.files import atomic_write
from hotdemo.io.formats.schema import _CHUNK, _M, _PX, _SC, PathLike, _effective_fps

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


def export_csv(job) -> List[Path]:
    """Export-registry writer: ``<stem>.csv``."""
    return [write_csv(job.out_dir / f"{job.stem}.csv", job.info, job.tracks2d, job.tracks3d, job.fps)]


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
