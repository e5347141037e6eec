"""Joint angles from world-frame Human3.6M-17 poses (``--export angles``).

All angles are in degrees, per frame and person, computed from ``Track3D.joints_world``
(metres, z up, floor z = 0). Definitions and sign conventions (also in docs/formats.md):

Body frames. *Pelvis frame*: right axis ``r`` = left hip -> right hip, up ``u`` = pelvis ->
thorax made orthogonal to ``r``, forward ``f = u x r`` (so ``r, f, u`` is right-handed, like the
world's x, y, z for a person facing +y). *Trunk frame*: the same with the shoulder line
(left shoulder -> right shoulder) as ``r``; used for the shoulders.

* ``knee_flexion_{left,right}``: 180 - the angle hip-knee-ankle. 0 = straight leg, positive
  = bent. Range 0..180.
* ``elbow_flexion_{left,right}``: 180 - the angle shoulder-elbow-wrist. 0 = straight arm.
* ``hip_flexion_{left,right}``: the thigh (hip -> knee) in the pelvis's sagittal plane
  (``f``, ``u``), from straight down (``-u``): positive = thigh forward (flexion, 90 = thigh
  horizontal in front, as when sitting), negative = thigh behind (extension).
* ``shoulder_flexion_{left,right}``: the upper arm (shoulder -> elbow) in the trunk's sagittal
  plane, from straight down: positive = arm forward (90 = pointing forward, 180 = overhead),
  negative = arm behind (extension).
* ``shoulder_abduction_{left,right}``: the upper arm in the trunk's frontal plane (``r``, ``u``),
  from straight down: positive = away from the body sideways (90 = horizontal out to the side,
  180 = overhead), negative = across the body (adduction past the midline).
* ``trunk_lean``: the angle between pelvis -> thorax and the world vertical (0 = upright,
  always >= 0). ``trunk_lean_forward``: its signed part in the pelvis's sagittal plane
  (positive = leaning forward, negative = backward); ``trunk_lean_sideways``: in the frontal
  plane (positive = towards the person's right).
* ``pelvis_rotation``: heading of the pelvis forward ``f`` on the floor, about the world
  vertical: 0 = facing the camera (world -y), positive = counter-clockwise seen from above
  (the person turning to their own left). ``shoulder_rotation``: the same for the trunk's
  forward. ``trunk_twist`` = shoulder_rotation - pelvis_rotation (positive = shoulders turned
  to the person's left of the hips).

Planar angles (hip and shoulder flexion, shoulder abduction) are those of the segment projected
on the plane; when the segment points within 14.5 degrees of the plane's normal (e.g. the arm
straight forward, for abduction) the projection is too short to give an angle and the value is
NaN (an empty cell), rather than a meaningless 0 or 180.

Continuity: every angle computed with ``atan2`` is unwrapped over each track's frames, so there
are no 360-degree jumps (e.g. 179 -> -179); a person turning round and round accumulates
rotation past +-180 (the three headings stay continuous across NaN gaps). The other atan2
angles are unwrapped within each run of defined values, each run shifted by a multiple of 360
so that its median lies in [-180, 180). Frames whose joints are not finite give NaN (an empty
CSV cell).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from hotdemo.core.errors import HotdemoError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track3D, VideoInfo

_I = H36M17.index
#: the CSV's angle columns, in order
ANGLE_NAMES = (
    "knee_flexion_left", "knee_flexion_right", "hip_flexion_left", "hip_flexion_right",
    "elbow_flexion_left", "elbow_flexion_right",
    "shoulder_abduction_left", "shoulder_abduction_right", "shoulder_flexion_left", "shoulder_flexion_right",
    "trunk_lean", "trunk_lean_forward", "trunk_lean_sideways",
    "pelvis_rotation", "shoulder_rotation", "trunk_twist",
)
#: angles from atan2 (unwrapped over time); the others are in 0..180 by construction
_CIRCULAR = {
    "hip_flexion_left", "hip_flexion_right", "shoulder_abduction_left", "shoulder_abduction_right",
    "shoulder_flexion_left", "shoulder_flexion_right", "trunk_lean_forward", "trunk_lean_sideways",
    "pelvis_rotation", "shoulder_rotation", "trunk_twist",
}
_HEADINGS = {"pelvis_rotation", "shoulder_rotation", "trunk_twist"}
PLOT_GROUPS = (
    ("knees and hips", ("knee_flexion_left", "knee_flexion_right", "hip_flexion_left", "hip_flexion_right")),
    ("elbows and shoulders", ("elbow_flexion_left", "elbow_flexion_right", "shoulder_abduction_left",
                              "shoulder_abduction_right", "shoulder_flexion_left", "shoulder_flexion_right")),
    ("trunk", ("trunk_lean", "trunk_lean_forward", "trunk_lean_sideways", "pelvis_rotation",
               "shoulder_rotation", "trunk_twist")),
)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1)


def _inner_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at b (degrees) of the triangle a-b-c, for (T, 3) arrays."""
    return np.degrees(np.arccos(np.clip(_dot(_unit(a - b), _unit(c - b)), -1.0, 1.0)))


