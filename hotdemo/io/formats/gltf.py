"""glTF 2.0 binary (``.glb``) export: one skinned, animated skeleton per person, for Blender, Unity,
Unreal, three.js and any glTF viewer.

What the file holds (``write_gltf``):

* **Axes and units**: glTF is Y-up, metres, right-handed: ``X = x_world``, ``Y = z_world`` (up),
  ``Z = -y_world`` (:data:`hotdemo.io.formats.bvh.WORLD_TO_BVH`, the same axes as the BVH export).
* **One skeleton per person** (``track_<ID>``): the Human3.6M-17 tree of the BVH export
  (:func:`hotdemo.io.formats.bvh.build_skeleton`: joint names as in :data:`hotdemo.core.skeletons.H36M17`, plus
  zero-length connector joints where a joint has several children), rest pose a T-pose facing +Z
  with the person's median bone lengths. The skin's inverse bind matrices are those of that rest
  pose.
* **A visible body**: a low-poly capsule around every bone, each skinned rigidly (weight 1) to the
  joint whose rotation orients that bone, in a per-person colour, so that any viewer shows a
  moving figure without a rig of its own.
* **Animation** ``hotdemo``, one for everybody, on the video's timeline (time = frame / fps):
  per joint a rotation (LINEAR, unit quaternions, kept in one hemisphere from frame to frame) and a
  translation (the bone from the parent in the parent's frame, so that every joint lands exactly
  on the exported position even where a bone's length changes); the root's translation is the
  pelvis trajectory in the world frame. A person is shown (scale 1, STEP) only from their first to
  their last frame. Gaps within a track repeat the last pose, as in the BVH export.

Positions are exact: joint ``j`` of the node tree evaluated at a frame's time equals the exported
``joints_3d_world`` of that frame (axes as above) to float32 rounding (the tests check it with an
independent glTF reader and the Khronos validator).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from hotdemo.io.formats.bvh import Bvh, prepare_motion, solve_motion
from hotdemo.core.errors import InputError
from hotdemo.io.files import atomic_write
from hotdemo.core.types import Track3D

PathLike = Union[str, os.PathLike]

#: per-person colours (linear RGB), cycled
COLOURS = ((0.90, 0.35, 0.20), (0.20, 0.55, 0.90), (0.30, 0.75, 0.35), (0.85, 0.70, 0.15),
           (0.65, 0.35, 0.80), (0.15, 0.75, 0.75))
#: capsule radius (m) by the name of the joint at the bone's far end
_RADIUS = {"spine": 0.11, "thorax": 0.12, "neck_nose": 0.06, "head": 0.10, "left_hip": 0.09, "right_hip": 0.09,
           "left_shoulder": 0.06, "right_shoulder": 0.06, "left_knee": 0.065, "right_knee": 0.065,
           "left_ankle": 0.05, "right_ankle": 0.05, "left_elbow": 0.045, "right_elbow": 0.045,
           "left_wrist": 0.038, "right_wrist": 0.038}

_FLOAT, _USHORT, _UBYTE, _UINT = 5126, 5123, 5121, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def capsule(length: float, radius: float, sides: int = 10, rings: int = 3) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed capsule along +Y from y = 0 to y = ``length``: (vertices (V, 3), normals (V, 3),
    triangle indices (N, 3)), counter-clockwise seen from outside."""
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    rows = []  # (y centre, polar angle from -Y)
    for k in range(rings + 1):
        rows.append((0.0, np.pi / 2 * k / rings))
    for k in range(rings + 1):
        rows.append((length, np.pi / 2 + np.pi / 2 * k / rings))
    verts, norms = [], []
    for yc, phi in rows:
        r, dy = np.sin(phi), -np.cos(phi)
        n = np.stack([r * np.cos(a), np.full(sides, dy), r * np.sin(a)], -1)
        norms.append(n)
        verts.append(n * radius + [0.0, yc, 0.0])
    V, N = np.concatenate(verts), np.concatenate(norms)
    tris = []
    for i in range(len(rows) - 1):
        for s in range(sides):
            a0, a1 = i * sides + s, i * sides + (s + 1) % sides
            b0, b1 = a0 + sides, a1 + sides
            tris += [(a0, b1, a1), (a0, b0, b1)]
    return V.astype(np.float32), N.astype(np.float32), np.asarray(tris, np.uint32)


