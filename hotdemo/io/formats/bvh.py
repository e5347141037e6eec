"""BVH (Biovision hierarchy) writer, reader and forward kinematics for Human3.6M-17 motion.

Writing (:func:`write_bvh`), from world-frame joints (metres, z up):

* **Axes**: BVH is written **Y-up**, the usual convention that Blender's importer expects:
  ``X_bvh = x_world``, ``Y_bvh = z_world`` (up), ``Z_bvh = -y_world`` (towards the original
  camera). A proper rotation (no mirroring). Units are **metres** (Blender's importer at scale
  1.0 gives a life-size armature; use ``scale=100`` for centimetres).
* **Skeleton**: the Human3.6M-17 tree rooted at the pelvis; bone lengths are the clip's median
  distances between each joint and its parent. Rest pose: a T-pose facing +Z (the subject's left
  is +X). Joints with several children (pelvis, thorax) get one zero-offset connector joint per
  child (``pelvis_to_left_hip``, ...), so that every body segment's direction is solved exactly
  even when the lifted pose is not rigid; in Blender each connector becomes the bone of its
  segment (e.g. pelvis -> left hip). Leaves (ankles, wrists, head) end in an ``End Site``.
* **Motion**: the root has ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``
  (pelvis position per frame), every other joint ``Zrotation Xrotation Yrotation``, in degrees;
  the local rotation matrix is ``Rz @ Rx @ Ry``. Per frame, the pelvis and thorax orientations
  are the frames spanned by their hips/shoulders and their spine/neck; every other joint gets
  the smallest rotation (no twist) that turns its bone from its parent's orientation onto the
  observed direction. Forward kinematics of the file therefore reproduces every joint position
  up to the difference between the per-frame and the median bone lengths.
* Frames with missing joints (NaN) or gaps in ``frames`` are filled with the previous valid
  frame, so the file has one motion line per video frame from the first to the last.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from hotdemo.core.errors import InputError
from hotdemo.io.files import atomic_write
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track3D

PathLike = Union[str, os.PathLike]

#: world (z up) -> BVH (Y up): rows are the BVH axes in world coordinates
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# rest-pose (T-pose, facing +Z, left = +X) direction of each H36M joint's bone from its parent
_REST_DIR = {
    "right_hip": (-1, 0, 0), "right_knee": (0, -1, 0), "right_ankle": (0, -1, 0),
    "left_hip": (1, 0, 0), "left_knee": (0, -1, 0), "left_ankle": (0, -1, 0),
    "spine": (0, 1, 0), "thorax": (0, 1, 0), "neck_nose": (0, 1, 0), "head": (0, 1, 0),
    "left_shoulder": (1, 0, 0), "left_elbow": (1, 0, 0), "left_wrist": (1, 0, 0),
    "right_shoulder": (-1, 0, 0), "right_elbow": (-1, 0, 0), "right_wrist": (-1, 0, 0),
}
ROT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
POS_CHANNELS = ("Xposition", "Yposition", "Zposition")


@dataclass
class BvhJoint:
    name: str
    parent: int  # index into Bvh.joints, -1 for the root
    offset: np.ndarray  # (3,)
    channels: Tuple[str, ...]
    end_site: Optional[np.ndarray] = None  # (3,) offset of the End Site, if any
    source: int = -1  # H36M joint whose position this joint sits on (connectors: their parent's)


@dataclass
class Bvh:
    joints: List[BvhJoint]
    frame_time: float
    motion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (F, total channels)

    @property
    def names(self) -> List[str]:
        return [j.name for j in self.joints]

    def forward_kinematics(self) -> Tuple[np.ndarray, np.ndarray]:
        """Positions (F, J, 3) of every joint and global rotations (F, J, 3, 3), BVH axes/units.

        Rotation channels compose in the order listed (``Zrotation Xrotation Yrotation`` ->
        ``Rz @ Rx @ Ry``); a joint's position is its parent's plus the parent's global rotation
        applied to its offset; the root's is its offset plus its position channels.
        """
        F = len(self.motion)
        J = len(self.joints)
        pos = np.zeros((F, J, 3))
        rot = np.zeros((F, J, 3, 3))
        col = 0
        for j, jt in enumerate(self.joints):
            n = len(jt.channels)
            ch = self.motion[:, col:col + n]
            col += n
            local = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
            trans = np.zeros((F, 3))
            for k, name in enumerate(jt.channels):
                axis = name[0].upper()
                if name.lower().endswith("position"):
                    trans[:, "XYZ".index(axis)] = ch[:, k]
                else:
                    local = local @ _axis_rot(axis, np.radians(ch[:, k]))
            if jt.parent < 0:
                pos[:, j] = jt.offset + trans
                rot[:, j] = local
            else:
                p = jt.parent
                pos[:, j] = pos[:, p] + rot[:, p] @ jt.offset + trans
                rot[:, j] = rot[:, p] @ local
        return pos, rot

    def h36m_world(self) -> np.ndarray:
        """(F, 17, 3) Human3.6M joint positions in hotdemo's world frame (metres, z up), from FK.

        Assumes a file written by :func:`write_bvh` with ``scale=1``.
        """
        pos, _ = self.forward_kinematics()
        idx = [self.names.index(n) for n in H36M17.joint_names]
        return pos[:, idx] @ WORLD_TO_BVH  # inverse of a rotation: its transpose


def _axis_rot(axis: str, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    if axis == "X":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.stack([np.stack(r, -1) for r in m], -2)


# ------------------------------------------------------------------ skeleton
def build_skeleton(bone_lengths: np.ndarray) -> List[BvhJoint]:
    """BVH joints (depth-first) for Human3.6M-17 with connectors; ``bone_lengths`` (17,) per joint
    (length of the bone from its parent; the root's is ignored)."""
    names, parents = H36M17.joint_names, H36M17.parents
    children = {j: [c for c in range(17) if parents[c] == j] for j in range(17)}
    out: List[BvhJoint] = []

    def rest_offset(c: int) -> np.ndarray:
        return np.asarray(_REST_DIR[names[c]], float) * float(bone_lengths[c])

    def add(j: int, parent_bvh: int, offset: np.ndarray) -> None:
        ch = POS_CHANNELS + ROT_CHANNELS if parent_bvh < 0 else ROT_CHANNELS
        kids = children[j]
        end = None
        if not kids:
            d = np.asarray(_REST_DIR[names[j]], float)
            end = d * (0.1 if names[j] == "head" else 0.06)
        out.append(BvhJoint(names[j], parent_bvh, offset, ch, end, j))
        me = len(out) - 1
        if len(kids) == 1:
            add(kids[0], me, rest_offset(kids[0]))
        elif len(kids) > 1:
            for c in kids:
                out.append(BvhJoint(f"{names[j]}_to_{names[c]}", me, np.zeros(3), ROT_CHANNELS, None, j))
                add(c, len(out) - 1, rest_offset(c))

    add(0, -1, np.zeros(3))
    return out


# ------------------------------------------------------------------ rotation solving
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotations (F, 3, 3) turning unit vectors ``a`` onto ``b`` (F, 3)."""
    k = np.cross(a, b)
    c = (a * b).sum(-1)
    K = np.zeros(a.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K[..., 1, 0], K[..., 2, 0], K[..., 2, 1] = k[..., 2], -k[..., 1], k[..., 0]
    opposite = c < -1 + 1e-8
    R = np.eye(3) + K + K @ K / np.maximum(1 + c, 1e-8)[..., None, None]
    if opposite.any():  # 180 degrees about any axis perpendicular to a
        ao = a[opposite]
        perp = np.cross(ao, np.where(np.abs(ao[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
        perp = _unit(perp)
        R[opposite] = 2 * perp[:, :, None] * perp[:, None, :] - np.eye(3)
    return R


def _frame(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rotation (F, 3, 3) whose columns are x, y (orthogonalised) and x cross y."""
    x = _unit(x)
    y = _unit(y - (y * x).sum(-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _fill_missing(P: np.ndarray) -> np.ndarray:
    """Forward-fill frames with any NaN (backward for leading ones)."""
    ok = np.isfinite(P).all(axis=(1, 2))
    if ok.all():
        return P
    if not ok.any():
        raise ValueError("no frame with all joints finite")
    idx = np.where(ok, np.arange(len(P)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = np.flatnonzero(ok)[0]
    return P[idx]


def solve_motion(P: np.ndarray, joints: List[BvhJoint]) -> np.ndarray:
    """Channel values (F, C) for BVH-frame positions ``P`` (F, 17, 3) of the H36M joints."""
    F = len(P)
    I = H36M17.index
    names = H36M17.joint_names
    G = np.zeros((F, len(joints), 3, 3))
    cols = []
    for b, jt in enumerate(joints):
        Gp = G[:, jt.parent] if jt.parent >= 0 else np.broadcast_to(np.eye(3), (F, 3, 3))
        kids = [k for k, c in enumerate(joints) if c.parent == b]
        if jt.name == "pelvis":
            Gb = _frame(P[:, I("left_hip")] - P[:, I("right_hip")], P[:, I("spine")] - P[:, I("pelvis")])
        elif jt.name == "thorax":
            Gb = _frame(P[:, I("left_shoulder")] - P[:, I("right_shoulder")], P[:, I("neck_nose")] - P[:, I("thorax")])
        elif len(kids) == 1 and np.linalg.norm(joints[kids[0]].offset) > 0:
            child = joints[kids[0]]
            rest = _unit(child.offset)[None].repeat(F, 0)
            obs = _unit(P[:, child.source] - P[:, jt.source])
            Gb = _swing(np.einsum("fij,fj->fi", Gp, rest), obs) @ Gp
        else:  # leaves: keep the parent's orientation
            Gb = Gp
        G[:, b] = Gb
        local = np.swapaxes(Gp, -1, -2) @ Gb
        eul = _euler_zxy(local)
        if jt.parent < 0:
            cols.append(P[:, I(names[jt.source])])
        cols.append(eul)
    return np.concatenate(cols, axis=1)


def _euler_zxy(R: np.ndarray) -> np.ndarray:
    """Degrees (F, 3) (z, x, y) with ``R = Rz(z) @ Rx(x) @ Ry(y)``."""
    import warnings

    from scipy.spatial.transform import Rotation

    with warnings.catch_warnings():  # gimbal lock (x = +-90 deg) is harmless: the matrix is kept
        warnings.simplefilter("ignore", UserWarning)
        return Rotation.from_matrix(R).as_euler("ZXY", degrees=True)


# ------------------------------------------------------------------ writing
def _fmt(v: np.ndarray, decimals: int) -> str:
    return " ".join(f"{x:.{decimals}f}" for x in v.tolist())


def to_bvh_text(joints: List[BvhJoint], motion: np.ndarray, frame_time: float) -> str:
    lines = ["HIERARCHY"]
    depth_of = {}

    def emit(b: int, depth: int) -> None:
        jt = joints[b]
        ind = "  " * depth
        lines.append(f"{ind}{'ROOT' if jt.parent < 0 else 'JOINT'} {jt.name}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {_fmt(jt.offset, 6)}")
        lines.append(f"{ind}  CHANNELS {len(jt.channels)} {' '.join(jt.channels)}")
        for k, c in enumerate(joints):
            if c.parent == b:
                emit(k, depth + 1)
        if jt.end_site is not None:
            lines.append(f"{ind}  End Site")
            lines.append(f"{ind}  {{")
            lines.append(f"{ind}    OFFSET {_fmt(jt.end_site, 6)}")
            lines.append(f"{ind}  }}")
        lines.append(f"{ind}}}")
        depth_of[b] = depth

    emit(0, 0)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {frame_time:.8f}"]
    np_lines = [" ".join(f"{x:.5f}" for x in row) for row in np.round(motion, 5).tolist()]
    return "\n".join(lines + np_lines) + "\n"


def prepare_motion(joints_world: np.ndarray, frames: Optional[np.ndarray] = None,
                   scale: float = 1.0) -> Tuple[np.ndarray, List[BvhJoint]]:
    """(positions (F, 17, 3) in BVH axes x ``scale``, one row per frame from ``frames[0]`` to
    ``frames[-1]`` with gaps and missing joints filled by the previous pose; the skeleton with the
    median bone lengths) of Human3.6M-17 world joints (T, 17, 3), as the BVH and glTF exports use."""
    P = np.asarray(joints_world, np.float64)
    if P.ndim != 3 or P.shape[1:] != (17, 3):
        raise ValueError(f"expected (T, 17, 3) Human3.6M joints, got {P.shape}")
    if frames is not None and len(frames):
        frames = np.asarray(frames, np.int64)
        full = np.full((int(frames[-1] - frames[0]) + 1, 17, 3), np.nan)
        full[frames - frames[0]] = P
        P = full
    P = _fill_missing(P) @ WORLD_TO_BVH.T * scale
    parents = np.array(H36M17.parents)
    lengths = np.zeros(17)
    lengths[1:] = np.median(np.linalg.norm(P[:, 1:] - P[:, parents[1:]], axis=-1), axis=0)
    return P, build_skeleton(lengths)


def write_bvh(path: PathLike, joints_world: np.ndarray, fps: float, *, frames: Optional[np.ndarray] = None,
              scale: float = 1.0) -> Path:
    """Write Human3.6M-17 world joints (T, 17, 3) metres z-up as a BVH file (module docstring).

    ``frames`` (T,) are the video frame indices of the rows: gaps are filled with the previous
    pose so the file has one motion line per frame from ``frames[0]`` to ``frames[-1]``.
    """

    if fps <= 0:
        raise ValueError("BVH needs a positive fps")
    P, joints = prepare_motion(joints_world, frames, scale)
    motion = solve_motion(P, joints)
    text = to_bvh_text(joints, motion, 1.0 / fps)
    return atomic_write(Path(path), lambda f: f.write(text.encode("ascii")))


# ------------------------------------------------------------------ reading
def read_bvh(path: PathLike) -> Bvh:
    """Parse a BVH file (any skeleton) into joints, frame time and motion channels."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise InputError(f"{path}: not a BVH file (no MOTION section)")
    tokens = re.findall(r"[{}]|[^\s{}]+", head)
    joints: List[BvhJoint] = []
    stack: List[int] = []
    i = 0
    pending_end = False
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                joints.append(BvhJoint(tokens[i + 1], stack[-1] if stack else -1, np.zeros(3), ()))
                i += 2
            elif tok == "End":  # "End Site"
                pending_end = True
                i += 2
            elif tok == "{":
                stack.append(-2 if pending_end else len(joints) - 1)
                i += 1
            elif tok == "}":
                stack.pop()
                pending_end = False
                i += 1
            elif tok == "OFFSET":
                off = np.array([float(x) for x in tokens[i + 1:i + 4]])
                if pending_end:
                    owner = [s for s in stack if s >= 0][-1]
                    joints[owner].end_site = off
                else:
                    joints[stack[-1]].offset = off
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                joints[stack[-1]].channels = tuple(tokens[i + 2:i + 2 + n])
                i += 2 + n
            else:
                i += 1
        m = re.search(r"Frames:\s*(\d+)\s*Frame Time:\s*([0-9.eE+-]+)", motion_text)
        if not m:
            raise ValueError("no Frames/Frame Time")
        n_frames, frame_time = int(m.group(1)), float(m.group(2))
        values = np.array(motion_text[m.end():].split(), dtype=np.float64)
    except (IndexError, ValueError) as e:
        raise InputError(f"{path}: malformed BVH ({e})") from None
    n_ch = sum(len(j.channels) for j in joints)
    if n_ch == 0 or values.size != n_frames * n_ch:
        raise InputError(f"{path}: malformed BVH (expected {n_frames} x {n_ch} motion values, got {values.size})")
    return Bvh(joints, frame_time, values.reshape(n_frames, n_ch))


# ------------------------------------------------------------------ the export format (``--export bvh``)
def write_bvh_files(out_dir: PathLike, stem: str, tracks3d: Sequence[Track3D], fps: float) -> List[Path]:
    """One BVH per lifted person with world joints: ``<stem>_track<ID>.bvh``."""
    out = []
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        out.append(write_bvh(Path(out_dir) / f"{stem}_track{t.track_id}.bvh", t.joints_world, fps or 30.0,
                             frames=t.frames))
    return out


def check_bvh(job) -> None:
    """Export-registry check (BVH and glTF): every person with world joints has a frame with all 17."""
    for t in job.tracks3d:
        if t.joints_world is not None and len(t) and not np.isfinite(t.joints_world).all(axis=(1, 2)).any():
            raise InputError(f"cannot write a BVH for track {t.track_id}: it has no frame with all 17 joints "
                             "(every 3D pose has missing values)")


def export_bvh(job) -> List[Path]:
    """Export-registry writer: one ``<stem>_track<ID>.bvh`` per person (30 fps when the rate is unknown)."""
    return write_bvh_files(job.out_dir, job.stem, job.tracks3d, job.fps)