def _frame(right: np.ndarray, up: np.ndarray):
    """Orthonormal (r, f, u) from a right-pointing and an up-pointing vector (T, 3)."""
    r = _unit(right)
    u = _unit(up - _dot(up, r)[:, None] * r)
    f = np.cross(u, r)
    return r, f, u


#: a segment whose projection on an angle's plane is shorter than this fraction of its length
#: (it points within 14.5 degrees of the plane's normal) has no defined angle in that plane: NaN
MIN_PROJECTION = 0.25


def _planar(v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) of ``v`` in the plane of the unit axes ``b`` (0) and ``a`` (+90), for
    (T, 3) arrays; NaN where the projection is shorter than :data:`MIN_PROJECTION` x ``|v|``."""
    x, y = _dot(v, a), _dot(v, b)
    ang = np.degrees(np.arctan2(x, y))
    with np.errstate(invalid="ignore"):
        short = np.hypot(x, y) < MIN_PROJECTION * np.linalg.norm(v, axis=-1)
    return np.where(short, np.nan, ang)


def unwrap_degrees(a: np.ndarray, bridge_gaps: bool = True) -> np.ndarray:
    """Unwrap angles (degrees, axis 0) over their finite values; NaN stays NaN.

    ``bridge_gaps``: one unwrapping over every finite value (a heading stays continuous across a
    gap). Otherwise each run of finite values is unwrapped on its own and shifted by a multiple
    of 360 so that its median lies in [-180, 180) (a limb angle after a gap starts afresh).
    """
    a = np.asarray(a, np.float64).copy()
    ok = np.isfinite(a)
    if bridge_gaps:
        if ok.sum() > 1:
            a[ok] = np.degrees(np.unwrap(np.radians(a[ok])))
        return a
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    for s, e in zip(edges[::2], edges[1::2]):
        run = np.degrees(np.unwrap(np.radians(a[s:e])))
        a[s:e] = run - 360.0 * np.round(np.median(run) / 360.0)
    return a


def joint_angles(jw: np.ndarray) -> Dict[str, np.ndarray]:
    """World joints (T, 17, 3) -> {angle name: (T,) degrees} (module docstring for definitions)."""
    J = np.asarray(jw, np.float64)
    if J.ndim != 3 or J.shape[1:] != (17, 3):
        raise ValueError(f"expected Human3.6M-17 world joints (T, 17, 3), got {J.shape}")
    g = {n: J[:, _I(n)] for n in H36M17.joint_names}
    out: Dict[str, np.ndarray] = {}
    pr, pf, pu = _frame(g["right_hip"] - g["left_hip"], g["thorax"] - g["pelvis"])
    tr, tf, tu = _frame(g["right_shoulder"] - g["left_shoulder"], g["thorax"] - g["pelvis"])
    for side in ("left", "right"):
        out[f"knee_flexion_{side}"] = 180.0 - _inner_angle(g[f"{side}_hip"], g[f"{side}_knee"], g[f"{side}_ankle"])
        out[f"elbow_flexion_{side}"] = 180.0 - _inner_angle(g[f"{side}_shoulder"], g[f"{side}_elbow"],
                                                            g[f"{side}_wrist"])
        thigh = g[f"{side}_knee"] - g[f"{side}_hip"]
        out[f"hip_flexion_{side}"] = _planar(thigh, pf, -pu)
        arm = g[f"{side}_elbow"] - g[f"{side}_shoulder"]
        out[f"shoulder_flexion_{side}"] = _planar(arm, tf, -tu)
        out[f"shoulder_abduction_{side}"] = _planar(arm, tr if side == "right" else -tr, -tu)
    trunk = g["thorax"] - g["pelvis"]
    z = np.array([0.0, 0.0, 1.0])
    out["trunk_lean"] = np.degrees(np.arccos(np.clip(_dot(_unit(trunk), z), -1.0, 1.0)))
    # the pelvis's horizontal forward and right: the lean's sagittal and frontal parts
    fh = _unit(pf * [1.0, 1.0, 0.0])
    rh = np.cross(fh, z)
    out["trunk_lean_forward"] = np.degrees(np.arctan2(_dot(trunk, fh), trunk[:, 2]))
    out["trunk_lean_sideways"] = np.degrees(np.arctan2(_dot(trunk, rh), trunk[:, 2]))
    out["pelvis_rotation"] = np.degrees(np.arctan2(pf[:, 0], -pf[:, 1]))
    out["shoulder_rotation"] = np.degrees(np.arctan2(tf[:, 0], -tf[:, 1]))
    twist = out["shoulder_rotation"] - out["pelvis_rotation"]
    out["trunk_twist"] = (twist + 180.0) % 360.0 - 180.0
    for name in _CIRCULAR:  # headings bridge gaps; limb and lean angles restart after one
        out[name] = unwrap_degrees(out[name], bridge_gaps=name in _HEADINGS)
    return {n: out[n] for n in ANGLE_NAMES}


def track_angles(tracks3d: Sequence[Track3D]) -> List[Dict[str, np.ndarray]]:
    """:func:`joint_angles` of every track with world joints (tracks without them are skipped)."""
    return [joint_angles(t.joints_world) for t in tracks3d if t.joints_world is not None and len(t)]


# ------------------------------------------------------------------ files
CSV_HEAD = ("frame", "time_s", "track_id")


def angles_csv_text(tracks3d: Sequence[Track3D], fps: float) -> str:
    """The CSV: one row per frame and person, columns :data:`CSV_HEAD` + :data:`ANGLE_NAMES`."""
    rows = []
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        a = joint_angles(t.joints_world)
        cols = np.stack([a[n] for n in ANGLE_NAMES], 1)
        for fr, vals in zip(t.frames.tolist(), cols.tolist()):
            cells = ["" if v != v else f"{v:.2f}" for v in vals]
            time_s = f"{fr / fps:.4f}" if fps else ""
            rows.append((fr, t.track_id, f"{fr},{time_s},{t.track_id}," + ",".join(cells)))
    rows.sort(key=lambda r: r[:2])
    return ",".join(CSV_HEAD + ANGLE_NAMES) + "\n" + "".join(r[2] + "\n" for r in rows)


def read_angles_csv(path) -> Dict[str, np.ndarray]:
    """Columns of an angles CSV (frame, track_id int64; the rest float64, NaN where empty)."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        header = next(r)
        cols = list(zip(*r)) or [()] * len(header)
    return {name: (np.array(v, np.int64) if name in ("frame", "track_id")
                   else np.array([float(x) if x else np.nan for x in v], np.float64))
            for name, v in zip(header, cols)}