def _rotation_onto(u: np.ndarray) -> np.ndarray:
    """A rotation matrix taking +Y onto the unit vector ``u``."""
    y = np.array([0.0, 1.0, 0.0])
    v = np.cross(y, u)
    c = float(np.dot(y, u))
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def _quats(R: np.ndarray) -> np.ndarray:
    """(F, 3, 3) rotation matrices -> (F, 4) unit quaternions x, y, z, w, continuous in time."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(R).as_quat()
    for f in range(1, len(q)):  # the nearer of q and -q, so that LINEAR interpolation takes the short way
        if np.dot(q[f], q[f - 1]) < 0:
            q[f] = -q[f]
    return q


class _Buffer:
    """The GLB binary chunk with its bufferViews and accessors."""

    def __init__(self):
        self.data = bytearray()
        self.views: List[dict] = []
        self.accessors: List[dict] = []

    def add(self, array: np.ndarray, kind: str, *, target=None, minmax: bool = False) -> int:
        array = np.ascontiguousarray(array)
        comp = {np.dtype(np.float32): _FLOAT, np.dtype(np.uint16): _USHORT, np.dtype(np.uint8): _UBYTE,
                np.dtype(np.uint32): _UINT}[array.dtype]
        while len(self.data) % 4:
            self.data += b"\0"
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.data += array.tobytes()
        self.views.append(view)
        acc = {"bufferView": len(self.views) - 1, "componentType": comp, "count": int(len(array)), "type": kind}
        if minmax:
            flat = array.reshape(len(array), -1)
            acc["min"] = [float(v) for v in flat.min(0)]
            acc["max"] = [float(v) for v in flat.max(0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _track_motion(t: Track3D) -> Tuple[np.ndarray, List, np.ndarray, np.ndarray]:
    """(frames (F,), BVH joints, global positions (F, B, 3), global rotations (F, B, 3, 3)) of a track in
    glTF axes, the frames filled from the first to the last."""
    frames = np.asarray(t.frames, np.int64)
    P, joints = prepare_motion(t.joints_world, frames)
    _, rot = Bvh(joints, 1.0, solve_motion(P, joints)).forward_kinematics()
    pos = P[:, [j.source for j in joints]]  # exact positions: every BVH joint sits on its H36M joint
    return np.arange(frames[0], frames[-1] + 1), joints, pos, rot


def build_gltf(tracks3d: Sequence[Track3D], fps: float) -> Tuple[dict, bytes]:
    """(glTF JSON, binary chunk) for the tracks that have world joints (module docstring)."""
    if fps <= 0:
        raise InputError("glTF export needs a positive frame rate")
    buf = _Buffer()
    nodes: List[dict] = []
    meshes, skins, materials, samplers, channels = [], [], [], [], []
    scene_roots = []
    people = [tk for tk in tracks3d if tk.joints_world is not None and len(tk)]
    t_end = max((int(tk.frames[-1]) for tk in people), default=0) / fps  # the animation's last key
    for n_person, t in enumerate(people):
        if not np.isfinite(t.joints_world).all(axis=(1, 2)).any():
            raise InputError(f"cannot write glTF for track {t.track_id}: no frame has all 17 joints")
        frames, joints, pos, rot = _track_motion(t)
        F, B = pos.shape[:2]
        base = len(nodes)
        # rest pose: T-pose, rotations identity, translations the BVH offsets
        rest = np.zeros((B, 3))
        for b, j in enumerate(joints):
            rest[b] = j.offset if j.parent < 0 else rest[j.parent] + j.offset
        for b, j in enumerate(joints):
            kids = [base + k for k, c in enumerate(joints) if c.parent == b]
            node = {"name": f"track_{t.track_id}_{j.name}", "translation": [float(v) for v in
                    (pos[0, b] if j.parent < 0 else j.offset)]}
            if kids:
                node["children"] = kids
            nodes.append(node)
        # the body: one capsule per bone, skinned to the joint that orients it
        V, Nn, I, Jt = [], [], [], []
        nv = 0
        for b, j in enumerate(joints):
            if j.parent < 0 or np.linalg.norm(j.offset) < 1e-6:
                continue
            seg = rest[b] - rest[j.parent]
            L = float(np.linalg.norm(seg))
            name = j.name
            r = _RADIUS.get(name, 0.05)
            v, n, tri = capsule(max(L - 0.0, 1e-3), r)
            Rm = _rotation_onto(seg / L)
            V.append(v @ Rm.T + rest[j.parent])
            Nn.append(n @ Rm.T)
            I.append(tri + nv)
            Jt.append(np.full(len(v), j.parent))
            nv += len(v)
        V, Nn, I, Jt = np.concatenate(V), np.concatenate(Nn), np.concatenate(I), np.concatenate(Jt)
        joints0 = np.zeros((len(V), 4), np.uint16 if B > 255 else np.uint8)
        joints0[:, 0] = Jt
        weights0 = np.zeros((len(V), 4), np.float32)
        weights0[:, 0] = 1.0
        prim = {
            "attributes": {
                "POSITION": buf.add(V.astype(np.float32), "VEC3", target=_ARRAY_BUFFER, minmax=True),
                "NORMAL": buf.add((Nn / np.linalg.norm(Nn, axis=1, keepdims=True)).astype(np.float32), "VEC3",
                                  target=_ARRAY_BUFFER),
                "JOINTS_0": buf.add(joints0, "VEC4", target=_ARRAY_BUFFER),
                "WEIGHTS_0": buf.add(weights0, "VEC4", target=_ARRAY_BUFFER),
            },
            "indices": buf.add(I.reshape(-1).astype(np.uint32), "SCALAR", target=_ELEMENT_ARRAY_BUFFER),
            "material": len(materials),
        }
        colour = COLOURS[n_person % len(COLOURS)]
        materials.append({"name": f"track_{t.track_id}", "pbrMetallicRoughness": {
            "baseColorFactor": [*colour, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}})
        meshes.append({"name": f"track_{t.track_id}_body", "primitives": [prim]})
        ibm = np.tile(np.eye(4, dtype=np.float32), (B, 1, 1))
        ibm[:, :3, 3] = -rest  # rest rotations are identity: the inverse bind is a translation
        ibm_cols = np.ascontiguousarray(np.transpose(ibm, (0, 2, 1))).reshape(B, 16)  # column-major
        skins.append({"name": f"track_{t.track_id}", "joints": list(range(base, base + B)),
                      "skeleton": base, "inverseBindMatrices": buf.add(ibm_cols, "MAT4")})
        # the person's group node holds the skeleton; the skinned mesh sits at the scene root (a skinned
        # mesh ignores its parents' transforms), moved by the joints, so the group's scale hides it too
        mesh_node = len(nodes)
        nodes.append({"name": f"track_{t.track_id}_body", "mesh": len(meshes) - 1, "skin": len(skins) - 1})
        group = len(nodes)
        nodes.append({"name": f"track_{t.track_id}", "children": [base]})
        scene_roots += [group, mesh_node]
        # animation: per joint rotation + translation; the group's visibility
        times = (frames / fps).astype(np.float32)
        t_in = buf.add(times, "SCALAR", minmax=True)
        for b, j in enumerate(joints):
            if j.parent < 0:
                local_r, local_t = rot[:, b], pos[:, b]
            else:
                Rp = rot[:, j.parent]
                local_r = np.swapaxes(Rp, -1, -2) @ rot[:, b]
                local_t = np.einsum("fji,fj->fi", Rp, pos[:, b] - pos[:, j.parent])
            for path, values, kind in (("rotation", _quats(local_r), "VEC4"), ("translation", local_t, "VEC3")):
                samplers.append({"input": t_in, "output": buf.add(values.astype(np.float32), kind),
                                 "interpolation": "LINEAR"})
                channels.append({"sampler": len(samplers) - 1, "target": {"node": base + b, "path": path}})
        vis_t, vis_s = [float(times[0])], [1.0]
        if times[0] > 0:
            vis_t, vis_s = [0.0] + vis_t, [0.0] + vis_s
        if times[-1] < t_end - 0.25 / fps:  # gone before the end: hidden half a frame after their last
            vis_t.append(float(min(times[-1] + 0.5 / fps, t_end)))
            vis_s.append(0.0)
        vis_in = buf.add(np.asarray(vis_t, np.float32), "SCALAR", minmax=True)
        vis_out = buf.add(np.repeat(np.asarray(vis_s, np.float32)[:, None], 3, 1), "VEC3")
        samplers.append({"input": vis_in, "output": vis_out, "interpolation": "STEP"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": group, "path": "scale"}})
    if not scene_roots:  # nobody in the video: a valid, empty scene
        return {"asset": {"version": "2.0", "generator": "hotdemo"}, "scene": 0, "scenes": [{"name": "hotdemo"}]}, b""
    gltf: Dict = {
        "asset": {"version": "2.0", "generator": "hotdemo"},
        "scene": 0,
        "scenes": [{"name": "hotdemo", "nodes": scene_roots}],
        "nodes": nodes, "meshes": meshes, "skins": skins, "materials": materials,
        "animations": [{"name": "hotdemo", "samplers": samplers, "channels": channels}],
        "accessors": buf.accessors, "bufferViews": buf.views,
        "buffers": [{"byteLength": len(buf.data)}],
    }
    return gltf, bytes(buf.data)


def glb_bytes(gltf: dict, binary: bytes) -> bytes:
    """The GLB container: 12-byte header, the JSON chunk (space-padded), the BIN chunk (zero-padded)."""
    js = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    bin_chunk = struct.pack("<II", len(binary), 0x004E4942) + binary if binary else b""
    total = 12 + 8 + len(js) + len(bin_chunk)
    return struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(js), 0x4E4F534A) + js + bin_chunk


def write_gltf(path: PathLike, tracks3d: Sequence[Track3D], fps: float) -> Path:
    """Write every person with world joints into one ``.glb`` (module docstring), atomically."""
    data = glb_bytes(*build_gltf(tracks3d, fps))
    return atomic_write(Path(path), lambda f: f.write(data))


def export_gltf(job) -> List[Path]:
    """Export-registry writer: everybody in one ``<stem>.glb``."""
    return [write_gltf(Path(job.out_dir) / f"{job.stem}.glb", job.tracks3d, job.fps)]


__all__ = ["write_gltf", "build_gltf", "glb_bytes", "capsule", "export_gltf"]
