"""OpenSim marker trajectories (``--export trc``): one ``<stem>_track<ID>.trc`` per person.

TRC ("track row column") is the tab-separated text format OpenSim reads for marker-based scaling
and inverse kinematics. Layout, as in OpenSim's own example files (e.g. the models repository's
``arm26_elbow_flex.trc``)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    30.00  30.00  120  17  m  30.00  1  120
    Frame#  Time  pelvis      right_hip   ...        (each name followed by two empty cells)
                  X1  Y1  Z1  X2  Y2  Z2  ...
    (an empty line)
    1  0.00000  x y z  x y z ...                     (one row per frame; empty cells = missing)

hotdemo writes one marker per Human3.6M-17 joint, named as the joint (``pelvis``,
``right_hip``, ...), in metres, converted from hotdemo's world frame (z up) to OpenSim's Y-up
frame: ``X = x_world`` (the camera's right on the floor), ``Y = z_world`` (up, floor at 0),
``Z = -y_world`` (towards the camera), a proper rotation (right-handed, -90 degrees about x).
``Frame#`` counts the rows from 1; ``Time`` is the video time of the row's frame
(``frame / fps``), so a track that starts later starts at a later time; ``OrigDataStartFrame``
is the track's first video frame, counted from 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track3D

#: world (z up) -> OpenSim (Y up): rows are OpenSim's X, Y, Z in world coordinates
WORLD_TO_OPENSIM = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
HEADER_KEYS = ("DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
               "OrigDataStartFrame", "OrigNumFrames")


def _num(v: float, decimals: int) -> str:
    return "" if v != v else f"{v:.{decimals}f}"


def trc_text(name: str, joints_world: np.ndarray, frames: np.ndarray, fps: float,
             marker_names: Sequence[str] = H36M17.joint_names, decimals: int = 5) -> str:
    """The TRC file's text for one person: world joints (T, J, 3) metres at video ``frames``."""
    J = np.asarray(joints_world, np.float64)
    T, M = J.shape[:2]
    if len(marker_names) != M:
        raise ValueError(f"{M} markers but {len(marker_names)} names")
    fps = float(fps) if fps and fps > 0 else 30.0
    X = J @ WORLD_TO_OPENSIM.T
    frames = np.asarray(frames, np.int64)
    start = int(frames[0]) + 1 if T else 1
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{name}",
        "\t".join(HEADER_KEYS),
        "\t".join([f"{fps:.2f}", f"{fps:.2f}", str(T), str(M), "m", f"{fps:.2f}", str(start), str(T)]),
        "Frame#\tTime\t" + "".join(f"{n}\t\t\t" for n in marker_names),
        "\t\t" + "".join(f"X{k}\tY{k}\tZ{k}\t" for k in range(1, M + 1)),
        "",
    ]
    flat = X.reshape(T, -1).tolist()
    for r, (fr, row) in enumerate(zip(frames.tolist(), flat)):
        lines.append(f"{r + 1}\t{fr / fps:.5f}\t" + "\t".join(_num(v, decimals) for v in row))
    return "\n".join(lines) + "\n"


def read_trc(path) -> Dict:
    """Read a TRC file: ``{"header": {key: value}, "markers": [names], "frame": (T,) int,
    "time": (T,) float, "data": (T, M, 3) float64 (NaN where empty), "file_type": str}``.

    Reads files with tabs (OpenSim's) and, failing that, any whitespace.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise InputError(f"{path}: not a TRC file (no PathFileType line)")
    keys = lines[1].split("\t")
    values = lines[2].split("\t")
    header = {k.strip(): v.strip() for k, v in zip(keys, values) if k.strip()}
    missing = [k for k in ("DataRate", "NumFrames", "NumMarkers", "Units") if k not in header]
    if missing:
        raise InputError(f"{path}: TRC header lacks {', '.join(missing)}")
    M = int(header["NumMarkers"])
    names = [c.strip() for c in lines[3].split("\t")[2:] if c.strip()]
    if len(names) != M:
        raise InputError(f"{path}: {len(names)} marker names for NumMarkers={M}")
    rows = [ln for ln in lines[5:] if ln.strip()]
    frame = np.zeros(len(rows), np.int64)
    time = np.zeros(len(rows))
    data = np.full((len(rows), M, 3), np.nan)
    for i, ln in enumerate(rows):
        cells = ln.split("\t")
        frame[i] = int(float(cells[0]))
        time[i] = float(cells[1])
        vals = [float(c) if c.strip() else np.nan for c in cells[2: 2 + 3 * M]]
        data[i].reshape(-1)[: len(vals)] = vals
    if len(rows) != int(header["NumFrames"]):
        raise InputError(f"{path}: {len(rows)} rows for NumFrames={header['NumFrames']}")
    return {"file_type": lines[0], "header": header, "markers": names, "frame": frame, "time": time,
            "data": data}


def write_trc_files(out_dir, stem: str, tracks3d: Sequence[Track3D], fps: float) -> List[Path]:
    """One ``<stem>_track<ID>.trc`` per person with world joints; returns the paths."""
    from hotdemo.io.files import atomic_write

    out = []
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        path = Path(out_dir) / f"{stem}_track{t.track_id}.trc"
        text = trc_text(path.name, t.joints_world, t.frames, fps)
        out.append(atomic_write(path, lambda f, s=text: f.write(s.encode("utf-8"))))
    return out


def export_trc(job) -> List[Path]:
    """Export-registry writer (``job``: ``out_dir``, ``stem``, ``tracks3d``, ``fps``): one TRC per person."""
    return write_trc_files(job.out_dir, job.stem, job.tracks3d, job.fps)