def require_matplotlib() -> None:
    """One-line error when the optional plotting dependency is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise HotdemoError("--export angles draws its plots with matplotlib, which is not installed: "
                           "pip install 'hotdemo[plot]' (or matplotlib)") from None


def plot_png_bytes(track: Track3D, fps: float, title: str = "") -> bytes:
    """One PNG figure of a person's main angles over time (three panels), as bytes."""
    require_matplotlib()
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    a = joint_angles(track.joints_world)
    x = track.frames / fps if fps else track.frames.astype(float)
    fig = Figure(figsize=(10, 8.5), dpi=100, layout="constrained")
    axes = fig.subplots(len(PLOT_GROUPS), 1, sharex=True)
    for ax, (name, keys) in zip(axes, PLOT_GROUPS):
        for k in keys:
            style = "--" if k.endswith("_left") else "-"
            ax.plot(x, a[k], style, lw=1.4, label=k.replace("_", " "))
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel("degrees")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1].set_xlabel("time (s)" if fps else "frame")
    fig.suptitle(title or f"track {track.track_id}: joint angles")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_angles(out_dir, stem: str, info: VideoInfo, tracks3d: Sequence[Track3D],
                 fps: Optional[float] = None) -> List[Path]:
    """``<stem>_angles.csv`` and one ``<stem>_angles_track<ID>.png`` per person; returns the paths.

    The plotting dependency is checked before anything is written.
    """
    from hotdemo.io.files import atomic_write

    require_matplotlib()
    out_dir = Path(out_dir)
    f = float(fps if fps else (info.fps or 0.0))
    text = angles_csv_text(tracks3d, f)
    paths = [atomic_write(out_dir / f"{stem}_angles.csv", lambda fh: fh.write(text.encode("utf-8")))]
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        png = plot_png_bytes(t, f, f"{stem}, track {t.track_id}: joint angles (degrees)")
        paths.append(atomic_write(out_dir / f"{stem}_angles_track{t.track_id}.png", lambda fh: fh.write(png)))
    return paths


def export_angles(job) -> List[Path]:
    """Export-registry writer (``job``: ``out_dir``, ``stem``, ``info``, ``tracks3d``, ``fps``)."""
    return write_angles(job.out_dir, job.stem, job.info, job.tracks3d, job.fps)
